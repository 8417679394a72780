// Package reports renders a drill record for the people and programs that
// read it: report.json for CI and later re-rendering (its fields are
// described in SCHEMA.md), report.md and the self-contained report.html
// for the operator and the auditor, and over a directory of runs an
// index.html and a junit.xml for CI. It reads records only; it never runs
// a drill.
package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/etcdrill/etcdrill/record"
)

// errNilRecord is returned by the writers when there is nothing to render.
var errNilRecord = errors.New("nil drill record")

// WriteJSON writes r as JSON indented by two spaces, fields in the order of
// the record structs, ending in a newline. The same record always yields
// the same bytes. HTML characters are not escaped, so commands such as
// "a && b" stay readable in the file.
func WriteJSON(w io.Writer, r *record.Record) error {
	b, err := encodeJSON(r)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write drill record: %w", err)
	}
	return nil
}

// encodeJSON is WriteJSON into memory, so WriteDir can render both files
// before it writes either.
func encodeJSON(r *record.Record) ([]byte, error) {
	if r == nil {
		return nil, errNilRecord
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode drill record: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadJSON reads the drill record at path. It checks the schema before it
// decodes the rest, so a record from a newer, incompatible etcdrill reports
// its schema rather than a confusing type error. Unknown fields are ignored:
// adding a field does not change the schema (see record.Schema). A
// negative rto_ms or rpo_writes, which older records wrote for "not
// measured", is read as nil.
func ReadJSON(path string) (*record.Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read drill record: %w", err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, notRecord(path, err)
	}
	if head.Schema != record.Schema {
		return nil, fmt.Errorf("%s: unsupported schema %q, want %q", path, head.Schema, record.Schema)
	}
	var r record.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, notRecord(path, err)
	}
	upgrade(&r)
	return &r, nil
}

// upgrade reads an older v1 record as the current one does: before
// rto_ms and rpo_writes could be null, -1 meant not measured, so a
// negative value becomes nil. Writing the record back writes null.
func upgrade(r *record.Record) {
	if p := r.Metrics.RTOMillis; p != nil && *p < 0 {
		r.Metrics.RTOMillis = nil
	}
	if p := r.Metrics.RPOWrites; p != nil && *p < 0 {
		r.Metrics.RPOWrites = nil
	}
}

// notRecord words a decode error for a person who passed the wrong file.
// A top-level array or string would otherwise be reported against the
// anonymous struct ReadJSON decodes the schema into.
func notRecord(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fmt.Errorf("%s: not a drill record: JSON %s, want an object", path, te.Value)
	}
	return fmt.Errorf("%s: not a drill record: %w", path, err)
}

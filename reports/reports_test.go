package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

func TestJSONRoundTrip(t *testing.T) {
	built := &record.Record{
		Schema:   record.Schema,
		RunID:    "single-node-1",
		Scenario: "single-node",
		Config:   record.Config{EtcdVersion: "3.5.35", Members: 1, Seed: 7},
		// Wall clock readings carry a monotonic reading and the local
		// zone, which JSON drops; normalize compares what JSON keeps.
		Start:   time.Now(),
		End:     time.Now().Add(3 * time.Second),
		Verdict: record.NotApplicable,
		Reason:  "needs a 3.5 image",
		Steps: []record.Step{{Phase: record.PhaseSetup, Name: "probe <image> && check",
			Start: time.Now(), End: time.Now(), Verdict: record.NotApplicable}},
		Metrics: record.Metrics{RTOMillis: nil, RPOWrites: nil}, // JSON null
	}
	measured := minimal()
	measured.Metrics.RTOMillis, measured.Metrics.RPOWrites = record.Millis(14371*time.Millisecond), record.Count(0)
	tests := []struct {
		name string
		rec  *record.Record
	}{{"built", built}, {"measured", measured}}
	for _, name := range goldenCases {
		r, err := ReadJSON(filepath.Join("testdata", name, JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			rec  *record.Record
		}{name, r})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.rec
			path := filepath.Join(t.TempDir(), JSONFile)
			var buf bytes.Buffer
			if err := WriteJSON(&buf, want); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(want)) {
				t.Errorf("round trip changed the record\n got: %+v\nwant: %+v", got, want)
			}
			var again bytes.Buffer
			if err := WriteJSON(&again, got); err != nil {
				t.Fatal(err)
			}
			if again.String() != buf.String() {
				t.Error("WriteJSON is not stable across a round trip")
			}
		})
	}
}

// normalize returns a copy of r with every time as JSON keeps it: no
// monotonic reading, in UTC. Everything else must survive as it is.
func normalize(r *record.Record) *record.Record {
	n := *r
	norm := func(t time.Time) time.Time { return t.Round(0).UTC() }
	n.Start, n.End = norm(r.Start), norm(r.End)
	n.Steps = append([]record.Step(nil), r.Steps...)
	for i := range n.Steps {
		n.Steps[i].Start, n.Steps[i].End = norm(n.Steps[i].Start), norm(n.Steps[i].End)
	}
	return &n
}

// TestTestdataCanonical keeps the hand-written records in the exact form
// WriteJSON produces, so -update never rewrites them behind a reviewer.
func TestTestdataCanonical(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name, JSONFile)
			r, err := ReadJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteJSON(&buf, r); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != string(want) {
				t.Errorf("%s is not in WriteJSON form\n%s", path, firstDiff(buf.String(), string(want)))
			}
		})
	}
}

func TestReadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		want []string // substrings of the error
	}{
		{"missing file", filepath.Join(dir, "absent.json"), []string{"read drill record", "absent.json", "no such file"}},
		{"not JSON", write("log.json", "hello, etcd\n"), []string{"log.json: not a drill record", "invalid character"}},
		{"empty file", write("empty.json", ""), []string{"empty.json: not a drill record", "unexpected end of JSON input"}},
		{"JSON array", write("array.json", "[1, 2]"), []string{"array.json: not a drill record: JSON array, want an object"}},
		{"wrong schema", write("v0.json", `{"schema": "etcdrill.drill-record/v0", "run_id": "x"}`),
			[]string{`v0.json: unsupported schema "etcdrill.drill-record/v0", want "` + record.Schema + `"`}},
		{"no schema", write("other.json", `{"name": "not a drill"}`), []string{`unsupported schema ""`}},
		{"wrong field type", write("bad.json", `{"schema": "`+record.Schema+`", "config": {"members": "three"}}`),
			[]string{"bad.json: not a drill record", "members"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadJSON(tt.path)
			if err == nil {
				t.Fatalf("ReadJSON = %+v, want an error", r)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestWriteDirThenRender(t *testing.T) {
	r, err := ReadJSON(filepath.Join("testdata", "quorum-loss", JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "runs", "quorum-loss") // WriteDir creates parents
	if err := WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{MarkdownFile, HTMLFile} {
		path := filepath.Join(dir, name)
		first, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Render(dir); err != nil {
			t.Fatal(err)
		}
		second, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("Render wrote a different %s than WriteDir\n%s", name, firstDiff(string(second), string(first)))
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o644 {
			t.Errorf("%s mode %v, want 0644", name, perm)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{HTMLFile, JSONFile, MarkdownFile}; !reflect.DeepEqual(names, want) {
		t.Errorf("dir holds %v, want %v (no temporary files left)", names, want)
	}
}

func TestRenderErrors(t *testing.T) {
	if err := Render(t.TempDir()); err == nil || !strings.Contains(err.Error(), JSONFile) {
		t.Errorf("Render of an empty dir: %v, want an error naming %s", err, JSONFile)
	}
	if err := WriteDir(t.TempDir(), nil); err == nil {
		t.Error("WriteDir(nil record) succeeded")
	}
	if err := Markdown(&bytes.Buffer{}, nil); err == nil {
		t.Error("Markdown(nil record) succeeded")
	}
	if err := HTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("HTML(nil record) succeeded")
	}
	if err := WriteJUnit(&bytes.Buffer{}, []*record.Record{minimal(), nil}); err == nil {
		t.Error("WriteJUnit with a nil record succeeded")
	}
	if err := WriteJSON(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteJSON(nil record) succeeded")
	}
}

func TestWriteJSONReadable(t *testing.T) {
	r := minimal()
	r.Steps = []record.Step{{Name: "probe", Command: "etcdctl get <key> && echo ok"}}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"{\n  \"schema\": \"" + record.Schema + "\",\n  \"run_id\"", `"command": "etcdctl get <key> && echo ok"`} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "}\n") {
		t.Error("JSON does not end in a newline")
	}
}

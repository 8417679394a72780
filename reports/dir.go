package reports

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/etcdrill/etcdrill/record"
)

// File names of a report directory.
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
)

// WriteDir creates dir (mode 0o755) if needed and writes r into it as
// report.json, report.md and report.html. All three are rendered before
// any is written, and each is written to a temporary file in dir that is
// synced and then renamed over the old one, so a crash leaves the old
// report or the new one, never half of one. Writing the same record again
// is harmless.
func WriteDir(dir string, r *record.Record) error {
	j, err := encodeJSON(r)
	if err != nil {
		return err
	}
	md, page, err := renderBoth(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report dir: %w", err)
	}
	if err := writeFile(dir, JSONFile, j); err != nil {
		return err
	}
	if err := writeFile(dir, MarkdownFile, md); err != nil {
		return err
	}
	return writeFile(dir, HTMLFile, page)
}

// Render reads dir/report.json and rewrites dir/report.md and
// dir/report.html from it, the same way WriteDir does. It backs `etcdrill
// report DIR`, so a report can be re-rendered after the renderer changes
// without running the drill.
func Render(dir string) error {
	r, err := ReadJSON(filepath.Join(dir, JSONFile))
	if err != nil {
		return err
	}
	return writeRendered(dir, r)
}

// writeRendered renders r as Markdown and HTML, then writes both into dir.
func writeRendered(dir string, r *record.Record) error {
	md, page, err := renderBoth(r)
	if err != nil {
		return err
	}
	if err := writeFile(dir, MarkdownFile, md); err != nil {
		return err
	}
	return writeFile(dir, HTMLFile, page)
}

func renderBoth(r *record.Record) (md, page []byte, err error) {
	if md, err = renderMarkdown(r); err != nil {
		return nil, nil, err
	}
	if page, err = renderHTML(r); err != nil {
		return nil, nil, err
	}
	return md, page, nil
}

// writeFile replaces dir/name with data atomically: temporary file in the
// same directory, fsync, mode 0o644, rename. The temporary file is removed
// when any step fails.
func writeFile(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return nil
}

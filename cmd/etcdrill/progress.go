package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cheggaaa/pb/v3"
	"github.com/etcdrill/etcdrill/record"
	"golang.org/x/term"
)

// progress shows the running drills on a terminal as a live bar
// (cheggaaa/pb, as etcdctl uses), and prints a line per finished drill.
// One drill at a time has a bar of its own, counting its steps; several
// at once share one bar that counts finished drills and names each
// running drill with its step. When stderr is not a terminal it stays
// silent and the slog lines tell the story instead. Its methods are safe
// for the drills to call concurrently.
type progress struct {
	w        io.Writer
	live     bool
	total    int
	parallel int

	mu       sync.Mutex
	started  int
	finished int
	bar      *pb.ProgressBar // parallel 1: the current drill's; else the matrix's
	running  []*drillProgress
}

// drillProgress is one drill's part of the display; its step method is
// the drill's Options.OnStep.
type drillProgress struct {
	p             *progress
	name, version string
	n             int // when it started: 1 for the first drill
	t0            time.Time
	i, steps      int
}

const (
	barTemplate = `{{string . "drill"}} {{bar . "[" "=" ">" " " "]"}} {{counters .}} {{string . "step"}} {{etime .}}`
	// poolTemplate is the shared bar's: finished drills of all, then the
	// running ones.
	poolTemplate = `drills {{bar . "[" "=" ">" " " "]"}} {{counters .}} {{etime .}} {{string . "running"}}`
	// poolFixed is about how many columns the shared bar needs besides the
	// running drills, with a bar of at least 10.
	poolFixed = 40
)

func newProgress(w io.Writer, total, parallel int) *progress {
	f, ok := w.(*os.File)
	p := &progress{w: w, total: total, parallel: max(parallel, 1), live: ok && term.IsTerminal(int(f.Fd()))}
	if p.live && p.parallel > 1 {
		// The shared bar redraws its line while finished drills print
		// theirs: one lock keeps a line and a frame from mixing.
		p.w = &lockedWriter{w: w}
	}
	return p
}

// start shows that the drill name (the matrix entry's name) on version
// has started.
func (p *progress) start(name, version string) *drillProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started++
	d := &drillProgress{p: p, name: name, version: version, n: p.started, t0: time.Now()}
	if !p.live {
		return d
	}
	if p.parallel == 1 {
		p.bar = pb.New(1).SetTemplateString(barTemplate).SetWriter(p.w).SetRefreshRate(200 * time.Millisecond)
		p.bar.Set("drill", fmt.Sprintf("[%d/%d] %s %s", d.n, p.total, name, version)).Start()
		return d
	}
	if p.bar == nil {
		// Not an *os.File: say what pb would have found out itself.
		p.bar = pb.New(p.total).SetTemplateString(poolTemplate).SetWriter(p.w).SetRefreshRate(200*time.Millisecond).
			Set(pb.Terminal, true).Set(pb.ReturnSymbol, "\r").Set(pb.Color, true).Start()
	}
	p.running = append(p.running, d)
	p.showRunning()
	return d
}

// step is drill.Options.OnStep: step i of n is starting.
func (d *drillProgress) step(_ string, i, n int, title string) {
	p := d.p
	p.mu.Lock()
	defer p.mu.Unlock()
	d.i, d.steps = i, n
	if p.bar == nil {
		return
	}
	if p.parallel == 1 {
		p.bar.SetTotal(int64(n)).SetCurrent(int64(i-1)).Set("step", title)
		return
	}
	p.showRunning()
}

// done shows the drill's verdict; r nil is a drill that never started.
func (d *drillProgress) done(r *record.Record) {
	p := d.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished++
	if !p.live {
		return
	}
	var line string
	if r != nil {
		mark := map[record.Verdict]string{record.Pass: "PASS", record.Fail: "FAIL", record.NotApplicable: "N/A ", record.Interrupted: "STOP"}[r.Verdict]
		line = fmt.Sprintf("%s  %s %s  %s", mark, d.name, r.Config.EtcdVersion, time.Since(d.t0).Round(time.Second))
		if r.Reason != "" {
			line += "  " + r.Reason
		}
	}
	if p.parallel == 1 {
		if p.bar != nil {
			p.bar.SetCurrent(p.bar.Total()).Set("step", "").Finish()
			p.bar = nil
		}
		if line != "" {
			fmt.Fprintln(p.w, line)
		}
		return
	}
	for k, o := range p.running {
		if o == d {
			p.running = append(p.running[:k], p.running[k+1:]...)
			break
		}
	}
	if line != "" {
		// Over the bar's line; the bar redraws below it.
		fmt.Fprint(p.w, "\r\x1b[K"+line+"\n")
	}
	p.bar.SetCurrent(int64(p.finished))
	p.showRunning()
}

// close ends the display once no drill runs any more.
func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// showRunning puts the running drills on the shared bar, cut to the
// terminal's width. p.mu is held.
func (p *progress) showRunning() {
	var parts []string
	for _, d := range p.running {
		s := d.name + " " + d.version
		if d.steps > 0 {
			s += fmt.Sprintf(" %d/%d", d.i, d.steps)
		}
		parts = append(parts, s)
	}
	p.bar.Set("running", fitWidth(strings.Join(parts, ", "), p.bar.Width()-poolFixed))
}

// fitWidth cuts s to at most width characters, ending in "…" when cut.
func fitWidth(s string, width int) string {
	width = max(width, 10)
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/cheggaaa/pb/v3"
	"github.com/etcdrill/etcdrill/record"
	"golang.org/x/term"
)

// progress shows the current drill and step on a terminal as a live bar
// (cheggaaa/pb, as etcdctl uses), and prints a line per finished drill.
// When stderr is not a terminal it stays silent and the slog lines tell
// the story instead.
type progress struct {
	w     io.Writer
	live  bool
	total int
	n     int

	mu  sync.Mutex
	bar *pb.ProgressBar
	t0  time.Time
}

const barTemplate = `{{string . "drill"}} {{bar . "[" "=" ">" " " "]"}} {{counters .}} {{string . "step"}} {{etime .}}`

func newProgress(w io.Writer, total int) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, total: total, live: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) start(name, version string) {
	p.n++
	p.t0 = time.Now()
	if !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar = pb.New(1).SetTemplateString(barTemplate).SetWriter(p.w).SetRefreshRate(200 * time.Millisecond)
	p.bar.Set("drill", fmt.Sprintf("[%d/%d] %s %s", p.n, p.total, name, version)).Start()
}

// step is drill.Options.OnStep.
func (p *progress) step(_ string, i, n int, title string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	p.bar.SetTotal(int64(n)).SetCurrent(int64(i-1)).Set("step", title)
}

func (p *progress) done(r *record.Record) {
	if !p.live {
		return
	}
	p.mu.Lock()
	if p.bar != nil {
		p.bar.SetCurrent(p.bar.Total()).Set("step", "").Finish()
		p.bar = nil
	}
	p.mu.Unlock()
	mark := map[record.Verdict]string{record.Pass: "PASS", record.Fail: "FAIL", record.NotApplicable: "N/A ", record.Interrupted: "STOP"}[r.Verdict]
	line := fmt.Sprintf("%s  %s %s  %s", mark, r.Scenario, r.Config.EtcdVersion, time.Since(p.t0).Round(time.Second))
	if r.Reason != "" {
		line += "  " + r.Reason
	}
	fmt.Fprintln(p.w, line)
}

// Package drill is the engine every run is built on: a drill of a
// catalogue Scenario (Run), and the checks that are not drills but share
// its record and report (snapshot verify, upgrade-check). It owns the
// common prologue (cluster, auth, load), fault injection, the step log,
// and the one finish path that turns steps and checks into a verdict, a
// record and the report files.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// Drill is one scenario run in progress. Steps share what the engine
// keeps here; anything a scenario learns as it goes (a member ID, a
// saved file) it keeps with State.
type Drill struct {
	Scenario *Scenario
	Config   Config
	// Cluster is nil until the first step starts it.
	Cluster *harness.Cluster
	Log     *record.Log
	// Ledger records every write of the load.
	Ledger *workload.Ledger
	Record *record.Record

	lg        *slog.Logger
	runner    *workload.Runner
	loadCli   io.Closer
	loadCreds *harness.Credentials // the workload's user when auth is on
	events    []record.Event
	// trafficStats are the Kubernetes-shaped traffic's totals once stopped.
	trafficStats workload.TrafficStats
	workDir      string // see WorkDir
	state        map[reflect.Type]any
}

// New prepares a drill of s with a resolved configuration; nothing
// starts until its steps run.
func New(s *Scenario, cfg Config) *Drill {
	lg := cfg.Logger.With("scenario", s.Name)
	lg.Info("drill prepared", "version", cfg.Version, "seed", cfg.Seed)
	return &Drill{
		Scenario: s, Config: cfg, Log: &record.Log{Logger: lg}, Ledger: &workload.Ledger{}, lg: lg,
		Record: &record.Record{Schema: record.Schema, Kind: record.KindDrill, Scenario: s.Name, Seeds: s.Seeds, Start: time.Now(), Config: cfg.Record()},
	}
}

// Logger is the drill's logger.
func (d *Drill) Logger() *slog.Logger { return d.lg }

// Timeouts are the drill's wait budgets.
func (d *Drill) Timeouts() harness.Timeouts { return d.Config.Timeouts }

// Event marks a moment on the report's timeline.
func (d *Drill) Event(kind, text string) {
	d.events = append(d.events, record.Event{T: time.Now(), Kind: kind, Text: text})
}

// AddChecks appends checks to the record.
func (d *Drill) AddChecks(cs ...record.Check) { d.Record.Checks = append(d.Record.Checks, cs...) }

// State returns d's state of type T, creating a zero T on first use. The
// steps of a drill share it: the one way a scenario keeps what it learns
// without adding fields to Drill.
func State[T any](d *Drill) *T {
	if d.state == nil {
		d.state = map[reflect.Type]any{}
	}
	key := reflect.TypeFor[T]()
	if s, ok := d.state[key]; ok {
		return s.(*T)
	}
	s := new(T)
	d.state[key] = s
	return s
}

// Close stops the load, tears the drill's cluster down and removes its
// work dir; it is safe to call twice.
func (d *Drill) Close(ctx context.Context) error {
	d.stopLoad()
	d.stopWatchers()
	err := d.Cluster.Close(ctx)
	if d.workDir != "" {
		err = errors.Join(err, os.RemoveAll(d.workDir))
		d.workDir = ""
	}
	return err
}

// WorkDir is the drill's directory on the operator's machine, where the
// snapshots it saves are kept for as long as the drill lasts, whichever of
// its clusters they came from or go to. Close removes it.
func (d *Drill) WorkDir() (string, error) {
	if d.workDir == "" {
		dir, err := os.MkdirTemp("", "etcdrill-"+d.Scenario.Name+"-")
		if err != nil {
			return "", fmt.Errorf("work dir: %w", err)
		}
		d.workDir = dir
	}
	return d.workDir, nil
}

func (d *Drill) stopLoad() {
	if t := State[Data](d).Traffic; t != nil {
		State[Data](d).Traffic = nil
		d.trafficStats = t.Stop()
	}
	if d.runner != nil {
		d.runner.Stop()
		d.runner = nil
	}
	d.stopClients()
	if d.loadCli != nil {
		d.loadCli.Close()
		d.loadCli = nil
	}
}

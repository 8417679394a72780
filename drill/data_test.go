package drill

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

func TestResolveDataProfile(t *testing.T) {
	s := &Scenario{Name: "unit", Members: 3}
	cfg, err := Resolve(s, Options{Data: "1GiB", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data.IsZero() || cfg.Data.Profile != workload.ProfileK8s || cfg.Data.Size() != 1<<30 {
		t.Fatalf("data = %+v", cfg.Data)
	}
	if cfg.DataBytes != 1<<30 {
		t.Errorf("DataBytes = %d, want the profile's size", cfg.DataBytes)
	}
	if cfg.Timeout <= DefaultTimeout {
		t.Errorf("the default deadline does not grow with 1 GiB of data: %s", cfg.Timeout)
	}
	if got := cfg.Record().Data; got == "" {
		t.Error("the record does not say which data was loaded")
	}
	titles := []string{}
	for _, st := range s.StepsFor(cfg) {
		titles = append(titles, st.Title)
	}
	if !strings.Contains(strings.Join(titles, "|"), "load ") {
		t.Errorf("no load step among %q", titles)
	}
	// An explicit deadline is kept as given.
	cfg, err = Resolve(s, Options{Data: "1GiB", Timeout: time.Minute, Logger: quiet()})
	if err != nil || cfg.Timeout != time.Minute {
		t.Errorf("explicit --timeout: got %s, %v", cfg.Timeout, err)
	}
}

func TestResolveRefusesBadData(t *testing.T) {
	s := &Scenario{Name: "unit", Members: 3}
	snap := filepath.Join(t.TempDir(), "snap.db")
	if err := os.WriteFile(snap, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"bad size":           {Data: "lots"},
		"too big":            {Data: "9GiB"},
		"data and snapshot":  {Data: "64MiB", FromSnapshot: snap},
		"missing snapshot":   {FromSnapshot: filepath.Join(t.TempDir(), "nope.db")},
		"snapshot directory": {FromSnapshot: t.TempDir()},
	} {
		o.Logger = quiet()
		if _, err := Resolve(s, o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
}

func TestPhasesKeepRecoveryAndAddFirstWrite(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	all := []record.RTOPhase{
		{Name: record.PhaseRestore, Member: "m1", Start: at(-30), End: at(-29)}, // setup: the operator's snapshot
		{Name: record.PhaseTransfer, Start: at(5), End: at(6), Bytes: 1e9},
		{Name: record.PhaseRestore, Member: "m1", Start: at(6), End: at(8)},
		{Name: record.PhaseLeader, Start: at(9), End: at(10)},
	}
	got := phases(all, t0, at(11.5))
	if len(got) != 4 || got[0].Name != record.PhaseTransfer {
		t.Fatalf("phases before the fault kept, or recovery ones dropped: %+v", got)
	}
	last := got[len(got)-1]
	if last.Name != record.PhaseFirstWrite || !last.Start.Equal(at(10)) || !last.End.Equal(at(11.5)) {
		t.Errorf("first write = %+v, want from the leader (+10s) to recovery (+11.5s)", last)
	}
	if got := phases(all[1:], time.Time{}, time.Time{}); len(got) != 3 {
		t.Errorf("without a fault or recovery, all phases kept and none added: %+v", got)
	}
}

func TestRPOInRevisionsAndTime(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	w := func(rev int64, end float64, o workload.Outcome) workload.Write {
		return workload.Write{Revision: rev, Outcome: o, End: t0.Add(time.Duration(end * float64(time.Second)))}
	}
	writes := []workload.Write{
		w(10, 1, workload.Acknowledged), w(12, 2, workload.Acknowledged), // kept by a snapshot at 12
		w(13, 3, workload.Acknowledged), w(20, 4.5, workload.Acknowledged), // lost
		w(0, 9, workload.Indeterminate),
	}
	revs, ms := rpo(writes, 12)
	if *revs != 8 || *ms != 2500 {
		t.Errorf("rpo = %d revisions, %d ms; want 8 and 2500", *revs, *ms)
	}
	revs, ms = rpo(writes[:2], 12)
	if *revs != 0 || *ms != 0 {
		t.Errorf("nothing lost: rpo = %d revisions, %d ms", *revs, *ms)
	}
}

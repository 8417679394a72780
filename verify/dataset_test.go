package verify

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// plantedKS is a keyspace made from a dataset by hand: key -> value.
type plantedKS map[string][]byte

func intact(ds *workload.Dataset) plantedKS {
	ks := plantedKS{}
	for i := range ds.Len() {
		ks[ds.Key(i)] = ds.Value(i)
	}
	ks["/other/key"] = []byte("outside the prefix: ignored")
	return ks
}

// check observes ks in ascending key order, as a Scan delivers it.
func check(ds *workload.Dataset, upTo int64, ks plantedKS) (record.Check, DatasetReport) {
	c := NewDatasetCheck(ds, upTo)
	for _, k := range slices.Sorted(maps.Keys(ks)) {
		c.Observe([]byte(k), ks[k])
	}
	return c.Check(), c.Report()
}

// mutation plants one traffic mutation; value nil is a delete.
func mutation(ds *workload.Dataset, key string, value []byte, o workload.Outcome, rev int64, cluster int) {
	m := workload.Mutation{Op: workload.OpUpdate, Outcome: o, Revision: rev, Cluster: cluster, Start: time.Now()}
	if value == nil {
		m.Op = workload.OpDelete
	} else {
		m.Hash = workload.HashValue(value)
	}
	m.End = m.Start
	ds.Record(key, m)
}

func TestDatasetCheck(t *testing.T) {
	gen := func(ds *workload.Dataset, i int, g uint32) []byte { return ds.AppendValue(nil, i, g) }
	tests := []struct {
		name string
		upTo int64
		// plant changes the dataset's history and the observed keyspace.
		plant func(ds *workload.Dataset, ks plantedKS)
		ok    bool
		want  string // a detail line must contain it when !ok
		check func(r DatasetReport) string
	}{
		{name: "intact", ok: true, plant: func(*workload.Dataset, plantedKS) {},
			check: func(r DatasetReport) string {
				if r.Present != r.Keys || r.Observed != r.Keys {
					return fmt.Sprintf("present %d observed %d of %d", r.Present, r.Observed, r.Keys)
				}
				return ""
			}},
		{name: "dropped key", want: "missing: ", plant: func(ds *workload.Dataset, ks plantedKS) { delete(ks, ds.Key(17)) }},
		{name: "changed value", want: "changed: ", plant: func(ds *workload.Dataset, ks plantedKS) { ks[ds.Key(3)] = []byte("tampered") }},
		{name: "unexpected key", want: "unexpected: ", plant: func(ds *workload.Dataset, ks plantedKS) {
			ks[ds.Prefix()+"pods/default/intruder-1"] = []byte("x")
		}},
		{name: "acknowledged update present", ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 100, 0)
			ks[ds.Key(5)] = gen(ds, 5, 1)
		}},
		{name: "stale value after acknowledged update", want: "as of revision 100", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 100, 0)
		}},
		{name: "update before the last acknowledged one", want: "changed: ", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 100, 0)
			mutation(ds, ds.Key(5), gen(ds, 5, 2), workload.Acknowledged, 110, 0)
			ks[ds.Key(5)] = gen(ds, 5, 1)
		}},
		{name: "indeterminate update may have landed", ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 100, 0)
			mutation(ds, ds.Key(5), gen(ds, 5, 2), workload.Indeterminate, 0, 0)
			ks[ds.Key(5)] = gen(ds, 5, 2)
		}},
		{name: "indeterminate update may not have landed", ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Indeterminate, 0, 0)
		}},
		{name: "failed update did not land", want: "changed: ", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Failed, 0, 0)
			ks[ds.Key(5)] = gen(ds, 5, 1)
		}},
		{name: "acknowledged delete absent", ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(9), nil, workload.Acknowledged, 100, 0)
			delete(ks, ds.Key(9))
		}},
		{name: "deleted key is back", want: "must be absent", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(9), nil, workload.Acknowledged, 100, 0)
		}},
		{name: "updated key is gone", want: "missing: ", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(9), gen(ds, 9, 1), workload.Acknowledged, 100, 0)
			delete(ks, ds.Key(9))
		}},
		{name: "created event present", ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			k := ds.Prefix() + "events/default/web.1"
			mutation(ds, k, []byte("event"), workload.Acknowledged, 100, 0)
			ks[k] = []byte("event")
		}},
		{name: "created event lost", want: "missing: ", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Prefix()+"events/default/web.1", []byte("event"), workload.Acknowledged, 100, 0)
		}},
		{name: "refused event present", want: "must be absent", plant: func(ds *workload.Dataset, ks plantedKS) {
			k := ds.Prefix() + "events/default/web.1"
			mutation(ds, k, []byte("event"), workload.Failed, 0, 0)
			ks[k] = []byte("event")
		}},
		{name: "restore: update after the snapshot is lost", upTo: 50, ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 40, 0)
			mutation(ds, ds.Key(5), gen(ds, 5, 2), workload.Acknowledged, 60, 0)
			mutation(ds, ds.Key(5), gen(ds, 5, 3), workload.Indeterminate, 0, 0)
			ks[ds.Key(5)] = gen(ds, 5, 1)
		}, check: func(r DatasetReport) string {
			if r.Lost != 1 {
				return fmt.Sprintf("Lost = %d, want 1", r.Lost)
			}
			return ""
		}},
		{name: "restore: update after the snapshot survived", upTo: 50, want: "as of revision 40", plant: func(ds *workload.Dataset, ks plantedKS) {
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 40, 0)
			mutation(ds, ds.Key(5), gen(ds, 5, 2), workload.Acknowledged, 60, 0)
			ks[ds.Key(5)] = gen(ds, 5, 2)
		}},
		{name: "restore: event after the snapshot survived", upTo: 50, want: "must be absent", plant: func(ds *workload.Dataset, ks plantedKS) {
			k := ds.Prefix() + "events/default/web.1"
			mutation(ds, k, []byte("event"), workload.Acknowledged, 60, 0)
			ks[k] = []byte("event")
		}},
		{name: "restore: traffic after it counts", upTo: 50, ok: true, plant: func(ds *workload.Dataset, ks plantedKS) {
			ds.NoteCluster(0xa)
			ds.NoteCluster(0xb)
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 60, 0) // lost with the old cluster
			mutation(ds, ds.Key(5), gen(ds, 5, 2), workload.Failed, 0, 1)        // compare failed: stale revision
			mutation(ds, ds.Key(5), gen(ds, 5, 3), workload.Acknowledged, 52, 1) // on the restored cluster
			ks[ds.Key(5)] = gen(ds, 5, 3)
		}},
		{name: "restore: traffic after it must be present", upTo: 50, want: "as of revision 52", plant: func(ds *workload.Dataset, ks plantedKS) {
			ds.NoteCluster(0xa)
			ds.NoteCluster(0xb)
			mutation(ds, ds.Key(5), gen(ds, 5, 1), workload.Acknowledged, 60, 0)
			mutation(ds, ds.Key(5), gen(ds, 5, 3), workload.Acknowledged, 52, 1)
		}},
	}
	for _, spec := range []workload.DataSpec{{Bytes: 1 << 20}, {Profile: "uniform", Keys: 300, ValueSize: 64}} {
		for _, tt := range tests {
			t.Run(spec.String()+"/"+tt.name, func(t *testing.T) {
				ds := workload.NewDataset(spec)
				ks := intact(ds)
				tt.plant(ds, ks)
				c, r := check(ds, tt.upTo, ks)
				if c.Name != "dataset-integrity" {
					t.Errorf("check named %q", c.Name)
				}
				if c.Passed() != tt.ok {
					t.Fatalf("passed = %v, want %v: %s\n%s", c.Passed(), tt.ok, c.Summary, strings.Join(c.Details, "\n"))
				}
				if !tt.ok && !slices.ContainsFunc(c.Details, func(d string) bool { return strings.Contains(d, tt.want) }) {
					t.Errorf("no detail contains %q:\n%s", tt.want, strings.Join(c.Details, "\n"))
				}
				if tt.check != nil {
					if msg := tt.check(r); msg != "" {
						t.Error(msg)
					}
				}
			})
		}
	}
}

func TestDatasetCheckCapsDetails(t *testing.T) {
	ds := workload.NewDataset(workload.DataSpec{Profile: "uniform", Keys: 1000, ValueSize: 8})
	c := NewDatasetCheck(ds, 0)
	for i := 100; i < ds.Len(); i++ { // 100 present, 900 missing
		c.Observe([]byte(ds.Key(i)), ds.Value(i))
	}
	c.Observe([]byte(ds.Key(0)+"x"), nil)
	ch := c.Check()
	r := c.Report()
	if r.Missing != 100 || r.Unexpected != 1 || r.Present != 900 {
		t.Fatalf("report %+v", r)
	}
	if n := len(ch.Details); n != maxDetails+2 || ch.Details[maxDetails] != "... and 80 more" {
		t.Errorf("%d detail lines, want %d missing, one summary line, one unexpected:\n%s", n, maxDetails, strings.Join(ch.Details, "\n"))
	}
	if ch2 := c.Check(); ch2.Summary != ch.Summary {
		t.Errorf("a second Check changed the result: %q, then %q", ch.Summary, ch2.Summary)
	}
}

func BenchmarkDatasetCheck(b *testing.B) {
	ds := workload.NewDataset(workload.DataSpec{Profile: "uniform", Keys: 100_000, ValueSize: 100})
	keys, vals := make([][]byte, ds.Len()), make([][]byte, ds.Len())
	for i := range ds.Len() {
		keys[i], vals[i] = []byte(ds.Key(i)), ds.Value(i)
		ds.Hash(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := NewDatasetCheck(ds, 0)
		for i := range keys {
			c.Observe(keys[i], vals[i])
		}
		if ch := c.Check(); !ch.Passed() {
			b.Fatal(ch.Summary)
		}
	}
	b.ReportMetric(float64(b.N*ds.Len())/b.Elapsed().Seconds(), "keys/s")
}

// TestDatasetOnCluster loads a small k8s dataset into a 3-member cluster,
// runs the traffic through a loss of quorum and back, and checks every
// key with a Scan: the check must pass, and Scan must agree with the
// one-request Keyspace read. It starts containers, so it is skipped with
// -short.
func TestDatasetOnCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lg := slog.New(slog.DiscardHandler)
	v := harness.MustVersion("3.6.16")
	if skip, err := harness.SuiteReady(ctx, lg, testing.Short(), v); err != nil {
		t.Fatal(err)
	} else if skip != "" {
		t.Skip(skip)
	}
	c, err := harness.New(ctx, harness.WithVersion(v.String()), harness.WithMembers(3), harness.WithLogger(lg))
	defer c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	ds := workload.NewDataset(workload.DataSpec{Bytes: 16 << 20})
	progress := 0
	st, err := ds.Load(ctx, cli, workload.LoadOptions{Progress: func(done, total int64) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d keys, %s in %d txns (%d retries) by %d workers in %s: %.1f MB/s, revision %d",
		st.Keys, workload.FormatSize(st.Bytes), st.Txns, st.Retries, st.Workers, st.End.Sub(st.Start).Round(time.Millisecond), st.MBPerSecond(), st.Revision)
	if st.Keys != ds.Len() || st.Bytes != ds.Bytes() || progress != st.Txns || ds.LoadedRevision() != st.Revision {
		t.Fatalf("load stats %+v, dataset %d keys %d bytes, %d progress calls", st, ds.Len(), ds.Bytes(), progress)
	}

	tr := ds.StartTraffic(ctx, cli, workload.TrafficConfig{CompactInterval: 3 * time.Second})
	defer tr.Stop()
	waitFor := func(what string, budget time.Duration, ok func(workload.TrafficStats) bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		err := harness.Poll(wctx, 100*time.Millisecond, func(context.Context) error {
			if s := tr.Stats(); !ok(s) {
				return fmt.Errorf("%d acknowledged, %d failed, %d indeterminate, %d read errors", s.Acknowledged, s.Failed, s.Indeterminate, s.ReadErrors)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("traffic: %s: %v", what, err)
		}
	}
	waitFor("100 acknowledged mutations", time.Minute, func(s workload.TrafficStats) bool { return s.Acknowledged >= 100 })

	// Lose quorum: the traffic must record errors and keep going.
	before := tr.Stats()
	for _, m := range c.Members()[1:] {
		if err := m.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	errs := func(s workload.TrafficStats) int { return s.Failed + s.Indeterminate + s.ReadErrors + s.LeaseErrors }
	waitFor("20 errors without quorum", time.Minute, func(s workload.TrafficStats) bool { return errs(s) >= errs(before)+20 })
	for _, m := range c.Members()[1:] {
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	during := tr.Stats()
	waitFor("100 acknowledged mutations after quorum is back", 2*time.Minute, func(s workload.TrafficStats) bool {
		return s.Acknowledged >= during.Acknowledged+100 && s.Compactions > 0
	})
	ts := tr.Stop()
	t.Logf("traffic: ops %v; %d acknowledged, %d failed (%d conflicts), %d indeterminate; %d read errors; %d leases; %d compactions (%d errors) up to %d; watch events %v, %d restarts, %d regressions; last error %q",
		ts.Ops, ts.Acknowledged, ts.Failed, ts.Conflicts, ts.Indeterminate, ts.ReadErrors, ts.LeasesGranted, ts.Compactions, ts.CompactErrors, ts.CompactRevision, ts.WatchEvents, ts.WatchRestarts, ts.WatchRegressions, ts.LastError)
	if ts.WatchRegressions != 0 || ts.WatchEvents["/registry/pods/"] == 0 || ts.Ops["create"] == 0 || ts.Ops["delete"] == 0 {
		t.Errorf("traffic stats %+v", ts)
	}

	check := NewDatasetCheck(ds, 0)
	var d Digester
	rev, err := Scan(ctx, cli, ds.Prefix(), ScanOptions{PageKeys: 500}, func(kv KV) error {
		check.Observe(kv.Key, kv.Value)
		d.Add(kv.Key, kv.Value)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := check.Check()
	t.Logf("%s: %s", ch.Verdict, ch.Summary)
	if !ch.Passed() {
		t.Fatalf("%s\n%s", ch.Summary, strings.Join(ch.Details, "\n"))
	}
	// The reference is one unpaged read at the scan's revision: a put the
	// traffic gave up on when it stopped (context canceled) may still be
	// applied after the scan, so the latest revision can differ.
	resp, err := cli.Get(ctx, ds.Prefix(), clientv3.WithPrefix(), clientv3.WithRev(rev))
	if err != nil {
		t.Fatal(err)
	}
	wantSum, wantN := Digest(kvsOf(resp.Kvs))
	if gotSum, gotN := d.Sum(); gotSum != wantSum || gotN != wantN || d.Err() != nil {
		t.Errorf("Scan at revision %d digests %s/%d (%v), one read at that revision %s/%d", rev, gotSum, gotN, d.Err(), wantSum, wantN)
	}
	// The whole keyspace, adaptively paged, at the revision of the scan.
	n := 0
	if _, err := Scan(ctx, cli, "", ScanOptions{Rev: rev}, func(KV) error { n++; return nil }); err != nil || n < wantN {
		t.Errorf("whole keyspace at revision %d: %d keys, %v", rev, n, err)
	}
}

package verify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/workload"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The scale benchmarks start etcd in Docker and load it, which takes
// minutes: they run only when asked.
//
//	ETCDRILL_BENCH_SCALE=1 TESTCONTAINERS_RYUK_DISABLED=true \
//	  go test -run '^$' -bench 'Scan|LoadData' -benchtime 1x ./verify/
//
// ETCDRILL_BENCH_KEYS sets the keys BenchmarkScan loads (default
// 1,000,000 of ~100 bytes); ETCDRILL_BENCH_DATA the spec BenchmarkLoadData
// loads (default 1GiB, Kubernetes-shaped), ETCDRILL_BENCH_WORKERS its
// concurrent transactions (default LoadOptions'); ETCDRILL_BENCH_PAGE_BYTES
// the page size of the scans (default ScanOptions').
const scaleEnv = "ETCDRILL_BENCH_SCALE"

func scaleCluster(b *testing.B, ctx context.Context) (*harness.Cluster, *clientv3.Client) {
	b.Helper()
	if os.Getenv(scaleEnv) != "1" {
		b.Skipf("set %s=1 to start etcd in Docker and measure at scale", scaleEnv)
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	c, err := harness.New(ctx, harness.WithVersion("3.6.16"), harness.WithMembers(1), harness.WithQuota(4<<30),
		harness.WithLogger(slog.New(slog.DiscardHandler)))
	b.Cleanup(func() { c.Close(context.Background()) })
	if err != nil {
		b.Fatal(err)
	}
	cli, err := c.Client()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return c, cli
}

// BenchmarkScan compares reading every key of a large keyspace with a
// bare paginated range loop against verifying it (Scan, Digester and
// DatasetCheck), reporting keys/s and the peak heap and RSS of each.
func BenchmarkScan(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	keys := 1_000_000
	if v := os.Getenv("ETCDRILL_BENCH_KEYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ETCDRILL_BENCH_KEYS=%q: want a number of keys", v)
		}
		keys = n
	}
	_, cli := scaleCluster(b, ctx)
	ds := workload.NewDataset(workload.DataSpec{Profile: workload.ProfileUniform, Keys: keys, ValueSize: 100})
	st, err := ds.Load(ctx, cli, workload.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d keys (%s) in %s: %.1f MB/s", st.Keys, workload.FormatSize(st.Bytes), st.End.Sub(st.Start).Round(time.Millisecond), st.MBPerSecond())
	opt := ScanOptions{}
	if v := os.Getenv("ETCDRILL_BENCH_PAGE_BYTES"); v != "" {
		opt.PageBytes, _ = strconv.Atoi(v)
	}
	opt = opt.withDefaults()

	b.Run("bare", func(b *testing.B) {
		m := startMeasure()
		n := 0
		for b.Loop() {
			n += bareScan(b, ctx, cli, ds.Prefix(), opt)
		}
		m.report(b, n)
		if n != b.N*keys {
			b.Fatalf("read %d keys in %d scans, want %d each", n, b.N, keys)
		}
	})
	b.Run("verify", func(b *testing.B) {
		m := startMeasure()
		n := 0
		for b.Loop() {
			check := NewDatasetCheck(ds, 0)
			var d Digester
			_, err := Scan(ctx, cli, ds.Prefix(), opt, func(kv KV) error {
				check.Observe(kv.Key, kv.Value)
				d.Add(kv.Key, kv.Value)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if c := check.Check(); !c.Passed() {
				b.Fatalf("%s\n%s", c.Summary, strings.Join(c.Details, "\n"))
			}
			_, count := d.Sum()
			n += count
		}
		m.report(b, n)
	})
}

// bareScan is the baseline: a plain paginated Get loop from the last key
// + "\x00" at the first page's revision, pages sized as Scan sizes them,
// counting keys only.
func bareScan(b *testing.B, ctx context.Context, cli *clientv3.Client, prefix string, opt ScanOptions) int {
	end := clientv3.GetPrefixRangeEnd(prefix)
	key, limit, rev, n := prefix, firstPageKeys, int64(0), 0
	for {
		rctx, cancel := context.WithTimeout(ctx, opt.PageTimeout)
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(int64(limit))}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(rctx, key, opts...)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		rev = resp.Header.Revision
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			return n
		}
		kvs := make([]KV, len(resp.Kvs))
		for i, kv := range resp.Kvs {
			kvs[i] = KV{Key: kv.Key, Value: kv.Value}
		}
		limit = pageKeys(kvs, opt.PageBytes)
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// BenchmarkLoadData times loading a dataset (default 1 GiB,
// Kubernetes-shaped) into a 1-member cluster.
func BenchmarkLoadData(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	s := os.Getenv("ETCDRILL_BENCH_DATA")
	if s == "" {
		s = "1GiB"
	}
	spec, err := workload.ParseDataSpec(s)
	if err != nil {
		b.Fatal(err)
	}
	_, cli := scaleCluster(b, ctx)
	if b.N > 1 {
		b.Fatal("a load fills the cluster: run with -benchtime 1x")
	}
	var opt workload.LoadOptions
	if v := os.Getenv("ETCDRILL_BENCH_WORKERS"); v != "" {
		opt.Workers, _ = strconv.Atoi(v)
	}
	m := startMeasure()
	var st workload.LoadStats
	for b.Loop() {
		ds := workload.NewDataset(spec)
		if st, err = ds.Load(ctx, cli, opt); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b, st.Keys)
	b.ReportMetric(st.MBPerSecond(), "MB/s")
	b.Logf("loaded %s: %d keys, %s in %d txns (%d retries) by %d workers in %s: %.1f MB/s",
		spec, st.Keys, workload.FormatSize(st.Bytes), st.Txns, st.Retries, st.Workers, st.End.Sub(st.Start).Round(time.Millisecond), st.MBPerSecond())
}

// measure samples the heap in use (runtime/metrics, as
// MemStats.HeapInuse without stopping the world) and resets the kernel's
// peak RSS, so each sub-benchmark reports its own peaks.
type measure struct {
	start time.Time
	stop  chan struct{}
	peak  chan uint64
}

func startMeasure() *measure {
	runtime.GC()
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0); elsewhere the
	// RSS peak is the process's.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m := &measure{start: time.Now(), stop: make(chan struct{}), peak: make(chan uint64, 1)}
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var peak uint64
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-m.stop:
				m.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *measure) report(b *testing.B, keys int) {
	elapsed := time.Since(m.start)
	close(m.stop)
	b.ReportMetric(float64(<-m.peak)/(1<<20), "peak-heap-MiB")
	if hwm, ok := peakRSS(); ok {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
	b.ReportMetric(float64(keys)/elapsed.Seconds(), "keys/s")
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				return kb << 10, true
			}
		}
	}
	return 0, false
}

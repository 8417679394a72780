package workload

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// k8sResource is one kind of object the k8s profile stores, as the API
// server lays it out in etcd: /registry/<path>/<namespace>/<name>, a value
// of "k8s\x00" followed by a runtime.Unknown protobuf (TypeMeta, raw
// object bytes).
type k8sResource struct {
	path, apiVersion, kind string
	// weight is the share of keys, per 1000.
	weight int
	// Value sizes are log-uniform in [min, max]; bigPermille of the
	// objects (large ConfigMaps, Secrets, Nodes with many images) are in
	// [bigMin, bigMax] instead.
	min, max, bigPermille, bigMin, bigMax int
	// namespace is "" for namespaced objects, "-" for cluster-scoped ones,
	// or the one namespace all of them live in.
	namespace string
	stems     []string
	header    []byte // "k8s\x00", TypeMeta, the raw field's tag
}

// k8sResources is the mix of a mid-sized cluster's etcd: many events and
// pods, their controllers, config and secrets, a few nodes and their
// leases. By bytes, pods dominate, then configuration and controllers.
var k8sResources = []k8sResource{
	{path: "events", apiVersion: "v1", kind: "Event", weight: 280, min: 500, max: 1100, stems: stems},
	{path: "pods", apiVersion: "v1", kind: "Pod", weight: 200, min: 2 << 10, max: 8 << 10, bigPermille: 20, bigMin: 8 << 10, bigMax: 24 << 10, stems: stems},
	{path: "replicasets", apiVersion: "apps/v1", kind: "ReplicaSet", weight: 80, min: 1500, max: 4 << 10, stems: stems},
	{path: "deployments", apiVersion: "apps/v1", kind: "Deployment", weight: 30, min: 2 << 10, max: 6 << 10, stems: stems},
	{path: "configmaps", apiVersion: "v1", kind: "ConfigMap", weight: 70, min: 200, max: 8 << 10, bigPermille: 30, bigMin: 20 << 10, bigMax: 50 << 10, stems: stems},
	{path: "secrets", apiVersion: "v1", kind: "Secret", weight: 70, min: 300, max: 6 << 10, bigPermille: 20, bigMin: 20 << 10, bigMax: 50 << 10, stems: stems},
	{path: "services/specs", apiVersion: "v1", kind: "Service", weight: 40, min: 500, max: 1500, stems: stems},
	{path: "endpointslices", apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", weight: 40, min: 500, max: 3 << 10, stems: stems},
	{path: "serviceaccounts", apiVersion: "v1", kind: "ServiceAccount", weight: 40, min: 200, max: 600, stems: stems},
	{path: "rolebindings", apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", weight: 30, min: 300, max: 900, stems: stems},
	{path: "controllerrevisions", apiVersion: "apps/v1", kind: "ControllerRevision", weight: 20, min: 1 << 10, max: 5 << 10, stems: stems},
	{path: "persistentvolumeclaims", apiVersion: "v1", kind: "PersistentVolumeClaim", weight: 30, min: 600, max: 1500, stems: stems},
	{path: "horizontalpodautoscalers", apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", weight: 20, min: 800, max: 2 << 10, stems: stems},
	{path: "leases", apiVersion: "coordination.k8s.io/v1", kind: "Lease", weight: 35, min: 250, max: 400, namespace: "kube-node-lease", stems: []string{"node"}},
	{path: "minions", apiVersion: "v1", kind: "Node", weight: 15, min: 6 << 10, max: 16 << 10, bigPermille: 50, bigMin: 16 << 10, bigMax: 40 << 10, namespace: "-", stems: []string{"node"}},
}

var stems = []string{"web", "api", "worker", "cache", "db", "ingest", "frontend", "billing", "search", "auth", "metrics", "queue"}

// eventResource is the entry Traffic creates events with.
const eventResource = 0

// k8sCumulative maps a draw in [0, 1000) to a resource index.
var k8sCumulative [1000]uint8

// suffixAlphabet is the one Kubernetes uses for generated name suffixes
// (no vowels, no look-alikes).
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func init() {
	j := 0
	for ri := range k8sResources {
		r := &k8sResources[ri]
		for range r.weight {
			if j < len(k8sCumulative) {
				k8sCumulative[j] = uint8(ri)
				j++
			}
		}
		var tm []byte
		tm = append(tm, 0x0a, byte(len(r.apiVersion)))
		tm = append(tm, r.apiVersion...)
		tm = append(tm, 0x12, byte(len(r.kind)))
		tm = append(tm, r.kind...)
		r.header = append([]byte("k8s\x00\x0a"), byte(len(tm)))
		r.header = append(r.header, tm...)
		r.header = append(r.header, 0x12)
	}
}

// draw is key i's well-spread hash, the source of its resource,
// namespace, name and size.
func (d *Dataset) draw(i int) uint64 { return mix(uint64(i) ^ mix(uint64(d.spec.Seed))) }

func (d *Dataset) resource(i int) int { return int(k8sCumulative[d.draw(i)%1000]) }

// appendK8sKey appends /registry/<path>/<namespace>/<stem>-<suffix>-<i>.
func (d *Dataset) appendK8sKey(dst []byte, i int) []byte {
	h := d.draw(i)
	r := &k8sResources[k8sCumulative[h%1000]]
	dst = append(dst, r.path...)
	dst = append(dst, '/')
	switch r.namespace {
	case "":
		dst = appendNamespace(dst, int(h>>10)%d.ns)
		dst = append(dst, '/')
	case "-":
	default:
		dst = append(dst, r.namespace...)
		dst = append(dst, '/')
	}
	dst = append(dst, r.stems[int(h>>20)%len(r.stems)]...)
	dst = append(dst, '-')
	s := h >> 32
	for range 5 {
		dst = append(dst, suffixAlphabet[s%uint64(len(suffixAlphabet))])
		s /= uint64(len(suffixAlphabet))
	}
	dst = append(dst, '-')
	return strconv.AppendInt(dst, int64(i), 10)
}

// appendNamespace names namespace j: the usual system ones, then tenants.
func appendNamespace(dst []byte, j int) []byte {
	switch j {
	case 0:
		return append(dst, "kube-system"...)
	case 1:
		return append(dst, "default"...)
	case 2:
		return append(dst, "monitoring"...)
	}
	dst = append(dst, "tenant-"...)
	if j < 1000 {
		dst = append(dst, '0'+byte(j/100), '0'+byte(j/10%10), '0'+byte(j%10))
		return dst
	}
	return strconv.AppendInt(dst, int64(j), 10)
}

// valueLen is the exact length of key i's values (every generation has
// the same size, as Kubernetes updates mostly keep an object's size).
func (d *Dataset) valueLen(i int) int {
	h := d.draw(i)
	r := &k8sResources[k8sCumulative[h%1000]]
	return k8sValueLen(r, sizeDraw(r, mix(h^0x5bd1e995)))
}

// sizeDraw picks a size for r from hash h: log-uniform in r's usual
// range, or in its large range for bigPermille of the objects.
func sizeDraw(r *k8sResource, h uint64) int {
	lo, hi := r.min, r.max
	if int(h%1000) < r.bigPermille {
		lo, hi = r.bigMin, r.bigMax
	}
	u := float64(h>>11) / (1 << 53)
	return int(float64(lo) * math.Exp(u*math.Log(float64(hi)/float64(lo))))
}

// k8sValueLen is the exact length of a value of about size bytes:
// header, the raw object's length as a varint, the raw object.
func k8sValueLen(r *k8sResource, size int) int {
	fixed := len(r.header)
	for v := 1; v <= 3; v++ {
		if raw := size - fixed - v; raw >= 0 && uvarintLen(raw) == v {
			return size
		}
	}
	raw := max(size-fixed-2, 0) // no raw length fits exactly: one byte short
	return fixed + uvarintLen(raw) + raw
}

func uvarintLen(x int) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// appendK8sValue appends a value of exactly total bytes (a length
// k8sValueLen gave) shaped like the API server's protobuf storage, with
// deterministic pseudo-random object bytes.
func appendK8sValue(dst []byte, seed int64, i uint64, gen, domain uint32, r *k8sResource, total int) []byte {
	raw := 0
	for v := 1; v <= 3; v++ {
		if raw = total - len(r.header) - v; raw >= 0 && uvarintLen(raw) == v {
			break
		}
	}
	raw = max(raw, 0)
	dst = append(dst, r.header...)
	x := raw
	for x >= 0x80 {
		dst = append(dst, byte(x)|0x80)
		x >>= 7
	}
	dst = append(dst, byte(x))
	return appendRandom(dst, seed, i, gen, domain, raw)
}

// eventValue appends the value of the event Traffic creates as number id.
func eventValue(dst []byte, seed int64, id uint64) []byte {
	r := &k8sResources[eventResource]
	return appendK8sValue(dst, seed, id, 0, domainEvent, r, k8sValueLen(r, sizeDraw(r, mix(id^0x27d4eb2f165667c5))))
}

// MutationOp names what a traffic mutation does to its key.
type MutationOp string

// The mutations Traffic makes, each a compare-and-swap transaction on the
// key's mod revision as the API server's storage does them.
const (
	OpUpdate MutationOp = "update" // replace the value of an existing key
	OpCreate MutationOp = "create" // put a key that must not exist
	OpDelete MutationOp = "delete" // delete an existing key
)

// Mutation is one change Traffic asked for, with what the client learned.
// A key's mutations never overlap: each starts after the previous one
// returned, so their order is the order they may have been applied in.
type Mutation struct {
	Op MutationOp `json:"op"`
	// Outcome is Acknowledged when the transaction succeeded, Failed when
	// it surely changed nothing (its compare failed, or etcd refused it),
	// Indeterminate when the client gave up.
	Outcome Outcome `json:"outcome"`
	// Hash is HashValue of the value put; 0 for a delete.
	Hash uint64 `json:"hash,omitempty"`
	// Revision is the revision an acknowledged mutation committed at.
	Revision int64 `json:"revision,omitempty"`
	// Cluster is the index in Dataset.Clusters of the cluster that
	// answered, or of the latest one known when none did. A restore makes
	// a new cluster, so this tells mutations before it from those after.
	Cluster int       `json:"cluster"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// history is the per-key record of Traffic's mutations and the clusters
// (by ID) that answered the dataset's requests, in the order first seen.
type history struct {
	mu       sync.Mutex
	byKey    map[string][]Mutation
	clusters []uint64
	events   uint64 // events created so far: each gets a new name
}

// cluster returns the index of cluster id, adding it when new; id 0 (no
// header) gives the latest known.
func (h *history) cluster(id uint64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for j := len(h.clusters) - 1; j >= 0; j-- {
		if h.clusters[j] == id {
			return j
		}
	}
	if id == 0 {
		return max(len(h.clusters)-1, 0)
	}
	h.clusters = append(h.clusters, id)
	return len(h.clusters) - 1
}

// Record adds m to key's mutation record. Traffic calls it for every
// mutation it makes; tests use it to plant a history.
func (d *Dataset) Record(key string, m Mutation) {
	d.hist.mu.Lock()
	d.hist.byKey[key] = append(d.hist.byKey[key], m)
	d.hist.mu.Unlock()
}

// Mutations returns a copy of the mutation record: only the keys Traffic
// touched, each with its mutations in order.
func (d *Dataset) Mutations() map[string][]Mutation {
	d.hist.mu.Lock()
	defer d.hist.mu.Unlock()
	out := make(map[string][]Mutation, len(d.hist.byKey))
	for k, ms := range d.hist.byKey {
		out[k] = slices.Clone(ms)
	}
	return out
}

// Clusters returns the IDs of the clusters that answered the dataset's
// requests, in the order first seen: more than one means the data went
// through a restore into a new cluster.
func (d *Dataset) Clusters() []uint64 {
	d.hist.mu.Lock()
	defer d.hist.mu.Unlock()
	return slices.Clone(d.hist.clusters)
}

// NoteCluster tells the dataset which cluster answered a request made
// outside Load and Traffic (tests use it to plant a restore).
func (d *Dataset) NoteCluster(id uint64) int { return d.hist.cluster(id) }

// TrafficConfig shapes Kubernetes-like traffic. The defaults are gentle
// enough for a 2-core machine running three members.
type TrafficConfig struct {
	// Rate is the total operations per second. Default 50.
	Rate float64
	// Workers is the number of concurrent clients; each owns its own
	// share of the keys, so a key's mutations never overlap. Default 4.
	Workers int
	// Timeout bounds one request, short so the traffic keeps its pace
	// while the cluster has no quorum. Default 2s.
	Timeout time.Duration
	// CompactInterval is how often the revision seen one interval ago is
	// compacted, as the API server does (5 minutes there). Default 30s;
	// negative turns compaction off.
	CompactInterval time.Duration
	// LeaseTTL is the TTL of the leases events are attached to. Default
	// 1h, so no event expires during a drill (a restore keeps leases).
	LeaseTTL time.Duration
	// LeaseReuse is how long one lease serves new events before another is
	// granted, as the API server reuses event leases. Default 1m.
	LeaseReuse time.Duration
	// WatchPrefixes are watched for the whole run, counting events and
	// checking their revisions only increase. Default: pods, events and
	// leases for the k8s profile, the dataset's prefix for uniform.
	WatchPrefixes []string
}

func (c TrafficConfig) withDefaults(d *Dataset) TrafficConfig {
	if c.Rate <= 0 {
		c.Rate = 50
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = 30 * time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = time.Hour
	}
	if c.LeaseReuse <= 0 {
		c.LeaseReuse = time.Minute
	}
	if c.WatchPrefixes == nil {
		c.WatchPrefixes = []string{d.prefix}
		if d.spec.Profile == ProfileK8s {
			c.WatchPrefixes = []string{d.prefix + "pods/", d.prefix + "events/", d.prefix + "leases/"}
		}
	}
	return c
}

// TrafficStats counts what the traffic did.
type TrafficStats struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Ops counts operations by kind: update, create, delete, get, list.
	Ops map[string]int `json:"ops"`
	// Mutations by outcome; Conflicts are the Failed ones whose compare
	// failed (the key had changed since it was read).
	Acknowledged  int `json:"acknowledged"`
	Failed        int `json:"failed"`
	Conflicts     int `json:"conflicts"`
	Indeterminate int `json:"indeterminate"`
	// ReadErrors counts gets and lists that failed.
	ReadErrors    int `json:"read_errors"`
	LeasesGranted int `json:"leases_granted"`
	LeaseErrors   int `json:"lease_errors"`
	// Compactions counts compactions done; CompactErrors those refused or
	// unanswered ("required revision has been compacted" is one, and
	// harmless). CompactRevision is the last revision compacted.
	Compactions     int   `json:"compactions"`
	CompactErrors   int   `json:"compact_errors"`
	CompactRevision int64 `json:"compact_revision,omitempty"`
	// WatchEvents counts events per watched prefix. WatchRestarts counts
	// watches re-established (after a lost leader, a compaction, a
	// restore). WatchRegressions counts events whose revision was lower
	// than the previous event's on the same watch: it must stay 0.
	WatchEvents      map[string]int `json:"watch_events"`
	WatchRestarts    int            `json:"watch_restarts"`
	WatchRegressions int            `json:"watch_regressions"`
	// LastError is the last error a request returned, for the report.
	LastError string `json:"last_error,omitempty"`
}

// Traffic is Kubernetes-shaped traffic running against a dataset; Stop
// ends it.
type Traffic struct {
	ds     *Dataset
	cli    *clientv3.Client
	cfg    TrafficConfig
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu    sync.Mutex
	stats TrafficStats
}

// StartTraffic runs Kubernetes-shaped traffic on the dataset's keys until
// Stop or ctx ends: optimistic updates and deletes (a transaction that
// compares the key's mod revision with the one last read, and reads the
// key back when the compare fails), gets and paginated lists, creates of
// events attached to a lease, watches on a few prefixes, and periodic
// compaction. Every mutation is recorded in the dataset (see Mutations),
// so DatasetCheck knows each key's allowed final states. Errors are
// recorded and the traffic keeps going, so it survives a cluster losing
// quorum and being restored. Run one Traffic at a time per dataset.
func (d *Dataset) StartTraffic(ctx context.Context, cli *clientv3.Client, cfg TrafficConfig) *Traffic {
	cfg = cfg.withDefaults(d)
	ctx, cancel := context.WithCancel(ctx)
	t := &Traffic{ds: d, cli: cli, cfg: cfg, cancel: cancel}
	t.stats = TrafficStats{Start: time.Now(), Ops: map[string]int{}, WatchEvents: map[string]int{}}
	for w := range cfg.Workers {
		t.wg.Go(func() { t.work(ctx, w) })
	}
	for _, p := range cfg.WatchPrefixes {
		t.wg.Go(func() { t.watch(ctx, p) })
	}
	if cfg.CompactInterval > 0 {
		t.wg.Go(func() { t.compact(ctx) })
	}
	return t
}

// Stop ends the traffic, waits for requests in flight (a mutation cut
// short is recorded as indeterminate) and returns the totals. It is safe
// to call twice.
func (t *Traffic) Stop() TrafficStats {
	t.once.Do(func() {
		t.cancel()
		t.wg.Wait()
		t.mu.Lock()
		t.stats.End = time.Now()
		t.mu.Unlock()
	})
	return t.Stats()
}

// Stats returns the totals so far.
func (t *Traffic) Stats() TrafficStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Ops, s.WatchEvents = maps.Clone(s.Ops), maps.Clone(s.WatchEvents)
	return s
}

func (t *Traffic) count(f func(s *TrafficStats)) {
	t.mu.Lock()
	f(&t.stats)
	t.mu.Unlock()
}

func (t *Traffic) noteErr(err error) {
	t.count(func(s *TrafficStats) { s.LastError = err.Error() })
}

// request bounds one request by the traffic timeout, and fails it fast
// on a member that has no leader.
func (t *Traffic) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(ctx), t.cfg.Timeout)
}

// worker is one client's state: its random stream, the mod revision it
// last saw for each of its keys (0: absent), and its event lease.
type worker struct {
	id      int
	rng     *rand.Rand
	modRev  map[int]int64
	lease   clientv3.LeaseID
	leaseAt time.Time
}

// newRand is worker id's random stream: reproducible for a seed.
func newRand(seed int64, id int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(id)+1))
}

// The operation mix, per 100: mostly updates and reads, as a cluster's
// controllers and kubelets do, then event creates, lists and deletes.
var trafficMix = []struct {
	op     string
	weight int
}{{"update", 55}, {"get", 20}, {"create", 15}, {"list", 5}, {"delete", 5}}

func (t *Traffic) work(ctx context.Context, id int) {
	w := &worker{id: id, rng: newRand(t.ds.spec.Seed, id), modRev: map[int]int64{}}
	tick := time.NewTicker(time.Duration(float64(time.Second) * float64(t.cfg.Workers) / t.cfg.Rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		x := w.rng.IntN(100)
		op := trafficMix[0].op
		for _, m := range trafficMix {
			if x < m.weight {
				op = m.op
				break
			}
			x -= m.weight
		}
		i, ok := t.pick(w)
		if !ok && op != "create" {
			op = "create" // no dataset keys for this worker: only events
		}
		switch op {
		case "update":
			t.update(ctx, w, i, false)
		case "delete":
			t.update(ctx, w, i, true)
		case "get":
			t.get(ctx, w, i)
		case "list":
			t.list(ctx, w)
		case "create":
			t.createEvent(ctx, w)
		}
	}
}

// pick chooses one of the worker's keys (i % Workers == id). Half the
// picks go to a hot set of 64 keys, as a cluster's updates concentrate
// on few objects (node leases, busy pods).
func (t *Traffic) pick(w *worker) (int, bool) {
	per := (t.ds.n - w.id + t.cfg.Workers - 1) / t.cfg.Workers
	if per <= 0 {
		return 0, false
	}
	j := w.rng.IntN(per)
	if w.rng.IntN(2) == 0 {
		j = w.rng.IntN(min(per, 64))
	}
	return w.id + t.cfg.Workers*j, true
}

// modRevision is the mod revision the worker believes key i has: the one
// it last saw, else the revision Load wrote it at, else a read's.
func (t *Traffic) modRevision(ctx context.Context, w *worker, i int) (int64, bool) {
	if rev, ok := w.modRev[i]; ok {
		return rev, true
	}
	if o, rev := t.ds.Loaded(i); o == Acknowledged {
		return rev, true
	}
	return t.get(ctx, w, i)
}

// update replaces key i's value (or creates it when absent), or deletes
// it, with a transaction conditioned on its mod revision.
func (t *Traffic) update(ctx context.Context, w *worker, i int, del bool) {
	rev, ok := t.modRevision(ctx, w, i)
	if !ok {
		return
	}
	key := t.ds.Key(i)
	m := Mutation{Op: OpUpdate}
	var then clientv3.Op
	switch {
	case del && rev > 0:
		m.Op, then = OpDelete, clientv3.OpDelete(key)
	default:
		if rev == 0 {
			m.Op = OpCreate
		}
		val := t.ds.AppendValue(nil, i, t.ds.nextGen())
		m.Hash, then = HashValue(val), clientv3.OpPut(key, string(val))
	}
	t.count(func(s *TrafficStats) { s.Ops[string(m.Op)]++ })
	rctx, cancel := t.request(ctx)
	defer cancel()
	m.Start = time.Now()
	resp, err := t.cli.Txn(rctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(then).Else(clientv3.OpGet(key)).Commit()
	m.End = time.Now()
	t.finish(key, m, resp, err, func(rev int64) { w.modRev[i] = rev })
}

// finish classifies a mutation, records it, and tells seen the key's mod
// revision when the answer shows it.
func (t *Traffic) finish(key string, m Mutation, resp *clientv3.TxnResponse, err error, seen func(int64)) {
	switch {
	case err != nil:
		m.Outcome = Classify(err)
		if rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCLeaseNotFound) {
			m.Outcome = Failed // the put was refused: its lease is gone
		}
		m.Cluster = t.ds.hist.cluster(0)
		t.noteErr(err)
	case resp.Succeeded:
		m.Outcome, m.Revision = Acknowledged, resp.Header.Revision
		m.Cluster = t.ds.hist.cluster(resp.Header.ClusterId)
		if m.Op == OpDelete {
			seen(0)
		} else {
			seen(resp.Header.Revision)
		}
	default: // the compare failed: nothing changed; the else branch read the key
		m.Outcome = Failed
		m.Cluster = t.ds.hist.cluster(resp.Header.ClusterId)
		var rev int64
		if len(resp.Responses) > 0 {
			if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
				rev = r.Kvs[0].ModRevision
			}
		}
		seen(rev)
		t.count(func(s *TrafficStats) { s.Conflicts++ })
	}
	t.ds.Record(key, m)
	t.count(func(s *TrafficStats) {
		switch m.Outcome {
		case Acknowledged:
			s.Acknowledged++
		case Failed:
			s.Failed++
		default:
			s.Indeterminate++
		}
	})
}

// get reads key i, as a controller refreshes its copy, and returns its
// mod revision (0: absent).
func (t *Traffic) get(ctx context.Context, w *worker, i int) (int64, bool) {
	t.count(func(s *TrafficStats) { s.Ops["get"]++ })
	rctx, cancel := t.request(ctx)
	defer cancel()
	resp, err := t.cli.Get(rctx, t.ds.Key(i))
	if err != nil {
		t.count(func(s *TrafficStats) { s.ReadErrors++; s.LastError = err.Error() })
		return 0, false
	}
	t.ds.hist.cluster(resp.Header.ClusterId)
	var rev int64
	if len(resp.Kvs) > 0 {
		rev = resp.Kvs[0].ModRevision
	}
	w.modRev[i] = rev
	return rev, true
}

// list reads the first page of a resource, as an informer's list does.
func (t *Traffic) list(ctx context.Context, w *worker) {
	t.count(func(s *TrafficStats) { s.Ops["list"]++ })
	prefix := t.ds.prefix
	if t.ds.spec.Profile == ProfileK8s {
		prefix += k8sResources[w.rng.IntN(len(k8sResources))].path + "/"
	}
	rctx, cancel := t.request(ctx)
	defer cancel()
	resp, err := t.cli.Get(rctx, prefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(100))
	if err != nil {
		t.count(func(s *TrafficStats) { s.ReadErrors++; s.LastError = err.Error() })
		return
	}
	t.ds.hist.cluster(resp.Header.ClusterId)
}

// createEvent creates a new event key attached to the worker's lease.
func (t *Traffic) createEvent(ctx context.Context, w *worker) {
	lease, ok := t.eventLease(ctx, w)
	if !ok {
		return
	}
	t.ds.hist.mu.Lock()
	t.ds.hist.events++
	id := t.ds.hist.events
	t.ds.hist.mu.Unlock()
	key := t.ds.eventKey(id, w.rng.Uint64())
	val := eventValue(nil, t.ds.spec.Seed, id)
	m := Mutation{Op: OpCreate, Hash: HashValue(val)}
	t.count(func(s *TrafficStats) { s.Ops["create"]++ })
	rctx, cancel := t.request(ctx)
	defer cancel()
	m.Start = time.Now()
	resp, err := t.cli.Txn(rctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(val), clientv3.WithLease(lease))).Else(clientv3.OpGet(key)).Commit()
	m.End = time.Now()
	if err != nil && rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCLeaseNotFound) {
		w.lease = 0 // lost, say by a restore from a snapshot older than it
	}
	t.finish(key, m, resp, err, func(int64) {})
}

// eventLease returns the worker's lease for new events, granting a new
// one when it has none or has used it for LeaseReuse.
func (t *Traffic) eventLease(ctx context.Context, w *worker) (clientv3.LeaseID, bool) {
	if w.lease != 0 && time.Since(w.leaseAt) < t.cfg.LeaseReuse {
		return w.lease, true
	}
	rctx, cancel := t.request(ctx)
	defer cancel()
	resp, err := t.cli.Grant(rctx, int64(t.cfg.LeaseTTL/time.Second))
	if err != nil {
		t.count(func(s *TrafficStats) { s.LeaseErrors++; s.LastError = err.Error() })
		return 0, false
	}
	t.ds.hist.cluster(resp.ResponseHeader.ClusterId)
	t.count(func(s *TrafficStats) { s.LeasesGranted++ })
	w.lease, w.leaseAt = resp.ID, time.Now()
	return w.lease, true
}

// eventKey names event number id: /registry/events/<namespace>/<object>.<hex>
// as the API server names events; r picks the namespace and object. It is
// never a key of the dataset (Index refuses it).
func (d *Dataset) eventKey(id, r uint64) string {
	b := append([]byte(d.prefix), "events/"...)
	if d.spec.Profile == ProfileK8s {
		b = appendNamespace(b, int(r%uint64(d.ns)))
		b = append(b, '/')
		b = append(b, stems[int(r>>16)%len(stems)]...)
	} else {
		b = append(b, "event"...)
	}
	b = append(b, '.')
	// mix is a bijection, so distinct ids give distinct names.
	return string(strconv.AppendUint(b, mix(id^uint64(d.spec.Seed)), 16))
}

// watch watches prefix for the whole run, re-establishing the watch
// after errors and restores, counting events and revision regressions.
func (t *Traffic) watch(ctx context.Context, prefix string) {
	var next int64 // revision to resume from; 0: now
	cluster := t.ds.hist.cluster(0)
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if next > 0 {
			opts = append(opts, clientv3.WithRev(next))
		}
		wch := t.cli.Watch(wctx, prefix, opts...)
		var last int64
	stream:
		for {
			select {
			case <-ctx.Done():
				break stream
			case <-check.C:
				if c := t.ds.hist.cluster(0); c != cluster {
					cluster, next = c, 0 // restored: revisions start over
					break stream
				}
			case resp, ok := <-wch:
				if !ok {
					break stream
				}
				if resp.CompactRevision > 0 {
					next = resp.CompactRevision
					break stream
				}
				if err := resp.Err(); err != nil {
					t.noteErr(err)
					break stream
				}
				n, regressed := 0, 0
				for _, ev := range resp.Events {
					if ev.Kv.ModRevision < last {
						regressed++
					}
					last = ev.Kv.ModRevision
					n++
				}
				if last > 0 {
					next = last + 1
				}
				t.count(func(s *TrafficStats) { s.WatchEvents[prefix] += n; s.WatchRegressions += regressed })
			}
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		t.count(func(s *TrafficStats) { s.WatchRestarts++ })
		backoff := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			backoff.Stop()
			return
		case <-backoff.C:
		}
	}
}

// compactKey is where the API server keeps its compaction state; the
// traffic only reads it, to learn the current revision.
const compactKey = "compact_rev_key"

// compact compacts, every interval, to the revision seen one interval
// ago, as the API server's compactor does.
func (t *Traffic) compact(ctx context.Context) {
	tick := time.NewTicker(t.cfg.CompactInterval)
	defer tick.Stop()
	var prev int64
	prevCluster := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := t.request(ctx)
		resp, err := t.cli.Get(rctx, compactKey)
		cancel()
		if err != nil {
			t.count(func(s *TrafficStats) { s.CompactErrors++; s.LastError = err.Error() })
			continue
		}
		c := t.ds.hist.cluster(resp.Header.ClusterId)
		if prev > 0 && c == prevCluster {
			rctx, cancel := t.request(ctx)
			_, err := t.cli.Compact(rctx, prev)
			cancel()
			rev := prev
			t.count(func(s *TrafficStats) {
				if err != nil {
					s.CompactErrors++
					s.LastError = err.Error()
				} else {
					s.Compactions++
					s.CompactRevision = rev
				}
			})
		}
		prev, prevCluster = resp.Header.Revision, c
	}
}

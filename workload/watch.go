package workload

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// WatchEvent is one event a watcher received.
type WatchEvent struct {
	Revision int64  `json:"revision"` // the event's mod revision
	Key      string `json:"key"`
	Delete   bool   `json:"delete,omitempty"`
	Value    uint64 `json:"value,omitempty"` // HashValue of a put's value
}

// WatchSession is one uninterrupted watch stream: from the revision it
// asked to start at to where it ended. A watcher that loses its stream
// resumes from the revision after the last event it saw, as an informer
// does, in a new session; when the cluster refuses that as compacted, the
// watcher relists, and the next session starts from the current revision.
type WatchSession struct {
	Watcher int    `json:"watcher"`
	Prefix  string `json:"prefix"`
	// From is the first revision the session asked for: every event
	// after it, up to the last received, must be in Events.
	From int64 `json:"from"`
	// Cluster is the cluster ID of the responses that carried events.
	Cluster uint64       `json:"cluster,omitempty"`
	Events  []WatchEvent `json:"events,omitempty"`
	// Progress is the highest header revision the stream reported, with
	// or without events: every change up to it was sent.
	Progress int64     `json:"progress,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Compacted is the compact revision the cluster gave when it refused
	// From as compacted; the session then has no events.
	Compacted int64 `json:"compacted,omitempty"`
	// Err is why the stream ended, when not by Stop.
	Err string `json:"error,omitempty"`
}

// Watchers is a set of running watchers; Stop ends them.
type Watchers struct {
	cli    *clientv3.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	done   []WatchSession
	// reached is, per watcher, the cluster and revision its current
	// stream has delivered every change up to.
	reached map[int]Reach
}

// Reach is how far a watcher's current stream has delivered every
// change: up to Revision, of Cluster.
type Reach struct {
	Cluster  uint64
	Revision int64
}

// WatchResumeTimeout bounds how long a watcher waits before resuming a
// broken stream, so a dead cluster is not hammered.
const WatchResumeTimeout = 200 * time.Millisecond

// StartWatchers runs n watchers on prefix from revision from (0: now)
// until Stop or ctx ends. Each records its sessions.
func StartWatchers(ctx context.Context, cli *clientv3.Client, prefix string, n int, from int64) *Watchers {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watchers{cli: cli, cancel: cancel, reached: map[int]Reach{}}
	for i := range n {
		w.wg.Go(func() { w.watch(ctx, prefix, i, from) })
	}
	return w
}

func (w *Watchers) watch(ctx context.Context, prefix string, id int, from int64) {
	for ctx.Err() == nil {
		s := WatchSession{Watcher: id, Prefix: prefix, From: from, Start: time.Now()}
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify()}
		if from > 0 {
			opts = append(opts, clientv3.WithRev(from))
		}
		wctx, cancel := context.WithCancel(streamContext(ctx))
		for resp := range w.cli.Watch(wctx, prefix, opts...) {
			if cl := resp.Header.ClusterId; s.Cluster != 0 && cl != 0 && cl != s.Cluster {
				// The client resumed the stream by itself on another
				// cluster (a restore): from there it is a new session,
				// from the revision the client resumed at.
				s.End = time.Now()
				w.keep(s)
				next := s.From
				if len(s.Events) > 0 {
					next = s.Events[len(s.Events)-1].Revision + 1
				}
				s, from = WatchSession{Watcher: id, Prefix: prefix, From: next, Start: s.End}, next
			}
			if s.Cluster == 0 {
				s.Cluster = resp.Header.ClusterId
			}
			if err := resp.Err(); err != nil {
				s.Err = err.Error()
				if errors.Is(err, rpctypes.ErrCompacted) {
					s.Compacted = resp.CompactRevision
				}
				break
			}
			switch {
			case resp.Created && s.From == 0:
				s.From = resp.Header.Revision + 1
			case len(resp.Events) == 0 && resp.IsProgressNotify():
				// Every change up to here has been sent.
				s.Progress = max(s.Progress, resp.Header.Revision)
			}
			for _, ev := range resp.Events {
				e := WatchEvent{Revision: ev.Kv.ModRevision, Key: string(ev.Kv.Key), Delete: ev.Type == mvccpb.DELETE}
				if !e.Delete {
					e.Value = HashValue(ev.Kv.Value)
				}
				s.Events = append(s.Events, e)
			}
			top := max(s.Progress, s.From-1)
			if n := len(s.Events); n > 0 {
				top = max(top, s.Events[n-1].Revision)
			}
			w.mu.Lock()
			w.reached[id] = Reach{Cluster: s.Cluster, Revision: top}
			w.mu.Unlock()
		}
		cancel()
		s.End = time.Now()
		switch {
		case s.Compacted > 0:
			from = 0 // relist: start again from now
		case len(s.Events) > 0:
			from = s.Events[len(s.Events)-1].Revision + 1
		}
		w.keep(s)
		select {
		case <-ctx.Done():
		case <-time.After(WatchResumeTimeout):
		}
	}
}

// streamContext is the context of the watchers' gRPC stream. It requires
// a leader, which makes a stream on a member cut off from its peers end
// rather than stay silent. clientv3 picks a watch's stream, and a
// progress request's, by the context's metadata: the watches and their
// progress requests must both go through here, or a request goes on a
// new stream that holds no watch and its answer reaches nobody.
func streamContext(ctx context.Context) context.Context { return clientv3.WithRequireLeader(ctx) }

// RequestProgress asks the watchers' stream for a progress
// notification: the revision up to which it has sent every change, which
// the watchers then count as reached.
func (w *Watchers) RequestProgress(ctx context.Context) error {
	return w.cli.RequestProgress(streamContext(ctx))
}

func (w *Watchers) keep(s WatchSession) {
	w.mu.Lock()
	w.done = append(w.done, s)
	w.mu.Unlock()
}

// Reached returns how far each watcher's current stream has delivered
// every change, by watcher.
func (w *Watchers) Reached() map[int]Reach {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.reached)
}

// Sessions returns the sessions that have ended so far, the watchers
// going on.
func (w *Watchers) Sessions() []WatchSession {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.done)
}

// Stop ends the watchers and returns every session, ordered by watcher
// and start.
func (w *Watchers) Stop() []WatchSession {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Clone(w.done)
	slices.SortStableFunc(out, func(a, b WatchSession) int {
		if a.Watcher != b.Watcher {
			return a.Watcher - b.Watcher
		}
		return a.Start.Compare(b.Start)
	})
	return out
}

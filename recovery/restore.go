package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// RestoreArgs is the `etcdutl snapshot restore` command line for member
// name of a new cluster made of names (seeds 000–004).
func RestoreArgs(snapshot, name string, names []string, token string, tls bool, extra ...string) []string {
	args := []string{"etcdutl", "snapshot", "restore", snapshot,
		"--name=" + name,
		"--initial-cluster=" + harness.InitialCluster(names, tls),
		"--initial-cluster-token=" + token,
		"--initial-advertise-peer-urls=" + harness.PeerURL(name, tls),
		"--data-dir=" + harness.DataDir,
	}
	return append(args, extra...)
}

// RestoreCluster rebuilds every member of c from snap as a new logical
// cluster with a new --initial-cluster-token, as the runbooks say: stop
// etcd everywhere, clear the data dirs, distribute the snapshot, run
// `etcdutl snapshot restore` on each member, start them all, wait until
// the cluster is ready. extra flags go to every restore (such as
// --skip-hash-check for a db file copied out of a data dir).
//
// The snapshot is streamed once into the run's backup volume, from which
// every member's etcdutl reads it; budgets grow with its size (see
// harness.WithDataSize). The recovery time's phases are recorded on log:
// the transfer, each member's restore, each member's boot (until etcd
// serves, its index rebuilt) and the first leader.
func RestoreCluster(ctx context.Context, log *record.Log, c *harness.Cluster, snap *Snapshot, token string, extra ...string) error {
	members, names := c.Members(), Names(c)
	tls := c.Config().TLS
	if err := each(members, true, func(m *harness.Member) error {
		return log.DoConcurrent("stop", record.PhaseRecovery, "stop etcd on "+m.Name()+" and clear its data dir", m.Name(), func() (record.Action, error) {
			a := record.Action{Command: fmt.Sprintf("docker rm -f %[1]s && docker volume rm -f %[1]s-data  # systemctl stop etcd && rm -rf %[2]s", m.ContainerName(), harness.DataDir)}
			return a, m.Wipe(ctx)
		})
	}); err != nil {
		return err
	}
	if !snap.Distributed {
		if err := Distribute(ctx, log, c, snap); err != nil {
			return err
		}
	}
	ctx = harness.WithDataSize(ctx, snap.Size)
	together := snap.Size <= ConcurrentRestoreMax
	group := ""
	if together {
		group = "restore"
	}
	if err := each(members, together, func(m *harness.Member) error {
		start := time.Now()
		err := log.DoConcurrent(group, record.PhaseRecovery, "restore the snapshot on "+m.Name(), m.Name(), func() (record.Action, error) {
			e, err := m.Offline(ctx, nil, RestoreArgs(SnapshotPath, m.Name(), names, token, tls, extra...)...)
			if err == nil {
				e.Output = strings.TrimRight(e.Output, "\n") + "\n# " + rate(snap.Size, time.Since(start))
			}
			return e, err
		})
		if err == nil {
			log.Phase(record.RTOPhase{Name: record.PhaseRestore, Member: m.Name(), Start: start, End: time.Now(), Bytes: snap.Size})
		}
		return err
	}); err != nil {
		return err
	}
	c.SetToken(token)
	var mu sync.Mutex
	started := map[string]time.Time{}
	if err := each(members, true, func(m *harness.Member) error {
		spec := c.Spec(m.Name(), harness.InitialCluster(names, tls), "new")
		mu.Lock()
		started[m.Name()] = time.Now()
		mu.Unlock()
		return StartMemberConcurrent(ctx, log, "start", c, m, spec, "start etcd on "+m.Name())
	}); err != nil {
		return err
	}
	err := log.Do(record.PhaseRecovery, "wait until the restored cluster is healthy", "", func() (record.Action, error) {
		// Poll through the published ports first: the members may still be
		// electing. Then show health as the operator sees it.
		if err := c.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return c.Members()[0].Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "endpoint", "health", "--write-out=table")...)
	})
	if err != nil {
		return err
	}
	bootPhases(ctx, log, c, started, snap.Size)
	return nil
}

// ConcurrentRestoreMax is the largest snapshot the members restore at the
// same time, as an operator's runbook has every host do. A larger one is
// restored on one member after another: the members of a drill share one
// machine's disk, so concurrent restores of a large file would measure
// that disk, not the time each member's host takes (the restore phase
// the report compares with a bare `etcdutl snapshot restore`).
const ConcurrentRestoreMax = 64 << 20

// each runs fn for every member, all at once when together is set, else
// one after another stopping at the first error; it joins the errors.
func each(members []*harness.Member, together bool, fn func(*harness.Member) error) error {
	if !together {
		for _, m := range members {
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	}
	return harness.EachMember(members, fn)
}

// Distribute copies the snapshot to the members' hosts: streamed once
// into the run's backup volume, where every member's offline tools find
// it at SnapshotPath. A snapshot held in memory is written to the run's
// work dir first. It records the transfer phase, and marks snap
// Distributed so that RestoreCluster does not copy it again.
func Distribute(ctx context.Context, log *record.Log, c *harness.Cluster, snap *Snapshot) error {
	if snap.Path == "" {
		dir, err := c.WorkDir()
		if err != nil {
			return err
		}
		p := filepath.Join(dir, "snapshot.db")
		if err := os.WriteFile(p, snap.Data, 0o600); err != nil {
			return fmt.Errorf("write the snapshot to the work dir: %w", err)
		}
		snap.Path, snap.Size = p, int64(len(snap.Data))
	}
	start := time.Now()
	err := log.Do(record.PhaseRecovery, "copy the snapshot to every member's host", "", func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker cp %s <any container mounting %s>:%s  # scp snapshot.db to each member's %s",
			harness.ShellJoin([]string{snap.Path}), c.BackupVolume(), SnapshotPath, harness.BackupDir)}
		n, err := c.CopyToBackup(ctx, snap.Path, filepath.Base(SnapshotPath))
		a.Output = fmt.Sprintf("%d bytes; %s", n, rate(n, time.Since(start)))
		return a, err
	})
	if err == nil {
		snap.Distributed = true
		log.Phase(record.RTOPhase{Name: record.PhaseTransfer, Start: start, End: time.Now(), Bytes: snap.Size})
	}
	return err
}

// rate says how fast n bytes moved in d, so that a slow disk is told
// from a hang.
func rate(n int64, d time.Duration) string {
	return fmt.Sprintf("%.1f MB in %s: %.1f MB/s", float64(n)/1e6, d.Round(time.Millisecond), record.MBps(n, d))
}

// Log messages that mark a member's boot and the first election, the
// same on 3.5, 3.6 and 3.7: etcd logs "now serving peer/client/metrics"
// once it has opened its database and rebuilt its index, and raft logs
// "… elected leader … at term N" when a leader is known.
const (
	bootedMsg  = "now serving peer/client/metrics"
	electedMsg = "elected leader"
)

// bootPhases reads each restored member's log for when it finished
// booting and when a leader was elected, and records the boot phase of
// each member and the first-leader phase: from the boot that gave the
// cluster its quorum to the first election after it. A member whose log
// does not say is left out rather than guessed.
func bootPhases(ctx context.Context, log *record.Log, c *harness.Cluster, started map[string]time.Time, size int64) {
	var booted []time.Time
	var leader time.Time
	for _, m := range c.Members() {
		logs, err := m.Logs(ctx)
		if err != nil {
			continue
		}
		b, l := bootMarks(logs)
		if !b.IsZero() {
			log.Phase(record.RTOPhase{Name: record.PhaseBoot, Member: m.Name(), Start: started[m.Name()], End: b, Bytes: size})
			booted = append(booted, b)
		}
		if !l.IsZero() && (leader.IsZero() || l.Before(leader)) {
			leader = l
		}
	}
	quorum := len(c.Members())/2 + 1
	if len(booted) < quorum || leader.IsZero() {
		return
	}
	slices.SortFunc(booted, func(a, b time.Time) int { return a.Compare(b) })
	from := booted[quorum-1]
	if leader.Before(from) {
		from = leader
	}
	log.Phase(record.RTOPhase{Name: record.PhaseLeader, Start: from, End: leader})
}

// bootMarks returns the times of the first boot and election messages in
// a member's zap log; zero when absent.
func bootMarks(logs string) (booted, elected time.Time) {
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, bootedMsg) && !strings.Contains(line, electedMsg) {
			continue
		}
		var e struct {
			TS  string `json:"ts"`
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &e) != nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, e.TS)
		if err != nil {
			continue
		}
		switch {
		case booted.IsZero() && strings.Contains(e.Msg, bootedMsg):
			booted = t
		case elected.IsZero() && strings.Contains(e.Msg, electedMsg):
			elected = t
		}
	}
	return booted, elected
}

var restoredRE = regexp.MustCompile(`-restored-[0-9]+$`)

// NewToken derives a fresh --initial-cluster-token from the old one, so
// restored members can never join the old cluster by mistake.
func NewToken(old string) string {
	old = restoredRE.ReplaceAllString(old, "")
	return fmt.Sprintf("%s-restored-%d", old, time.Now().UnixNano())
}

package fault

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// valueRun is the shortest run of lowercase hex digits taken for a stored
// value: workload values are 64 hex digits, and no key or framing in a
// snapshot has 32 in a row.
const valueRun = 32

// flipNearMiddle returns a copy of data with one byte flipped (XOR 0x01)
// and its offset. It picks the middle byte of the stored value nearest
// the middle of data, so the damage is bit rot in user data that leaves
// the database readable; with no value found it flips the middle byte.
func flipNearMiddle(data []byte) (out []byte, at int, inValue bool) {
	out = append([]byte(nil), data...)
	if len(data) == 0 {
		return out, -1, false
	}
	mid, best := len(data)/2, -1
	for i := 0; i < len(data); {
		if !isHex(data[i]) {
			i++
			continue
		}
		j := i
		for j < len(data) && isHex(data[j]) {
			j++
		}
		if c := (i + j) / 2; j-i >= valueRun && (best < 0 || dist(c, mid) < dist(best, mid)) {
			best = c
		}
		i = j
	}
	at, inValue = best, best >= 0
	if !inValue {
		at = mid
	}
	out[at] ^= 0x01
	return out, at, inValue
}

func isHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' }

func dist(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// Damaged is one bad copy of a snapshot and what must be said of it.
type Damaged struct {
	Name string // "flipped", "truncated"
	Path string // on a member's host
	Data []byte
	// Kind is what etcdrill's own integrity check must say of the copy.
	Kind recovery.IntegrityKind
	// Refusal is what etcdutl snapshot restore must refuse it with.
	Refusal record.Refusal
	// Note is added to the refusal check's summary.
	Note string
}

// SnapshotDamage makes two damaged copies of a good snapshot: one with a
// flipped byte inside a stored value near the middle, one cut in half.
// Build it with DamageSnapshot; after Inject, Copies holds them, flipped
// first.
type SnapshotDamage struct {
	good   func() *recovery.Snapshot
	Copies []Damaged
}

// DamageSnapshot damages copies of the snapshot good returns when the
// fault is injected (one saved by an earlier step).
func DamageSnapshot(good func() *recovery.Snapshot) *SnapshotDamage {
	return &SnapshotDamage{good: good}
}

func (s *SnapshotDamage) Name() string        { return "damage-snapshot" }
func (s *SnapshotDamage) Target() Target      { return Nothing("snapshot file") }
func (s *SnapshotDamage) Available(Env) error { return nil }

// Inject writes the copies in memory and records the commands that make
// them by hand; the cluster is untouched, so no outage begins.
func (s *SnapshotDamage) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	snap := s.good()
	if snap == nil {
		return Injection{}, fmt.Errorf("no snapshot to damage")
	}
	good, err := snap.Bytes()
	if err != nil {
		return Injection{}, fmt.Errorf("read the snapshot to damage: %w", err)
	}
	flipped, at, inValue := flipNearMiddle(good)
	where := "inside a stored value near the middle"
	if !inValue {
		where = "in the middle"
	}
	half := len(good) / 2
	s.Copies = []Damaged{
		{"flipped", harness.BackupDir + "/snapshot-flipped.db", flipped, recovery.HashMismatch, recovery.WrongHash(), ""},
		{"truncated", harness.BackupDir + "/snapshot-truncated.db", good[:half], recovery.Truncated, recovery.MissingHash(),
			" (etcdutl cannot tell a truncated snapshot from a copied db file; our check says truncated)"},
	}
	return Injection{}, log.Do(record.PhaseFault, "damage two copies of the snapshot", "", func() (record.Action, error) {
		return record.Action{
			Command: fmt.Sprintf("cp snapshot.db snapshot-flipped.db && printf '\\x%02x' | dd of=snapshot-flipped.db bs=1 seek=%d conv=notrunc\nhead -c %d snapshot.db > snapshot-truncated.db",
				flipped[at], at, half),
			Output: fmt.Sprintf("snapshot-flipped.db: byte %d of %d flipped (0x%02x → 0x%02x), %s\nsnapshot-truncated.db: the first %d of %d bytes",
				at, len(good), good[at], flipped[at], where, half, len(good)),
		}, nil
	})
}

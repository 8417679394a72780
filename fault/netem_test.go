package fault

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/harness"
)

func TestNetemFaults(t *testing.T) {
	env := Env{Members: 3}
	for _, tc := range []struct {
		f    Fault
		name string
		err  string
	}{
		{SlowLinks(Every(), 100*time.Millisecond, 20*time.Millisecond), "slow-links-every-member", ""},
		{LossyLinks(Leader(), 25), "lossy-links-leader", ""},
		{LossyLinks(Follower(), 0), "lossy-links-follower", "nothing to inject"},
		{LossyLinks(Leader(), 120), "lossy-links-leader", "want 0 to 100"},
		{SlowLinks(Every(), 10*time.Millisecond, 20*time.Millisecond), "slow-links-every-member", "jitter"},
		{FillDisk(Named("m3")), "fill-disk-member-m3", ""},
	} {
		if tc.f.Name() != tc.name {
			t.Errorf("name %q, want %q", tc.f.Name(), tc.name)
		}
		err := tc.f.Available(env)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Available = %v, want %q", tc.name, err, tc.err)
		}
	}
	if err := LossyLinks(Follower(), 25).Available(Env{Members: 1}); err == nil {
		t.Error("a follower's link in a 1-member cluster was accepted")
	}
	if err := CheckNetem(harness.Netem{Delay: -time.Millisecond}); err == nil {
		t.Error("a negative delay was accepted")
	}
}

func TestDiskFullRefusal(t *testing.T) {
	if DiskFull.Match("dd: error writing '/var/lib/etcd/fill': No space left on device\n134+0 records in") == "" {
		t.Error("dd's ENOSPC not recognised")
	}
	if DiskFull.Match("dd: can't open '/var/lib/etcd/fill': Permission denied") != "" {
		t.Error("a permission error taken for a full disk")
	}
}

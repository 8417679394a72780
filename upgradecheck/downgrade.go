package upgradecheck

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// downgradeBack rehearses the way back on the upgraded cluster itself,
// under load: `etcdctl downgrade enable` for From's minor (a patch change
// needs none), then every member back on From. It applies when To has
// etcd's downgrade support (3.6 and later) or the path stays within one
// minor; otherwise the report says why it was not rehearsed.
func (u *run) downgradeBack(ctx context.Context, d *drill.Drill) error {
	if why := u.noDowngrade(); why != "" {
		u.res.Downgrade = why
		d.AddChecks(record.Check{Name: "downgrade", Verdict: record.NotApplicable, Summary: why})
		return nil
	}
	ms, err := u.roll(ctx, hop{to: u.from, img: u.imgs[0]})
	u.res.Back = ms
	if err != nil {
		return err
	}
	if err := u.waitClusterVersion(ctx, u.from, "downgrade"); err != nil {
		return err
	}
	how := "replacing the binaries again"
	if u.to.Minor != u.from.Minor {
		how = fmt.Sprintf("`etcdctl downgrade enable %d.%d`", u.from.Major, u.from.Minor)
	}
	u.res.Downgrade = fmt.Sprintf("rehearsed: back to %s with %s, member by member under load; cluster version %s", u.from, how, u.cv)
	return nil
}

// noDowngrade says why going back on the upgraded cluster is not
// rehearsed, or "" when it is.
func (u *run) noDowngrade() string {
	switch {
	case u.to.Minor < u.from.Minor || (u.to.Minor == u.from.Minor && u.to.Patch < u.from.Patch):
		return "not applicable: this check is itself a downgrade"
	case u.to.Minor > u.from.Minor && u.to.Minor < 6:
		return fmt.Sprintf("not rehearsed: etcd %s has no supported downgrade (`etcdctl downgrade` arrived with 3.6)", u.to)
	}
	return ""
}

// enableDowngrade runs `etcdctl downgrade validate` and `enable` for v's
// minor on the leader, then waits until every member reports storage
// version v.minor.0: the db is migrated down, and binaries may be
// replaced (the downgrade guides' condition).
func (u *run) enableDowngrade(ctx context.Context, v harness.Version) error {
	c, log := u.d.Cluster, u.d.Log
	target := fmt.Sprintf("%d.%d", v.Major, v.Minor)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		return err
	}
	for _, verb := range []string{"validate", "enable"} {
		if err := log.Do(record.PhaseRecovery, verb+" the downgrade to "+target, leader.Name(), func() (record.Action, error) {
			return leader.Etcdctl(ctx, "downgrade", verb, target)
		}); err != nil {
			return err
		}
	}
	want := target + ".0"
	return log.Do(record.PhaseObserve, "every member's storage version reaches "+want, "", func() (record.Action, error) {
		cli, err := c.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		wctx, cancel := context.WithTimeout(ctx, u.d.Config.Timeouts.ClusterReady)
		defer cancel()
		var lines []string
		err = harness.Poll(wctx, 500*time.Millisecond, func(ctx context.Context) error {
			lines = lines[:0]
			for _, m := range c.Members() {
				st, err := c.Status(ctx, cli, m)
				if err != nil {
					return err
				}
				if st.StorageVersion != want {
					return fmt.Errorf("%s has storage version %q, want %s", m.Name(), st.StorageVersion, want)
				}
				lines = append(lines, fmt.Sprintf("%s: storage version %s", m.Name(), st.StorageVersion))
			}
			return nil
		})
		if err != nil {
			return record.Action{}, err
		}
		e, err := recovery.EndpointStatusTable(ctx, c, leader)
		e.Output = strings.Join(lines, "\n") + "\n" + e.Output
		return e, err
	})
}

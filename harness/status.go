package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status asks one member for `endpoint status` through its own endpoint,
// bounded by the request timeout.
func (c *Cluster) Status(ctx context.Context, cli *clientv3.Client, m *Member) (*clientv3.StatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeouts.Request)
	defer cancel()
	st, err := cli.Status(ctx, m.Endpoint())
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", m.name, err)
	}
	return st, nil
}

// Leader returns the member that the given members agree is the leader.
// It fails when a member is unreachable, members disagree, or there is no
// leader; WaitLeader polls it.
func (c *Cluster) Leader(ctx context.Context, members ...*Member) (*Member, error) {
	members, cli, err := c.statusClient(members)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return c.leader(ctx, cli, members)
}

// statusClient dials members (all when none) without credentials:
// `endpoint status` needs none, and dialing with auth fails mid-election.
func (c *Cluster) statusClient(members []*Member) ([]*Member, *clientv3.Client, error) {
	if len(members) == 0 {
		members = c.Members()
	}
	cli, err := c.ClientAs(nil, members...)
	return members, cli, err
}

func (c *Cluster) leader(ctx context.Context, cli *clientv3.Client, members []*Member) (*Member, error) {
	var lead uint64
	var leader *Member
	for _, m := range members {
		st, err := c.Status(ctx, cli, m)
		if err != nil {
			return nil, err
		}
		if st.Leader == 0 {
			return nil, fmt.Errorf("member %s has no leader", m.name)
		}
		if lead != 0 && st.Leader != lead {
			return nil, fmt.Errorf("members disagree on the leader: %x and %x", lead, st.Leader)
		}
		lead = st.Leader
		if st.Header.MemberId == lead {
			leader = m
		}
	}
	if leader == nil {
		return nil, errors.New("the leader is not among the members asked")
	}
	return leader, nil
}

// WaitLeader polls until the given members (all when none) agree on a
// leader among them, within the election timeout.
func (c *Cluster) WaitLeader(ctx context.Context, members ...*Member) (*Member, error) {
	members, cli, err := c.statusClient(members)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeouts.Election)
	defer cancel()
	var leader *Member
	err = Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		l, err := c.leader(ctx, cli, members)
		leader = l
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wait for leader: %w", err)
	}
	return leader, nil
}

// WaitReady polls until every member answers status, all agree on a
// leader among them, and a linearizable read succeeds, within the
// cluster-ready timeout.
func (c *Cluster) WaitReady(ctx context.Context) error {
	start := time.Now()
	members, cli, err := c.statusClient(nil)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, c.cfg.Timeouts.ClusterReady))
	defer cancel()
	var rcli *clientv3.Client // the reading client: cli, or root's when auth is on
	defer func() {
		if rcli != nil && rcli != cli {
			rcli.Close()
		}
	}()
	err = Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		if _, err := c.leader(ctx, cli, members); err != nil {
			return err
		}
		// A linearizable read through the leader; with auth on, as root,
		// dialed once the members agree on a leader and kept for retries.
		if rcli == nil {
			rc, err := cli, error(nil)
			if c.Root() != nil {
				if rc, err = c.Client(members...); err != nil {
					return err
				}
			}
			rcli = rc
		}
		rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeouts.Request)
		defer cancel()
		_, err := rcli.Get(rctx, "health")
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster %s not ready: %w", c.runID, err)
	}
	c.lg.Info("cluster ready", "members", len(members), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

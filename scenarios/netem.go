package scenarios

import (
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// The shaping of the peer-link drills.
const (
	slowDelay  = 100 * time.Millisecond
	slowJitter = 20 * time.Millisecond
	lossyLoss  = 25 // percent
	// lossyAddedP99 is the least growth of the 99th percentile expected
	// under loss: one TCP retransmission timeout (200 ms minimum) less
	// some slack for a write that waited on a shorter one.
	lossyAddedP99 = 150 * time.Millisecond
)

// SlowPeerLinks delays every packet every member sends to its peers by
// 100 ms ± 20 ms under load: each raft round trip costs 200 ms more, so
// the median write must slow by at least one delay, while the cluster
// keeps its leader (heartbeats every 100 ms, elections after 1 s) and
// loses nothing.
var SlowPeerLinks = register(&drill.Scenario{
	Name:    "slow-peer-links",
	Summary: "100 ms ± 20 ms on every member's peer link under load; writes slow down, leadership holds, nothing is lost",
	Labels:  []string{"fault", "netem"},
	Members: 3,
	TLS:     true,
	Fault:   fault.SlowLinks(fault.Every(), slowDelay, slowJitter),
	Prepare: []drill.Step{drill.MeasureLinks("before", drill.LinkBaseline)},
	Observe: []drill.Step{drill.MeasureLinks("during", drill.LinkDuring)},
	Recover: []drill.Step{
		{Title: "remove the netem sidecars", Do: drill.HealLinks},
		drill.MeasureLinks("after", drill.LinkAfter),
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{drill.VerifyLinks(drill.LinkEffect{AddedP50: slowDelay})},
})

// LossyPeerLink drops 25% of the packets the leader sends to its peers:
// TCP retransmits them, so the tail of write latency grows and heartbeats
// may come late enough for an election; the cluster must stay available
// and lose nothing.
var LossyPeerLink = register(&drill.Scenario{
	Name:    "lossy-peer-link",
	Summary: "25% packet loss on the leader's peer link under load; latency and elections measured, nothing is lost",
	Labels:  []string{"fault", "netem"},
	Members: 3,
	TLS:     true,
	Fault:   fault.LossyLinks(fault.Leader(), lossyLoss),
	Prepare: []drill.Step{drill.MeasureLinks("before", drill.LinkBaseline)},
	Observe: []drill.Step{drill.MeasureLinks("during", drill.LinkDuring)},
	Recover: []drill.Step{
		{Title: "remove the netem sidecar", Do: drill.HealLinks},
		drill.MeasureLinks("after", drill.LinkAfter),
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{drill.VerifyLinks(drill.LinkEffect{AddedP99: lossyAddedP99})},
})

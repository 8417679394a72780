package reports

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/etcdrill/etcdrill/record"
)

// clientsView is the "What clients saw" section: the hot-key clients'
// operations, the epochs of the history, the watch streams, and the
// verdicts of the checks that judged them.
type clientsView struct {
	Ops           [][]string // kind, acknowledged, failed, indeterminate
	Epochs        [][]string // n, cluster, from, operations
	Watch         string
	Visualization string
	Verdicts      []checkRow // linearizable, watch, watch-compacted
}

// clientChecks are the checks the section shows the verdicts of.
var clientChecks = map[string]bool{"linearizable": true, "watch": true, "watch-compacted": true}

func newClientsView(r *record.Record) *clientsView {
	c := r.Clients
	if c == nil {
		return nil
	}
	v := &clientsView{Visualization: c.Visualization}
	for _, o := range c.Ops {
		v.Ops = append(v.Ops, []string{o.Kind, strconv.Itoa(o.Acknowledged), strconv.Itoa(o.Failed), strconv.Itoa(o.Indeterminate)})
	}
	at := offsetFrom(r)
	for i, e := range c.Epochs {
		v.Epochs = append(v.Epochs, []string{strconv.Itoa(i + 1), e.Cluster, at(e.From), strconv.Itoa(e.Ops)})
	}
	v.Watch = fmt.Sprintf("%d watchers on the drill's prefix: %d streams (a resumed stream is a new one), %d events received, %d resumes refused as compacted.",
		c.Watchers, c.WatchSessions, c.WatchEvents, c.WatchRefused)
	if n := c.IndeterminateApplied + c.IndeterminateNeverApplied + c.IndeterminateUnresolved; n > 0 {
		v.Watch += fmt.Sprintf(" Writes the clients gave up on: %d; seen applied by a watcher or a read: %d; never applied (the watchers delivered every change, none of them theirs): %d; still indeterminate: %d.",
			n, c.IndeterminateApplied, c.IndeterminateNeverApplied, c.IndeterminateUnresolved)
	}
	for _, ch := range r.Checks {
		if clientChecks[ch.Name] {
			v.Verdicts = append(v.Verdicts, checkRow{ch, verdictClass(ch.Verdict), verdictLabel(ch.Verdict)})
		}
	}
	return v
}

// writeClients writes the "What clients saw" section, when the drill ran
// clients.
func writeClients(b *bytes.Buffer, r *record.Record) {
	v := newClientsView(r)
	if v == nil {
		return
	}
	b.WriteString("\n## What clients saw\n\n")
	fmt.Fprintf(b, "Clients read and updated %d hot keys throughout the drill: linearizable gets, puts, deletes, and updates that compare the key's mod revision (the shape of a Kubernetes update). Every operation's call, return and answer went into a history, checked with porcupine for linearizability, one key and one cluster at a time.\n\n", r.Clients.Keys)
	table(b, []string{"Operation", "Acknowledged", "Failed", "Indeterminate"}, v.Ops)
	if len(v.Epochs) > 1 {
		b.WriteString("\nA restore started a new cluster, and its keyspace legitimately rolled back to the snapshot: each cluster's part of the history is an epoch, checked from its own start.\n\n")
		table(b, []string{"Epoch", "Cluster ID", "From", "Operations"}, v.Epochs)
	}
	fmt.Fprintf(b, "\n%s\n\n", v.Watch)
	rows := make([][]string, len(v.Verdicts))
	for i, c := range v.Verdicts {
		rows[i] = []string{text(c.Name), verdictCell(c.Verdict), text(c.Summary)}
	}
	if len(rows) > 0 {
		table(b, []string{"Check", "Verdict", "Summary"}, rows)
	}
	if v.Visualization != "" {
		fmt.Fprintf(b, "\nporcupine's visualisation of the first history that is not linearizable: [%s](%s)\n", v.Visualization, v.Visualization)
	}
}

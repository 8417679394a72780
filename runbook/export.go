package runbook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/recovery"
)

// ExportOptions say which variant of a drill's procedure to write.
type ExportOptions struct {
	Drill   string
	Version string
	Members int
	TLS     bool
	Auth    bool
}

// ErrNoExport is returned for a drill whose procedure has no export.
var ErrNoExport = errors.New("no runbook export")

// Exportable are the drills Export writes.
var Exportable = []string{"quorum-loss", "member-replace", "quota-exhaustion", "force-new-cluster"}

// healthAttempts bounds the exported wait loops: one `endpoint health`
// (or a refused `member add` or `member remove`) a second, at most this
// many times. etcd refuses a membership change with "unhealthy cluster"
// until the member asked has been connected to its peers for 5 s, which
// a drill on a fast host reaches within 5 s of the cluster's start; an
// operator retries it, and so does the export.
const healthAttempts = 30

// healthTimeout is etcdctl's --command-timeout in the exported `endpoint
// health` loops. A member that was just started does not answer its first
// dial, and etcdctl's default 5 s deadline then holds the whole loop for
// 5 s before its next try; 2 s ends that try sooner, and still leaves a
// healthy member ample time to answer (its health read takes
// milliseconds to about a second under load on 2 cores). `member add` and
// `member remove` keep the default: a membership change waits for raft to
// commit and apply it, and one that times out may still be applied, which
// their loops check in `member list` (see addOnce and removeOnce).
const healthTimeout = "--command-timeout=2s"

// Export writes drill's built-in recovery procedure as a runbook, with
// variables where a run has its own values, and a header documenting the
// format, the variables and the stop/start convention.
func Export(o ExportOptions) (string, error) {
	if !slices.Contains(Exportable, o.Drill) {
		return "", fmt.Errorf("%w for %s: export covers %s", ErrNoExport, o.Drill, strings.Join(Exportable, ", "))
	}
	var names []string
	for i := 1; i <= o.Members; i++ {
		names = append(names, fmt.Sprintf("m%d", i))
	}
	x := exporter{o: o, names: names}
	var b strings.Builder
	fmt.Fprintf(&b, "# Runbook: %s on etcd %s\n\n", o.Drill, o.Version)
	fmt.Fprintf(&b, "Exported by `etcdrill runbook export %s --version %s --members %d --tls %s%s` from etcdrill's built-in procedure. "+
		"Edit it, then drill it: `etcdrill run %s --version %s --runbook runbook.md`.\n\n", o.Drill, o.Version, o.Members, onOff(o.TLS), authFlag(o.Auth), o.Drill, o.Version)
	b.WriteString(header)
	for _, v := range Variables {
		fmt.Fprintf(&b, "| `%s` | %s |\n", v.Name, v.Doc)
	}
	b.WriteString("\n## Procedure\n")
	for i, st := range x.steps() {
		fmt.Fprintf(&b, "\n### %d. %s\n\n```sh\n%s\n```\n", i+1, st.title, strings.TrimRight(st.body, "\n"))
	}
	return b.String(), nil
}

const header = `## How etcdrill runs this file

- Every ` + "```sh" + ` block is one step; the heading above it is its title.
- ` + "`# on m2`" + ` says where the lines after it run: on member m2's host. ` + "`${SURVIVOR}`" + ` and
  ` + "`${LOST_1}`, `${LOST_2}`" + ` … are the hosts the drill's fault spared and took.
- Each host's lines run as ` + "`sh -euc`" + `: the first failing command ends the procedure, the
  drill's checks still run, and the report points at the line.
- ` + "`stop etcd`" + ` stops etcd on that host and keeps its data dir (` + "`systemctl stop etcd`" + `).
  ` + "`start etcd [FLAGS]`" + ` starts it with the member's usual flags, changed by FLAGS
  (` + "`--initial-cluster`, `--initial-cluster-token`, `--initial-cluster-state`, `--force-new-cluster`, `--data-dir`" + `).
- After the last step etcdrill waits until every member is healthy, then runs its checks.

## Variables (the same on every host but NAME, ENDPOINT and PEER_URL)

| variable | value |
|---|---|
`

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func authFlag(b bool) string {
	if b {
		return " --auth on"
	}
	return ""
}

type exporter struct {
	o     ExportOptions
	names []string
}

type xstep struct{ title, body string }

// ctl is an etcdctl command line with the run's client flags.
func (x exporter) ctl(endpoints string, args ...string) string {
	w := []string{"etcdctl", "--endpoints=" + endpoints}
	if x.o.TLS {
		w = append(w, `--cacert="${CACERT}"`, `--cert="${CERT}"`, `--key="${KEY}"`)
	}
	if x.o.Auth {
		w = append(w, `--user="${ETCD_USER}:${ETCD_PASSWORD}"`)
	}
	return strings.Join(append(w, args...), " ")
}

// removeOnce is `member remove "$ID"`, retried until etcd accepts it or
// `member list` no longer shows the member: a try that timed out may have
// been applied, and every later try would then fail with "member not
// found".
func (x exporter) removeOnce(eps string) string {
	return until(x.ctl(eps, "member", "remove", `"$ID"`) + ` || { list=$(` + x.ctl(eps, "member", "list") + `) && ! printf '%s\n' "$list" | grep -q "^${ID},"; }`)
}

// addOnce is `member add "${NAME}" --peer-urls="${PEER_URL}"`, retried
// until `member list` shows a member with that peer URL: a try that timed
// out may have been applied, and every later try would then fail with
// "peerURL exists".
func (x exporter) addOnce(eps string) string {
	return until(`{ list=$(` + x.ctl(eps, "member", "list") + `) && printf '%s\n' "$list" | grep -qF ", ${PEER_URL},"; } || ` +
		x.ctl(eps, "member", "add", `"${NAME}"`, `--peer-urls="${PEER_URL}"`))
}

// shellWords renders args, quoting the values that hold variables.
func shellWords(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch k, v, ok := strings.Cut(a, "="); {
		case ok && strings.Contains(v, "$"):
			out[i] = k + `="` + v + `"`
		case strings.Contains(a, "$"):
			out[i] = `"` + a + `"`
		default:
			out[i] = harness.ShellJoin([]string{a})
		}
	}
	return strings.Join(out, " ")
}

// until retries cmd once a second, at most healthAttempts times.
func until(cmd string) string {
	return fmt.Sprintf("n=0\nuntil %s; do\n  n=$((n+1)); [ \"$n\" -lt %d ] || exit 1; sleep 1\ndone", cmd, healthAttempts)
}

func (x exporter) scheme() string {
	if x.o.TLS {
		return "https"
	}
	return "http"
}

func (x exporter) steps() []xstep {
	eps, ep := `"${ENDPOINTS}"`, `"${ENDPOINT}"`
	health := func(endpoints string) string { return until(x.ctl(endpoints, healthTimeout, "endpoint", "health")) }
	healthy := func(host string) xstep {
		return xstep{"Wait until every member is healthy", "# on " + host + "\n" + health(eps)}
	}
	each := func(fn func(n string) string) string {
		var b strings.Builder
		for _, n := range x.names {
			fmt.Fprintf(&b, "# on %s\n%s\n", n, fn(n))
		}
		return b.String()
	}
	switch x.o.Drill {
	case "quorum-loss":
		return []xstep{
			{"Stop etcd on every member and clear its data dir", each(func(string) string { return "stop etcd\nrm -rf \"${DATA_DIR}/member\"" })},
			{"Restore the snapshot on every member into a new cluster, with a fresh token", each(func(n string) string {
				return shellWords(recovery.RestoreArgs("${SNAPSHOT}", n, x.names, "${TOKEN}", x.o.TLS))
			})},
			{"Start etcd on every member", each(func(string) string {
				return `start etcd --initial-cluster="${INITIAL_CLUSTER}" --initial-cluster-token="${TOKEN}" --initial-cluster-state=new`
			})},
			healthy("m1"),
		}
	case "member-replace":
		h := "# on ${LOST_1}\n"
		return []xstep{
			{"Remove the lost member from the cluster by its ID", h +
				`ID=$(` + x.ctl(eps, "member", "list") + ` | awk -F', ' -v name="${NAME}" '$3 == name { print $1 }')` + "\n" +
				`test -n "$ID"` + "\n" + x.removeOnce(eps)},
			{"Add the member back under its name", h + x.addOnce(eps)},
			{"Start it with an empty data dir, joining the existing cluster", h + "stop etcd\nrm -rf \"${DATA_DIR}/member\"\n" +
				`start etcd --initial-cluster="${INITIAL_CLUSTER}" --initial-cluster-state=existing`},
			healthy("${SURVIVOR}"),
		}
	case "quota-exhaustion":
		h := "# on m1\n"
		return []xstep{
			{"Save a snapshot first", h + "mkdir -p \"${BACKUP_DIR}\"\n" + x.ctl(ep, "snapshot", "save", `"${SNAPSHOT}"`)},
			{"Read the revision and compact the history up to it", h +
				`rev=$(` + x.ctl(ep, "endpoint", "status", "--write-out=json") + ` | grep -o '"revision":[0-9]*' | head -n 1 | cut -d: -f2)` + "\n" +
				`test -n "$rev"` + "\n" + x.ctl(eps, "compact", `"$rev"`)},
			{"Defragment every member", h + x.ctl(eps, "defrag")},
			{"Disarm the alarm", h + x.ctl(eps, "alarm", "disarm") + "\n" + x.ctl(eps, "alarm", "list")},
		}
	case "force-new-cluster":
		s := "# on ${SURVIVOR}\n"
		alone := `--initial-cluster="${NAME}=${PEER_URL}"`
		steps := []xstep{
			{"Restart the survivor with --force-new-cluster", s + "stop etcd\nstart etcd " + alone + " --force-new-cluster\n" + health(ep)},
			{"Restart the survivor without the flag", s + "stop etcd\nstart etcd " + alone + "\n" + health(ep)},
		}
		cluster := "${SURVIVOR}=" + x.scheme() + "://${SURVIVOR}:2380"
		for i := 1; i <= x.o.Members/2+1; i++ { // the fault takes a majority
			cluster += fmt.Sprintf(",${LOST_%d}=%s://${LOST_%d}:2380", i, x.scheme(), i)
			steps = append(steps, xstep{fmt.Sprintf("Add lost member %d back with an empty data dir", i), fmt.Sprintf("# on ${LOST_%d}\n", i) +
				x.addOnce(eps) + "\nstop etcd\nrm -rf \"${DATA_DIR}/member\"\n" +
				`start etcd --initial-cluster="` + cluster + `" --initial-cluster-state=existing` + "\n" + health(ep)})
		}
		return steps
	}
	return nil
}

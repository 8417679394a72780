package harness

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DataDir is the member's data directory: the kubeadm layout.
const DataDir = "/var/lib/etcd"

// BackupDir is where drills keep snapshots on a member's host.
const BackupDir = "/var/lib/etcd-backup"

const (
	clientPort = 2379
	peerPort   = 2380
)

// Spec is what one member's etcd command line is built from.
type Spec struct {
	Name string
	// InitialCluster is the --initial-cluster value, "m1=http://m1:2380,...".
	InitialCluster string
	Token          string
	// State is "new" for a bootstrap and "existing" for a member added to a
	// running cluster.
	State             string
	TLS               bool
	QuotaBackendBytes int64 // 0 keeps etcd's default (2 GiB)
	EnableV2          bool  // 3.5 only
	CorruptCheck      bool  // initial, periodic and compaction hash checks
	// CorruptCheckPeriod is how often the leader runs the periodic and
	// compaction hash checks when CorruptCheck is on. Default 0:
	// DefaultCorruptCheckPeriod.
	CorruptCheckPeriod time.Duration
	ForceNewCluster    bool
	// DataDir overrides the data dir (default DataDir), e.g. to start from
	// a v2 backup directory inside the data volume.
	DataDir string
	Extra   []string // appended last, so they win
}

func scheme(tls bool) string {
	if tls {
		return "https"
	}
	return "http"
}

// PeerURL is the URL other members reach name's peer port at.
func PeerURL(name string, tls bool) string {
	return fmt.Sprintf("%s://%s:%d", scheme(tls), name, peerPort)
}

// ClientURL is the URL clients inside the network reach name at.
func ClientURL(name string, tls bool) string {
	return fmt.Sprintf("%s://%s:%d", scheme(tls), name, clientPort)
}

// InitialCluster builds the --initial-cluster value for names.
func InitialCluster(names []string, tls bool) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + PeerURL(n, tls)
	}
	return strings.Join(parts, ",")
}

// Flags returns etcd's arguments for version v. It returns an error, which
// names the member, for a setting the version does not have, rather than
// a flag etcd would refuse.
func Flags(v Version, s Spec) ([]string, error) {
	if s.EnableV2 && !v.HasV2() {
		return nil, fmt.Errorf("member %s: etcd %s has no v2 API (--enable-v2 was removed in 3.6)", s.Name, v)
	}
	if s.State != "new" && s.State != "existing" {
		return nil, fmt.Errorf("member %s: initial cluster state %q, want new or existing", s.Name, s.State)
	}
	sch := scheme(s.TLS)
	dir := DataDir
	if s.DataDir != "" {
		dir = s.DataDir
	}
	f := []string{
		"--name=" + s.Name,
		"--data-dir=" + dir,
		fmt.Sprintf("--listen-client-urls=%s://0.0.0.0:%d", sch, clientPort),
		"--advertise-client-urls=" + ClientURL(s.Name, s.TLS),
		fmt.Sprintf("--listen-peer-urls=%s://0.0.0.0:%d", sch, peerPort),
		"--initial-advertise-peer-urls=" + PeerURL(s.Name, s.TLS),
		"--initial-cluster=" + s.InitialCluster,
		"--initial-cluster-token=" + s.Token,
		"--initial-cluster-state=" + s.State,
		"--logger=zap",
		"--log-outputs=stderr",
	}
	if s.TLS {
		f = append(f,
			"--cert-file="+PKIDir+"/server.crt",
			"--key-file="+PKIDir+"/server.key",
			"--client-cert-auth=true",
			"--trusted-ca-file="+CACert,
			"--peer-cert-file="+PKIDir+"/peer.crt",
			"--peer-key-file="+PKIDir+"/peer.key",
			"--peer-client-cert-auth=true",
			"--peer-trusted-ca-file="+CACert,
		)
	}
	if s.QuotaBackendBytes > 0 {
		f = append(f, "--quota-backend-bytes="+strconv.FormatInt(s.QuotaBackendBytes, 10))
	}
	if s.EnableV2 {
		f = append(f, "--enable-v2=true")
	}
	if s.CorruptCheck {
		f = append(f, corruptCheckFlags(v, s.CorruptCheckPeriod)...)
	}
	if s.ForceNewCluster {
		f = append(f, "--force-new-cluster=true")
	}
	return append(f, s.Extra...), nil
}

// DefaultCorruptCheckPeriod is the period of the periodic and compaction
// hash checks a CorruptCheck member runs with. etcd's defaults (1 minute
// for the compaction check, off for the periodic one) are for
// production; a drill must see detection within a bounded wait.
const DefaultCorruptCheckPeriod = 5 * time.Second

// corruptCheckFlags turns on the initial check (a member compares its
// hash with its peers' before it serves, and refuses to start on a
// mismatch), the leader's periodic check (CORRUPT alarm on a mismatch),
// and the leader's compaction hash check, each period apart. 3.5 spells
// them --experimental-*; 3.6 moved the switches to feature gates and the
// periods to --corrupt-check-time and --compact-hash-check-time (the
// --experimental-* names are deprecated there and gone in 3.7).
func corruptCheckFlags(v Version, period time.Duration) []string {
	if period <= 0 {
		period = DefaultCorruptCheckPeriod
	}
	p := period.String()
	if v.FeatureGates() {
		return []string{"--feature-gates=InitialCorruptCheck=true,CompactHashCheck=true",
			"--corrupt-check-time=" + p, "--compact-hash-check-time=" + p}
	}
	return []string{"--experimental-initial-corrupt-check=true", "--experimental-compact-hash-check-enabled=true",
		"--experimental-corrupt-check-time=" + p, "--experimental-compact-hash-check-time=" + p}
}

// EtcdctlTLS are the flags etcdctl needs to talk to a TLS member, as seed
// 004 types them.
func EtcdctlTLS() []string {
	return []string{"--cacert=" + CACert, "--cert=" + ClientCert, "--key=" + ClientKey}
}

// ShellJoin renders args as a command line an operator can paste: words
// with shell metacharacters are single-quoted.
func ShellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\|&;<>(){}*?[]#~!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

package runbook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/recovery"
)

// Var is one documented variable.
type Var struct{ Name, Doc string }

// Variables are the variables every member host has, in the order the
// export documents them. Their values are the same on every host but
// for NAME, ENDPOINT and PEER_URL.
var Variables = []Var{
	{"NAME", "this host's member name (m1)"},
	{"MEMBERS", "every member's name, space-separated (m1 m2 m3)"},
	{"ENDPOINT", "this member's client URL (https://m1:2379)"},
	{"ENDPOINTS", "every member's client URL, comma-separated"},
	{"PEER_URL", "this member's peer URL (https://m1:2380)"},
	{"PEER_URL_M1", "m1's peer URL; PEER_URL_M2 and so on for each member"},
	{"INITIAL_CLUSTER", "every member as name=peer-URL, comma-separated, for --initial-cluster"},
	{"TOKEN", "a fresh --initial-cluster-token for a new cluster, the same on every host"},
	{"CLUSTER_TOKEN", "the --initial-cluster-token the cluster was started with (its unit file's)"},
	{"DATA_DIR", "the data dir, " + harness.DataDir},
	{"BACKUP_DIR", "where snapshots are kept, " + harness.BackupDir + " (shared by every host)"},
	{"SNAPSHOT", "the drill's snapshot, " + recovery.SnapshotPath + " (saved before the fault, where the drill takes one)"},
	{"CACERT", "the CA certificate (TLS only), " + harness.CACert},
	{"CERT", "the client certificate (TLS only), " + harness.ClientCert},
	{"KEY", "the client key (TLS only), " + harness.ClientKey},
	{"ETCD_USER", "the root user (auth only)"},
	{"ETCD_PASSWORD", "its password (auth only)"},
	{"ETCD_VERSION", "the etcd version (3.6.16)"},
	{"SURVIVOR", "the first member the fault spared; also a host"},
	{"LOST", "the members the fault took, space-separated"},
	{"LOST_1", "the first member the fault took; LOST_2 and so on; also hosts"},
}

// hostPath is PATH on every host: the image's binaries and busybox.
const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var numberedRE = regexp.MustCompile(`^(PEER_URL_M|LOST_)[0-9]+$`)

// Known says whether name is a documented variable.
func Known(name string) bool {
	if numberedRE.MatchString(name) {
		return true
	}
	return slices.ContainsFunc(Variables, func(v Var) bool { return v.Name == name })
}

// Env is what the variables are made of: the drill's cluster and what
// its fault did.
type Env struct {
	Members      []string // names, in order
	TLS, Auth    bool
	User         string // with Auth
	Password     string
	Version      string
	ClusterToken string
	Token        string   // fresh
	Survivors    []string // members the fault spared, in order
	Lost         []string // members it took, in order
}

// Vars are the variables on host name.
func (e Env) Vars(name string) map[string]string {
	v := map[string]string{
		"NAME":            name,
		"MEMBERS":         strings.Join(e.Members, " "),
		"ENDPOINT":        harness.ClientURL(name, e.TLS),
		"PEER_URL":        harness.PeerURL(name, e.TLS),
		"INITIAL_CLUSTER": harness.InitialCluster(e.Members, e.TLS),
		"TOKEN":           e.Token,
		"CLUSTER_TOKEN":   e.ClusterToken,
		"DATA_DIR":        harness.DataDir,
		"BACKUP_DIR":      harness.BackupDir,
		"SNAPSHOT":        recovery.SnapshotPath,
		"ETCD_VERSION":    e.Version,
		"LOST":            strings.Join(e.Lost, " "),
	}
	var eps []string
	for _, m := range e.Members {
		eps = append(eps, harness.ClientURL(m, e.TLS))
		v["PEER_URL_"+strings.ToUpper(m)] = harness.PeerURL(m, e.TLS)
	}
	v["ENDPOINTS"] = strings.Join(eps, ",")
	if e.TLS {
		v["CACERT"], v["CERT"], v["KEY"] = harness.CACert, harness.ClientCert, harness.ClientKey
	}
	if e.Auth {
		v["ETCD_USER"], v["ETCD_PASSWORD"] = e.User, e.Password
	}
	if len(e.Survivors) > 0 {
		v["SURVIVOR"] = e.Survivors[0]
	}
	for i, l := range e.Lost {
		v[fmt.Sprintf("LOST_%d", i+1)] = l
	}
	return v
}

// Environ is Vars as KEY=value lines, sorted, with PATH.
func (e Env) Environ(name string) []string {
	v := e.Vars(name)
	out := []string{"PATH=" + hostPath}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		out = append(out, k+"="+v[k])
	}
	return out
}

// Host resolves a runbook host ("m2", "${LOST_1}") to a member name.
func (e Env) Host(h string) (string, error) {
	v, ok := strings.CutPrefix(h, "${")
	if !ok {
		return h, nil
	}
	v = strings.TrimSuffix(v, "}")
	name, ok := e.Vars(e.Members[0])[v]
	if !ok || name == "" {
		return "", fmt.Errorf("host ${%s}: this drill's fault took %d members (%s) and spared %s", v, len(e.Lost), strings.Join(e.Lost, ", "), strings.Join(e.Survivors, ", "))
	}
	return name, nil
}

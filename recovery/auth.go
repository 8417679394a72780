package recovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Users EnableAuth creates: root (needed to enable auth) and a workload
// user whose role may read and write one prefix only.
const (
	WorkloadUser = "drill"
	WorkloadRole = "drill-rw"
)

func password() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// EnableAuth turns etcd auth on the way an operator does, on the first
// member: add root with the root role, add a role with read-write on
// prefix and a user holding it, then `auth enable`. From then on every
// etcdctl command carries --user; it returns the workload user's
// credentials.
func EnableAuth(ctx context.Context, log *record.Log, c *harness.Cluster, prefix string) (*harness.Credentials, error) {
	m := c.Members()[0]
	root := harness.Credentials{User: "root", Password: password()}
	user := harness.Credentials{User: WorkloadUser, Password: password()}
	steps := []struct {
		name string
		args []string
	}{
		{"add the root user", []string{"user", "add", root.User, "--new-user-password=" + root.Password, "--interactive=false"}},
		{"grant root the root role", []string{"user", "grant-role", root.User, "root"}},
		{"add the workload role", []string{"role", "add", WorkloadRole}},
		{"let the role read and write the drill prefix", []string{"role", "grant-permission", WorkloadRole, "readwrite", prefix, "--prefix=true"}},
		{"add the workload user", []string{"user", "add", user.User, "--new-user-password=" + user.Password, "--interactive=false"}},
		{"grant the workload user its role", []string{"user", "grant-role", user.User, WorkloadRole}},
		{"enable auth", []string{"auth", "enable"}},
	}
	for _, s := range steps {
		if err := log.Do(record.PhaseSetup, s.name, m.Name(), func() (record.Action, error) {
			return m.Etcdctl(ctx, s.args...)
		}); err != nil {
			return nil, err
		}
	}
	c.UseAuth(root)
	return &user, nil
}

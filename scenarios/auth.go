package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Users the auth setup creates: root (needed to enable auth) and a
// workload user whose role may read and write the drill's prefix only.
const (
	workloadUser = "drill"
	workloadRole = "drill-rw"
)

func password() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// enableAuth turns etcd auth on the way an operator does: add root with
// the root role, add a role with read-write on the workload prefix and a
// user holding it, then `auth enable`. From then on every etcdctl command
// carries --user and the workload writes as the drill user.
func enableAuth(ctx context.Context, d *Drill) error {
	c := d.Cluster
	m := c.Members()[0]
	root := harness.Credentials{User: "root", Password: password()}
	user := harness.Credentials{User: workloadUser, Password: password()}
	steps := []struct {
		name string
		args []string
	}{
		{"add the root user", []string{"user", "add", root.User, "--new-user-password=" + root.Password, "--interactive=false"}},
		{"grant root the root role", []string{"user", "grant-role", root.User, "root"}},
		{"add the workload role", []string{"role", "add", workloadRole}},
		{"let the role read and write the drill prefix", []string{"role", "grant-permission", workloadRole, "readwrite", d.Load.Prefix, "--prefix=true"}},
		{"add the workload user", []string{"user", "add", user.User, "--new-user-password=" + user.Password, "--interactive=false"}},
		{"grant the workload user its role", []string{"user", "grant-role", user.User, workloadRole}},
		{"enable auth", []string{"auth", "enable"}},
	}
	for _, s := range steps {
		if err := d.Log.Do(record.PhaseSetup, s.name, m.Name(), func() (record.Action, error) {
			return m.Etcdctl(ctx, s.args...)
		}); err != nil {
			return err
		}
	}
	c.UseAuth(root)
	d.loadCreds = &user
	return nil
}

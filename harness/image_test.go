package harness

import "testing"

func TestBuildNameDropsTheMajorVersion(t *testing.T) {
	for pkg, want := range map[string]string{
		"go.etcd.io/etcd/server/v3":  "server",
		"go.etcd.io/etcd/etcdctl/v3": "etcdctl",
		"example.com/tool":           "tool",
		"example.com/v2tool":         "v2tool",
	} {
		if got := buildName(pkg); got != want {
			t.Errorf("buildName(%q) = %q, want %q", pkg, got, want)
		}
	}
}

package harness

import (
	"fmt"
	"net/http"
	"strings"

	clientv2 "go.etcd.io/etcd/client/v2"
)

// KeysV2 returns a v2 keys API client for the given members (all when
// none), for clusters started WithV2 (etcd 3.5). It reaches members
// through their published ports, with the run's client certificate.
func (c *Cluster) KeysV2(members ...*Member) (clientv2.KeysAPI, error) {
	if !c.cfg.EnableV2 {
		return nil, fmt.Errorf("cluster %s runs without the v2 API", c.runID)
	}
	if len(members) == 0 {
		members = c.Members()
	}
	var eps []string
	for _, m := range members {
		eps = append(eps, m.Endpoint())
	}
	tr := &http.Transport{}
	if c.pki != nil {
		t, err := c.pki.ClientTLS()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = t
	}
	cli, err := clientv2.New(clientv2.Config{Endpoints: eps, Transport: tr, HeaderTimeoutPerRequest: c.cfg.Timeouts.Request})
	if err != nil {
		return nil, fmt.Errorf("v2 client for %v: %w", eps, err)
	}
	return clientv2.NewKeysAPI(cli), nil
}

// EtcdctlV2Args returns `etcdctl --endpoints=<urls> [tls] args...` in the
// v2 flag dialect (run it with ETCDCTL_API=2), as seed 004 types it.
func (c *Cluster) EtcdctlV2Args(endpoints []string, args ...string) []string {
	a := []string{"etcdctl", "--endpoints=" + strings.Join(endpoints, ",")}
	if c.pki != nil {
		a = append(a, "--ca-file="+CACert, "--cert-file="+ClientCert, "--key-file="+ClientKey)
	}
	return append(a, args...)
}

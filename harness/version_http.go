package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// ClusterVersion asks the member for GET /version through its published
// client port, with the run's client certificate when TLS is on. server
// is the etcd version the member runs ("3.6.16"); cluster is the version
// the members agreed to speak ("3.6.0"), which lags behind until every
// member runs the new minor, and reads "not_decided" while a new cluster
// is still agreeing. The request is bounded by the request timeout.
func (m *Member) ClusterVersion(ctx context.Context) (server, cluster string, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.c.cfg.Timeouts.Request)
	defer cancel()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if m.c.pki != nil {
		t, err := m.c.pki.ClientTLS()
		if err != nil {
			return "", "", err
		}
		tr.TLSClientConfig = t
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint()+"/version", nil)
	if err != nil {
		return "", "", fmt.Errorf("version of %s: %w", m.name, err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", "", fmt.Errorf("version of %s: %w", m.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", "", fmt.Errorf("version of %s: %w", m.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("version of %s: %s: %s", m.name, resp.Status, body)
	}
	var v struct {
		Server  string `json:"etcdserver"`
		Cluster string `json:"etcdcluster"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", "", fmt.Errorf("version of %s: %w: %q", m.name, err, body)
	}
	return v.Server, v.Cluster, nil
}

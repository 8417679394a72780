package harness

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"time"
)

// Timeouts names every wait the harness does, so a failed wait says which
// budget ran out. Defaults suit a 2-core machine running 3 to 5 members.
type Timeouts struct {
	// ImageBuild bounds compiling etcd and building its image. Default 20m.
	ImageBuild time.Duration `json:"image_build"`
	// ClusterReady bounds a new or restored cluster becoming healthy with a
	// leader. Default 90s.
	ClusterReady time.Duration `json:"cluster_ready"`
	// Election bounds the wait for a new leader after a fault. Default 30s.
	Election time.Duration `json:"election"`
	// Command bounds one etcdctl or etcdutl run, and one container action.
	// Default 2m.
	Command time.Duration `json:"command"`
	// Request bounds one client request, such as one workload write.
	// Default 3s.
	Request time.Duration `json:"request"`
	// CatchUp bounds a restarted member catching up and hashes converging.
	// Default 90s.
	CatchUp time.Duration `json:"catch_up"`
	// Teardown bounds removing what a run created. Default 2m.
	Teardown time.Duration `json:"teardown"`
}

// DefaultTimeouts returns the defaults documented on Timeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ImageBuild:   20 * time.Minute,
		ClusterReady: 90 * time.Second,
		Election:     30 * time.Second,
		Command:      2 * time.Minute,
		Request:      3 * time.Second,
		CatchUp:      90 * time.Second,
		Teardown:     2 * time.Minute,
	}
}

// Config describes a cluster. The zero value is not valid; New fills the
// defaults documented per field before applying options.
type Config struct {
	// Version is the etcd version. Default DefaultVersion.
	Version string `json:"version"`
	// Image is an existing local image to run instead of building one.
	// Default "": build etcdrill/etcd:v<Version> from the Go module proxy.
	Image string `json:"image,omitempty"`
	// Members is the cluster size: 1, 3 or 5. Default 3.
	Members int `json:"members"`
	// TLS turns on server, peer and client certificates with client
	// certificate auth. Default false.
	TLS bool `json:"tls"`
	// Name prefixes the run ID so containers say what made them.
	// Default "etcdrill".
	Name string `json:"name"`
	// QuotaBackendBytes sets --quota-backend-bytes. Default 0: etcd's own.
	QuotaBackendBytes int64 `json:"quota_backend_bytes,omitempty"`
	// EnableV2 turns on the v2 API (3.5 only). Default false.
	EnableV2 bool `json:"enable_v2,omitempty"`
	// CorruptCheck turns on the initial and compaction hash checks.
	// Default false.
	CorruptCheck bool `json:"corrupt_check,omitempty"`
	// Failpoints runs members from the failpoints image
	// (etcdrill/etcd:v<Version>-failpoints, built like the plain one, with
	// gofail enabled) with gofail's HTTP endpoint on FailpointPort,
	// published like the client port. Not with Image. Default false.
	Failpoints bool `json:"failpoints,omitempty"`
	// PeerNetwork gives peers a network of their own, apart from the one
	// that carries the published client ports, so that peer traffic can be
	// cut (Isolate, DisconnectPeers) or shaped (StartNetem) while every
	// client port stays reachable (see network.go). Default false: one
	// network carries both, which starts a cluster faster.
	PeerNetwork bool `json:"peer_network,omitempty"`
	// DataVolumeBytes gives members, by name, a data dir on a tmpfs volume
	// of that many bytes, which a drill can fill (see harness/disk.go).
	// Default none: ordinary volumes.
	DataVolumeBytes map[string]int64 `json:"data_volume_bytes,omitempty"`
	// PublishAddress is the IP, on the Docker engine's host, that members'
	// client ports are published on; with a remote engine (DOCKER_HOST) it
	// must be one this machine reaches, or 0.0.0.0 or :: for all
	// interfaces, which the harness then dials at DOCKER_HOST's host.
	// Default $ETCDRILL_PUBLISH_ADDRESS when set, else 127.0.0.1: never
	// all interfaces unless asked.
	PublishAddress string `json:"publish_address"`
	// Timeouts bound every wait. Default DefaultTimeouts().
	Timeouts Timeouts `json:"timeouts"`
	// Logger receives start/done lines. Default slog.Default().
	Logger *slog.Logger `json:"-"`
}

// Option changes a Config; New applies options in order, then validates.
type Option func(*Config) error

// WithVersion sets the etcd version.
func WithVersion(v string) Option { return func(c *Config) error { c.Version = v; return nil } }

// WithImage runs an existing local image instead of building one.
func WithImage(ref string) Option { return func(c *Config) error { c.Image = ref; return nil } }

// WithMembers sets the cluster size.
func WithMembers(n int) Option { return func(c *Config) error { c.Members = n; return nil } }

// WithTLS turns certificates and client certificate auth on or off.
func WithTLS(on bool) Option { return func(c *Config) error { c.TLS = on; return nil } }

// WithName sets the run ID prefix.
func WithName(s string) Option { return func(c *Config) error { c.Name = s; return nil } }

// WithQuota sets --quota-backend-bytes.
func WithQuota(bytes int64) Option {
	return func(c *Config) error { c.QuotaBackendBytes = bytes; return nil }
}

// WithFailpoints runs members from the failpoints image (see
// Config.Failpoints).
func WithFailpoints() Option { return func(c *Config) error { c.Failpoints = true; return nil } }

// WithPeerNetwork gives peers a network of their own (see
// Config.PeerNetwork), for partitions and link shaping.
func WithPeerNetwork() Option { return func(c *Config) error { c.PeerNetwork = true; return nil } }

// MinDataVolumeBytes is the smallest sized data volume etcd starts on:
// its write-ahead log preallocates 64 MiB segments, the current one and
// the next, besides the database.
const MinDataVolumeBytes = 192 << 20

// WithDataVolume puts member's data dir on a tmpfs volume of bytes (see
// Config.DataVolumeBytes); it adds to earlier calls for other members.
func WithDataVolume(member string, bytes int64) Option {
	return func(c *Config) error {
		if bytes < MinDataVolumeBytes {
			return fmt.Errorf("data volume of %s: %d bytes, want at least %d (etcd preallocates two 64 MiB WAL segments)", member, bytes, MinDataVolumeBytes)
		}
		c.DataVolumeBytes = maps.Clone(c.DataVolumeBytes)
		if c.DataVolumeBytes == nil {
			c.DataVolumeBytes = map[string]int64{}
		}
		c.DataVolumeBytes[member] = bytes
		return nil
	}
}

// WithV2 turns the v2 API on (3.5 only).
func WithV2() Option { return func(c *Config) error { c.EnableV2 = true; return nil } }

// WithPublishAddress sets the IP client ports are published on (see
// Config.PublishAddress); NewConfig checks that it is an IP literal.
func WithPublishAddress(addr string) Option {
	return func(c *Config) error { c.PublishAddress = addr; return nil }
}

// WithTimeouts replaces all timeouts.
func WithTimeouts(t Timeouts) Option { return func(c *Config) error { c.Timeouts = t; return nil } }

// WithLogger sets the logger.
func WithLogger(lg *slog.Logger) Option { return func(c *Config) error { c.Logger = lg; return nil } }

// NewConfig applies opts over the defaults and validates the result.
func NewConfig(opts ...Option) (Config, Version, error) {
	cfg := Config{Version: DefaultVersion, Members: 3, Name: "etcdrill", PublishAddress: DefaultPublishAddress,
		Timeouts: DefaultTimeouts(), Logger: slog.Default()}
	if a := os.Getenv(EnvPublishAddress); a != "" {
		cfg.PublishAddress = a
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return cfg, Version{}, err
		}
	}
	v, err := ParseVersion(cfg.Version)
	if err != nil {
		return cfg, v, err
	}
	switch cfg.Members {
	case 1, 3, 5:
	default:
		return cfg, v, fmt.Errorf("cluster size %d: want 1, 3 or 5 members", cfg.Members)
	}
	if cfg.Failpoints && cfg.Image != "" {
		return cfg, v, fmt.Errorf("image %s: failpoints need etcdrill's own failpoints build, not an existing image", cfg.Image)
	}
	if cfg.EnableV2 && !v.HasV2() {
		return cfg, v, fmt.Errorf("etcd %s has no v2 API (removed in 3.6)", v)
	}
	// The address must be one Docker can bind, and with DOCKER_HOST one
	// the harness can dial: say so now rather than at the first create.
	if _, err := parsePublishAddress(cfg.PublishAddress); err != nil {
		if env := os.Getenv(EnvPublishAddress); env != "" && env == cfg.PublishAddress {
			err = fmt.Errorf("%s: %w", EnvPublishAddress, err)
		}
		return cfg, v, err
	}
	if _, err := dialHost(cfg.PublishAddress, os.Getenv("DOCKER_HOST")); err != nil {
		return cfg, v, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, v, nil
}

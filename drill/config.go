package drill

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// ErrConfig marks a configuration that cannot run: a bad version, an
// impossible cluster size, a bad load. The CLI maps it to exit code 2.
var ErrConfig = errors.New("bad drill configuration")

// DefaultTimeout bounds one whole drill when Options.Timeout is 0: the
// slowest drill takes about a minute on 2 cores, so this only ends a
// drill that hangs.
const DefaultTimeout = 15 * time.Minute

// Options are what a user chooses for a drill; zero values keep the
// scenario's defaults or the documented ones.
type Options struct {
	// Version is the etcd version. Default harness.DefaultVersion.
	Version string `json:"version"`
	// Image runs an existing local image instead of building one.
	Image string `json:"image,omitempty"`
	// Members overrides the scenario's cluster size (0 keeps it).
	Members int `json:"members,omitempty"`
	// TLS and Auth override the scenario's settings (nil keeps them).
	TLS  *bool `json:"tls,omitempty"`
	Auth *bool `json:"auth,omitempty"`
	// Seed makes keys and values reproducible; 0 picks one, which the
	// report records.
	Seed int64 `json:"seed"`
	// Load shapes the write workload. Writers must be 1 or more and Rate
	// above 0; zero values take the defaults (4 writers, 100 writes/s).
	Load workload.Config `json:"load"`
	// Data is a data profile loaded before the load starts, as
	// workload.ParseDataSpec reads it ("1GiB", "k8s:512MiB",
	// "uniform:100000x10KiB"); "" loads none.
	Data string `json:"data,omitempty"`
	// FromSnapshot is a snapshot file of the operator's: the cluster is
	// restored from it before the load starts, and every key it holds
	// must survive the drill. Exclusive with Data.
	FromSnapshot string `json:"from_snapshot,omitempty"`
	// OutDir receives one report directory per drill; "" writes none.
	OutDir string `json:"out_dir,omitempty"`
	// KeepArtifacts saves member logs and data dirs of a failed or
	// interrupted drill into its report directory before teardown.
	KeepArtifacts bool `json:"keep_artifacts,omitempty"`
	// KeepSnapshot moves the snapshot a restore used into the report
	// directory as snapshot.db, pass or fail (for `etcdrill scale`, which
	// times a bare restore of the same file).
	KeepSnapshot bool `json:"keep_snapshot,omitempty"`
	// Timeout bounds the whole drill. Default DefaultTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Timeouts bound every wait. Default harness.DefaultTimeouts().
	Timeouts *harness.Timeouts `json:"timeouts,omitempty"`
	// Logger receives progress. Default slog.Default().
	Logger *slog.Logger `json:"-"`
	// OnStep, when set, is told before each step runs (i counts from 1),
	// for live progress on a terminal or Ginkgo's By.
	OnStep func(drill string, i, n int, title string) `json:"-"`
	// Runbook, when set, replaces the scenario's Recover steps with the
	// operator's own procedure; the fault, the observation and every
	// check stay. A failing runbook step ends the procedure, and the
	// Verify steps still run to say what it left broken. Default nil:
	// the built-in procedure.
	Runbook Procedure `json:"-"`
}

// Config is a drill's configuration, resolved and validated once by
// Resolve; the record copies it.
type Config struct {
	Version      harness.Version
	Image        string
	Members      int
	TLS, Auth    bool
	Seed         int64
	Load         workload.Config
	Data         workload.DataSpec
	FromSnapshot string
	// DataBytes is the size of Data or of the FromSnapshot file, as
	// Resolve found it; budgets grow with it.
	DataBytes     int64
	OutDir        string
	KeepArtifacts bool
	KeepSnapshot  bool
	Timeout       time.Duration
	Timeouts      harness.Timeouts
	Logger        *slog.Logger
	OnStep        func(drill string, i, n int, title string)
	Runbook       Procedure
}

// Resolve applies o over s's defaults and checks the result: the version
// is parsed here and nowhere else, the cluster size must be 1, 3 or 5 and
// big enough for s's faults and procedure, and the load must be sane.
// Its errors wrap ErrConfig (and harness.ErrUnknownVersion for a version
// etcdrill cannot run). Whether s applies to the version is not an error:
// see Scenario.Applies.
func Resolve(s *Scenario, o Options) (Config, error) {
	if o.Version == "" {
		o.Version = harness.DefaultVersion
	}
	v, err := harness.ParseVersion(o.Version)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := Config{Version: v, Image: o.Image, Members: pick(o.Members, s.Members), TLS: s.TLS, Auth: s.Auth, Seed: o.Seed,
		Load: o.Load, OutDir: o.OutDir, KeepArtifacts: o.KeepArtifacts, KeepSnapshot: o.KeepSnapshot, Timeout: o.Timeout, Logger: o.Logger, OnStep: o.OnStep, Runbook: o.Runbook}
	if o.TLS != nil {
		c.TLS = *o.TLS
	}
	if o.Auth != nil {
		c.Auth = *o.Auth
	}
	if c.Seed == 0 {
		c.Seed = rand.Int64N(1<<31) + 1
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.Timeouts = harness.DefaultTimeouts()
	if o.Timeouts != nil {
		c.Timeouts = *o.Timeouts
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Load, err = load(s.Name, c.Seed, c.Load); err != nil {
		return c, err
	}
	if err := c.data(o); err != nil {
		return c, err
	}
	switch {
	case c.Members != 1 && c.Members != 3 && c.Members != 5:
		return c, fmt.Errorf("%w: --members %d: want 1, 3 or 5", ErrConfig, c.Members)
	case c.Timeout < 0:
		return c, fmt.Errorf("%w: --timeout %s: want a positive duration", ErrConfig, c.Timeout)
	}
	if err := s.Available(fault.Env{Members: c.Members, Version: v}); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return c, nil
}

// load fills the load's defaults and refuses what would run something
// other than what the report says: 0 writers, a negative rate.
func load(name string, seed int64, l workload.Config) (workload.Config, error) {
	switch {
	case l.Writers < 0:
		return l, fmt.Errorf("%w: --writers %d: want 1 or more", ErrConfig, l.Writers)
	case l.Rate < 0:
		return l, fmt.Errorf("%w: --rate %g: want a positive number of writes per second", ErrConfig, l.Rate)
	}
	if l.Writers == 0 {
		l.Writers = 4
	}
	if l.Rate == 0 {
		l.Rate = 100
	}
	if l.Prefix == "" {
		l.Prefix = "/etcdrill/" + name + "/"
	}
	l.Seed = seed
	return l, nil
}

func pick(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

// Record is the record's copy of the configuration.
func (c Config) Record() record.Config {
	r := record.Config{EtcdVersion: c.Version.String(), Members: c.Members, TLS: c.TLS, Auth: c.Auth, Seed: c.Seed, Writers: c.Load.Writers, FromSnapshot: c.FromSnapshot}
	if !c.Data.IsZero() {
		r.Data = c.Data.String()
	}
	return r
}

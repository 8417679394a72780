package upgrade

// flagChange is how one etcd flag (or config file key, or ETCD_*
// variable: the same name) changed across minor versions of 3.x. The
// table was read from etcd's own flag sets (server/embed/config.go and
// etcdmain/config.go at v3.5.35, v3.6.16 and v3.7.3) and checked against
// `etcd --help` of each.
type flagChange struct {
	flag string
	// added is the minor the flag first appeared in (0: 3.5 or earlier).
	added int
	// deprecated is the minor in which etcd warns about it (0: never).
	deprecated int
	// removed is the minor that no longer accepts it (0: still accepted).
	removed int
	// replacement is what to use instead, as a flag ("--corrupt-check-time")
	// or a feature gate ("InitialCorruptCheck").
	replacement string
	// gate is true when replacement is a feature gate.
	gate bool
	// older is the name the flag had before it was renamed, for a downgrade
	// to a version that predates it.
	older string
	// def is the default of a removed flag in the last version that had
	// it: a config file setting it to the default loses nothing when the
	// key is ignored.
	def  string
	note string
}

// flagChanges lists every flag that 3.6 or 3.7 removed, renamed or
// deprecated, and every flag 3.6 added (for downgrades to 3.5).
var flagChanges = []flagChange{
	// Removed in 3.6 with the v2 API and the v2 proxy.
	{flag: "enable-v2", def: "false", removed: 6, note: "the v2 API is gone; data written through it blocks the upgrade (run `etcdutl check v2store`)"},
	{flag: "experimental-enable-v2v3", def: "", removed: 6, note: "the v2-on-v3 emulation is gone with the v2 API"},
	{flag: "proxy", def: "off", removed: 6, note: "the v2 proxy is gone; run `etcd grpc-proxy` instead"},
	{flag: "proxy-dial-timeout", def: "1000", removed: 6, note: "the v2 proxy is gone"},
	{flag: "proxy-failure-wait", def: "5000", removed: 6, note: "the v2 proxy is gone"},
	{flag: "proxy-read-timeout", def: "0", removed: 6, note: "the v2 proxy is gone"},
	{flag: "proxy-refresh-interval", def: "30000", removed: 6, note: "the v2 proxy is gone"},
	{flag: "proxy-write-timeout", def: "5000", removed: 6, note: "the v2 proxy is gone"},

	// Deprecated in 3.6, removed in 3.8.
	{flag: "max-snapshots", deprecated: 6, note: "to be removed in 3.8"},
	{flag: "v2-deprecation", deprecated: 6, note: "etcd enforces the default and ignores the value; to be removed in 3.8"},

	// Experimental flags that became feature gates in 3.6 and are gone in 3.7.
	{flag: "experimental-initial-corrupt-check", def: "false", deprecated: 6, removed: 7, replacement: "InitialCorruptCheck", gate: true},
	{flag: "experimental-compact-hash-check-enabled", def: "false", deprecated: 6, removed: 7, replacement: "CompactHashCheck", gate: true},
	{flag: "experimental-txn-mode-write-with-shared-buffer", def: "true", deprecated: 6, removed: 7, replacement: "TxnModeWriteWithSharedBuffer", gate: true},
	{flag: "experimental-stop-grpc-service-on-defrag", def: "false", deprecated: 6, removed: 7, replacement: "StopGRPCServiceOnDefrag", gate: true},
	{flag: "experimental-enable-lease-checkpoint", def: "false", deprecated: 6, removed: 7, replacement: "LeaseCheckpoint", gate: true},
	{flag: "experimental-enable-lease-checkpoint-persist", def: "false", deprecated: 6, removed: 7, replacement: "LeaseCheckpointPersist", gate: true},

	// Experimental flags that lost their prefix in 3.6 and are gone in 3.7.
	{flag: "experimental-compact-hash-check-time", def: "1m0s", deprecated: 6, removed: 7, replacement: "--compact-hash-check-time"},
	{flag: "experimental-corrupt-check-time", def: "0s", deprecated: 6, removed: 7, replacement: "--corrupt-check-time"},
	{flag: "experimental-compaction-batch-limit", def: "1000", deprecated: 6, removed: 7, replacement: "--compaction-batch-limit"},
	{flag: "experimental-compaction-sleep-interval", def: "10ms", deprecated: 6, removed: 7, replacement: "--compaction-sleep-interval"},
	{flag: "experimental-watch-progress-notify-interval", def: "10m0s", deprecated: 6, removed: 7, replacement: "--watch-progress-notify-interval"},
	{flag: "experimental-warning-apply-duration", def: "100ms", deprecated: 6, removed: 7, replacement: "--warning-apply-duration"},
	{flag: "experimental-warning-unary-request-duration", def: "300ms", added: 6, deprecated: 6, removed: 7, replacement: "--warning-unary-request-duration"},
	{flag: "experimental-bootstrap-defrag-threshold-megabytes", def: "0", deprecated: 6, removed: 7, replacement: "--bootstrap-defrag-threshold-megabytes"},
	{flag: "experimental-memory-mlock", def: "false", deprecated: 6, removed: 7, replacement: "--memory-mlock"},
	{flag: "experimental-snapshot-catchup-entries", def: "5000", deprecated: 6, removed: 7, replacement: "--snapshot-catchup-entries"},
	{flag: "experimental-downgrade-check-time", def: "5s", deprecated: 6, removed: 7, replacement: "--downgrade-check-time"},
	{flag: "experimental-peer-skip-client-san-verification", def: "false", deprecated: 6, removed: 7, replacement: "--peer-skip-client-san-verification"},
	{flag: "experimental-enable-distributed-tracing", def: "false", deprecated: 6, removed: 7, replacement: "--enable-distributed-tracing"},
	{flag: "experimental-distributed-tracing-address", def: "localhost:4317", deprecated: 6, removed: 7, replacement: "--distributed-tracing-address"},
	{flag: "experimental-distributed-tracing-service-name", def: "etcd", deprecated: 6, removed: 7, replacement: "--distributed-tracing-service-name"},
	{flag: "experimental-distributed-tracing-instance-id", def: "", deprecated: 6, removed: 7, replacement: "--distributed-tracing-instance-id"},
	{flag: "experimental-distributed-tracing-sampling-rate", def: "0", deprecated: 6, removed: 7, replacement: "--distributed-tracing-sampling-rate"},

	// Added in 3.6: unknown to 3.5, so a downgrade must drop or rename them.
	{flag: "feature-gates", added: 6, note: "3.5 has the --experimental-* flags instead"},
	{flag: "log-format", added: 6},
	{flag: "max-learners", added: 6},
	{flag: "compact-hash-check-time", added: 6, older: "experimental-compact-hash-check-time"},
	{flag: "corrupt-check-time", added: 6, older: "experimental-corrupt-check-time"},
	{flag: "compaction-batch-limit", added: 6, older: "experimental-compaction-batch-limit"},
	{flag: "compaction-sleep-interval", added: 6, older: "experimental-compaction-sleep-interval"},
	{flag: "watch-progress-notify-interval", added: 6, older: "experimental-watch-progress-notify-interval"},
	{flag: "warning-apply-duration", added: 6, older: "experimental-warning-apply-duration"},
	{flag: "warning-unary-request-duration", added: 6},
	{flag: "bootstrap-defrag-threshold-megabytes", added: 6, older: "experimental-bootstrap-defrag-threshold-megabytes"},
	{flag: "memory-mlock", added: 6, older: "experimental-memory-mlock"},
	{flag: "snapshot-catchup-entries", added: 6, older: "experimental-snapshot-catchup-entries"},
	{flag: "downgrade-check-time", added: 6, older: "experimental-downgrade-check-time"},
	{flag: "peer-skip-client-san-verification", added: 6, older: "experimental-peer-skip-client-san-verification"},
	{flag: "enable-distributed-tracing", added: 6, older: "experimental-enable-distributed-tracing"},
	{flag: "distributed-tracing-address", added: 6, older: "experimental-distributed-tracing-address"},
	{flag: "distributed-tracing-service-name", added: 6, older: "experimental-distributed-tracing-service-name"},
	{flag: "distributed-tracing-instance-id", added: 6, older: "experimental-distributed-tracing-instance-id"},
	{flag: "distributed-tracing-sampling-rate", added: 6, older: "experimental-distributed-tracing-sampling-rate"},
	{flag: "discovery-token", added: 6},
	{flag: "discovery-endpoints", added: 6},
}

// defaultChange is a flag whose default moved in a minor version: a
// config that does not set it behaves differently after the upgrade.
type defaultChange struct {
	flag       string
	minor      int
	old, new   string
	consequent string
	advisory   string // the row of Advisories that cites it
}

var defaultChanges = []defaultChange{
	{flag: "snapshot-count", minor: 6, old: "100000", new: "10000",
		consequent: "members snapshot and compact the raft log ten times as often; keep the old value with --snapshot-count=100000 if memory and disk were sized for it",
		advisory:   "snapshot-count-3.6"},
}

func lookupFlag(name string) (flagChange, bool) {
	for _, c := range flagChanges {
		if c.flag == name {
			return c, true
		}
	}
	return flagChange{}, false
}

package upgrade

// The etcd sources the advisories cite, by the name the rows use.
var (
	refPolicy      = Ref{"upgrade policy", LinkPolicy, "2026-02-09"}
	refGuide36     = Ref{"3.5 → 3.6 upgrade guide", LinkUpgrade36, "2025-03-01"}
	refGuide36v232 = Ref{"3.5 → 3.6 upgrade guide, 3.5.32 note", LinkUpgrade36, "2026-08-03"}
	refGuide37     = Ref{"3.6 → 3.7 upgrade guide", LinkUpgrade37, "2026-06-09 (drafted while the v3.7 docs were a draft; official 2026-07-07)"}
	refGuide35     = Ref{"3.4 → 3.5 upgrade guide", "https://etcd.io/docs/v3.5/upgrades/upgrade_3_5/", "date not found (in the guide by 2021-06-14)"}
	refDown35      = Ref{"3.5 → 3.4 downgrade guide", "https://etcd.io/docs/v3.5/downgrades/downgrade_3_5/", "2024-05-13"}
	refDown36      = Ref{"3.6 → 3.5 downgrade guide", LinkDowngrade36, "2025-03-06"}
	refDown37      = Ref{"3.7 → 3.6 downgrade guide", LinkDowngrade37, "2026-07-02"}
	refAnnounce36  = Ref{"etcd v3.6.0 announcement", "https://etcd.io/blog/2025/announcing-etcd-3.6/", "2025-05-15"}
)

// Advisories is every published etcd advisory that constrains an upgrade
// or a downgrade path, one row each, read from the etcd blog, the upgrade
// and downgrade guides of 3.5, 3.6 and 3.7, CHANGELOG-3.5, -3.6 and -3.7
// and the issues behind them. Gates reports the rows that are not Config,
// in this order; LintConfig and Unlinted cite the Config rows. README.md
// prints the table (GateTableMarkdown); a test keeps the two equal.
var Advisories = []Advisory{
	{
		ID: "skip-minor", Gate: "skip-minor", Title: "skipping a minor version", Severity: Blocker,
		Path:         Path{From: AnyVersion, To: AnyVersion, Skip: &Skip{2, 99}},
		Hazard:       "skips {skipped}: etcd supports upgrading one minor version at a time; skipping one is not supported and will likely fail",
		Do:           "upgrade in hops: from {from} to the latest patch of {next}, wait until the cluster version reports {next}, then on to {to}; run upgrade-check for each hop",
		Sources:      []Ref{refPolicy},
		Reproducible: "roll a 3.5 cluster member by member straight to 3.7: the policy promises no particular error, so the run shows what the mixed cluster does",
	},
	{
		ID: "downgrade-skip-minor", Gate: "downgrade-skip-minor", Title: "downgrading across minor versions", Severity: Blocker,
		Path:         Path{From: AnyVersion, To: AnyVersion, Skip: &Skip{-99, -2}},
		Hazard:       "downgrades across {steps} minor versions: etcd downgrades one minor version at a time, and `etcdctl downgrade validate` refuses any other target (\"invalid downgrade target version\")",
		Do:           "downgrade in hops of one minor version, each with `etcdctl downgrade enable`, or restore a snapshot taken on {to} into a new cluster",
		Sources:      []Ref{{"etcd PR 11919: downgrade policy", "https://github.com/etcd-io/etcd/pull/11919", "2020-06-24"}},
		Reproducible: "on a 3.7 cluster run `etcdctl downgrade validate 3.5`: refused with \"invalid downgrade target version\"",
	},
	{
		ID: "auth-rolling-3.5", Gate: "auth-rolling", Title: "auth WAL format change in 3.5", Severity: Warning,
		Path: Path{From: Minor(4), To: Minor(5)}, Condition: "auth enabled",
		Hazard:  "a rolling upgrade from 3.4 is not supported when auth is enabled, because 3.5 changed the format of the WAL entries about auth (etcd PR 11943)",
		Do:      "check `etcdctl auth status`; with auth enabled, do not roll member by member: disable auth and delete all users first, or restore a snapshot into a new 3.5 cluster",
		Sources: []Ref{refGuide35},
		WhyNot:  "etcdrill builds etcd 3.5 and later only: 3.4 has no etcdutl and another module layout",
	},
	{
		ID: "inconsistency-13766", Gate: "target-patch", Title: "data inconsistency in 3.5.0–3.5.2", Severity: Blocker,
		Path:   Path{From: AnyVersion, To: Patches(5, 0, 2)},
		Hazard: "etcd 3.5.0–3.5.2 do not save the consistent index atomically with the data it covers, so a member that crashes under load can come back with data that differs from the other members' (etcd issue 13766, fixed in 3.5.3)",
		Do:     "pick 3.5.3 or later, in practice the latest 3.5 patch; if members already ran 3.5.0–3.5.2, check them with --experimental-initial-corrupt-check (and --experimental-corrupt-check-time) before moving on",
		Sources: []Ref{
			{"v3.5 data inconsistency postmortem", "https://github.com/etcd-io/etcd/blob/main/Documentation/postmortems/v3.5-data-inconsistency.md", "2022-04-20"},
			{"etcd issue 13766", "https://github.com/etcd-io/etcd/issues/13766", "2022-03-08"},
		},
		WhyNot: "needs a member to crash at the wrong moment under load, many times over; etcd's own regression test uses a 3.5.2 build with gofail failpoints, which released images lack",
	},
	{
		ID: "learner-promotion-19557", Gate: "min-patch", Title: "learner promotion not persisted (etcd 19557)", Severity: Blocker,
		Path:   Path{From: Patches(5, 0, Min35For36-1), To: Minor(6)},
		Hazard: "etcd 3.5.1–3.5.19 persist a learner's promotion in the v2 store only; 3.6 reads membership from the v3 store, so promoted members can come back as learners and the upgrade fails with \"too many learner members in cluster\" (etcd issue 19557); the etcd blog requires 3.5.20 or later before 3.6",
		Do:     "first upgrade every member to 3.5.20 or later (better: the latest 3.5 patch, see the rows below), patch by patch within 3.5, then run upgrade-check again from that version",
		Sources: []Ref{
			{"etcd issue 19557", LinkIssue19557, "2025-03-08"},
			{"etcd blog: how to prevent a common failure when upgrading etcd v3.5 to v3.6", "https://etcd.io/blog/2025/upgrade_from_3.5_to_3.6_issue/", "2025-03-27"},
		},
		Reproducible: "on 3.5.1–3.5.19 add and promote two learners one after the other, then roll the members to 3.6: promoted members may come back as learners and 3.6 stops with \"too many learner members in cluster\" (since 3.6.0-rc.3, 3.6 repairs a single reverted learner)",
	},
	{
		ID: "learner-snapshot-20793", Gate: "min-patch", Title: "wrong learner state spread by snapshots (etcd 20793)", Severity: Warning,
		Path:   Path{From: Patches(5, 0, Rec35For36-1), To: Minor(6)},
		Hazard: "in a rolling replacement, a new member can take a snapshot holding the wrong learner state from a member on 3.5.19 or earlier; 3.5.20–3.5.23 keep it, and the move to 3.6 then fails as in issue 19557 (etcd issue 20793, fixed in 3.5.24)",
		Do:     "upgrade every member to 3.5.24 or later before 3.6; if you cannot and the cluster ever ran 3.5.19 or earlier, restart every member (or do one more patch upgrade within 3.5.20–3.5.23) first; a cluster installed fresh on 3.5.20–3.5.23 needs nothing",
		Sources: []Ref{
			{"etcd blog: follow up, preventing upgrade failures from etcd v3.5 to v3.6", "https://etcd.io/blog/2025/upgrade_from_3.5_to_3.6_issue_followup/", "2025-10-21"},
			{"etcd issue 20793", LinkIssue20793, "2025-10-13"},
		},
		Reproducible: "start on 3.5.19 and promote a learner, roll to 3.5.21 by replacing members (remove, wipe, add as learner, promote) with a low --snapshot-count so new members catch up from a 3.5.19 snapshot, then roll to 3.6",
	},
	{
		ID: "zombie-members-20967", Gate: "min-patch", Title: "zombie members after the move to 3.6", Severity: Warning,
		Path:   Path{From: Patches(5, 0, 25), To: Minor(6)},
		Hazard: "where the v2 and v3 stores disagree on membership, members removed long ago come back after the move to 3.6 (\"zombie members\") and the cluster is inoperable until they are removed; known triggers are 3.4's `etcdctl snapshot restore`, `--force-new-cluster` before 3.5.22 and crashes with --unsafe-no-sync, and there may be others (etcd issue 20967)",
		Do:     "upgrade every member to 3.5.26 or later (it syncs the v3 store from the v2 store), wait until all are healthy, then move to 3.6; the blog gives no workaround and says to delay the upgrade until 3.5.26 is available",
		Sources: []Ref{
			{"etcd blog: avoiding zombie cluster members when upgrading to etcd v3.6", "https://etcd.io/blog/2025/zombie_members_upgrade/", "2025-12-17"},
			{"etcd issue 20967", "https://github.com/etcd-io/etcd/issues/20967", "date not found"},
		},
		WhyNot: "needs a membership history: a cluster restored with 3.4's etcdctl, a rare --force-new-cluster corner case or a crash with --unsafe-no-sync; the maintainers name no recipe and say other triggers may exist",
	},
	{
		ID: "check-v2store-wal-21849", Gate: "min-patch", Title: "v2 check blind to the WAL before 3.5.32", Severity: Warning,
		Path:   Path{From: Patches(5, 0, 31), To: Minor(6)},
		Hazard: "before 3.5.32, `etcdutl check v2store` reads only the v2 snapshot, so v2 writes still in the WAL pass it and 3.6 then panics on start with \"detected disallowed v2 WAL\" (etcd issue 21849); the 3.6 upgrade guide asks for 3.5.32 or later, which also adds --v2-deprecation=write-only-skip-check",
		Do:     "upgrade every member to 3.5.32 or later, then run its `etcdutl check v2store` on every data dir before moving to 3.6",
		Sources: []Ref{
			refGuide36v232,
			{"etcd issue 21849", "https://github.com/etcd-io/etcd/issues/21849", "2026-05-29"},
			{"etcd blog: July patch releases v3.5.32 and v3.6.13", "https://etcd.io/blog/2026/july-patch-release/", "2026-07-01"},
		},
		Reproducible: "on 3.5.18–3.5.31 with --enable-v2, write v2 keys before any v2 snapshot is taken (high --snapshot-count): `etcdutl check v2store` finds no custom content, and 3.6 then panics with \"detected disallowed v2 WAL\"",
	},
	{
		ID: "v2-store", Gate: "v2-store", Title: "v2 content blocks 3.6", Severity: Warning,
		Path: Path{From: Minor(5), To: Minor(6)}, Condition: "--enable-v2 ever set",
		Hazard:       "etcd 3.6 refuses to start on a data dir holding custom v2 content: \"detected disallowed custom content in v2store\" from the v2 snapshot, or a panic \"detected disallowed v2 WAL\" while replaying the WAL; only clusters that ever ran with --enable-v2 (or ETCD_ENABLE_V2=true) can have it",
		Do:           "run `etcdutl check v2store` (of 3.5.32 or later) on every member's data dir, or pass a copy with --data-dir; clean up what it finds as the 3.6 guide says (v2 migration, or --snapshot-count=1 for WAL records), then remove --enable-v2",
		Sources:      []Ref{refGuide36},
		Reproducible: "write v2 keys on 3.5 with --enable-v2, then start 3.6 on the data dir: it refuses (etcdrill's v2 upgrade rehearsal does this)",
	},
	{
		ID: "peer-urls-3.6", Gate: "client-urls", Title: "peer URLs stop serving clients", Severity: Warning,
		Path: Path{From: Minor(5), To: Minor(6)}, Condition: "clients use peer URLs",
		Hazard:       "3.4 and 3.5 also answered client requests on peer URLs; 3.6 answers them on client URLs only, so clients, probes or load balancers pointed at a peer URL (port 2380) stop working as members move to 3.6",
		Do:           "point every client, health probe and load balancer at the members' --advertise-client-urls before the upgrade",
		Sources:      []Ref{refAnnounce36},
		Reproducible: "send a client request to a 3.5 member's peer URL (it answers), then to a 3.6 member's (it does not)",
	},
	{
		ID: "learner-replay-20340", Gate: "target-patch", Title: "3.6.0–3.6.3 fail to replay a learner promotion", Severity: Warning,
		Path:   Path{From: AnyVersion, To: Patches(6, 0, 3)},
		Hazard: "3.6.0–3.6.3 can fail to start (a panic, \"failed to nodeToMember\") while replaying a learner promotion from the WAL, seen after members were removed and added again (etcd issue 20340, fixed in 3.6.4)",
		Do:     "pick 3.6.4 or later, in practice the latest 3.6 patch",
		Sources: []Ref{
			{"CHANGELOG-3.6, v3.6.4", "https://github.com/etcd-io/etcd/blob/main/CHANGELOG/CHANGELOG-3.6.md#v364-2025-07-25", "2025-07-25"},
			{"etcd issue 20340", "https://github.com/etcd-io/etcd/issues/20340", "date not found"},
		},
		WhyNot: "the reporter hit it at random after removing and re-adding members; the maintainers did not reproduce it in a test",
	},
	{
		ID: "min-3.6.11-for-3.7", Gate: "min-patch", Title: "3.6.11 or later before 3.7", Severity: Blocker,
		Path:    Path{From: Patches(6, 0, Min36For37-1), To: Minor(7)},
		Hazard:  "the 3.7 upgrade guide requires every member on 3.6.11 or later: earlier 3.6 patches may not be compatible with a rolling upgrade to 3.7",
		Do:      "first upgrade every member to the latest 3.6 patch (at least 3.6.11), then run upgrade-check again from that version",
		Sources: []Ref{refGuide37},
		WhyNot:  "the guide says only that earlier patches \"may not be compatible\": it names no failure to show",
	},
	{
		ID: "fallback-snapshot-3.7", Gate: "fallback-snapshot", Title: "no way back to 3.6 but a snapshot or a downgrade", Severity: Warning,
		Path:   Path{From: Minor(6), To: Minor(7)},
		Hazard: "a snapshot taken on 3.7 does not load on 3.6, and 3.6 does not start on a data dir written by 3.7: once the cluster runs 3.7, the way back is a snapshot saved before the upgrade or `etcdctl downgrade`",
		Do:     "save a snapshot on {from} before the first member is replaced and keep it: it is the way back (writes after it are lost); after the upgrade, go back only with `etcdctl downgrade enable 3.6`",
		Sources: []Ref{
			{"3.6 → 3.7 upgrade guide, rollback", LinkUpgrade37 + "#rollback", "2026-06-09"},
			{"CHANGELOG-3.6, v3.6.0-rc.0 breaking changes", "https://github.com/etcd-io/etcd/blob/main/CHANGELOG/CHANGELOG-3.6.md#v360-rc0-2025-02-13", "2025-02-13"},
		},
		Reproducible: "save a snapshot on 3.7 and restore it with 3.6's etcdutl: refused (`etcdrill snapshot verify --version 3.6.x` does this)",
	},
	{
		ID: "downgrade-3.6-to-3.5", Gate: "minor-downgrade", Title: "3.6 → 3.5 needs etcdctl downgrade", Severity: Warning,
		Path:         Path{From: Minor(6), To: Minor(5)},
		Hazard:       "etcd 3.5 does not start on a data dir written by 3.6, so replacing binaries alone fails: the downgrade needs `etcdctl downgrade enable 3.5` first, which migrates the storage version to 3.5.0",
		Do:           "save a snapshot, run `etcdctl downgrade validate 3.5` and `etcdctl downgrade enable 3.5`, wait until every member reports storage version 3.5.0, then replace members one at a time with the latest 3.5 patch; drop or rename 3.6-only flags first",
		Sources:      []Ref{refDown36, refAnnounce36},
		Reproducible: "replace a 3.6 member's binary with 3.5 without `etcdctl downgrade enable 3.5`: 3.5 does not start on the data dir",
	},
	{
		ID: "downgrade-3.7-to-3.6", Gate: "minor-downgrade", Title: "3.7 → 3.6 needs etcdctl downgrade", Severity: Warning,
		Path:         Path{From: Minor(7), To: Minor(6)},
		Hazard:       "etcd 3.6 does not start on a data dir written by 3.7, so replacing binaries alone fails: the downgrade needs `etcdctl downgrade enable 3.6` first, which migrates the storage version to 3.6.0",
		Do:           "save a snapshot, run `etcdctl downgrade validate 3.6` and `etcdctl downgrade enable 3.6`, wait until every member reports storage version 3.6.0, then replace members one at a time with the latest 3.6 patch",
		Sources:      []Ref{refDown37},
		Reproducible: "replace a 3.7 member's binary with 3.6 without `etcdctl downgrade enable 3.6`: 3.6 does not start on the data dir",
	},
	{
		ID: "downgrade-3.7-to-old-3.6", Gate: "target-patch", Title: "3.6 before 3.6.11 next to 3.7", Severity: Warning,
		Path:    Path{From: Minor(7), To: Patches(6, 0, Min36For37-1)},
		Hazard:  "a rolling downgrade runs 3.6 and 3.7 members side by side, and the 3.7 upgrade guide says 3.6 patches before 3.6.11 may not be compatible with 3.7 in one cluster",
		Do:      "downgrade to the latest 3.6 patch, as the downgrade guide says (at least 3.6.11)",
		Sources: []Ref{refDown37, refGuide37},
		WhyNot:  "the guides name no failure for 3.6 patches before 3.6.11 next to 3.7 members",
	},
	{
		ID: "downgrade-3.5-to-3.4", Gate: "minor-downgrade", Title: "3.5 → 3.4 rolling downgrade", Severity: Warning,
		Path:    Path{From: Minor(5), To: Minor(4)},
		Hazard:  "the 3.5 → 3.4 downgrade does not use `etcdctl downgrade`: members are replaced one at a time and started with --next-cluster-version-compatible, and a rolling downgrade is not supported when auth is enabled, because 3.5 changed the format of the WAL entries about auth",
		Do:      "if auth is enabled, disable it and delete all users first; then replace members one at a time with 3.4.32 or later, started with --next-cluster-version-compatible",
		Sources: []Ref{refDown35},
		WhyNot:  "etcdrill builds etcd 3.5 and later only: 3.4 has no etcdutl and another module layout",
	},
	{
		ID: "downgrade-3.4.32", Gate: "target-patch", Title: "3.4.32 or later as a downgrade target", Severity: Blocker,
		Path:    Path{From: Minor(5), To: Patches(4, 0, 31)},
		Hazard:  "the 3.5 → 3.4 downgrade guide requires 3.4.32 or later as the target; its procedure starts members with --next-cluster-version-compatible",
		Do:      "downgrade to the latest 3.4 patch (at least 3.4.32); 3.4 is out of support since 2026-06-01, so plan to come back to 3.5",
		Sources: []Ref{refDown35, {"etcd blog: final update for v3.4", "https://etcd.io/blog/2026/june-patch-release/", "2026-06-01"}},
		WhyNot:  "etcdrill builds etcd 3.5 and later only: 3.4 has no etcdutl and another module layout",
	},
	// Rows about flags: LintConfig decides them from the settings of a
	// config, Unlinted names them when there is none.
	{
		ID: "flags-removed-3.6", Gate: "flag-removed", Title: "v2 API and v2 proxy flags removed", Severity: Blocker, Config: true,
		Path: Path{From: Minor(5), To: Minor(6)}, Condition: "a removed flag is set",
		Hazard:       "3.6 removed --enable-v2, --experimental-enable-v2v3 and the --proxy* flags: etcd refuses to start with one on the command line and silently ignores one in a config file or the environment",
		Do:           "remove them; pass the config with --config to find them",
		Sources:      []Ref{refGuide36},
		Reproducible: "start 3.6 with --enable-v2: it exits with \"flag provided but not defined\"",
	},
	{
		ID: "flags-deprecated-3.6", Gate: "flag-deprecated", Title: "experimental flags renamed or turned into feature gates", Severity: Warning, Config: true,
		Path: Path{From: Minor(5), To: Minor(6)}, Condition: "a deprecated flag is set",
		Hazard:       "3.6 deprecates every --experimental-* flag (renamed without the prefix, or turned into a --feature-gates entry), --max-snapshots and --v2-deprecation; 3.6 still accepts them, 3.7 does not",
		Do:           "rename each, or move it into --feature-gates, as the finding says; both spellings work on 3.6",
		Sources:      []Ref{refGuide36},
		Reproducible: "start 3.6 with an --experimental-* flag: it runs and logs that the flag is deprecated",
	},
	{
		ID: "snapshot-count-3.6", Gate: "default-changed", Title: "--snapshot-count default 100000 → 10000", Severity: Warning, Config: true,
		Path: Path{From: Minor(5), To: Minor(6)}, Condition: "--snapshot-count unset",
		Hazard:  "3.6 lowers the default --snapshot-count from 100000 to 10000, so members snapshot and compact the raft log ten times as often",
		Do:      "keep the old value with --snapshot-count=100000 if memory and disk were sized for it; otherwise nothing",
		Sources: []Ref{refGuide36},
		WhyNot:  "a changed default, not a failure: it shows only as memory and disk use over time",
	},
	{
		ID: "flags-removed-3.7", Gate: "flag-removed", Title: "every --experimental-* flag removed", Severity: Blocker, Config: true,
		Path: Path{From: Minor(6), To: Minor(7)}, Condition: "an --experimental-* flag is set",
		Hazard:       "3.7 removed every --experimental-* flag: etcd refuses to start with one on the command line and silently ignores one in a config file or the environment",
		Do:           "replace each with its 3.6 name or --feature-gates entry before the first member moves to 3.7",
		Sources:      []Ref{refGuide37},
		Reproducible: "start 3.7 with --experimental-initial-corrupt-check: it exits with \"flag provided but not defined\"",
	},
	{
		ID: "flags-new-3.6", Gate: "flag-unavailable", Title: "3.6 flags unknown to 3.5", Severity: Blocker, Config: true,
		Path: Path{From: Minor(6), To: Minor(5)}, Condition: "a 3.6-only flag is set",
		Hazard:       "3.5 does not know the flags 3.6 added (--feature-gates, --log-format, the renamed --experimental-* flags and others): etcd refuses to start with one on the command line and silently ignores one in a config file",
		Do:           "remove each or use its 3.5 name, as the finding says, before the first member moves to 3.5",
		Sources:      []Ref{refDown36},
		Reproducible: "start 3.5 with --feature-gates: it exits with \"flag provided but not defined\"",
	},
}

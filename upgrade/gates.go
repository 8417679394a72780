package upgrade

import (
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
)

// The etcd notes the gates cite most; Advisories holds every source.
const (
	LinkPolicy      = "https://etcd.io/docs/v3.6/upgrades/upgrading-etcd/#upgrade-policy"
	LinkUpgrade36   = "https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/"
	LinkUpgrade37   = "https://etcd.io/docs/v3.7/upgrades/upgrade_3_7/"
	LinkIssue19557  = "https://github.com/etcd-io/etcd/issues/19557"
	LinkIssue20793  = "https://github.com/etcd-io/etcd/issues/20793"
	LinkDowngrade36 = "https://etcd.io/docs/v3.6/downgrades/downgrade_3_6/"
	LinkDowngrade37 = "https://etcd.io/docs/v3.7/downgrades/downgrade_3_7/"
)

// Patch levels the version gates enforce.
const (
	// Min35For36 is the first 3.5 patch that persists learner promotion in
	// the v3 store (etcd issue 19557); 3.6 reads membership from there.
	Min35For36 = 20
	// Rec35For36 is the first 3.5 patch that also stops older members'
	// snapshots spreading the bad membership (etcd issue 20793).
	Rec35For36 = 24
	// Min36For37 is the first 3.6 patch the v3.7 upgrade guide allows a
	// rolling upgrade to 3.7 from (and the floor of a 3.7 → 3.6 downgrade).
	Min36For37 = 11
	// MinCheckV2Store is the first 3.5 patch with `etcdutl check v2store`.
	MinCheckV2Store = 18
)

// Gates checks the version path from → to against every advisory in
// Advisories that is not about flags: the upgrade policy, the known
// upgrade and downgrade bugs, the data and membership hazards. It returns
// the path finding first, then one finding per advisory between the two
// minors, OK ones included, so a report shows what was checked; each
// carries its source's link and publication date. It needs nothing but
// the two versions (no network, no Docker), so it runs before any image
// is built, even for versions the module proxy cannot serve.
func Gates(from, to harness.Version) []Finding {
	path := fmt.Sprintf("%s → %s", from, to)
	if from == to {
		return []Finding{{
			ID: "same-version", Severity: Blocker, Subject: path, Link: LinkPolicy, Published: refPolicy.Published,
			Reason: fmt.Sprintf("--from and --to are both %s: there is nothing to upgrade", from),
			Fix:    "give the version the cluster runs now as --from and the one you want as --to",
		}}
	}
	var pathF *Finding
	var rest []Finding
	for _, a := range Advisories {
		if a.Config {
			continue
		}
		f, ok := a.finding(from, to)
		switch {
		case !ok:
		case pathGates[a.Gate] && f.Severity != OK:
			pathF = &f
		default:
			rest = append(rest, f)
		}
	}
	if pathF == nil {
		f := pathDefault(from, to, path)
		pathF = &f
	}
	return append([]Finding{*pathF}, rest...)
}

// pathGates are the gates about the shape of the path (how many minors it
// moves, and which way) rather than about particular patches.
var pathGates = map[string]bool{"skip-minor": true, "downgrade-skip-minor": true, "minor-downgrade": true}

// pathDefault is the path finding when no advisory about the path's shape
// applies: a patch change or one minor up passes the upgrade policy; a
// one-minor downgrade without a guide of its own gets the general rule.
func pathDefault(from, to harness.Version, path string) Finding {
	f := Finding{ID: "one-minor-step", Severity: OK, Subject: path, Link: LinkPolicy, Published: refPolicy.Published, Advisory: "skip-minor"}
	switch {
	case from.Minor == to.Minor:
		f.Reason = fmt.Sprintf("%s is a patch change within %d.%d", path, from.Major, from.Minor)
	case to.Minor == from.Minor+1:
		f.Reason = fmt.Sprintf("%s is one minor step", path)
	default:
		// The general rule, cited from the downgrade policy's source; no
		// advisory row covers this pair.
		down := advisory("downgrade-skip-minor").Sources[0]
		f.ID, f.Severity, f.Link, f.Published, f.Advisory = "minor-downgrade", Warning, down.URL, down.Published, ""
		f.Reason = fmt.Sprintf("%s is a one-minor downgrade, for which no etcd guide was found: etcd downgrades one minor at a time with `etcdctl downgrade enable %d.%d` before the first member is replaced", path, to.Major, to.Minor)
		f.Fix = fmt.Sprintf("save a snapshot, run `etcdctl downgrade validate %d.%d` and `etcdctl downgrade enable %d.%d`, wait until every member reports storage version %d.%d.0, then replace members one at a time", to.Major, to.Minor, to.Major, to.Minor, to.Major, to.Minor)
	}
	return f
}

// HasCheckV2Store reports whether v's etcdutl has `check v2store`
// (3.5.18 and later 3.5 patches; 3.6 removed it with the v2 store).
func HasCheckV2Store(v harness.Version) bool {
	return v.Minor == 5 && v.Patch >= MinCheckV2Store
}

// NeedsV2Check reports whether moving from → to must first prove that no
// data dir holds v2 content: 3.6 refuses to start on one that does.
func NeedsV2Check(from, to harness.Version) bool {
	return from.Minor == 5 && to.Minor >= 6
}

// V2Content is the blocker for a data dir in which `etcdutl check
// v2store` found custom v2 content; subject names the member or tarball
// and line is the tool's verdict line.
func V2Content(subject, line string, to harness.Version) Finding {
	a := advisory("v2-store")
	return Finding{
		ID: "v2-content", Severity: Blocker, Subject: subject, Link: LinkUpgrade36, Published: a.Sources[0].Published, Advisory: a.ID,
		Reason: fmt.Sprintf("%s: `etcdutl check v2store` says %q; etcd %d.%d refuses to start on a data dir holding v2 content", subject, line, to.Major, to.Minor),
		Fix: "stop using the v2 API and remove --enable-v2 (and ETCD_ENABLE_V2); if the v2 keys are still needed, migrate them to v3 first (v2 migration guide); " +
			"then, per the 3.6 upgrade guide, restart each member holding v2 content once with --snapshot-count=1 so the v2 writes leave the WAL, restore the flag, " +
			"and run `etcdutl check v2store` again until it reports no custom content",
	}
}

// DataDirVersion checks the storage version `etcdutl snapshot status`
// read from a data dir's db file against the version it is said to run;
// an empty version means the db predates 3.6 (3.5 writes none).
func DataDirVersion(subject, storage string, from harness.Version) Finding {
	f := Finding{ID: "data-dir-version", Severity: OK, Subject: subject}
	want := from.MinorString()
	switch {
	case storage == "" && from.Minor <= 5:
		f.Reason = fmt.Sprintf("%s: the db has no storage version, as etcd 3.5 writes it", subject)
	case storage == "":
		f.Severity = Warning
		f.Reason = fmt.Sprintf("%s: the db has no storage version, so it was last written by etcd 3.5 or earlier, not %d.%d", subject, from.Major, from.Minor)
		f.Fix = "check which version the production members run and pass it as --from"
	case storage == want:
		f.Reason = fmt.Sprintf("%s: storage version %s matches --from %s", subject, storage, from)
	default:
		f.Severity = Blocker
		f.Reason = fmt.Sprintf("%s: storage version %s, but --from says %s (storage version %s)", subject, storage, from, want)
		f.Fix = "pass the version the production members run as --from; a data dir written by a newer minor cannot be started by an older one without `etcdctl downgrade`"
	}
	return f
}

package upgrade

import (
	"fmt"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
)

// The etcd notes the gates cite.
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
	// rolling upgrade to 3.7 from.
	Min36For37 = 11
	// MinCheckV2Store is the first 3.5 patch with `etcdutl check v2store`.
	MinCheckV2Store = 18
)

// Gates checks the version path from → to against etcd's upgrade policy
// and the known upgrade bugs. It returns one finding per gate, OK ones
// included, so a report shows what was checked. It needs nothing but the
// two versions, so it runs before any image is built.
func Gates(from, to harness.Version) []Finding {
	path := fmt.Sprintf("%s → %s", from, to)
	out := []Finding{pathGate(from, to, path)}
	if f, ok := patchGate(from, to, path); ok {
		out = append(out, f)
	}
	if from.Minor == 5 && to.Minor >= 6 {
		out = append(out, Finding{
			ID: "v2-store", Severity: OK, Subject: path, Link: LinkUpgrade36,
			Reason: fmt.Sprintf("etcd %d.%d refuses a data dir holding v2 content; the rehearsal runs `etcdutl check v2store` on every member before replacing it", to.Major, to.Minor),
		})
	}
	if to.Minor >= 7 && from.Minor < to.Minor {
		out = append(out, Finding{
			ID: "fallback-snapshot", Severity: Warning, Subject: path, Link: LinkDowngrade37,
			Reason: fmt.Sprintf("a snapshot taken on %d.%d does not load on %d.%d", to.Major, to.Minor, from.Major, from.Minor),
			Fix:    fmt.Sprintf("save a snapshot on %s before the first member is replaced and keep it: it is the way back (writes after it are lost); after the upgrade, go back only with `etcdctl downgrade enable %d.%d`", from, from.Major, from.Minor),
		})
	}
	return out
}

func pathGate(from, to harness.Version, path string) Finding {
	f := Finding{ID: "one-minor-step", Severity: OK, Subject: path, Link: LinkPolicy}
	switch d := to.Minor - from.Minor; {
	case from == to:
		f.ID, f.Severity = "same-version", Blocker
		f.Reason = fmt.Sprintf("--from and --to are both %s: there is nothing to upgrade", from)
		f.Fix = "give the version the cluster runs now as --from and the one you want as --to"
	case d == 0:
		f.Reason = fmt.Sprintf("%s is a patch change within %d.%d", path, from.Major, from.Minor)
	case d == 1:
		f.Reason = fmt.Sprintf("%s is one minor step", path)
	case d > 1:
		f.ID, f.Severity = "skip-minor", Blocker
		f.Reason = fmt.Sprintf("%s skips %s: etcd supports upgrading one minor version at a time; skipping one is not supported and will likely fail", path, between(from, to))
		f.Fix = fmt.Sprintf("upgrade in hops: %s → the latest %d.%d patch, wait until the cluster version is %d.%d.0, then → %s; run upgrade-check for each hop", from, from.Major, from.Minor+1, from.Major, from.Minor+1, to)
	case d == -1:
		f.ID, f.Severity, f.Link = "minor-downgrade", Warning, downgradeLink(from)
		f.Reason = fmt.Sprintf("%s is a one-minor downgrade: it needs `etcdctl downgrade enable %d.%d` before the first member is replaced", path, to.Major, to.Minor)
		f.Fix = fmt.Sprintf("run `etcdctl downgrade validate %d.%d` and `etcdctl downgrade enable %d.%d`, wait until every member reports storage version %d.%d.0, then replace members one at a time", to.Major, to.Minor, to.Major, to.Minor, to.Major, to.Minor)
	default:
		f.ID, f.Severity, f.Link = "downgrade-skip-minor", Blocker, downgradeLink(from)
		f.Reason = fmt.Sprintf("%s downgrades across %d minor versions: etcd downgrades one minor version at a time", path, -d)
		f.Fix = fmt.Sprintf("downgrade in hops of one minor version (%s → %d.%d → …), each with `etcdctl downgrade enable`, or restore a snapshot taken on %s into a new cluster", from, from.Major, from.Minor-1, to)
	}
	return f
}

func between(from, to harness.Version) string {
	var skipped []string
	for m := from.Minor + 1; m < to.Minor; m++ {
		skipped = append(skipped, fmt.Sprintf("%d.%d", from.Major, m))
	}
	return strings.Join(skipped, " and ")
}

func downgradeLink(from harness.Version) string {
	if from.Minor >= 7 {
		return LinkDowngrade37
	}
	return LinkDowngrade36
}

// patchGate checks the patch level the source must have reached before
// it may move to the next minor.
func patchGate(from, to harness.Version, path string) (Finding, bool) {
	switch {
	case from.Minor == 5 && to.Minor == 6:
		f := Finding{ID: "min-patch", Subject: from.String(), Link: LinkIssue19557}
		switch {
		case from.Patch < Min35For36:
			f.Severity = Blocker
			f.Reason = fmt.Sprintf("%s: etcd 3.5.1–3.5.19 do not persist learner promotion in the v3 store (etcd issue 19557); 3.6 reads membership from there, so promoted members can come back as learners and the upgrade fails with \"too many learner members in cluster\"", path)
			f.Fix = fmt.Sprintf("first upgrade every member to 3.5.%d or later (3.5.%d or later recommended), patch by patch within 3.5, then run upgrade-check again from that version", Min35For36, Rec35For36)
		case from.Patch < Rec35For36:
			f.Severity, f.Link = Warning, LinkIssue20793
			f.Reason = fmt.Sprintf("%s: 3.5.%d–3.5.%d fix issue 19557, but a member added during a rolling replacement can still receive the wrong membership in a snapshot from an older member (etcd issue 20793, fixed in 3.5.%d)", path, Min35For36, Rec35For36-1, Rec35For36)
			f.Fix = fmt.Sprintf("upgrade every member to 3.5.%d or later before moving to 3.6", Rec35For36)
		default:
			f.Severity = OK
			f.Reason = fmt.Sprintf("%s: 3.5.%d or later carries the fixes for etcd issues 19557 and 20793", path, Rec35For36)
		}
		return f, true
	case from.Minor == 6 && to.Minor == 7:
		f := Finding{ID: "min-patch", Subject: from.String(), Link: LinkUpgrade37, Severity: OK}
		f.Reason = fmt.Sprintf("%s: the v3.7 upgrade guide asks for 3.6.%d or later", path, Min36For37)
		if from.Patch < Min36For37 {
			f.Severity = Blocker
			f.Reason = fmt.Sprintf("%s: the v3.7 upgrade guide requires every member on 3.6.%d or later; earlier 3.6 patches may not be compatible with a rolling upgrade to 3.7", path, Min36For37)
			f.Fix = fmt.Sprintf("first upgrade every member to the latest 3.6 patch (at least 3.6.%d), then run upgrade-check again from that version", Min36For37)
		}
		return f, true
	}
	return Finding{}, false
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
	return Finding{
		ID: "v2-content", Severity: Blocker, Subject: subject, Link: LinkUpgrade36,
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
	want := fmt.Sprintf("%d.%d.0", from.Major, from.Minor)
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

package snapverify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/snapverify"
	"github.com/etcdrill/etcdrill/verify"
)

// specTimeout bounds one spec: a source cluster or a throwaway one, each
// up in seconds on an idle machine.
const specTimeout = 4 * time.Minute

// snapshotSource is what a real cluster left: a saved snapshot, its
// stopped member's db file, and the keyspace it served.
type snapshotSource struct {
	snap, db []byte
	rev      int64
	digest   string
	keys     int
}

// buildSnapshotSource starts a one-member cluster of version, writes keys
// (puts, overwrites, a delete), reads its keyspace digest, saves a
// snapshot, copies member/snap/db out of the stopped member, and tears
// the cluster down, so only one cluster runs at a time.
func buildSnapshotSource(ctx context.Context, version string) snapshotSource {
	c, err := harness.New(ctx, harness.WithVersion(version), harness.WithName("snapshot-source"), harness.WithMembers(1), harness.WithLogger(logger))
	DeferCleanup(c.Close)
	Expect(err).NotTo(HaveOccurred(), "start the source cluster")
	defer c.Close(ctx)
	cli, err := c.Client()
	Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	for i := range 60 {
		_, err := cli.Put(ctx, fmt.Sprintf("/snapshot-verify/key-%03d", i), fmt.Sprintf("value-%03d-%064x", i, i*7919))
		Expect(err).NotTo(HaveOccurred())
	}
	_, err = cli.Put(ctx, "/snapshot-verify/key-007", "overwritten")
	Expect(err).NotTo(HaveOccurred())
	_, err = cli.Delete(ctx, "/snapshot-verify/key-011")
	Expect(err).NotTo(HaveOccurred())
	var src snapshotSource
	kvs, _, err := verify.Keyspace(ctx, cli, "", time.Minute)
	Expect(err).NotTo(HaveOccurred())
	src.digest, src.keys = verify.Digest(kvs)
	m := c.Members()[0]
	snap, err := recovery.SaveSnapshot(ctx, &record.Log{Logger: logger}, c, m, GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred(), "snapshot save on %s", m.Name())
	src.snap, err = snap.Bytes()
	Expect(err).NotTo(HaveOccurred())
	src.rev = snap.Status.Revision
	Expect(m.Stop(ctx)).To(Succeed(), "stop %s", m.Name())
	db, err := m.CopyOut(ctx, harness.DataDir+"/member/snap/db")
	Expect(err).NotTo(HaveOccurred(), "copy member/snap/db out of %s", m.Name())
	src.db = db
	return src
}

// verifyFile writes data to a file and runs Verify on it.
func verifyFile(ctx context.Context, name string, data []byte, o snapverify.Options) (*record.Record, error) {
	path := filepath.Join(GinkgoT().TempDir(), name)
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	o.OutDir, o.Logger = outDir, logger
	if o.Version == "" {
		o.Version = version
	}
	res, err := snapverify.Verify(ctx, path, o)
	return res.Record, err
}

func checkOf(r *record.Record, name string) record.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return record.Check{Name: name, Summary: "not recorded"}
}

func expectPassed(r *record.Record, names ...string) {
	for _, name := range names {
		Expect(checkOf(r, name).Verdict).To(Equal(record.Pass), "%s: %s", name, checkOf(r, name).Summary)
	}
}

// expectRefusedOffline: the exit-1 class, decided before any container.
func expectRefusedOffline(rec *record.Record, err error, says string) {
	Expect(err).To(HaveOccurred())
	Expect(errors.Is(err, recovery.ErrBadInput)).To(BeFalse(), "a damaged snapshot is not bad input")
	Expect(rec).NotTo(BeNil())
	Expect(rec.Verdict).To(Equal(record.Fail))
	Expect(rec.Config.Image).To(BeEmpty(), "no cluster may start for a refused file")
	c := checkOf(rec, "snapshot-integrity")
	Expect(c.Verdict).To(Equal(record.Fail), c.Summary)
	Expect(rec.Reason).To(ContainSubstring(says))
}

var _ = Describe("snapshot verify", Ordered, Label("snapshot", "restore"), func() {
	var src snapshotSource

	BeforeAll(func(ctx SpecContext) {
		By("building a snapshot and a db file from a live etcd " + version + " cluster")
		src = buildSnapshotSource(ctx, version)
	}, NodeTimeout(specTimeout))

	It("serves a valid snapshot with the keyspace digest of the cluster it came from", func(ctx SpecContext) {
		rec, err := verifyFile(ctx, "snapshot.db", src.snap, snapverify.Options{Members: 3})
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.Kind).To(Equal(record.KindSnapshotVerify))
		Expect(rec.Verdict).To(Equal(record.Pass), rec.Reason)
		Expect(rec.Metrics.Digest).To(Equal(src.digest), "digest of the restored keyspace")
		Expect(rec.Metrics.KeyCount).To(Equal(src.keys))
		Expect(rec.Metrics.SnapshotRevision).To(Equal(src.rev))
		Expect(rec.Metrics.RTOMillis).To(BeNil(), "nothing failed, so no RTO")
		expectPassed(rec, "etcdutl-status", "served", "key-count", "keyspace-digest", "revision", "health", "hashkv")
	}, SpecTimeout(specTimeout))

	It("with --bump-revision --mark-compacted: the revision moves on, old revisions read and watch as compacted, and the keyspace is the file's", func(ctx SpecContext) {
		rec, err := verifyFile(ctx, "snapshot.db", src.snap, snapverify.Options{Members: 1, BumpRevision: 1000, MarkCompacted: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.Verdict).To(Equal(record.Pass), rec.Reason)
		expectPassed(rec, "revision", "compacted-read", "compacted-watch", "keyspace-digest")
		Expect(rec.Metrics.Digest).To(Equal(src.digest))
	}, SpecTimeout(specTimeout))

	It("refuses a copied db file without --skip-hash-check and serves it with the flag", func(ctx SpecContext) {
		By("without --skip-hash-check")
		rec, err := verifyFile(ctx, "db", src.db, snapverify.Options{Members: 1})
		expectRefusedOffline(rec, err, "--skip-hash-check")
		By("with --skip-hash-check")
		rec, err = verifyFile(ctx, "db", src.db, snapverify.Options{Members: 1, SkipHashCheck: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.Verdict).To(Equal(record.Pass), rec.Reason)
		expectPassed(rec, "keyspace-digest")
		Expect(rec.Metrics.Digest).To(Equal(src.digest))
	}, SpecTimeout(specTimeout))

	It("refuses a snapshot with one flipped byte before starting anything, though the file still reads", func(ctx SpecContext) {
		at := bytes.Index(src.snap, []byte("value-030-"))
		Expect(at).To(BeNumerically(">", 0), "a stored value to flip")
		flipped := bytes.Clone(src.snap)
		flipped[at+12] ^= 0x01
		rec, err := verifyFile(ctx, "flipped.db", flipped, snapverify.Options{SkipHashCheck: true})
		expectRefusedOffline(rec, err, "sha256 mismatch")
		Expect(checkOf(rec, "snapshot-status").Verdict).To(Equal(record.Pass), "the file still reads: only the hash tells")
	}, SpecTimeout(specTimeout))

	It("refuses a truncated snapshot and says it is truncated", func(ctx SpecContext) {
		rec, err := verifyFile(ctx, "truncated.db", src.snap[:len(src.snap)*2/3], snapverify.Options{})
		expectRefusedOffline(rec, err, "truncated")
	}, SpecTimeout(specTimeout))

	It("reports bad input, starting nothing: a missing, an empty and a non-snapshot file", func(ctx SpecContext) {
		for name, data := range map[string][]byte{"empty.db": nil, "text.db": []byte("etcd snapshot? no\n")} {
			rec, err := verifyFile(ctx, name, data, snapverify.Options{})
			Expect(errors.Is(err, recovery.ErrBadInput)).To(BeTrue(), "%s: %v", name, err)
			Expect(rec).To(BeNil(), name)
		}
		res, err := snapverify.Verify(ctx, filepath.Join(GinkgoT().TempDir(), "missing.db"), snapverify.Options{})
		Expect(errors.Is(err, recovery.ErrBadInput) && errors.Is(err, os.ErrNotExist)).To(BeTrue(), "missing: %v", err)
		Expect(res).To(Equal(drill.Result{}))
	})

	Context("across versions", func() {
		BeforeEach(func(ctx SpecContext) {
			ready(ctx, harness.MustVersion("3.7.3"), harness.MustVersion("3.6.16"))
		}, NodeTimeout(imageBuildTimeout))

		It("reports the server's reason when the version cannot serve the snapshot: 3.7.3 on 3.6.16", func(ctx SpecContext) {
			By("taking a snapshot on etcd 3.7.3")
			newer := buildSnapshotSource(ctx, "3.7.3")
			By("verifying it on etcd 3.6.16")
			rec, err := verifyFile(ctx, "snapshot-3.7.3.db", newer.snap, snapverify.Options{Version: "3.6.16", Members: 1})
			Expect(err).To(HaveOccurred())
			Expect(rec).NotTo(BeNil())
			Expect(rec.Verdict).To(Equal(record.Fail))
			Expect(checkOf(rec, "snapshot-integrity").Verdict).To(Equal(record.Pass), "the file itself is intact")
			Expect(checkOf(rec, "snapshot-status").Summary).To(ContainSubstring("newer than etcd 3.6.16"))
			served := checkOf(rec, "served")
			Expect(served.Verdict).To(Equal(record.Fail))
			Expect(served.Summary).To(ContainSubstring(`version "3.7.0" is not supported`), "the reason from the member's log")
			Expect(rec.Reason).To(Equal(served.Summary), "the precise reason, not the first failed step")
			Expect(rec.End.Sub(rec.Start)).To(BeNumerically("<", time.Minute), "a member that exits ends the wait")
		}, SpecTimeout(2*specTimeout))
	})
})

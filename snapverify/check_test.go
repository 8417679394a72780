package snapverify

import (
	"errors"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/verify"
)

func TestDigestCheck(t *testing.T) {
	kvs := []verify.KV{{Key: []byte("/a"), Value: []byte("1")}, {Key: []byte("/b"), Value: []byte("2")}}
	file, n := verify.Digest(kvs)
	changed, _ := verify.Digest([]verify.KV{{Key: []byte("/a"), Value: []byte("1")}, {Key: []byte("/b"), Value: []byte("3")}})
	fewer, _ := verify.Digest(kvs[:1])
	for _, tc := range []struct {
		name          string
		served        string
		servedKeys    int
		want          record.Verdict
		summaryHasAll []string
	}{
		{"same keys and values", file, n, record.Pass, []string{file}},
		{"one value differs, same key count", changed, n, record.Fail, []string{file, changed}},
		{"a key is missing", fewer, n - 1, record.Fail, []string{file, fewer, "served 1 keys", "2 keys"}},
		{"no digest read from the cluster", "", 0, record.Fail, []string{file}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := digestCheck(file, n, tc.served, tc.servedKeys)
			if c.Name != "keyspace-digest" || c.Verdict != tc.want {
				t.Fatalf("digestCheck = %s %s (%s), want %s", c.Name, c.Verdict, c.Summary, tc.want)
			}
			for _, s := range tc.summaryHasAll {
				if !strings.Contains(c.Summary, s) {
					t.Errorf("summary %q does not say %q", c.Summary, s)
				}
			}
		})
	}
}

func TestRevisionCheck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rev, file  int64
		bump       uint64
		want       record.Verdict
		summaryHas string
	}{
		{"as in the file", 100, 100, 0, record.Pass, "exactly 100"},
		{"moved without a bump", 101, 100, 0, record.Fail, "want exactly 100"},
		{"bumped", 1100, 100, 1000, record.Pass, "at least 1100"},
		{"bumped further", 1101, 100, 1000, record.Pass, "at least 1100"},
		{"not bumped enough", 1099, 100, 1000, record.Fail, "want at least 1100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := revisionCheck(tc.rev, tc.file, tc.bump)
			if c.Verdict != tc.want || !strings.Contains(c.Summary, tc.summaryHas) {
				t.Errorf("revisionCheck = %s %q, want %s saying %q", c.Verdict, c.Summary, tc.want, tc.summaryHas)
			}
		})
	}
}

func TestOptionsConfig(t *testing.T) {
	cfg, err := Options{}.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version.String() != harness.DefaultVersion || cfg.Members != 3 || cfg.Timeout != drill.DefaultTimeout || cfg.Logger == nil {
		t.Errorf("defaults: version %s, %d members, timeout %s, logger %v", cfg.Version, cfg.Members, cfg.Timeout, cfg.Logger)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want error
	}{
		{"bad version", Options{Version: "3.6"}, drill.ErrConfig},
		{"too old", Options{Version: "3.4.30"}, harness.ErrUnknownVersion},
		{"even cluster", Options{Members: 2}, drill.ErrConfig},
		{"bump without mark", Options{BumpRevision: 10}, drill.ErrConfig},
		{"mark without bump", Options{MarkCompacted: true}, drill.ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.o.config(); !errors.Is(err, tc.want) {
				t.Errorf("config() = %v, want %v", err, tc.want)
			}
		})
	}
}

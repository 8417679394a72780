package harness

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// DefaultVersion is the etcd version drills run on when none is asked for.
const DefaultVersion = "3.6.16"

// Supported are the versions the catalogue is tested on. Other released
// 3.5+ versions work when asked for by number.
var Supported = []string{"3.5.35", "3.6.16", "3.7.3"}

// ErrUnknownVersion is returned for a version the module proxy does not have.
var ErrUnknownVersion = errors.New("unknown etcd version")

// Version is a parsed etcd release number.
type Version struct {
	Major, Minor, Patch int
}

var versionRE = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// ParseVersion accepts "3.6.16" or "v3.6.16". Only 3.5 and later are
// accepted: older releases have no etcdutl and a different module layout.
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("etcd version %q: want MAJOR.MINOR.PATCH such as %s", s, DefaultVersion)
	}
	var n [3]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	v := Version{n[0], n[1], n[2]}
	if v.Major != 3 || v.Minor < 5 {
		return Version{}, fmt.Errorf("etcd version %q: %w: etcdrill supports 3.5 and later (tested: %s)", s, ErrUnknownVersion, strings.Join(Supported, ", "))
	}
	return v, nil
}

// MustVersion is ParseVersion for versions written in code; it panics on
// a bad one.
func MustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MinorString is v's minor as etcd writes a cluster or storage version:
// "3.6.0" for 3.6.16.
func (v Version) MinorString() string { return fmt.Sprintf("%d.%d.0", v.Major, v.Minor) }

// AtLeast reports whether v is minor.patch or later within major 3.
func (v Version) AtLeast(minor, patch int) bool {
	return v.Minor > minor || (v.Minor == minor && v.Patch >= patch)
}

// HasV2 reports whether the v2 keys API (--enable-v2) exists: 3.5 only.
func (v Version) HasV2() bool { return v.Minor == 5 }

// HasBackup reports whether `etcdutl backup` (the v2 backup) exists: 3.5 only.
func (v Version) HasBackup() bool { return v.Minor == 5 }

// FeatureGates reports whether corruption checks are feature gates (3.6+)
// rather than --experimental-* flags (3.5).
func (v Version) FeatureGates() bool { return v.Minor >= 6 }

// Released lists the etcd server versions the module proxy has, in the
// order `go list -m -versions` prints them.
func Released(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-versions", "go.etcd.io/etcd/server/v3").Output()
	if err != nil {
		return nil, fmt.Errorf("list etcd versions on the module proxy: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return nil, fmt.Errorf("list etcd versions: no versions in %q", strings.TrimSpace(string(out)))
	}
	vs := make([]string, 0, len(f)-1)
	for _, s := range f[1:] {
		if !strings.Contains(s, "-") { // skip pre-releases
			vs = append(vs, strings.TrimPrefix(s, "v"))
		}
	}
	return vs, nil
}

// CheckReleased returns a one-line error naming the released versions when
// v is not one of them. When the proxy cannot be asked it returns nil and
// lets the build report what it finds.
func CheckReleased(ctx context.Context, v Version) error {
	vs, err := Released(ctx)
	if err != nil {
		return nil
	}
	var same []string
	for _, s := range vs {
		if s == v.String() {
			return nil
		}
		if strings.HasPrefix(s, fmt.Sprintf("%d.%d.", v.Major, v.Minor)) {
			same = append(same, s)
		}
	}
	if len(same) == 0 {
		same = vs
	}
	if len(same) > 8 {
		same = same[len(same)-8:]
	}
	return fmt.Errorf("etcd %s: %w; released versions include %s", v, ErrUnknownVersion, strings.Join(same, ", "))
}

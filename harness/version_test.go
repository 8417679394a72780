package harness

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		str  string
	}{
		{"3.6.16", Version{Major: 3, Minor: 6, Patch: 16}, "3.6.16"},
		{"v3.6.16", Version{Major: 3, Minor: 6, Patch: 16}, "3.6.16"},
		{"3.5.0", Version{Major: 3, Minor: 5, Patch: 0}, "3.5.0"},
		{"3.7.3", Version{Major: 3, Minor: 7, Patch: 3}, "3.7.3"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseVersion(tc.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseVersion(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
		})
	}
}

func TestParseVersionErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		unknown bool // errors.Is(err, ErrUnknownVersion)
	}{
		{"3.4.30", true},
		{"2.3.8", true},
		{"v3.4.30", true},
		{"4.0.0", true},
		{"3.6", false},
		{"abc", false},
		{"3.6.x", false},
		{"", false},
		{"3.6.16.1", false},
		{"vv3.6.16", false},
		{"3.6.-1", false},
		{"3.6.16\n", false},
	} {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			v, err := ParseVersion(tc.in)
			if err == nil {
				t.Fatalf("ParseVersion(%q) = %v, want an error", tc.in, v)
			}
			if got := errors.Is(err, ErrUnknownVersion); tc.unknown && !got {
				t.Errorf("ParseVersion(%q) error %q is not ErrUnknownVersion", tc.in, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			if !strings.Contains(msg, strconv.Quote(tc.in)) {
				t.Errorf("error %q does not quote the input %q", msg, tc.in)
			}
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v            string
		minor, patch int
		want         bool
	}{
		{"3.6.16", 6, 16, true},
		{"3.6.16", 6, 15, true},
		{"3.6.16", 6, 17, false},
		{"3.6.16", 5, 99, true},
		{"3.6.16", 7, 0, false},
		{"3.5.35", 5, 35, true},
		{"3.5.35", 6, 0, false},
		{"3.7.3", 6, 16, true},
		{"3.7.0", 7, 0, true},
	} {
		t.Run(tc.v+">="+strconv.Itoa(tc.minor)+"."+strconv.Itoa(tc.patch), func(t *testing.T) {
			if got := mustVersion(t, tc.v).AtLeast(tc.minor, tc.patch); got != tc.want {
				t.Errorf("%s.AtLeast(%d, %d) = %v, want %v", tc.v, tc.minor, tc.patch, got, tc.want)
			}
		})
	}
}

func TestVersionAbilities(t *testing.T) {
	for _, tc := range []struct {
		v                        string
		v2, backup, featureGates bool
	}{
		{"3.5.0", true, true, false},
		{"3.5.35", true, true, false},
		{"3.6.0", false, false, true},
		{"3.6.16", false, false, true},
		{"3.7.3", false, false, true},
	} {
		t.Run(tc.v, func(t *testing.T) {
			v := mustVersion(t, tc.v)
			if got := v.HasV2(); got != tc.v2 {
				t.Errorf("HasV2() = %v, want %v", got, tc.v2)
			}
			if got := v.HasBackup(); got != tc.backup {
				t.Errorf("HasBackup() = %v, want %v", got, tc.backup)
			}
			if got := v.FeatureGates(); got != tc.featureGates {
				t.Errorf("FeatureGates() = %v, want %v", got, tc.featureGates)
			}
		})
	}
}

func TestSupportedParse(t *testing.T) {
	for _, s := range append([]string{DefaultVersion}, Supported...) {
		t.Run(s, func(t *testing.T) {
			v := mustVersion(t, s)
			if v.String() != s {
				t.Errorf("ParseVersion(%q).String() = %q", s, v.String())
			}
		})
	}
}

func TestParseVersionRejectsSignsAndLeadingZeros(t *testing.T) {
	for _, s := range []string{"+3.6.16", "3.+6.16", "03.06.016", "3.6.016", "3.-6.1"} {
		if v, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", s, v)
		}
	}
}

func TestMinorString(t *testing.T) {
	for in, want := range map[string]string{"3.5.35": "3.5.0", "3.6.16": "3.6.0", "3.7.3": "3.7.0"} {
		v, err := ParseVersion(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.MinorString(); got != want {
			t.Errorf("%s: MinorString %q, want %q", in, got, want)
		}
	}
}

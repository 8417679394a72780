package harness

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// tlsFlags are the flags TLS adds, spelled out as kubeadm lays the files out
// rather than built from the package's constants.
var tlsFlags = []string{
	"--cert-file=/etc/kubernetes/pki/etcd/server.crt",
	"--key-file=/etc/kubernetes/pki/etcd/server.key",
	"--client-cert-auth=true",
	"--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
	"--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
	"--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
	"--peer-client-cert-auth=true",
	"--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
}

// tlsFlagNames are the names of tlsFlags, to check none of them appears
// with any value when TLS is off.
var tlsFlagNames = []string{
	"--cert-file", "--key-file", "--client-cert-auth", "--trusted-ca-file",
	"--peer-cert-file", "--peer-key-file", "--peer-client-cert-auth", "--peer-trusted-ca-file",
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatalf("ParseVersion(%q): %v", s, err)
	}
	return v
}

func baseSpec(tls bool) Spec {
	return Spec{
		Name:           "m2",
		InitialCluster: "m1=http://m1:2380,m2=http://m2:2380,m3=http://m3:2380",
		Token:          "tok",
		State:          "new",
		TLS:            tls,
	}
}

func hasFlagNamed(args []string, name string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == name || strings.HasPrefix(a, name+"=") })
}

func TestFlagsTLS(t *testing.T) {
	for _, ver := range []string{"3.5.35", "3.6.16", "3.7.3"} {
		for _, tc := range []struct {
			name                         string
			tls                          bool
			client, peer, lClient, lPeer string
		}{
			{"on", true, "https://m2:2379", "https://m2:2380", "https://0.0.0.0:2379", "https://0.0.0.0:2380"},
			{"off", false, "http://m2:2379", "http://m2:2380", "http://0.0.0.0:2379", "http://0.0.0.0:2380"},
		} {
			t.Run(ver+"/tls-"+tc.name, func(t *testing.T) {
				args, err := Flags(mustVersion(t, ver), baseSpec(tc.tls))
				if err != nil {
					t.Fatalf("Flags: %v", err)
				}
				for _, want := range []string{
					"--name=m2",
					"--data-dir=/var/lib/etcd",
					"--advertise-client-urls=" + tc.client,
					"--initial-advertise-peer-urls=" + tc.peer,
					"--listen-client-urls=" + tc.lClient,
					"--listen-peer-urls=" + tc.lPeer,
					"--initial-cluster-token=tok",
					"--initial-cluster-state=new",
				} {
					if !slices.Contains(args, want) {
						t.Errorf("missing %s in %q", want, args)
					}
				}
				if tc.tls {
					for _, want := range tlsFlags {
						if !slices.Contains(args, want) {
							t.Errorf("missing %s in %q", want, args)
						}
					}
					return
				}
				for _, name := range tlsFlagNames {
					if hasFlagNamed(args, name) {
						t.Errorf("TLS off but %s is set in %q", name, args)
					}
				}
				for _, a := range args {
					if strings.Contains(a, "https://") {
						t.Errorf("TLS off but %q uses https", a)
					}
				}
			})
		}
	}
}

func TestFlagsEnableV2(t *testing.T) {
	for _, tc := range []struct {
		version string
		wantErr bool
	}{
		{"3.5.35", false},
		{"3.6.16", true},
		{"3.7.3", true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s := baseSpec(false)
			s.EnableV2 = true
			args, err := Flags(mustVersion(t, tc.version), s)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Flags with EnableV2 = %q, want an error", args)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				if !strings.Contains(err.Error(), "member m2") {
					t.Errorf("error %q does not name the member", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Flags: %v", err)
			}
			if !slices.Contains(args, "--enable-v2=true") {
				t.Errorf("missing --enable-v2=true in %q", args)
			}
		})
	}
}

func TestFlagsCorruptCheck(t *testing.T) {
	const gates = "--feature-gates=InitialCorruptCheck=true,CompactHashCheck=true"
	for _, tc := range []struct {
		version         string
		want, notWant   string
		allowExperiment bool
	}{
		{"3.5.35", "--experimental-initial-corrupt-check=true", gates, true},
		{"3.6.16", gates, "--experimental-initial-corrupt-check=true", true},
		// 3.7 removed every --experimental-* flag: etcd refuses to start
		// with any of them.
		{"3.7.3", gates, "--experimental-initial-corrupt-check=true", false},
	} {
		t.Run(tc.version, func(t *testing.T) {
			// Turn on everything optional, so no path may add an
			// --experimental- flag unnoticed.
			s := baseSpec(true)
			s.CorruptCheck = true
			s.QuotaBackendBytes = 1 << 30
			s.ForceNewCluster = true
			args, err := Flags(mustVersion(t, tc.version), s)
			if err != nil {
				t.Fatalf("Flags: %v", err)
			}
			if !slices.Contains(args, tc.want) {
				t.Errorf("missing %s in %q", tc.want, args)
			}
			if slices.Contains(args, tc.notWant) {
				t.Errorf("%s must not be set on %s: %q", tc.notWant, tc.version, args)
			}
			if tc.allowExperiment {
				return
			}
			for _, a := range args {
				if strings.HasPrefix(a, "--experimental-") {
					t.Errorf("etcd %s has no %s", tc.version, a)
				}
			}
		})
	}
}

func TestFlagsCorruptCheckPeriod(t *testing.T) {
	for _, tc := range []struct {
		version string
		period  time.Duration
		want    []string
	}{
		{"3.5.35", 0, []string{"--experimental-corrupt-check-time=5s", "--experimental-compact-hash-check-time=5s"}},
		{"3.5.35", 2 * time.Second, []string{"--experimental-corrupt-check-time=2s", "--experimental-compact-hash-check-time=2s"}},
		{"3.6.16", 0, []string{"--corrupt-check-time=5s", "--compact-hash-check-time=5s"}},
		{"3.7.3", 1500 * time.Millisecond, []string{"--corrupt-check-time=1.5s", "--compact-hash-check-time=1.5s"}},
	} {
		t.Run(tc.version+"/"+tc.period.String(), func(t *testing.T) {
			s := baseSpec(false)
			s.CorruptCheck, s.CorruptCheckPeriod = true, tc.period
			args, err := Flags(mustVersion(t, tc.version), s)
			if err != nil {
				t.Fatalf("Flags: %v", err)
			}
			for _, w := range tc.want {
				if !slices.Contains(args, w) {
					t.Errorf("missing %s in %q", w, args)
				}
			}
		})
	}
	// Without CorruptCheck no check flag appears, whatever the period.
	s := baseSpec(false)
	s.CorruptCheckPeriod = time.Second
	args, err := Flags(mustVersion(t, "3.6.16"), s)
	if err != nil {
		t.Fatalf("Flags: %v", err)
	}
	for _, name := range []string{"--corrupt-check-time", "--compact-hash-check-time", "--feature-gates"} {
		if hasFlagNamed(args, name) {
			t.Errorf("CorruptCheck off but %s is set in %q", name, args)
		}
	}
}

func TestFlagsState(t *testing.T) {
	for _, tc := range []struct {
		state   string
		wantErr bool
	}{
		{"new", false},
		{"existing", false},
		{"", true},
		{"New", true},
		{"restored", true},
	} {
		t.Run("state="+tc.state, func(t *testing.T) {
			s := baseSpec(false)
			s.State = tc.state
			args, err := Flags(mustVersion(t, "3.6.16"), s)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Flags = %q, want an error", args)
				}
				if !strings.Contains(err.Error(), "m2") {
					t.Errorf("error %q does not name the member", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Flags: %v", err)
			}
			if !slices.Contains(args, "--initial-cluster-state="+tc.state) {
				t.Errorf("missing --initial-cluster-state=%s in %q", tc.state, args)
			}
		})
	}
}

func TestFlagsExtraLast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"one", []string{"--snapshot-count=5"}},
		// Extra repeats a flag Flags sets; it must come later to win.
		{"override", []string{"--log-outputs=/dev/null", "--data-dir=/tmp/other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSpec(true)
			s.CorruptCheck, s.ForceNewCluster, s.QuotaBackendBytes = true, true, 1<<30
			s.Extra = tc.extra
			args, err := Flags(mustVersion(t, "3.6.16"), s)
			if err != nil {
				t.Fatalf("Flags: %v", err)
			}
			if len(args) < len(tc.extra) {
				t.Fatalf("Flags = %q, shorter than extra %q", args, tc.extra)
			}
			if tail := args[len(args)-len(tc.extra):]; !slices.Equal(tail, tc.extra) {
				t.Errorf("last args = %q, want %q", tail, tc.extra)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	for _, tc := range []struct {
		name           string
		tls            bool
		names          []string
		client, peer   string
		initialCluster string
	}{
		{"tls", true, []string{"m1", "m2", "m3"}, "https://m1:2379", "https://m1:2380",
			"m1=https://m1:2380,m2=https://m2:2380,m3=https://m3:2380"},
		{"plain", false, []string{"m1", "m2", "m3"}, "http://m1:2379", "http://m1:2380",
			"m1=http://m1:2380,m2=http://m2:2380,m3=http://m3:2380"},
		{"single", false, []string{"m1"}, "http://m1:2379", "http://m1:2380", "m1=http://m1:2380"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientURL("m1", tc.tls); got != tc.client {
				t.Errorf("ClientURL = %q, want %q", got, tc.client)
			}
			if got := PeerURL("m1", tc.tls); got != tc.peer {
				t.Errorf("PeerURL = %q, want %q", got, tc.peer)
			}
			if got := InitialCluster(tc.names, tc.tls); got != tc.initialCluster {
				t.Errorf("InitialCluster = %q, want %q", got, tc.initialCluster)
			}
		})
	}
}

func TestShellJoinPlainWords(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"etcd", "--name=m1"}, "etcd --name=m1"},
		{[]string{"--initial-cluster=m1=https://m1:2380,m2=https://m2:2380"}, "--initial-cluster=m1=https://m1:2380,m2=https://m2:2380"},
		{[]string{"with space"}, "'with space'"},
		{[]string{"$HOME"}, "'$HOME'"},
		{[]string{"a;b"}, "'a;b'"},
		{[]string{`say "hi"`}, `'say "hi"'`},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{""}, "''"},
		{nil, ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := ShellJoin(tc.args); got != tc.want {
				t.Errorf("ShellJoin(%q) = %s, want %s", tc.args, got, tc.want)
			}
		})
	}
}

func TestShellJoinRoundTrip(t *testing.T) {
	for _, args := range [][]string{
		{"etcdctl", "put", "k", "v"},
		{"it's"},
		{"'"},
		{"''"},
		{"'start", "end'", "mid'dle"},
		{"", "x", ""},
		{"two  spaces", "tab\there", "new\nline"},
		{"$HOME", "${X:-y}", "`id`", "$(id)"},
		{"a;b", "a|b", "a&b", "a>b", "a<b"},
		{`"double"`, `back\slash`, `\`},
		{"*", "?", "[a]", "{a,b}", "~", "#comment", "!"},
		{"--initial-cluster=m1=https://m1:2380,m2=https://m2:2380"},
		{"ünïcödé 值"},
		{`'\''`},
	} {
		t.Run(strings.Join(args, "|"), func(t *testing.T) {
			line := ShellJoin(args)
			got, err := splitPOSIX(line)
			if err != nil {
				t.Fatalf("ShellJoin(%q) = %s: %v", args, line, err)
			}
			if !slices.Equal(got, args) {
				t.Errorf("ShellJoin(%q) = %s, which a shell splits into %q", args, line, got)
			}
		})
	}
}

// splitPOSIX splits line into words as a POSIX shell would for the subset
// ShellJoin emits: blanks separate words, '...' is literal, \ escapes one
// character outside quotes. An unquoted character the shell would act on
// is an error, since ShellJoin must quote it.
func splitPOSIX(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '\\':
			if i+1 == len(line) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case strings.IndexByte("\"$`|&;<>(){}*?[]#~!", c) >= 0:
			return nil, errors.New("unquoted " + string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestSplitPOSIX(t *testing.T) {
	// The splitter is the oracle for ShellJoin, so check it on its own.
	for _, tc := range []struct {
		line    string
		want    []string
		wantErr bool
	}{
		{"a b", []string{"a", "b"}, false},
		{"'a b' c", []string{"a b", "c"}, false},
		{`'it'\''s'`, []string{"it's"}, false},
		{"''", []string{""}, false},
		{"'open", nil, true},
		{"a;b", nil, true},
		{"$x", nil, true},
	} {
		t.Run(tc.line, func(t *testing.T) {
			got, err := splitPOSIX(tc.line)
			if (err != nil) != tc.wantErr {
				t.Fatalf("splitPOSIX(%s) error = %v, want error %v", tc.line, err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("splitPOSIX(%s) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

package upgrade

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func readConfig(t *testing.T, name string) []Setting {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseConfig(data)
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", name, err)
	}
	return s
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // "form name=value@line" of the settings the lint cares about
	}{
		{"etcd-3.5.yaml", []string{"yaml enable-v2=true@8", "yaml proxy=off@9", "yaml experimental-initial-corrupt-check=true@11", "yaml experimental-corrupt-check-time=5m@13"}},
		{"flags.txt", []string{"flag enable-v2=true@4", "flag experimental-compact-hash-check-enabled=@6", "flag experimental-watch-progress-notify-interval=5s@7"}},
		{"etcd.service", []string{"env experimental-memory-mlock=true@7", "env snapshot-count=50000@8", "flag experimental-initial-corrupt-check=true@12", "flag experimental-compaction-batch-limit=500@13"}},
		{"kube-etcd.yaml", []string{"flag experimental-initial-corrupt-check=true@12", "flag snapshot-count=10000@14"}},
		{"etcd.conf", []string{"env enable-v2=false@4", "env proxy=off@5"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := map[string]bool{}
			for _, s := range readConfig(t, tc.file) {
				got[string(s.Form)+" "+s.Name+"="+s.Value+"@"+strconv.Itoa(s.Line)] = true
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("missing %q in %v", w, got)
				}
			}
		})
	}
}

// TestParseConfigYAML reads YAML with a YAML parser: kubeadm's static pod
// manifest, a flow-style command, quoting and comments, and a
// multi-document file in which only the etcd container counts.
func TestParseConfigYAML(t *testing.T) {
	for _, tc := range []struct {
		file   string
		n      int      // how many settings
		want   []string // "form name=value@line"
		absent []string // names that must not be read as settings
	}{
		{"kubeadm-etcd.yaml", 19,
			[]string{"flag experimental-initial-corrupt-check=true@19", "flag name=cp-1@27", "flag snapshot-count=10000@32", "flag listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379@24"},
			[]string{"etcd", "path", "port", "host", "image", "name=etcd"}},
		{"flow-manifest.yaml", 4,
			[]string{"flag experimental-initial-corrupt-check=true@9", "flag data-dir=/var/lib/etcd@9", "flag initial-cluster-token=etcd cluster 1@10", "flag experimental-compact-hash-check-enabled=@10"},
			[]string{"etcd", "name"}},
		{"quoted.yaml", 10,
			[]string{"yaml name=infra 1@2", "yaml data-dir=/var/lib/etcd@3", "yaml experimental-initial-corrupt-check=true@5", "yaml experimental-corrupt-check-time=5m@6",
				"yaml log-outputs=stderr@8", "yaml listen-client-urls=https://10.0.0.1:2379,https://127.0.0.1:2379@9", "yaml initial-cluster-token=tok#1@11", "yaml proxy=@12"},
			[]string{"enable-v2", "cert-file", "client-cert-auth"}},
		{"multi-doc.yaml", 6,
			[]string{"flag name=$(POD_NAME)@27", "flag data-dir=/var/lib/etcd@28", "flag experimental-compaction-batch-limit=500@30", "flag initial-cluster-token=etcd cluster 1@31",
				"env enable-v2=true@36", "env snapshot-count=50000@38"},
			[]string{"etcd-servers", "enable-admission-plugins", "clusterip", "pod-name", "replicas"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s := readConfig(t, tc.file)
			got := map[string]bool{}
			for _, x := range s {
				got[string(x.Form)+" "+x.Name+"="+x.Value+"@"+strconv.Itoa(x.Line)] = true
				for _, a := range tc.absent {
					if x.Name == a || x.Name+"="+x.Value == a {
						t.Errorf("%s read as a setting: %+v", a, x)
					}
				}
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("missing %q in %v", w, got)
				}
			}
			if len(s) != tc.n {
				t.Errorf("%d settings, want %d: %v", len(s), tc.n, got)
			}
		})
	}
}

func TestParseConfigForms(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"flow style keeps the value whole", `command: [etcd, "--experimental-initial-corrupt-check=true", --data-dir=/var/lib/etcd]` + "\nname: etcd\nkind: Pod\n", "flag experimental-initial-corrupt-check=true,flag data-dir=/var/lib/etcd"},
		{"a bare YAML list of flags", "- --enable-v2=true\n- --name\n- infra1\n", "flag enable-v2=true,flag name=infra1"},
		{"--name value across list items", "spec:\n  containers:\n  - name: etcd\n    args: [--data-dir, /data, --enable-v2]\n", "flag data-dir=/data,flag enable-v2="},
		{"a shell command line in a container", "spec:\n  containers:\n  - name: etcd\n    command: [sh, -c, \"exec etcd --name='a b' --snapshot-count=5\"]\n", "flag name=a b,flag snapshot-count=5"},
		{"env of a container", "kind: Pod\nspec:\n  containers:\n  - name: etcd\n    command: [etcd]\n    env: [{name: ETCD_ENABLE_V2, value: 'true'}, {name: HOME, value: /root}]\n", "env enable-v2=true"},
		{"a CRLF config file", "name: infra1\r\nenable-v2: true\r\n", "yaml name=infra1,yaml enable-v2=true"},
		{"an empty document and a config", "---\n---\nenable-v2: false\n", "yaml enable-v2=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseConfig([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range s {
				got = append(got, string(x.Form)+" "+x.Name+"="+x.Value)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("ParseConfig = %q, want %q", strings.Join(got, ","), tc.want)
			}
		})
	}
}

func TestParseConfigBadYAML(t *testing.T) {
	_, err := ParseConfig([]byte("name: infra1\nenable-v2: [true\n"))
	if err == nil || errors.Is(err, ErrNoSettings) || !strings.HasPrefix(err.Error(), "parse YAML: ") {
		t.Errorf("ParseConfig(broken YAML) err = %v, want a YAML error", err)
	}
}

func TestParseConfigSkipsNonSettings(t *testing.T) {
	s := readConfig(t, "kube-etcd.yaml")
	for _, x := range s {
		if x.Name == "apiversion" || x.Name == "image" || x.Name == "command" || x.Name == "name" {
			t.Errorf("nested or foreign key parsed as a setting: %+v", x)
		}
	}
	_, err := ParseConfig([]byte("# nothing but comments\n\n"))
	if !errors.Is(err, ErrNoSettings) {
		t.Errorf("ParseConfig(comments) err = %v, want ErrNoSettings", err)
	}
}

func TestSplitWords(t *testing.T) {
	got := splitWords(`etcd --name="infra 1" 'a b' --x=y`)
	want := []string{"etcd", "--name=infra 1", "a b", "--x=y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitWords = %q, want %q", got, want)
	}
}

func TestLintConfig(t *testing.T) {
	for _, tc := range []struct {
		file, from, to string
		want           []string // "id:severity:subject", in order
	}{
		{"etcd-3.5.yaml", "3.5.35", "3.6.16", []string{
			"flag-removed:blocker:--enable-v2", "flag-removed:warning:--proxy", "flag-removed:warning:--proxy-failure-wait",
			"flag-deprecated:warning:--experimental-initial-corrupt-check", "flag-deprecated:warning:--experimental-compact-hash-check-enabled",
			"flag-deprecated:warning:--experimental-corrupt-check-time", "feature-gates:warning:--feature-gates"}},
		{"etcd-3.5.yaml", "3.6.16", "3.7.3", []string{
			"flag-removed:blocker:--enable-v2", "flag-removed:warning:--proxy", "flag-removed:warning:--proxy-failure-wait",
			"flag-removed:blocker:--experimental-initial-corrupt-check", "flag-removed:blocker:--experimental-compact-hash-check-enabled",
			"flag-removed:blocker:--experimental-corrupt-check-time", "feature-gates:warning:--feature-gates"}},
		{"flags.txt", "3.5.35", "3.6.16", []string{
			"flag-removed:blocker:--enable-v2", "flag-deprecated:warning:--experimental-initial-corrupt-check",
			"flag-deprecated:warning:--experimental-compact-hash-check-enabled", "flag-deprecated:warning:--experimental-watch-progress-notify-interval",
			"feature-gates:warning:--feature-gates", "default-changed:warning:--snapshot-count"}},
		{"etcd.service", "3.6.16", "3.7.3", []string{
			"flag-removed:blocker:--experimental-memory-mlock", "flag-removed:blocker:--experimental-initial-corrupt-check",
			"flag-removed:blocker:--experimental-compaction-batch-limit"}},
		{"kube-etcd.yaml", "3.5.35", "3.6.16", []string{
			"flag-deprecated:warning:--experimental-initial-corrupt-check", "flag-deprecated:warning:--experimental-watch-progress-notify-interval"}},
		{"etcd.conf", "3.5.35", "3.6.16", []string{
			"flag-removed:warning:--enable-v2", "flag-removed:warning:--proxy", "default-changed:warning:--snapshot-count"}},
		{"etcd-3.6.yaml", "3.6.16", "3.7.3", nil},
		{"kubeadm-etcd.yaml", "3.5.21", "3.6.16", []string{
			"flag-deprecated:warning:--experimental-initial-corrupt-check", "flag-deprecated:warning:--experimental-watch-progress-notify-interval"}},
		{"flow-manifest.yaml", "3.6.16", "3.7.3", []string{
			"flag-removed:blocker:--experimental-initial-corrupt-check", "flag-removed:blocker:--experimental-compact-hash-check-enabled", "feature-gates:warning:--feature-gates"}},
		{"multi-doc.yaml", "3.5.35", "3.6.16", []string{
			"flag-deprecated:warning:--experimental-compaction-batch-limit", "flag-removed:blocker:--enable-v2"}},
		{"quoted.yaml", "3.6.16", "3.7.3", []string{
			"flag-removed:blocker:--experimental-initial-corrupt-check", "flag-removed:blocker:--experimental-corrupt-check-time", "flag-removed:warning:--proxy"}},
		{"etcd-3.6.yaml", "3.6.16", "3.5.35", []string{
			"flag-unavailable:blocker:--feature-gates", "flag-unavailable:blocker:--corrupt-check-time", "flag-unavailable:blocker:--log-format"}},
	} {
		t.Run(tc.file+" "+tc.from+"→"+tc.to, func(t *testing.T) {
			fs := LintConfig(readConfig(t, tc.file), v(t, tc.from), v(t, tc.to), tc.file)
			var got []string
			for _, f := range fs {
				got = append(got, f.ID+":"+string(f.Severity)+":"+f.Subject)
				if f.Fix == "" || f.Link == "" || f.Published == "" || f.Advisory == "" || !strings.HasPrefix(f.Source, tc.file) {
					t.Errorf("finding without fix, link, date, advisory or source: %+v", f)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LintConfig =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestLintReplacements(t *testing.T) {
	for _, tc := range []struct {
		line, to, fix string
	}{
		{"--experimental-initial-corrupt-check=true", "3.7.3", "use the feature gate instead: --feature-gates=InitialCorruptCheck=true"},
		{"experimental-compact-hash-check-enabled: true", "3.7.3", "use the feature gate instead: feature-gates: CompactHashCheck=true"},
		{"ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME=5m", "3.7.3", "rename it: ETCD_CORRUPT_CHECK_TIME=5m"},
		{"--experimental-watch-progress-notify-interval=5s", "3.6.16", "rename it: --watch-progress-notify-interval=5s"},
		{"--enable-v2=true", "3.6.16", "remove it: the v2 API is gone"},
		{"--compaction-batch-limit=500", "3.5.35", "use the old name: --experimental-compaction-batch-limit=500"},
	} {
		s, err := ParseConfig([]byte(tc.line))
		if err != nil {
			t.Fatal(err)
		}
		fs := LintConfig(s, v(t, "3.6.16"), v(t, tc.to), "x")
		if len(fs) == 0 || !strings.HasPrefix(fs[0].Fix, tc.fix) {
			t.Errorf("LintConfig(%q → %s) = %+v, want fix %q", tc.line, tc.to, fs, tc.fix)
		}
	}
}

func TestUnlinted(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		n        int
		mention  string
	}{
		{"3.5.35", "3.6.16", 1, "InitialCorruptCheck=true,CompactHashCheck=true"},
		{"3.6.16", "3.7.3", 1, "every --experimental-* flag"},
		{"3.6.10", "3.6.16", 0, ""},
	} {
		fs := Unlinted(v(t, tc.from), v(t, tc.to))
		if len(fs) != tc.n || (tc.n > 0 && !strings.Contains(fs[0].Reason, tc.mention)) {
			t.Errorf("Unlinted(%s, %s) = %+v", tc.from, tc.to, fs)
		}
	}
}

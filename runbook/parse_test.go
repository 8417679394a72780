package runbook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMarkdown(t *testing.T) {
	src := "# Our restore\n\nSome prose.\n\n## 1. Stop etcd everywhere\n\n```sh\n# on m1\nstop etcd\nrm -rf /var/lib/etcd/member\n# then, on m2\nsystemctl stop etcd  # as on our hosts\n```\n\n" +
		"```text\nnot a step\n```\n\n" +
		"3.  recovery · **restore the snapshot on m1** · on m1 · 0.2 s · ✅ pass\n\n    ```sh\n    etcdutl snapshot restore \"${SNAPSHOT}\" \\\n      --data-dir=\"${DATA_DIR}\"\n    ```\n\n" +
		"### Start m3 (on m3)\n\n```bash\n\nstart etcd --initial-cluster-token=\"${TOKEN}\" --initial-cluster-state=new\n```\n"
	r, err := Parse("our.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 3 {
		t.Fatalf("steps: got %d, want 3: %+v", len(r.Steps), r.Steps)
	}
	type act struct {
		host      string
		kind      Kind
		line, end int
	}
	want := []struct {
		title string
		line  int
		acts  []act
	}{
		{"1. Stop etcd everywhere", 7, []act{{"m1", Stop, 9, 9}, {"m1", Shell, 10, 10}, {"m2", Stop, 12, 12}}},
		{"restore the snapshot on m1", 21, []act{{"m1", Shell, 22, 23}}},
		{"Start m3", 28, []act{{"m3", Start, 30, 30}}},
	}
	for i, w := range want {
		st := r.Steps[i]
		if st.Title != w.title || st.Line != w.line {
			t.Errorf("step %d: got %q at %d, want %q at %d", i, st.Title, st.Line, w.title, w.line)
		}
		if len(st.Actions) != len(w.acts) {
			t.Errorf("step %d: got %d actions, want %d: %+v", i, len(st.Actions), len(w.acts), st.Actions)
			continue
		}
		for j, a := range w.acts {
			g := st.Actions[j]
			if g.Host != a.host || g.Kind != a.kind || g.Line != a.line || g.End != a.end {
				t.Errorf("step %d action %d: got %s %s %d-%d, want %s %s %d-%d", i, j, g.Host, g.Kind, g.Line, g.End, a.host, a.kind, a.line, a.end)
			}
		}
	}
	if got := r.Steps[1].Actions[0].Text; !strings.HasPrefix(got, "etcdutl snapshot restore") || !strings.Contains(got, "\n  --data-dir") {
		t.Errorf("indentation: got %q", got)
	}
	if f := r.Steps[2].Actions[0].Flags; len(f) != 2 || f[0] != `--initial-cluster-token="${TOKEN}"` {
		t.Errorf("start flags: got %q", f)
	}
	if err := r.Check(3); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestParseScript(t *testing.T) {
	src := "#!/bin/sh\n# our wrapper\n# on m2\netcdctl member list\nstop etcd\n"
	r, err := Parse("restore.sh", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 1 || r.Steps[0].Title != "run restore.sh" {
		t.Fatalf("got %+v", r.Steps)
	}
	acts := r.Steps[0].Actions
	if len(acts) != 2 || acts[0].Host != "m2" || acts[0].Line != 4 || acts[1].Kind != Stop || acts[1].Line != 5 {
		t.Errorf("got %+v", acts)
	}
	r, err = Parse("plain.sh", []byte("etcdctl endpoint health\n"))
	if err != nil || r.Steps[0].Actions[0].Host != "m1" {
		t.Errorf("a script without a host line runs on m1: got %+v, %v", r, err)
	}
}

func TestHostVariables(t *testing.T) {
	src := "## Replace the lost member on $LOST_1\n\n```sh\netcdctl member list\n# on ${SURVIVOR}\netcdctl endpoint health\n```\n"
	r, err := Parse("r.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Steps[0].Actions
	if a[0].Host != "${LOST_1}" || a[1].Host != "${SURVIVOR}" {
		t.Fatalf("got %+v", a)
	}
	if err := r.Check(3); err != nil {
		t.Error(err)
	}
	e := Env{Members: []string{"m1", "m2", "m3"}, Survivors: []string{"m1", "m2"}, Lost: []string{"m3"}}
	if h, err := e.Host("${LOST_1}"); h != "m3" || err != nil {
		t.Errorf("LOST_1: got %q, %v", h, err)
	}
	if h, err := e.Host("${SURVIVOR}"); h != "m1" || err != nil {
		t.Errorf("SURVIVOR: got %q, %v", h, err)
	}
	if _, err := e.Host("${LOST_2}"); err == nil {
		t.Error("LOST_2 of a drill that lost one member: want an error")
	}
}

// TestRefused: what cannot run is refused with one line naming
// file:line, before anything starts.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unclosed fence", "# a\n\n```sh\n# on m1\netcdctl member list\n", "r.md:3: code block is never closed"},
		{"no host", "# restore\n\n```sh\netcdctl member list\n```\n", "r.md:4: no host for this line"},
		{"unknown host", "# a\n\n```sh\n# on m1\ntrue\n# on m9\netcdctl member list\n```\n", "r.md:6: unknown host m9: this drill's members are m1, m2, m3"},
		{"unknown host variable", "# a on ${LEADER}\n\n```sh\ntrue\n```\n", "r.md:1: unknown host ${LEADER}"},
		{"too many lost", "# a\n\n```sh\n# on ${LOST_3}\ntrue\n```\n", "r.md:4: unknown host ${LOST_3}: a 3-member drill loses at most 2"},
		{"bad host line", "# a\n\n```sh\n# on m1,m2\ntrue\n```\n", `r.md:4: bad host "m1,m2"`},
		{"shell syntax", "# a on m1\n\n```sh\necho one\nif true; then\n  echo two\n```\n", "r.md:6: shell syntax error"},
		{"unknown variable in start", "# a on m1\n\n```sh\nstart etcd --initial-cluster-token=${NEW_TOKEN}\n```\n", "r.md:4: start etcd --initial-cluster-token: etcdrill sets no variable NEW_TOKEN"},
		{"bad state", "# a on m1\n\n```sh\nstart etcd --initial-cluster-state=old\n```\n", "r.md:4: start etcd --initial-cluster-state=old"},
		{"fixed flag", "# a on m1\n\n```sh\nstart etcd --name=m2\n```\n", "r.md:4: start etcd --name: the member's name and URLs are fixed"},
		{"systemctl with flags", "# a on m1\n\n```sh\nsystemctl start etcd --force-new-cluster\n```\n", "r.md:4: systemctl start etcd takes no flags"},
		{"no steps", "# just prose\n\n```text\nhello\n```\n", "r.md:1: no steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "r.md")
			if err := os.WriteFile(p, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, 3)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error starting %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("want one line, got %q", err)
			}
		})
	}
}

func TestVars(t *testing.T) {
	e := Env{Members: []string{"m1", "m2", "m3"}, TLS: true, Auth: true, User: "root", Password: "pw", Version: "3.6.16",
		ClusterToken: "old", Token: "new", Survivors: []string{"m2"}, Lost: []string{"m1", "m3"}}
	v := e.Vars("m2")
	for k, want := range map[string]string{
		"NAME": "m2", "ENDPOINT": "https://m2:2379", "PEER_URL": "https://m2:2380", "PEER_URL_M3": "https://m3:2380",
		"ENDPOINTS":       "https://m1:2379,https://m2:2379,https://m3:2379",
		"INITIAL_CLUSTER": "m1=https://m1:2380,m2=https://m2:2380,m3=https://m3:2380",
		"TOKEN":           "new", "CLUSTER_TOKEN": "old", "DATA_DIR": "/var/lib/etcd", "SNAPSHOT": "/var/lib/etcd-backup/snapshot.db",
		"CACERT": "/etc/kubernetes/pki/etcd/ca.crt", "ETCD_USER": "root", "ETCD_PASSWORD": "pw", "ETCD_VERSION": "3.6.16",
		"SURVIVOR": "m2", "LOST": "m1 m3", "LOST_1": "m1", "LOST_2": "m3", "MEMBERS": "m1 m2 m3",
	} {
		if v[k] != want {
			t.Errorf("%s: got %q, want %q", k, v[k], want)
		}
	}
	for k := range v {
		if !Known(k) {
			t.Errorf("variable %s is set but not documented", k)
		}
	}
	plain := Env{Members: []string{"m1"}}.Vars("m1")
	if _, ok := plain["CACERT"]; ok {
		t.Error("CACERT without TLS")
	}
	if _, ok := plain["ETCD_PASSWORD"]; ok {
		t.Error("ETCD_PASSWORD without auth")
	}
	if env := e.Environ("m1"); env[0] != "PATH="+hostPath {
		t.Errorf("Environ starts with %q", env[0])
	}
}

func TestStartFlags(t *testing.T) {
	vars := map[string]string{"TOKEN": "t2", "INITIAL_CLUSTER": "m1=http://m1:2380"}
	get := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	c, err := startFlags([]string{`--initial-cluster="${INITIAL_CLUSTER}"`, "--initial-cluster-token=$TOKEN", "--initial-cluster-state=existing", "--force-new-cluster", "--snapshot-count=100"}, get)
	if err != nil {
		t.Fatal(err)
	}
	if *c.InitialCluster != "m1=http://m1:2380" || *c.Token != "t2" || *c.State != "existing" || !*c.ForceNewCluster || len(c.Extra) != 1 {
		t.Errorf("got %+v", c)
	}
}

package reports

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestHTMLEscapes(t *testing.T) {
	evil := `<script>alert("x")</script>`
	r := minimal()
	r.Scenario = "odd " + evil
	r.Verdict, r.Reason = record.Fail, "reason "+evil
	r.Steps = []record.Step{{Phase: record.PhaseObserve, Name: "name " + evil, Member: "m1" + evil,
		Command: "echo '" + evil + "' && true", Output: "out " + evil + "\n", Verdict: record.Fail, Error: "err " + evil}}
	r.Checks = []record.Check{{Name: "key-integrity", Verdict: record.Fail, Summary: evil, Details: []string{"missing: /k/" + evil}}}
	r.Timeline = []record.Sample{{T: r.Start, Acknowledged: 1}}
	r.Events = []record.Event{{T: r.Start, Kind: `fault" onload="x`, Text: evil}}
	r.Before = &record.ClusterState{When: evil, Members: []record.MemberState{{Name: evil, Error: evil}}}
	page := renderString(t, r)
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Errorf("page has a script element:\n%s", page)
	}
	if strings.Contains(page, `" onload="`) {
		t.Error("event kind broke out of its attribute")
	}
	for _, want := range []string{
		"out &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", // output
		"<span class=\"w\">&amp;&amp;</span>",                 // command word
		"<li>missing: /k/&lt;script&gt;",                      // check detail
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLNotApplicable(t *testing.T) {
	r := minimal()
	r.Verdict, r.Reason = record.NotApplicable, "v2-data applies to etcd 3.5 and earlier only"
	r.Steps, r.Checks = nil, nil
	page := renderString(t, r)
	for _, want := range []string{
		`<span class="badge na">NOT APPLICABLE</span>`,
		"<b>Reason:</b> v2-data applies to etcd 3.5 and earlier only",
		"No workload timeline was recorded", "No steps were recorded", "No checks were run",
		`<div class="label">RTO</div><div class="value">—</div><div class="note">the drill did not run</div>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<svg") {
		t.Error("not-applicable page has a chart")
	}
}

// TestHTMLSelfContained keeps the page loadable offline: nothing it would
// fetch, and nothing it would run.
func TestHTMLSelfContained(t *testing.T) {
	for _, name := range goldenCases {
		r, err := ReadJSON(filepath.Join("testdata", name, JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		page := strings.ToLower(renderString(t, r))
		for _, bad := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "url(", "@import", "@font-face"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: page contains %q", name, bad)
			}
		}
		if m := loadingAttr.FindString(page); m != "" {
			t.Errorf("%s: page has a tag that loads or runs something: %s", name, m)
		}
	}
}

// loadingAttr matches an attribute that fetches a resource or runs code.
// Text cannot match: html/template escapes every "<" in it.
var loadingAttr = regexp.MustCompile(`<[^>]*\s(src|srcset|on[a-z]+)\s*=[^>]*>`)

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{0, "0 B"}, {9, "9 B"}, {999, "999 B"}, {20480, "20 kB"}, {45056, "45 kB"}, {2147483648, "2.1 GB"}, {1500, "1.5 kB"}}
	for _, tt := range tests {
		if got := humanBytes(tt.in); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHTMLClusterTables(t *testing.T) {
	r, err := ReadJSON("testdata/leader-kill/report.json")
	if err != nil {
		t.Fatal(err)
	}
	page := renderString(t, r)
	for _, want := range []string{
		"<th>ENDPOINT</th><th>ID</th><th>VERSION</th><th>DB SIZE</th><th>IS LEADER</th><th>IS LEARNER</th><th>RAFT TERM</th><th>RAFT INDEX</th><th>REVISION</th><th>PEER URLS</th><th>ERRORS</th>",
		`<tr class="leader"><td>m1</td><td>https://127.0.0.1:36305</td><td>3c2b1f0289a58432</td><td>3.6.16</td><td>45 kB</td><td>true</td><td>false</td><td>2</td><td>111</td><td>104</td><td>https://m1:2380</td><td></td></tr>`,
		`<tr class="leader"><td>m3</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func renderString(t *testing.T, r *record.Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

package upgrade

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
)

// Advisory is one published etcd note that constrains an upgrade or a
// downgrade path: a minimum patch level, data that blocks a path, a flag,
// a membership or learner hazard. Advisories lists them all; Gates and
// LintConfig turn the rows that apply into findings.
type Advisory struct {
	// ID names the row; findings carry it as Finding.Advisory.
	ID string `json:"id"`
	// Gate is the Finding.ID the row produces, such as "min-patch". Rows
	// of one kind share it, so callers can match on the kind.
	Gate string `json:"gate"`
	// Title names the hazard in a few words.
	Title string `json:"title"`
	// Path is the versions the row applies to.
	Path Path `json:"path"`
	// Condition narrows Path to clusters in some state, such as "auth
	// enabled"; empty when the versions alone decide.
	Condition string `json:"condition,omitempty"`
	// Config marks a row about flags and config keys: LintConfig and
	// Unlinted report it, Gates does not.
	Config   bool     `json:"config,omitempty"`
	Severity Severity `json:"severity"`
	// Hazard says what goes wrong on the path, and Do what the operator
	// does about it. Both may hold the placeholders expand knows.
	Hazard string `json:"hazard"`
	Do     string `json:"do"`
	// Sources are the etcd notes behind the row, the primary one first:
	// findings link to it.
	Sources []Ref `json:"sources"`
	// Reproducible says how a container run with released etcd images
	// shows the hazard; empty when it cannot, and WhyNot says why.
	Reproducible string `json:"reproducible,omitempty"`
	WhyNot       string `json:"why_not,omitempty"`
}

// Ref is one published source: a blog post, a guide, an issue, a
// changelog entry.
type Ref struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Published is the date as YYYY-MM-DD, or "date not found" with what
	// is known.
	Published string `json:"published"`
}

// AnyMinor as a Span's minor matches every version.
const AnyMinor = -1

// Span is a range of etcd 3.x versions within one minor: 3.Minor.Lo to
// 3.Minor.Hi, both included; Hi < 0 leaves the top open.
type Span struct {
	Minor int `json:"minor"`
	Lo    int `json:"lo"`
	Hi    int `json:"hi"`
}

// AnyVersion is the span of every version.
var AnyVersion = Span{Minor: AnyMinor, Hi: -1}

// Minor is every patch of 3.minor.
func Minor(minor int) Span { return Span{Minor: minor, Hi: -1} }

// Patches is 3.minor.lo to 3.minor.hi.
func Patches(minor, lo, hi int) Span { return Span{Minor: minor, Lo: lo, Hi: hi} }

// Since is 3.minor.lo and every later patch of 3.minor.
func Since(minor, lo int) Span { return Span{Minor: minor, Lo: lo, Hi: -1} }

// Has reports whether v is in the span.
func (s Span) Has(v harness.Version) bool {
	return s.inMinor(v) && v.Patch >= s.Lo && (s.Hi < 0 || v.Patch <= s.Hi)
}

// inMinor reports whether v is of the span's minor.
func (s Span) inMinor(v harness.Version) bool { return s.Minor == AnyMinor || v.Minor == s.Minor }

// narrow reports whether the span leaves out some patches of its minor.
func (s Span) narrow() bool { return s.Minor != AnyMinor && (s.Lo > 0 || s.Hi >= 0) }

func (s Span) String() string {
	m := "3." + strconv.Itoa(s.Minor)
	switch {
	case s.Minor == AnyMinor:
		return "any version"
	case !s.narrow():
		return m + ".x"
	case s.Hi < 0:
		return fmt.Sprintf("%s.%d or later", m, s.Lo)
	case s.Lo == s.Hi:
		return fmt.Sprintf("%s.%d", m, s.Lo)
	}
	return fmt.Sprintf("%s.%d–%s.%d", m, s.Lo, m, s.Hi)
}

// Skip bounds how many minors a path moves, to.Minor − from.Minor, to
// Min..Max: {2, 99} is an upgrade that skips a minor.
type Skip struct{ Min, Max int }

// Path is the set of version paths from → to an advisory applies to.
type Path struct {
	From Span  `json:"from"`
	To   Span  `json:"to"`
	Skip *Skip `json:"skip,omitempty"` // nil: any
}

// Has reports whether from → to is on the path.
func (p Path) Has(from, to harness.Version) bool {
	return p.From.Has(from) && p.To.Has(to) && p.skips(from, to)
}

// scope reports whether from → to is between the path's minors, so that
// the row was checked even where its patch ranges leave the path out.
func (p Path) scope(from, to harness.Version) bool {
	return p.From.inMinor(from) && p.To.inMinor(to) && p.skips(from, to)
}

func (p Path) skips(from, to harness.Version) bool {
	d := to.Minor - from.Minor
	return p.Skip == nil || (d >= p.Skip.Min && d <= p.Skip.Max)
}

func (p Path) String() string {
	switch {
	case p.Skip != nil && p.Skip.Min > 0:
		return "any upgrade that skips a minor version"
	case p.Skip != nil && p.Skip.Max < 0:
		return "any downgrade across two or more minor versions"
	}
	return p.From.String() + " → " + p.To.String()
}

// finding is what the row says about from → to: its severity when the
// path is on it, OK when the path is between its minors but outside its
// patch ranges, and nothing (false) otherwise.
func (a Advisory) finding(from, to harness.Version) (Finding, bool) {
	path := fmt.Sprintf("%s → %s", from, to)
	f := Finding{ID: a.Gate, Subject: path, Link: a.Sources[0].URL, Published: a.Sources[0].Published, Advisory: a.ID}
	switch {
	case a.Path.From.narrow() && !a.Path.To.narrow():
		f.Subject = from.String()
	case a.Path.To.narrow() && !a.Path.From.narrow():
		f.Subject = to.String()
	}
	switch {
	case a.Path.Has(from, to):
		f.Severity = a.Severity
		f.Reason = path + ": " + expand(a.Hazard, from, to)
		f.Fix = expand(a.Do, from, to)
	case a.Path.scope(from, to) && a.Path.Skip == nil:
		f.Severity = OK
		v, span := from, a.Path.From
		if span.Has(from) {
			v, span = to, a.Path.To
		}
		f.Reason = fmt.Sprintf("%s: %s does not apply: %s is not in %s", path, a.Title, v, span)
	default:
		return Finding{}, false
	}
	return f, true
}

// expand fills the placeholders of an advisory's text for from → to:
// {from} and {to} (versions), {from.minor} and {to.minor} (3.N),
// {next} (the minor after from's), {skipped} (the minors between) and
// {steps} (how many minors the path moves).
func expand(s string, from, to harness.Version) string {
	minor := func(m int) string { return fmt.Sprintf("%d.%d", from.Major, m) }
	var skipped []string
	for m := from.Minor + 1; m < to.Minor; m++ {
		skipped = append(skipped, minor(m))
	}
	steps := to.Minor - from.Minor
	if steps < 0 {
		steps = -steps
	}
	return strings.NewReplacer(
		"{from}", from.String(), "{to}", to.String(),
		"{from.minor}", minor(from.Minor), "{to.minor}", minor(to.Minor),
		"{next}", minor(from.Minor+1), "{skipped}", strings.Join(skipped, " and "),
		"{steps}", strconv.Itoa(steps),
	).Replace(s)
}

// abstract fills the placeholders with names rather than versions, as
// the gate table prints them.
func abstract(s string) string {
	return strings.NewReplacer(
		"{from}", "X", "{to}", "Y", "{from.minor}", "X's minor", "{to.minor}", "Y's minor",
		"{next}", "the next minor", "{skipped}", "a minor", "{steps}", "two or more",
	).Replace(s)
}

// advisory returns the row with the given ID; it panics on an unknown ID,
// which only a typo in this package can cause.
func advisory(id string) Advisory {
	for _, a := range Advisories {
		if a.ID == id {
			return a
		}
	}
	panic("upgrade: no advisory " + id)
}

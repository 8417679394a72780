package upgrade

import (
	"errors"
	"regexp"
	"strings"
)

// Form is how a setting was written; etcd treats each differently when it
// does not know the name.
type Form string

const (
	// FormFlag is --name=value on etcd's command line: an unknown flag
	// stops etcd with "flag provided but not defined".
	FormFlag Form = "flag"
	// FormYAML is name: value in an etcd config file (--config-file): an
	// unknown key is ignored without a word.
	FormYAML Form = "yaml"
	// FormEnv is ETCD_NAME=value in etcd's environment: an unknown one is
	// logged as "unrecognized environment variable" and ignored.
	FormEnv Form = "env"
)

// Setting is one etcd setting found in a config.
type Setting struct {
	Name  string `json:"name"`  // the flag name, without dashes
	Value string `json:"value"` // "" when none was given
	Form  Form   `json:"form"`
	Line  int    `json:"line"` // 1-based
}

// ErrNoSettings is returned for a file in which no etcd setting was found.
var ErrNoSettings = errors.New("no etcd settings found: want an etcd config file (name: value), flags (--name=value, one per line, a systemd ExecStart or a static pod manifest) or ETCD_* variables")

var (
	flagRE = regexp.MustCompile(`^--?([a-z0-9][a-z0-9-]*)(?:=(.*))?$`)
	envRE  = regexp.MustCompile(`^ETCD_([A-Z0-9_]+)=(.*)$`)
)

// ParseConfig reads the etcd settings in data, whatever the form. YAML is
// read with a YAML parser, every document of a multi-document file: an
// etcd config file (keys at the top level; nested keys are not flags and
// are skipped), a Kubernetes manifest (the flags in the command and args
// of every etcd container, block or flow style, and its ETCD_* env
// entries), or a bare list of flags. Anything else is read line by line:
// a flags file (one --flag=value or --flag value per line), a systemd
// unit (ExecStart=etcd … with backslash continuations, Environment=ETCD_…)
// or an environment file (ETCD_…=…). Each setting keeps the line it is on.
// A file that starts like YAML but does not parse is an error.
func ParseConfig(data []byte) ([]Setting, error) {
	data = []byte(strings.ReplaceAll(string(data), "\r\n", "\n"))
	out, structured, err := parseYAML(data)
	switch {
	case err != nil && looksYAML(data):
		return nil, err
	case err != nil || !structured:
		out = parseLines(data)
	}
	if len(out) == 0 {
		return nil, ErrNoSettings
	}
	return out, nil
}

// looksYAML reports whether the first line that is not blank or a comment
// is a YAML key, a document marker or a list item.
func looksYAML(data []byte) bool {
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		return t == "---" || strings.HasPrefix(t, "- ") || yamlKeyRE.MatchString(t)
	}
	return false
}

var yamlKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*:(\s|$)`)

// parseLines reads flags files, systemd units and environment files.
func parseLines(data []byte) []Setting {
	var out []Setting
	for i, raw := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(raw), `\`))
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		t = strings.TrimPrefix(t, "- ")
		for _, key := range []string{"ExecStart=", "Environment=", "export "} {
			t = strings.TrimPrefix(t, key)
		}
		var ws []word
		for _, w := range splitWords(t) {
			ws = append(ws, word{w, i + 1})
		}
		out = append(out, parseWords(ws)...)
	}
	return out
}

// word is one argument of a command line and the line it is on.
type word struct {
	text string
	line int
}

// parseWords finds flags and ETCD_* assignments among the words of a
// command line; --name value takes the next word as its value.
func parseWords(words []word) []Setting {
	var out []Setting
	for i, w := range words {
		if m := envRE.FindStringSubmatch(w.text); m != nil {
			out = append(out, Setting{Name: envName(m[1]), Value: m[2], Form: FormEnv, Line: w.line})
			continue
		}
		m := flagRE.FindStringSubmatch(w.text)
		if m == nil {
			continue
		}
		s := Setting{Name: m[1], Value: m[2], Form: FormFlag, Line: w.line}
		if !strings.Contains(w.text, "=") && i+1 < len(words) && !strings.HasPrefix(words[i+1].text, "-") {
			s.Value = words[i+1].text // --name value
		}
		out = append(out, s)
	}
	return out
}

// envName is the flag name of ETCD_<NAME>.
func envName(name string) string { return strings.ToLower(strings.ReplaceAll(name, "_", "-")) }

// splitWords splits on blanks, keeping quoted words whole and dropping
// the quotes, as a shell or systemd would.
func splitWords(s string) []string {
	var out []string
	var b strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// spell writes a setting the way its form does.
func spell(f Form, name, value string) string {
	switch f {
	case FormYAML:
		return name + ": " + value
	case FormEnv:
		return "ETCD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "=" + value
	}
	if value == "" {
		return "--" + name
	}
	return "--" + name + "=" + value
}

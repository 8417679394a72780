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
	yamlKeyRE = regexp.MustCompile(`^([a-z][a-z0-9-]*):(?:\s+(.*))?$`)
	flagRE    = regexp.MustCompile(`^--?([a-z0-9][a-z0-9-]*)(?:=(.*))?$`)
	envRE     = regexp.MustCompile(`^ETCD_([A-Z0-9_]+)=(.*)$`)
)

// ParseConfig reads the etcd settings in data, whatever the form: an etcd
// config file (YAML keys at the top level), a flags file (one
// --flag=value per line), a systemd unit (ExecStart=etcd … with
// backslash continuations, Environment=ETCD_…), a Kubernetes static pod
// manifest (- --flag=value), or an environment file (ETCD_…=…). Each
// setting keeps the line it is on. Only the names matter for linting,
// so nested YAML is skipped.
func ParseConfig(data []byte) ([]Setting, error) {
	var out []Setting
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	continued := false // the previous line ended in a backslash
	for i, raw := range lines {
		t := strings.TrimSpace(raw)
		cont := strings.HasSuffix(t, `\`)
		t = strings.TrimSpace(strings.TrimSuffix(t, `\`))
		wasContinued := continued
		continued = cont
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		if found := parseWords(t, i+1); len(found) > 0 {
			out = append(out, found...)
			continue
		}
		if m := yamlKeyRE.FindStringSubmatch(raw); m != nil && !wasContinued {
			out = append(out, Setting{Name: m[1], Value: yamlValue(m[2]), Form: FormYAML, Line: i + 1})
		}
	}
	if len(out) == 0 {
		return nil, ErrNoSettings
	}
	return out, nil
}

// parseWords finds flags and ETCD_* assignments among the words of one
// logical line, after a YAML list marker or a systemd key.
func parseWords(t string, line int) []Setting {
	t = strings.TrimPrefix(t, "- ")
	for _, key := range []string{"ExecStart=", "Environment=", "export "} {
		t = strings.TrimPrefix(t, key)
	}
	words := splitWords(t)
	var out []Setting
	for i, w := range words {
		if m := envRE.FindStringSubmatch(w); m != nil {
			name := strings.ToLower(strings.ReplaceAll(m[1], "_", "-"))
			out = append(out, Setting{Name: name, Value: m[2], Form: FormEnv, Line: line})
			continue
		}
		m := flagRE.FindStringSubmatch(w)
		if m == nil {
			continue
		}
		s := Setting{Name: m[1], Value: m[2], Form: FormFlag, Line: line}
		if !strings.Contains(w, "=") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
			s.Value = words[i+1] // --name value
		}
		out = append(out, s)
	}
	return out
}

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

func yamlValue(v string) string {
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.Trim(strings.TrimSpace(v), `"'`)
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

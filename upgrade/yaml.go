package upgrade

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAML reads every YAML document in data. structured is false when
// no document is a mapping or a list (a flags file or a systemd unit
// parses as one plain string, or not at all), so the caller reads the
// file line by line instead.
func parseYAML(data []byte) (out []Setting, structured bool, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, structured, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("parse YAML: %w", err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		switch {
		case root.Kind == yaml.MappingNode && isManifest(root):
			out = append(out, manifestSettings(root)...)
		case root.Kind == yaml.MappingNode:
			out = append(out, configFileSettings(root)...)
		case root.Kind == yaml.SequenceNode:
			out = append(out, parseWords(argv(root))...)
		default:
			continue
		}
		structured = true
	}
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// configFileSettings reads the top-level keys of an etcd config file.
// Nested keys (client-transport-security: …) are not flags: the parent
// key is kept with no value.
func configFileSettings(root *yaml.Node) []Setting {
	var out []Setting
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !keyRE.MatchString(k.Value) {
			continue
		}
		out = append(out, Setting{Name: k.Value, Value: scalar(v), Form: FormYAML, Line: k.Line})
	}
	return out
}

// scalar is the value of a node as a flag would hold it: a list becomes
// comma-separated, null and mappings become "".
func scalar(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.AliasNode && n.Alias != nil:
		return scalar(n.Alias)
	case n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null":
		return n.Value
	case n.Kind == yaml.SequenceNode:
		var vs []string
		for _, c := range n.Content {
			vs = append(vs, scalar(c))
		}
		return strings.Join(vs, ",")
	}
	return ""
}

// isManifest reports whether a mapping is a Kubernetes object rather than
// an etcd config file: etcd has no apiVersion, kind or spec key.
func isManifest(m *yaml.Node) bool {
	return value(m, "apiVersion") != nil || value(m, "kind") != nil || value(m, "spec") != nil
}

// value is the node under key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// manifestSettings finds every etcd container in a Kubernetes object,
// however deep (a Pod's spec.containers, a StatefulSet's template,
// initContainers), and reads its command, args and env.
func manifestSettings(n *yaml.Node) []Setting {
	var out []Setting
	if n.Kind == yaml.MappingNode && isEtcdContainer(n) {
		var words []word
		for _, key := range []string{"command", "args"} {
			if v := value(n, key); v != nil && v.Kind == yaml.SequenceNode {
				words = append(words, argv(v)...)
			}
		}
		out = append(out, parseWords(etcdArgs(words))...)
		out = append(out, envSettings(value(n, "env"))...)
		return out
	}
	for _, c := range n.Content {
		out = append(out, manifestSettings(c)...)
	}
	return out
}

// isEtcdContainer reports whether m is a container that runs etcd: its
// name or image says etcd, or its command starts with etcd.
func isEtcdContainer(m *yaml.Node) bool {
	cmd, args := value(m, "command"), value(m, "args")
	if cmd == nil && args == nil {
		return false
	}
	for _, key := range []string{"name", "image"} {
		if v := value(m, key); v != nil && strings.Contains(v.Value, "etcd") {
			return true
		}
	}
	return cmd != nil && len(cmd.Content) > 0 && path.Base(cmd.Content[0].Value) == "etcd"
}

// etcdArgs drops the words before etcd's own arguments: the binary, and a
// shell that runs it (sh -c "exec etcd …"), whose -c is not etcd's flag.
// Without an etcd word (the image's entrypoint runs it), all words count.
func etcdArgs(words []word) []word {
	for i, w := range words {
		if path.Base(w.text) == "etcd" {
			return words[i+1:]
		}
	}
	return words
}

// argv is a YAML list of command-line arguments, one word per item, each
// on its own line. An item holding a whole command line (sh -c "etcd
// --name=…") is split into words as a shell would.
func argv(seq *yaml.Node) []word {
	var out []word
	for _, item := range seq.Content {
		s := scalar(item)
		if strings.ContainsAny(s, " \t") && strings.Contains(s, " -") {
			for _, w := range splitWords(s) {
				out = append(out, word{w, item.Line})
			}
			continue
		}
		out = append(out, word{s, item.Line})
	}
	return out
}

// envSettings reads ETCD_* entries of a container's env list.
func envSettings(env *yaml.Node) []Setting {
	if env == nil || env.Kind != yaml.SequenceNode {
		return nil
	}
	var out []Setting
	for _, e := range env.Content {
		name := value(e, "name")
		if name == nil || !strings.HasPrefix(name.Value, "ETCD_") {
			continue
		}
		s := Setting{Name: envName(strings.TrimPrefix(name.Value, "ETCD_")), Form: FormEnv, Line: name.Line}
		if v := value(e, "value"); v != nil {
			s.Value = scalar(v)
		}
		out = append(out, s)
	}
	return out
}

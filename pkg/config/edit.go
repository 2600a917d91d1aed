package config

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// editedSettings is the config file data with the setting name (dotted)
// set to value, or removed when remove is set: as the user wrote it
// (editYAML; inPlace) when that reads back as the settings meant,
// otherwise the settings printed afresh as nested YAML, comments lost (a
// file whose anchors and aliases an edit in place would break).
func editedSettings(data []byte, name string, value any, remove bool) (out []byte, inPlace bool, err error) {
	before, err := parseFile(data)
	if err != nil {
		return nil, false, err
	}
	want := make(map[string]any, len(before)+1)
	for k, v := range before {
		want[k] = v
	}
	if remove {
		delete(want, name)
	} else {
		// A key where the setting's section goes, or under the setting,
		// cannot stay beside it (it names no setting).
		for k := range want {
			if strings.HasPrefix(name, k+".") || strings.HasPrefix(k, name+".") {
				delete(want, k)
			}
		}
		want[name] = value
	}
	if out, err := editYAML(data, name, value, remove); err == nil {
		if got, err := parseFile(out); err == nil && sameSettings(got, want) {
			return out, true, nil
		}
	}
	if out, err = nestedYAML(want); err != nil {
		return nil, false, err
	}
	if got, err := parseFile(out); err != nil || !sameSettings(got, want) {
		return nil, false, fmt.Errorf("the setting cannot be written so that it reads back as given")
	}
	return out, false, nil
}

// sameSettings reports whether a and b hold the same settings with values
// that print alike (a list read back is a []any of what was a []string).
func sameSettings(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || fmt.Sprint(v) != fmt.Sprint(w) {
			return false
		}
	}
	return true
}

// nestedYAML is the settings flat (by dotted name) as nested YAML.
func nestedYAML(flat map[string]any) ([]byte, error) {
	nested := map[string]any{}
	names := make([]string, 0, len(flat))
	for n := range flat {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		parts := strings.Split(n, ".")
		m := nested
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = flat[n]
	}
	return encodeYAML(nested)
}

// encodeYAML is v printed as YAML with two-space indentation.
func encodeYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// editYAML is the config file data with the setting name (dotted) set to
// value, or removed when remove is set, and everything else as the user
// wrote it: comments, the order of the settings, a setting written with a
// dotted key. A setting already there keeps its place and its comments
// (its value is replaced); a new one goes last in the deepest section of
// its name that exists, sections made for it as needed; a section that a
// removal leaves empty goes too. The file is printed again by the YAML
// encoder (two-space indentation), so its spacing may change.
func editYAML(data []byte, name string, value any, remove bool) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, oneLine(err)
	}
	// An empty file, or comments alone (which the decoder drops: they
	// are kept as written, before what is added).
	var kept []byte
	if len(doc.Content) == 0 {
		if remove {
			return data, nil
		}
		// Its comment lines, not what else the decoder read as nothing
		// (a byte-order mark, "---").
		for _, line := range strings.Split(string(data), "\n") {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") && utf8.ValidString(t) {
				kept = append(append(kept, t...), '\n')
			}
		}
		if len(kept) > 0 {
			// A blank line keeps them the file's, not the setting's.
			kept = append(kept, '\n')
		}
		doc.Kind = yaml.DocumentNode
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("the file is not a mapping of settings")
	}
	if r := doc.Content[0]; r.Kind != yaml.MappingNode {
		// A null (~, null, an empty tagged node) holds no settings.
		var x any
		if r.Kind != yaml.ScalarNode || r.Decode(&x) != nil || x != nil {
			return nil, fmt.Errorf("the file is not a mapping of settings")
		}
		doc.Content[0] = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map",
			HeadComment: r.HeadComment, LineComment: r.LineComment, FootComment: r.FootComment}
	}
	root := doc.Content[0]
	var val *yaml.Node
	if !remove {
		val = new(yaml.Node)
		if err := val.Encode(value); err != nil {
			return nil, err
		}
	}
	placed := false
	removeSetting(root, "", name, func(pair []*yaml.Node) bool {
		if val == nil || placed {
			return true // removed
		}
		// The first place the setting is written keeps it, its comments
		// too; any other place goes (what the file meant twice).
		val.LineComment, val.FootComment = pair[1].LineComment, pair[1].FootComment
		if val.Kind == yaml.SequenceNode {
			// A list's comments written beside its key stay there (a
			// flow list's line comment goes on its key: a block list
			// has no line of its own — review: it was dropped).
			val.HeadComment = pair[1].HeadComment
			if val.LineComment != "" && pair[0].LineComment == "" {
				pair[0].LineComment, val.LineComment = val.LineComment, ""
			}
		}
		pair[1] = val
		placed = true
		return false
	})
	if val != nil && !placed {
		insertSetting(root, strings.Split(name, "."), val)
	}
	if len(root.Content) == 0 {
		// The last setting gone: the file's own comments stay.
		var out []byte
		for _, c := range []string{doc.HeadComment, root.HeadComment, root.FootComment, doc.FootComment} {
			if c != "" {
				out = append(append(out, c...), '\n')
			}
		}
		return lineEnds(data, out), nil
	}
	keepFlowNulls(&doc, false)
	out, err := encodeYAML(&doc)
	if err != nil {
		return nil, err
	}
	return lineEnds(data, append(kept, out...)), nil
}

// keepFlowNulls writes the empty nulls of flow collections ({a}, [a, ])
// as null: the encoder would print them ” (an empty text, not nothing).
func keepFlowNulls(n *yaml.Node, inFlow bool) {
	inFlow = inFlow || n.Style&yaml.FlowStyle != 0
	if n.Kind == yaml.ScalarNode && inFlow && n.Tag == "!!null" && n.Value == "" {
		n.Value = "null"
	}
	for _, c := range n.Content {
		keepFlowNulls(c, inFlow)
	}
}

// lineEnds is out with the line ends of data: CRLF when data has them
// (review: a CRLF file was rewritten with LF), else LF.
func lineEnds(data, out []byte) []byte {
	out = bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n"))
	if bytes.Contains(data, []byte("\r\n")) {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	return out
}

// removeSetting calls found with each key and value pair of m (whose
// settings are named under prefix) that is the setting name, nested or
// written with a dotted key, and takes the pair out of m when found says
// so; a section left empty by that goes too, with its comments. It reports whether m is
// now empty after it held something.
func removeSetting(m *yaml.Node, prefix, name string, found func(pair []*yaml.Node) bool) bool {
	if len(m.Content) == 0 {
		return false
	}
	kept := m.Content[:0:0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		pair := m.Content[i : i+2 : i+2]
		full := pair[0].Value
		if prefix != "" {
			full = prefix + "." + full
		}
		switch {
		case full == name:
			if found(pair) {
				keepFoot(m, pair)
				continue
			}
		case pair[1].Kind == yaml.MappingNode && strings.HasPrefix(name, full+"."):
			if removeSetting(pair[1], full, name, found) {
				keepFoot(m, pair) // a section left empty
				continue
			}
		}
		kept = append(kept, pair...)
	}
	m.Content = kept
	return len(kept) == 0
}

// keepFoot keeps the comments written after a pair that goes (a comment
// that follows it with a blank line between is the YAML parser's "foot"
// of it, though it is about what comes next: review, it was dropped) as
// comments after m.
func keepFoot(m *yaml.Node, pair []*yaml.Node) {
	for _, n := range append(pair, pair[1]) {
		if n.FootComment != "" {
			if m.FootComment != "" {
				m.FootComment += "\n"
			}
			m.FootComment += n.FootComment
			n.FootComment = ""
		}
	}
}

// insertSetting adds the setting of the name parts with the value val to
// m: under the first key of m named parts[0] when there is one (made a
// section if it is not), otherwise as a new pair at the end of m
// (sections made for the parts before the last).
func insertSetting(m *yaml.Node, parts []string, val *yaml.Node) {
	if len(parts) > 1 {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value != parts[0] {
				continue
			}
			if m.Content[i+1].Kind != yaml.MappingNode {
				// Not a section (no setting is named so): it becomes
				// one, rather than a second key of that name.
				m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			insertSetting(m.Content[i+1], parts[1:], val)
			return
		}
	}
	for _, p := range parts[:len(parts)-1] {
		sub := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}, sub)
		m = sub
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: parts[len(parts)-1]}, val)
}

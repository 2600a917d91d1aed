package output

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// emptyLists returns a copy of v in which every nil slice and nil map that
// JSON would show as null is empty instead, so that an empty list prints as
// [] (and an empty map as {}) in every format, as the AWS CLI prints them,
// whichever way the service built it. A script reading
// `Metrics[].Samples[]` or `length(Tags)` then needs no null case. Fields
// that omit themselves when empty (omitempty, omitzero) stay as they are,
// and so do values that encode themselves (MarshalJSON, MarshalText) and
// []byte, which JSON shows as a base64 string.
func emptyLists(v any) any {
	if v == nil {
		return nil
	}
	return fill(reflect.ValueOf(v), 0).Interface()
}

// maxFillDepth bounds the walk: output values are trees a few levels deep,
// and a value deeper than this (a cycle, which JSON refuses anyway) is left
// as it is.
const maxFillDepth = 64

func fill(v reflect.Value, depth int) reflect.Value {
	t := v.Type()
	if depth > maxFillDepth || t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		(t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler))) {
		return v
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(fill(v.Elem(), depth+1))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(t).Elem()
		c.Set(fill(v.Elem(), depth+1))
		return c
	case reflect.Struct:
		c := reflect.New(t).Elem()
		c.Set(v)
		for i := range t.NumField() {
			f := t.Field(i)
			if !c.Field(i).CanSet() || omitsEmpty(f.Tag.Get("json")) {
				continue
			}
			c.Field(i).Set(fill(v.Field(i), depth+1))
		}
		return c
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return v
		}
		c := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(fill(v.Index(i), depth+1))
		}
		return c
	case reflect.Array:
		c := reflect.New(t).Elem()
		for i := range v.Len() {
			c.Index(i).Set(fill(v.Index(i), depth+1))
		}
		return c
	case reflect.Map:
		c := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), fill(it.Value(), depth+1))
		}
		return c
	}
	return v
}

// omitsEmpty reports whether a field with this json tag is left out when
// empty (or is never encoded): making it empty would change nothing, or,
// with omitzero, would make an absent field appear.
func omitsEmpty(tag string) bool {
	if tag == "-" {
		return true
	}
	_, opts, _ := strings.Cut(tag, ",")
	for o := range strings.SplitSeq(opts, ",") {
		if o == "omitempty" || o == "omitzero" {
			return true
		}
	}
	return false
}

// writeYAML writes v as YAML with the fields in the order -o json shows
// them: the YAML is built from v's JSON encoding, token by token, rather
// than from a map, whose keys the encoder would sort.
func writeYAML(w io.Writer, v any) error {
	node, err := jsonYAMLNode(v)
	if err != nil {
		return err
	}
	return encodeYAML(w, node)
}

// encodeYAML writes node as a YAML document, indented by two.
func encodeYAML(w io.Writer, node *yaml.Node) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return err
	}
	return enc.Close()
}

// yaml11NonString matches the plain scalars that YAML 1.1 — what PyYAML,
// Ruby's Psych and python-yq read — resolves to something other than a
// string, where the YAML 1.2 encoder writes them plain: booleans (no, on,
// Y), integers in base 2, 8, 16 or 60 or with underscores, floats of those
// forms, merge and value keys. Such a string is written quoted (tester: a
// serial 12:34:56 read back as 45296, a tag value "no" as False).
// It is compiled on first use: no command pays for it at start-up.
var yaml11NonString = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(yaml11NonStringExpr) })

const yaml11NonStringExpr = `^(?:` +
	`[yYnN]|[Yy]es|YES|[Nn]o|NO|[Tt]rue|TRUE|[Ff]alse|FALSE|[Oo]n|ON|[Oo]ff|OFF` +
	`|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+` +
	`|[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)` +
	`|~|[Nn]ull|NULL|<<|=` +
	`)$`

// yamlNode reads one JSON value from dec as a YAML node.
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		node := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			node = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if t == '{' {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := key.(string)
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k})
			}
			child, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			node.Content = append(node.Content, child)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return node, nil
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}
		if yaml11NonString().MatchString(t) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n, nil
	case json.Number:
		return yamlNumber(t), nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// yamlNumber is a JSON number as YAML: an integer as it is written (a
// 64-bit serial keeps every digit), a whole float as an integer (2, not
// 2.0 or 2e+00), any other number in its shortest exact form.
func yamlNumber(n json.Number) *yaml.Node {
	if !strings.ContainsAny(string(n), ".eE") {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: string(n)}
	}
	f, err := n.Float64()
	if err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: string(n)}
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(f), 10)}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'g', -1, 64)}
}

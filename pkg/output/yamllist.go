package output

import (
	"bytes"
	"encoding/json"
	"io"

	"go.yaml.in/yaml/v3"
)

// PlainYAML reports whether Print writes the value itself as YAML (-o
// yaml without --query), which a command printing as it reads may write
// itself, an item at a time, with a YAMLList.
func (p *Printer) PlainYAML() bool { return p.query == nil && p.Format == "yaml" }

// YAMLList writes, an item at a time, the YAML that Print writes for a
// value whose first field is the list Key: `list -o yaml` over a vault of
// 50,000 certificates built the whole document as YAML nodes first, 2.2
// GB (scale tester). Each item is encoded as the one item of Key's list
// and written without the line of the key after the first, so that the
// output is Print's, byte for byte.
type YAMLList struct {
	w   io.Writer
	key string
	n   int
}

// NewYAMLList begins the list key on w.
func NewYAMLList(w io.Writer, key string) *YAMLList { return &YAMLList{w: w, key: key} }

// Add writes item, encoded as Print encodes it (its JSON encoding, empty
// lists shown as []).
func (l *YAMLList) Add(item any) error {
	node, err := jsonYAMLNode(emptyLists(item))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := encodeYAML(&buf, l.document(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{node}})); err != nil {
		return err
	}
	out := buf.Bytes()
	if l.n > 0 {
		out = out[bytes.IndexByte(out, '\n')+1:]
	}
	l.n++
	_, err = l.w.Write(out)
	return err
}

// End ends the list (an empty one as []) and writes rest, a value whose
// fields follow the list's in Print's order (nil: none).
func (l *YAMLList) End(rest any) error {
	if l.n == 0 {
		if err := encodeYAML(l.w, l.document(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"})); err != nil {
			return err
		}
	}
	if rest == nil {
		return nil
	}
	return writeYAML(l.w, emptyLists(rest))
}

// document is the mapping of l's key to seq.
func (l *YAMLList) document(seq *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: l.key}, seq}}
}

// jsonYAMLNode is v, through its JSON encoding, as a YAML node.
func jsonYAMLNode(v any) (*yaml.Node, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return yamlNode(dec)
}

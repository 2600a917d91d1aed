package output

import (
	"bytes"
	"testing"
)

// TestYAMLListIsPrintsYAML: a list written an item at a time is, byte for
// byte, the YAML of the whole value — items with nested lists, empty and
// nil lists, strings YAML would read otherwise, numbers — empty too, and
// with the fields after the list.
func TestYAMLListIsPrintsYAML(t *testing.T) {
	type item struct {
		Name   string   `json:"Name"`
		Names  []string `json:"Names"`
		Count  int      `json:"Count"`
		Flag   bool     `json:"Flag,omitempty"`
		Nested []struct {
			K string `json:"K"`
		} `json:"Nested"`
	}
	type whole struct {
		List      []item  `json:"List"`
		NextToken *string `json:"NextToken"`
	}
	tok := "yes"
	nested := []struct {
		K string `json:"K"`
	}{{"on"}, {"a: b"}}
	for _, w := range []whole{
		{},
		{List: []item{{Name: "a"}}},
		{List: []item{{Name: "no", Names: []string{"x", "0x1F", ""}, Count: 3, Flag: true, Nested: nested}, {Name: "multi\nline"}, {Name: "-"}}, NextToken: &tok},
	} {
		var want bytes.Buffer
		if err := writeYAML(&want, emptyLists(w)); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		writeByItem(t, NewYAMLList(&got, "List"), w.List, w.NextToken)
		if got.String() != want.String() {
			t.Errorf("item by item:\n%s\nwhole:\n%s", got.String(), want.String())
		}
	}
}

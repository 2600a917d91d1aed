package output

import (
	"bytes"
	"testing"
)

// TestJSONListIsPrintsJSON: a list written an item at a time is, byte for
// byte, Print's JSON of the whole value — empty, one item, several with
// nested and nil lists, HTML and control characters, with a next token.
func TestJSONListIsPrintsJSON(t *testing.T) {
	type item struct {
		Name  string   `json:"Name"`
		Names []string `json:"Names"`
		N     int      `json:"N,omitempty"`
		Sub   *struct {
			K []int `json:"K"`
		} `json:"Sub,omitempty"`
	}
	type whole struct {
		Items     []item  `json:"Items"`
		NextToken *string `json:"NextToken"`
	}
	tok := "a<b>&"
	for _, w := range []whole{
		{},
		{Items: []item{{Name: "a"}}},
		{Items: []item{{Name: "<x>&\u2028\x1b", Names: []string{"1", ""}, N: 2, Sub: &struct {
			K []int `json:"K"`
		}{}}, {Name: "b"}, {}}, NextToken: &tok},
	} {
		var want, got bytes.Buffer
		if err := WriteJSON(&want, w); err != nil {
			t.Fatal(err)
		}
		writeByItem(t, NewJSONList(&got, "Items"), w.Items, w.NextToken)
		if got.String() != want.String() {
			t.Errorf("item by item:\n%s\nwhole:\n%s", got.String(), want.String())
		}
	}
}

// writeByItem writes items to l one at a time, then ends it with next as
// the NextToken field.
func writeByItem[T any](t *testing.T, l ListWriter, items []T, next *string) {
	t.Helper()
	for i := range items {
		if err := l.Add(&items[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.End(struct {
		NextToken *string `json:"NextToken"`
	}{next}); err != nil {
		t.Fatal(err)
	}
}

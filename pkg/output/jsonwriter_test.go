package output

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

// TestJSONWriterMatchesPrint writes values with a JSONWriter and with
// Print's encoder: the bytes must be the same.
func TestJSONWriterMatchesPrint(t *testing.T) {
	type inner struct {
		S     string   `json:"S"`
		L     []string `json:"L"`
		Empty []string `json:"Empty"`
		B     bool     `json:"B"`
	}
	type doc struct {
		List   []inner    `json:"List"`
		None   []inner    `json:"None"`
		Obj    struct{}   `json:"Obj"`
		Null   *string    `json:"Null"`
		Nested [][]string `json:"Nested"`
	}
	odd := []string{"", "plain", `q"uote`, `back\slash`, "<html>&amp;", "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "é\u2603", "\u2028\u2029",
		"bad\xffutf8", "\b\f"}
	d := doc{List: []inner{{S: "a", L: odd, Empty: []string{}, B: true}, {S: "b\x1b[31m", L: []string{"x"}, Empty: []string{}}},
		None: []inner{}, Nested: [][]string{{}, {"a", "b"}}}
	var want bytes.Buffer
	if err := WriteJSON(&want, d); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	j := NewJSONWriter(&got)
	j.BeginObject()
	j.Key("List")
	j.BeginArray()
	for _, in := range d.List {
		j.BeginObject()
		j.Key("S")
		j.String(in.S)
		j.Key("L")
		j.Strings(in.L)
		j.Key("Empty")
		j.Strings(in.Empty)
		j.Key("B")
		j.Bool(in.B)
		j.EndObject()
	}
	j.EndArray()
	j.Key("None")
	j.BeginArray()
	j.EndArray()
	j.Key("Obj")
	j.BeginObject()
	j.EndObject()
	j.Key("Null")
	j.Null()
	j.Key("Nested")
	j.BeginArray()
	for _, l := range d.Nested {
		j.Strings(l)
	}
	j.EndArray()
	j.EndObject()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("JSONWriter wrote\n%s\nencoding/json\n%s", got.String(), want.String())
	}
}

// TestJSONWriterPlainKeyAndTime checks PlainKey and Time against
// encoding/json's encoding of the same key and formatted time, including a
// layout whose output needs escaping.
func TestJSONWriterPlainKeyAndTime(t *testing.T) {
	at := time.Date(2026, 12, 3, 18, 4, 5, 600, time.UTC)
	layouts := []string{time.RFC3339, time.RFC3339Nano, `"2006" \ 01`, "Jan é 2\t"}
	want := map[string]string{}
	for i, l := range layouts {
		want["K"+strconv.Itoa(i)] = at.Format(l)
	}
	var wantBuf, got bytes.Buffer
	if err := WriteJSON(&wantBuf, want); err != nil {
		t.Fatal(err)
	}
	j := NewJSONWriter(&got)
	j.BeginObject()
	for i, l := range layouts { // map keys sort: K0 … K3
		j.PlainKey("K" + strconv.Itoa(i))
		j.Time(at, l)
	}
	j.EndObject()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got.String() != wantBuf.String() {
		t.Errorf("JSONWriter wrote\n%s\nencoding/json\n%s", got.String(), wantBuf.String())
	}
}

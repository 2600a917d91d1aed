package output

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type marshalsItself []string

func (marshalsItself) MarshalJSON() ([]byte, error) { return []byte(`"self"`), nil }

type inner struct {
	List []int            `json:"List"`
	Map  map[string]int   `json:"Map"`
	Any  any              `json:"Any"`
	Ptr  *[]string        `json:"Ptr"`
	Deep map[string][]int `json:"Deep"`
}

type outer struct {
	Samples   []inner        `json:"Samples"`
	Nested    *inner         `json:"Nested"`
	NilPtr    *inner         `json:"NilPtr"`
	Omitted   []string       `json:"Omitted,omitempty"`
	Zero      []string       `json:"Zero,omitzero"`
	Skipped   []string       `json:"-"`
	Bytes     []byte         `json:"Bytes"`
	Self      marshalsItself `json:"Self"`
	When      time.Time      `json:"When"`
	Untagged  []string
	unexposed []string
}

// TestEmptyLists: every nil list or map JSON would show as null prints as
// [] or {}, at any depth (through pointers, interfaces, slices and maps);
// fields that omit themselves, values that encode themselves and []byte
// are left alone; the value given is not changed.
func TestEmptyLists(t *testing.T) {
	v := outer{
		Samples: []inner{{}, {Any: []string(nil), Deep: map[string][]int{"k": nil}}},
		Nested:  &inner{},
	}
	var b strings.Builder
	if err := WriteJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	compact, _ := json.Marshal(got)
	const want = `{"Bytes":null,"Nested":{"Any":null,"Deep":{},"List":[],"Map":{},"Ptr":null},"NilPtr":null,` +
		`"Samples":[{"Any":null,"Deep":{},"List":[],"Map":{},"Ptr":null},{"Any":[],"Deep":{"k":[]},"List":[],"Map":{},"Ptr":null}],` +
		`"Self":"self","Untagged":[],"When":"0001-01-01T00:00:00Z"}`
	if string(compact) != want {
		t.Errorf("got  %s\nwant %s", compact, want)
	}
	if v.Samples[0].List != nil || v.Nested.Map != nil || v.Samples[1].Deep["k"] != nil {
		t.Error("the value given was changed")
	}
	if emptyLists(nil) != nil {
		t.Error("emptyLists(nil) is not nil")
	}
	// A top-level nil list, and the --follow stream's lines.
	b.Reset()
	if err := WriteJSONLine(&b, []string(nil)); err != nil || b.String() != "[]\n" {
		t.Errorf("nil list as a JSON line: %q, %v", b.String(), err)
	}
}

// TestPrintEmptyListsEveryFormat: -o json, -o yaml and --query see an
// empty list as [], not null.
func TestPrintEmptyListsEveryFormat(t *testing.T) {
	type family struct {
		Name    string   `json:"Name"`
		Samples []string `json:"Samples"`
	}
	data := struct {
		Metrics []family `json:"Metrics"`
	}{[]family{{Name: "m"}}}
	for _, tc := range []struct{ format, query, want string }{
		{"json", "", "{\n    \"Metrics\": [\n        {\n            \"Name\": \"m\",\n            \"Samples\": []\n        }\n    ]\n}\n"},
		{"yaml", "", "Metrics:\n  - Name: m\n    Samples: []\n"},
		{"json", "Metrics[0].Samples", "[]\n"},
		{"yaml", "Metrics[0]", "Name: m\nSamples: []\n"},
	} {
		p, out := newPrinter(t, false, false, tc.format, tc.query)
		if err := p.Print(data, View{}); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("-o %s --query %q: got %q, want %q", tc.format, tc.query, out.String(), tc.want)
		}
	}
}

// TestYAMLFollowsJSON: -o yaml keeps the order of -o json's fields, and
// every scalar reads back as the JSON value it was: strings that look like
// numbers, booleans or null stay strings — in YAML 1.1 too (no, on,
// 12:34:56), a PEM keeps its lines, integers
// keep every digit and whole floats print as integers.
func TestYAMLFollowsJSON(t *testing.T) {
	data := struct {
		Results   []map[string]string `json:"Results"`
		NextToken *string             `json:"NextToken"`
		Strings   []string            `json:"Strings"`
		PEM       string              `json:"PEM"`
		Serial    uint64              `json:"Serial"`
		Whole     float64             `json:"Whole"`
		Half      float64             `json:"Half"`
		Huge      float64             `json:"Huge"`
		Yes       bool                `json:"Yes"`
		Empty     struct{}            `json:"Empty"`
	}{
		Results: []map[string]string{{"b": "1", "a": "2"}},
		Strings: []string{"true", "123", "null", "~", "1e3", "a: b", "- x", "", " lead", "0x1F", "é",
			// YAML 1.1 (PyYAML, Psych) reads these plain as other types.
			"no", "On", "y", "12:34:56", "1_000", "0b101", "<<", "=", "30:c4:1f", "nothing"},
		PEM:    "-----BEGIN X-----\nAAAA\n-----END X-----\n",
		Serial: 18446744073709551615, Whole: 2, Half: 0.5, Huge: 1e300, Yes: true,
	}
	var b strings.Builder
	if err := writeYAML(&b, data); err != nil {
		t.Fatal(err)
	}
	want := `Results:
  - a: "2"
    b: "1"
NextToken: null
Strings:
  - "true"
  - "123"
  - "null"
  - "~"
  - "1e3"
  - 'a: b'
  - '- x'
  - ""
  - ' lead'
  - "0x1F"
  - é
  - "no"
  - "On"
  - "y"
  - "12:34:56"
  - "1_000"
  - "0b101"
  - "<<"
  - "="
  - 30:c4:1f
  - nothing
PEM: |
  -----BEGIN X-----
  AAAA
  -----END X-----
Serial: 18446744073709551615
Whole: 2
Half: 0.5
Huge: 1e+300
Yes: true
Empty: {}
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

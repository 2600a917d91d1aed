package jsonarg

import (
	"strings"
	"testing"
)

type doc struct {
	Enabled bool
	Days    int
	Names   []string
	Inner   *struct{ On bool }
}

// TestDecodeMessages: a document of the wrong shape is refused saying
// what was wanted where, never in Go's type names.
func TestDecodeMessages(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"Enabled":true,"Days":3,"Names":["a"],"Inner":{"On":true}}`, ""},
		{`[]`, "want a JSON object, not a list"},
		{`"x"`, "want a JSON object, not a string"},
		{`{"Enabled":"yes"}`, "Enabled: want true or false, not a string"},
		{`{"Days":"7"}`, "Days: want a number, not a string"},
		{`{"Names":"a"}`, "Names: want a list, not a string"},
		{`{"Inner":[]}`, "Inner: want an object, not a list"},
		{`{"Inner":{"On":1}}`, "Inner.On: want true or false, not a number"},
		{`{"Other":1}`, `unknown field "Other"`},
		{`{} {}`, "trailing data after the JSON document"},
		{``, "empty: want a JSON document"},
		{`{"Enabled":`, "unexpected EOF"},
		// Member names are exact (encoding/json alone ignores case).
		{`{"enabled":true}`, `unknown field "enabled": did you mean Enabled?`},
		{`{"Inner":{"on":true}}`, `unknown field "on" in Inner: did you mean On?`},
		{`{"Enabled":true,"ENABLED":false}`, `unknown field "ENABLED": did you mean Enabled?`},
	} {
		var d doc
		err := Decode([]byte(c.in), &d)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		case err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "struct") || strings.HasPrefix(err.Error(), "json:")):
			t.Errorf("%s: %v speaks Go", c.in, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"Enabled":true,"Inner":{"On":false}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		_ = Decode(data, &d)
	})
}

package output

import (
	"testing"
)

func TestLegacyLiterals(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Items[?Status==`ISSUED`].Name", "Items[?Status==`\"ISSUED\"`].Name"},
		{"Items[?Status==`\"ISSUED\"`]", "Items[?Status==`\"ISSUED\"`]"}, // JSON already
		{"Items[?N>`1`]", "Items[?N>`1`]"},
		{"`[1, 2]`", "`[1, 2]`"},
		{"`  padded`", "`\"padded\"`"},                       // leading white space dropped, as jmespath.py does
		{"`a\\`b`", "`\"a\\`b\"`"},                           // an escaped backquote stays one
		{"'raw `not a literal`'", "'raw `not a literal`'"},   // inside a raw string
		{`"quoted ` + "`x`" + `"`, `"quoted ` + "`x`" + `"`}, // inside a quoted identifier
		{"Items[?a==`x` && b==`y`]", "Items[?a==`\"x\"` && b==`\"y\"`]"},
		{"`unterminated", "`unterminated"},
		{"`bad\"quote`", "`bad\"quote`"}, // neither JSON nor a JSON string: left to the compiler
		{"no literal", "no literal"},
	} {
		if got := legacyLiterals(tc.in); got != tc.want {
			t.Errorf("legacyLiterals(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The AWS CLI's form of a filter works end to end.
func TestPrintQueryLegacyLiteral(t *testing.T) {
	p, out := newPrinter(t, false, false, "json", "Items[?Status==`ISSUED`].Name")
	data := map[string]any{"Items": []any{
		map[string]any{"Name": "a", "Status": "ISSUED"},
		map[string]any{"Name": "b", "Status": "EXPIRED"},
	}}
	if err := p.Print(data, View{}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "[\n    \"a\"\n]\n" {
		t.Errorf("got %q", got)
	}
}

// FuzzLegacyLiterals: the rewrite never panics, keeps an expression without
// backquotes as it is, and never turns an expression that compiles into one
// that does not.
func FuzzLegacyLiterals(f *testing.F) {
	for _, s := range []string{"Items[?Status==`ISSUED`]", "`1`", "'a`b'", `"a` + "`" + `"`, "`a\\`b`", "`", "``", "`\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := legacyLiterals(s)
		if _, err := compileQuery(s); err == nil {
			if _, err := compileQuery(got); err != nil {
				t.Fatalf("%q compiles but its rewrite %q does not: %v", s, got, err)
			}
		}
	})
}

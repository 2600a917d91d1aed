package enum

import (
	"errors"
	"strings"
	"testing"
)

func TestError(t *testing.T) {
	methods := []string{"DNS", "EMAIL", "HTTP"}
	for _, c := range []struct{ v, want string }{
		{"DNS", ""},
		{"dns", `invalid value "dns" for --validation-method: did you mean DNS? (use one of DNS, EMAIL, HTTP)`},
		{"Email", `invalid value "Email" for --validation-method: did you mean EMAIL? (use one of DNS, EMAIL, HTTP)`},
		{"FAX", `invalid value "FAX" for --validation-method (use one of DNS, EMAIL, HTTP)`},
		{"", `invalid value "" for --validation-method (use one of DNS, EMAIL, HTTP)`},
		{" DNS", `invalid value " DNS" for --validation-method: did you mean DNS? (use one of DNS, EMAIL, HTTP)`},
		{"DSN", `invalid value "DSN" for --validation-method: did you mean DNS? (use one of DNS, EMAIL, HTTP)`},
	} {
		err := Error("--validation-method", c.v, methods)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.v, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%q: %v, want %s", c.v, err, c.want)
		}
	}
	var ie *InvalidError
	if err := Error("x", "pem", []string{"PEM"}); !errors.As(err, &ie) || ie.Suggestion() != "PEM" {
		t.Errorf("Error: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	formats := []string{"table", "json", "yaml", "text"}
	if s := Suggest("JSON", formats); s != "json" {
		t.Errorf("Suggest(JSON) = %q", s)
	}
	if s := Suggest("json", formats); s != "" {
		t.Errorf("Suggest(json) = %q, want none for a valid value", s)
	}
	if s := Suggest("xml", formats); s != "" {
		t.Errorf("Suggest(xml) = %q", s)
	}
}

func TestNearest(t *testing.T) {
	commands := []string{"request", "reimport", "revoke", "renew", "list", "describe", "delete"}
	for _, c := range []struct {
		v    string
		want []string
	}{
		{"reqest", []string{"request"}},
		{"lst", []string{"list"}},
		{"LIST", []string{"list"}},
		{"renwe", []string{"renew"}},
		{"lsit", []string{"list"}}, // two letters swapped: one edit
		{"rveoke", []string{"revoke"}},
		{"dleete", []string{"delete"}},
		{"tsil", nil}, // two swaps
		{"list", nil},
		{"frobnicate", nil},
		{"x", nil},
		{"", nil},
	} {
		got := Nearest(c.v, commands)
		if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
			t.Errorf("Nearest(%q) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := Nearest("verions", []string{"versions", "pem", "validation-records"}); len(got) != 1 || got[0] != "versions" {
		t.Errorf("Nearest(verions) = %q", got)
	}
}

// A value mistyped by a slip of the keyboard is told the one it meant;
// one near several is told none of them.
func TestProblemSuggestsTheNearestValue(t *testing.T) {
	sorts := []string{"CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"}
	if got := Problem("DOMIAN_NAME", sorts); !strings.HasPrefix(got, ": did you mean DOMAIN_NAME?") {
		t.Errorf("Problem(DOMIAN_NAME) = %q", got)
	}
	if got := Problem("created_at", sorts); !strings.HasPrefix(got, ": did you mean CREATED_AT?") {
		t.Errorf("Problem(created_at) = %q", got)
	}
	if got := Problem("XYZ", sorts); strings.Contains(got, "did you mean") {
		t.Errorf("Problem(XYZ) = %q", got)
	}
	if got := Problem("ab", []string{"aa", "bb"}); strings.Contains(got, "did you mean") {
		t.Errorf("Problem(ab) among aa and bb = %q", got)
	}
}

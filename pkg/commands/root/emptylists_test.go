package root_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
)

// nullsIn lists the paths of the nulls in a decoded JSON value, but for
// the keys whose null means "none" in the AWS API (NextToken).
func nullsIn(path string, v any) []string {
	switch t := v.(type) {
	case nil:
		return []string{path}
	case map[string]any:
		var out []string
		for k, x := range t {
			if x == nil && k == "NextToken" {
				continue
			}
			out = append(out, nullsIn(path+"."+k, x)...)
		}
		return out
	case []any:
		var out []string
		for i, x := range t {
			out = append(out, nullsIn(fmt.Sprintf("%s[%d]", path, i), x)...)
		}
		return out
	}
	return nil
}

// TestNoNullLists walks the JSON and YAML of the commands that print
// lists, on an empty vault and on one whose certificate has no tags and
// is in use nowhere: an empty list prints as [], never as null, in every
// format.
func TestNoNullLists(t *testing.T) {
	e := clitest.New(t)
	check := func(args ...string) {
		t.Helper()
		r := e.MustRun(append(args, "-o", "json")...)
		var v any
		if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
			t.Fatalf("%v\nnot JSON: %v", r, err)
		}
		if nulls := nullsIn("", v); len(nulls) > 0 {
			t.Errorf("certctl %s -o json: null at %s", strings.Join(args, " "), strings.Join(nulls, ", "))
		}
		r = e.MustRun(append(args, "-o", "yaml")...)
		for _, l := range strings.Split(r.Stdout, "\n") {
			if strings.HasSuffix(l, ": null") && !strings.HasSuffix(l, "NextToken: null") {
				t.Errorf("certctl %s -o yaml: %q", strings.Join(args, " "), l)
			}
		}
	}
	empty := [][]string{
		{"list"}, {"search", "status:ISSUED"}, {"audit", "list"}, {"events"}, {"metrics"},
		{"dashboard"}, {"endpoint", "list"}, {"vault", "verify"}, {"ca", "list"},
		{"renew", "--due", "--dry-run"},
	}
	for _, args := range empty {
		check(args...)
	}
	arn := e.RequestPrivate("a.internal")
	for _, args := range append(empty, []string{"describe", arn}, []string{"tags", "list", arn}, []string{"describe", arn, "--versions"}) {
		check(args...)
	}
}

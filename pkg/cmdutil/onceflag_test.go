package cmdutil

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestSelectionFlagsOnce (tester: a second --query-terse silently replaced
// the first, and tags went on what the second alone selected): each
// selection flag is taken once; a second occurrence is a parse error
// saying how to combine them, and nothing is kept of it.
func TestSelectionFlagsOnce(t *testing.T) {
	for _, tc := range []struct{ args []string }{
		{[]string{"--query-terse", "tag:env=prod", "--query-terse", "san:web"}},
		{[]string{"--filter-statement", "{}", "--filter-statement", "{}"}},
	} {
		var s SelectionFlags
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		AddSelectionFlags(cmd, &s)
		err := cmd.ParseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("%q: %v, want refused as given twice", tc.args, err)
		}
		if s.QueryTerse == "san:web" {
			t.Errorf("%q: the second query replaced the first", tc.args)
		}
	}
	var s SelectionFlags
	cmd := &cobra.Command{Use: "x"}
	AddSelectionFlags(cmd, &s)
	if err := cmd.ParseFlags([]string{"--query-terse", "tag:env=prod san:web"}); err != nil || s.QueryTerse != "tag:env=prod san:web" {
		t.Errorf("one query: %q, %v", s.QueryTerse, err)
	}
}

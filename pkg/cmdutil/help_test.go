package cmdutil

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

// TestCompleteEnumList: a list flag's completion carries the typed
// prefix, leaves out given values (and given keys of K=V values), and
// adds no space while another item can follow.
func TestCompleteEnumList(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	var list []string
	cmd.Flags().StringArrayVar(&list, "s", nil, "")
	vals := []string{"A", "B", "C"}
	complete := CompleteEnum("s", vals, true)
	for _, c := range []struct {
		typed string
		want  []string
		dir   cobra.ShellCompDirective
	}{
		{"", []string{"A", "B", "C"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp},
		{"B", []string{"A", "B", "C"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp},
		{"B,", []string{"B,A", "B,C"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp},
		{"B,A,", []string{"B,A,C"}, cobra.ShellCompDirectiveNoFileComp},
		{"B,A,C,", nil, cobra.ShellCompDirectiveNoFileComp},
	} {
		got, dir := complete(cmd, nil, c.typed)
		if !slices.Equal(got, c.want) || dir != c.dir {
			t.Errorf("%q: %q %d, want %q %d", c.typed, got, dir, c.want, c.dir)
		}
	}
	pairs := CompleteEnum("s", []string{"K=1", "K=2", "L=1", "L=2"}, true)
	if got, dir := pairs(cmd, nil, "K=2,"); !slices.Equal(got, []string{"K=2,L=1", "K=2,L=2"}) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("K=2,: %q %d", got, dir)
	}
	one := CompleteEnum("s", vals, false)
	if got, dir := one(cmd, nil, "A,"); !slices.Equal(got, vals) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("single value: %q %d", got, dir)
	}
}

// TestSanitizeCompletions: a completion's value and description read from
// the vault show control characters escaped: an escape sequence in an
// imported certificate's name must not reach the terminal through the
// shell's menu, nor a tab or line feed make a candidate of its own.
func TestSanitizeCompletions(t *testing.T) {
	got := sanitizeCompletions([]string{
		"6dd0e78d\tevil\x1b[31mRED\x1b]0;pwned\a\x1b[2J.example.test",
		"7ee1f89e\ttwo\nlines\tand a tab",
		"key\x1b[2J=",
		"8ff2a9bf\tplain.example.test",
	})
	want := []string{
		`6dd0e78d` + "\t" + `evil\x1b[31mRED\x1b]0;pwned\x07\x1b[2J.example.test`,
		`7ee1f89e` + "\t" + `two\x0alines\x09and a tab`,
		`key\x1b[2J=`,
		"8ff2a9bf\tplain.example.test",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

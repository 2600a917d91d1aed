package root

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
)

func testFactory() *cmdutil.Factory {
	io, _, _, _ := iostreams.Test()
	return cmdutil.New(io, "test")
}

// TestStubsMatchCommands: each stub says what its built command says in
// the root's help (name, group, short help), and the table lists every
// top-level command once.
func TestStubsMatchCommands(t *testing.T) {
	full := NewCmdRoot(testFactory())
	if got, want := len(full.Commands()), len(commands); got != want {
		t.Fatalf("the whole tree has %d top-level commands, the table %d", got, want)
	}
	for _, e := range commands {
		c, _, err := full.Find([]string{e.name})
		if err != nil || c == full {
			t.Errorf("%s: not in the whole tree (%v)", e.name, err)
			continue
		}
		s := e.stub()
		s.GroupID = e.group
		if c.Name() != s.Name() || c.GroupID != s.GroupID || c.Short != s.Short ||
			len(c.Aliases) != 0 || len(c.SuggestFor) != 0 || c.Hidden || c.Deprecated != "" {
			t.Errorf("stub of %s differs from the command: update its entry in commands to\n{%q, %q, %q, …}",
				e.name, c.Name(), c.GroupID, c.Short)
		}
		if c.Annotations[stubAnnotation] != "" {
			t.Errorf("%s: NewCmdRoot holds a stub", e.name)
		}
	}
}

// TestRootForBuildsOnlyTheCommandThatRuns counts the top-level commands built
// for each command line: none for --version and --help, the one that runs
// for a command, all of them where the whole tree is needed.
func TestRootForBuildsOnlyTheCommandThatRuns(t *testing.T) {
	var built []string
	saved := slices.Clone(commands)
	t.Cleanup(func() { commands = saved })
	for i := range commands {
		e := commands[i]
		commands[i].build = func(f *cmdutil.Factory) *cobra.Command {
			built = append(built, e.name)
			return e.build(f)
		}
	}
	all := len(commands)
	for _, tc := range []struct {
		args []string
		want []string // nil: every command
	}{
		{[]string{"--version"}, []string{}},
		{[]string{"--help"}, []string{}},
		{[]string{}, []string{}},
		{[]string{"-q", "--no-color", "--version"}, []string{}},
		{[]string{"--vault", "/tmp/v", "-o", "json", "--help"}, []string{}},
		{[]string{"--help", "list"}, []string{}}, // cobra reads list as --help's value: the root's help
		{[]string{"list"}, []string{"list"}},
		{[]string{"--vault", "/tmp/v", "-o", "json", "list", "--help"}, []string{"list"}},
		{[]string{"--output=json", "ca", "issue", "--help"}, []string{"ca"}},
		{[]string{"completion", "bash"}, []string{"completion"}},
		{[]string{"help", "ca"}, nil},
		{[]string{"__complete", "ca", "i"}, nil},
		{[]string{"bogus"}, nil},
	} {
		built = built[:0]
		cmd := NewCmdRootFor(testFactory(), tc.args)
		if tc.want == nil {
			if len(built) != all {
				t.Errorf("%q: built %d commands, want all %d", tc.args, len(built), all)
			}
		} else if !slices.Equal(built, tc.want) {
			t.Errorf("%q: built %q, want %q", tc.args, built, tc.want)
		}
		stubs := 0
		for _, c := range cmd.Commands() {
			if c.Annotations[stubAnnotation] != "" {
				stubs++
			}
		}
		if stubs+len(built) != all || len(cmd.Commands()) != all {
			t.Errorf("%q: %d stubs and %d built commands among %d, want %d in all", tc.args, stubs, len(built), len(cmd.Commands()), all)
		}
	}
}

// TestIssuingPathsExist: each path of issuing names a command of the tree
// (a renamed command would otherwise drop out of the list unnoticed, and
// take refused issuance settings as a warning), and issues classes a few
// commands as the list means.
func TestIssuingPathsExist(t *testing.T) {
	full := NewCmdRoot(testFactory())
	for _, p := range issuing {
		c, rest, err := full.Find(strings.Fields(p))
		if err != nil || len(rest) != 0 || c.CommandPath() != full.Name()+" "+p {
			t.Errorf("issuing names %q, which is no command (%v)", p, err)
		}
	}
	for path, want := range map[string]bool{"ca create": true, "ca list": false, "validate check": true,
		"endpoint domain add": true, "endpoint domain list": false, "vault backup": false, "request": true} {
		c, _, err := full.Find(strings.Fields(path))
		if err != nil {
			t.Fatal(err)
		}
		if got := issues(c); got != want {
			t.Errorf("issues(%s) = %v, want %v", path, got, want)
		}
	}
}

package root_test

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/root"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// run runs certctl with args as main does and returns its exit code and
// output.
func run(t *testing.T, args ...string) (errs.ExitCode, string, string) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	code := app.Run(context.Background(), cmdutil.New(io, "test"), args)
	return code, out.String(), errOut.String()
}

// groups is every command of the whole tree that has subcommands, by path
// without the program's name (the root is the empty path).
func groups(c *cobra.Command, path []string, out *[][]string) {
	if !c.HasSubCommands() {
		return
	}
	*out = append(*out, path)
	for _, sub := range c.Commands() {
		if sub.Name() != "help" {
			groups(sub, append(append([]string{}, path...), sub.Name()), out)
		}
	}
}

// TestGroupsRefuseUnknownCommands walks the whole command tree: every
// group, given a word that names none of its subcommands, is a usage
// error (exit 2) naming that word — never its help with exit 0, which a
// cron job's mistyped `vault verify` would take for success — also when a
// flag of the intended subcommand follows; and a word one letter off a
// subcommand is answered with that subcommand.
func TestGroupsRefuseUnknownCommands(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", home+"/data")
	t.Setenv("XDG_CONFIG_HOME", home+"/config")
	var all [][]string
	groups(root.NewCmdRoot(cmdutil.New(func() *iostreams.IOStreams { io, _, _, _ := iostreams.Test(); return io }(), "test")), nil, &all)
	if len(all) < 10 {
		t.Fatalf("found %d groups, want the root, ca, vault, endpoint, … (%q)", len(all), all)
	}
	full := root.NewCmdRoot(cmdutil.New(func() *iostreams.IOStreams { io, _, _, _ := iostreams.Test(); return io }(), "test"))
	for _, path := range all {
		name := strings.TrimSpace("certctl " + strings.Join(path, " "))
		for _, tail := range [][]string{{"frobnicate"}, {"frobnicate", "--no-such-flag", "x"}} {
			args := append(append([]string{}, path...), tail...)
			code, stdout, stderr := run(t, args...)
			if code != errs.ExitUsage || stdout != "" ||
				!strings.Contains(stderr, `unknown command "frobnicate" for `+name) {
				t.Errorf("certctl %s: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, unknown command",
					strings.Join(args, " "), code, stdout, stderr)
			}
		}
		// Alone: its help on stderr, and a usage error (tester: `certctl
		// ca "$SUB"` with SUB empty printed help and exited 0).
		if code, stdout, stderr := run(t, path...); code != errs.ExitUsage || stdout != "" ||
			!strings.Contains(stderr, `--help" for more information`) || !strings.Contains(stderr, "missing command") {
			t.Errorf("%s alone: exit %d, stdout %q, stderr %q; want exit 2, its help on stderr", name, code, stdout, stderr)
		}
		group, _, err := full.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range group.Commands() {
			if !sub.IsAvailableCommand() || len(sub.Name()) < 4 {
				continue
			}
			typo := sub.Name()[:1] + sub.Name()[2:] // a letter left out
			args := append(append([]string{}, path...), typo)
			code, _, stderr := run(t, args...)
			if code != errs.ExitUsage || !strings.Contains(stderr, "did you mean") || !strings.Contains(stderr, sub.Name()) {
				t.Errorf("certctl %s: exit %d, stderr %q; want exit 2 and did you mean %s", strings.Join(args, " "), code, stderr, sub.Name())
			}
		}
	}
}

// TestHabitNamesNameCommands: every AWS CLI or shell word that UnknownCommand
// answers with a certctl command names one that exists, under its group.
func TestHabitNamesNameCommands(t *testing.T) {
	full := root.NewCmdRoot(cmdutil.New(func() *iostreams.IOStreams { io, _, _, _ := iostreams.Test(); return io }(), "test"))
	full.InitDefaultVersionFlag()
	for path, words := range cmdutil.HabitNames() {
		group, _, err := full.Find(strings.Fields(path)[1:])
		if err != nil || group.CommandPath() != path {
			t.Errorf("%s: no such group (%v)", path, err)
			continue
		}
		for word, target := range words {
			if flag, ok := strings.CutPrefix(target, "--"); ok {
				if full.Flags().Lookup(flag) == nil && full.PersistentFlags().Lookup(flag) == nil {
					t.Errorf("%s %s: %s is no flag", path, word, target)
				}
				continue
			}
			if c, _, err := group.Find(strings.Fields(target)); err != nil || c == group || c.Name() != strings.Fields(target)[len(strings.Fields(target))-1] {
				t.Errorf("%s %s: %q names no command (%v)", path, word, target, err)
			}
		}
	}
}

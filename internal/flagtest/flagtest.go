// Package flagtest runs a command's flag layer without running the command:
// it builds the command with a runF that captures the options, executes it
// with the given arguments and returns what was captured. It is the first of
// the three layers of command tests (flags → options).
package flagtest

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
)

// Parse builds a command with build, runs its flag layer on args and
// returns the options runF received (nil when the flag layer refused the
// arguments, with its error).
func Parse[O any](t testing.TB, build func(*cmdutil.Factory, func(*O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.New(ios, "test")
	var got *O
	cmd := build(f, func(o *O) error { got = o; return nil })
	if cmd.PersistentPreRunE == nil {
		// As the root checks every command's flags before it runs.
		cmd.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return cmdutil.CheckPathFlags(c) }
	}
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err := cmd.Execute()
	return got, err
}

package gendocs

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// run runs certctl with args through app.Run over buffers and returns its
// exit code, stdout and stderr. The environment is env plus HOME and XDG
// directories inside a temporary directory, so that nothing touches the
// user's vault or config.
func run(t *testing.T, env map[string]string, args ...string) (errs.ExitCode, string, string) {
	t.Helper()
	home := t.TempDir()
	vars := map[string]string{
		"HOME":            home,
		"XDG_DATA_HOME":   filepath.Join(home, "data"),
		"XDG_CONFIG_HOME": filepath.Join(home, "config"),
		"XDG_STATE_HOME":  filepath.Join(home, "state"),
		"XDG_CACHE_HOME":  filepath.Join(home, "cache"),
	}
	for k, v := range env {
		vars[k] = v
	}
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.New(ios, "test")
	f.Getenv = func(k string) string { return vars[k] }
	code := app.Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

// commands lists every command of the tree but help (and completion's
// children, if it ever gets any), parents before children.
func commands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" && c.HasParent() {
			return
		}
		out = append(out, c)
		if c.Name() == "completion" && c.HasParent() {
			return
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
	return out
}

// path is a command's path without the root's name: the args reaching it.
func path(c *cobra.Command) []string {
	return strings.Fields(c.CommandPath())[1:]
}

func TestEveryCommandHelpRenders(t *testing.T) {
	for _, c := range commands(Tree()) {
		if c.Hidden {
			continue
		}
		args := append(path(c), "--help")
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := run(t, nil, args...)
			if code != errs.ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, c.CommandPath()) {
				t.Errorf("help lacks Usage or %q:\n%s", c.CommandPath(), out)
			}
			if errOut != "" {
				t.Errorf("help wrote to stderr: %s", errOut)
			}
		})
	}
}

// TestHelpTexts checks that every available command has a Short text and
// every leaf command's Long text has an EXIT STATUS section (STYLE: "Each
// command's long help has an EXIT STATUS section").
func TestHelpTexts(t *testing.T) {
	var noShort, noExit []string
	for _, c := range commands(Tree()) {
		if !c.IsAvailableCommand() && c.HasParent() {
			continue
		}
		if strings.TrimSpace(c.Short) == "" {
			noShort = append(noShort, c.CommandPath())
		}
		if !c.HasAvailableSubCommands() && !strings.Contains(c.Long, "EXIT STATUS") {
			noExit = append(noExit, c.CommandPath())
		}
	}
	if len(noShort) > 0 {
		t.Errorf("commands without a Short text: %s", strings.Join(noShort, ", "))
	}
	if len(noExit) > 0 {
		t.Errorf("leaf commands whose Long text lacks an EXIT STATUS section: %s", strings.Join(noExit, ", "))
	}
}

// TestHelpTextsCheckFindsOffenders makes sure the walk above does reach leaf
// commands: a leaf without EXIT STATUS added to the tree is seen.
func TestHelpTextsCheckFindsOffenders(t *testing.T) {
	root := Tree()
	bad := &cobra.Command{Use: "bad", Short: "x", Long: "no section", Run: func(*cobra.Command, []string) {}}
	group := &cobra.Command{Use: "grp", Short: "group"}
	group.AddCommand(bad)
	root.AddCommand(group)
	found := false
	for _, c := range commands(root) {
		if c == bad && c.IsAvailableCommand() && !c.HasAvailableSubCommands() && !strings.Contains(c.Long, "EXIT STATUS") {
			found = true
		}
	}
	if !found {
		t.Error("a nested leaf without EXIT STATUS is not visited")
	}
}

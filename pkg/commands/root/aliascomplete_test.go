package root_test

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/root"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TestAliasFlagsCompleteAsPositional walks the whole command tree: every
// hidden alias of a positional identifier (--certificate-arn,
// --certificate-authority-arn, as the AWS CLI spells them) completes what
// the positional argument completes (tester: `describe --certificate-arn
// <TAB>` offered nothing on ten commands).
func TestAliasFlagsCompleteAsPositional(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("alias.internal")
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	e.ImportNamed("imported.example.test")
	io, _, _, _ := iostreams.Test()
	tree := root.NewCmdRoot(cmdutil.New(io, "test"))
	var checked []string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
		if c.ValidArgsFunction == nil {
			return
		}
		for _, name := range []string{"certificate-arn", "certificate-authority-arn"} {
			fl := c.Flags().Lookup(name)
			if fl == nil || !fl.Hidden {
				continue
			}
			positional := e.MustRun(append(append([]string{"__complete"}, path...), "")...).Stdout
			viaFlag := e.MustRun(append(append([]string{"__complete"}, path...), "--"+name, "")...).Stdout
			if viaFlag != positional {
				t.Errorf("certctl %s --%s completes\n%q\nthe positional argument\n%q", strings.Join(path, " "), name, viaFlag, positional)
			}
			checked = append(checked, strings.Join(path, " "))
		}
	}
	walk(tree, nil)
	if len(checked) < 15 {
		t.Fatalf("checked %d commands (%q): the walk missed the aliases", len(checked), checked)
	}
	// And they offer something: the certificate, the default CA.
	if out := e.MustRun("__complete", "describe", "--certificate-arn", "").Stdout; !strings.Contains(out, id) {
		t.Errorf("describe --certificate-arn completes %q, not %s", out, id)
	}
	if out := e.MustRun("__complete", "ca", "describe", "--certificate-authority-arn", "").Stdout; !strings.Contains(out, "default") {
		t.Errorf("ca describe --certificate-authority-arn completes %q", out)
	}
}

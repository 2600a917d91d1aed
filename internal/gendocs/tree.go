package gendocs

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/root"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TreeVersion is the version the documented tree is built with. Its value
// never appears in the output, but a non-empty version gives the root its
// --version flag, as in a release build.
const TreeVersion = "dev"

// Tree builds certctl's command tree over in-memory streams and an empty
// environment, so that neither the caller's terminal nor its CERTCTL_*
// variables change the output, and nothing can touch a real vault.
func Tree() *cobra.Command {
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.New(ios, TreeVersion)
	f.Getenv = func(string) string { return "" }
	f.Now = func() time.Time { return Date }
	return root.NewCmdRoot(f)
}

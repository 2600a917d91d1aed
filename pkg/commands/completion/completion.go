// Package completion implements `certctl completion`.
package completion

import (
	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
)

// NewCmdCompletion builds `certctl completion bash|zsh|fish|powershell`.
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the completion script of a shell. It completes commands, flags, enumerated
flag values and the certificate IDs of your vault (without unlocking it).

  bash:        source <(certctl completion bash)
               or: certctl completion bash > /etc/bash_completion.d/certctl
               (needs the bash-completion package: apt install bash-completion)
  zsh:         certctl completion zsh > "${fpath[1]}/_certctl"
  fish:        certctl completion fish > ~/.config/fish/completions/certctl.fish
  powershell:  certctl completion powershell | Out-String | Invoke-Expression` + cmdutil.ExitStatus(0, 2),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cmdutil.ExactArgs(1, "SHELL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			if err := p.RefuseQuery("a completion script"); err != nil {
				return err
			}
			if o := f.Globals.Output; o == "json" || o == "yaml" {
				// Not the script printed as if -o were not given (tester).
				return errs.UsageErrorf("-o %s does not apply to a completion script, which is shell code", o)
			}
			root := cmd.Root()
			out := f.IO.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return errs.UsageErrorf("unknown shell %q (use bash, zsh, fish or powershell)", args[0])
		},
	}
}

// Package root builds certctl's command tree.
package root

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
)

const longHelp = `certctl keeps your certificates, their private keys and private certificate
authorities in a local vault — what AWS Certificate Manager, AWS Private CA and ACM's
ACME endpoints give an AWS account, on one machine, offline. Point several machines
at one PostgreSQL database (--store postgres://…) and a team shares it.

The vault is created on first use in ${XDG_DATA_HOME:-~/.local/share}/certctl
(--vault or CERTCTL_VAULT to choose another). Private keys are sealed with
AES-256-GCM under the vault's master key and are never printed in clear.

GETTING STARTED
  Issue a certificate from the vault's default private CA and export it with its key
  (in bash or zsh):
    certctl export "$(certctl request --domain-name app.internal \
        --certificate-authority-arn default -o text)" --passphrase-file <(echo change-me) --out-dir ./tls
  certctl ca trust-bundle prints the roots your clients should trust.

A TOUR
  certctl request --domain-name www.example.com --validation-method DNS   # domain-validated
  certctl describe 3f2a1b --validation-records bind   # 3f2a1b: an ARN, a UUID or a 6+ prefix
  certctl import --certificate cert.pem --private-key key.pem --certificate-chain chain.pem
  certctl list --expiring-within 30d -o text          # one tab-separated line each, for awk
  certctl search 'san:*.example.com status:ISSUED tag:env=prod'
  certctl deploy 3f2a1b --cert-file app.crt --key-file app.key --exec 'systemctl reload nginx'
  certctl revoke 3f2a1b --revocation-reason SUPERSEDED && certctl ca crl default
  certctl ca create --type ROOT --key-algorithm EC_secp384r1 --subject "CN=Example Root"
  certctl endpoint create --authorization-behavior PRE_APPROVED --contact NOT_REQUIRED
  certctl dashboard

RENEWAL
  certctl renew --due renews every eligible certificate (exported or deployed) inside its
  window (60 days before expiry, at most a third of its lifetime), redeploys it and runs
  its hooks. Run it from cron:
    */15 * * * * /usr/local/bin/certctl renew --due -q
  or from the systemd timer shipped in contrib/systemd (certctl-renew.timer). Exit 7
  means some renewal or deployment failed: its report says which; certctl events keeps
  them (Certificate Renewal Action Required), certctl dashboard lists failed renewals.

OUTPUT AND SETTINGS
  -o table|json|yaml|text (table on a terminal, JSON otherwise; text is tab-separated)
  and --query JMESPATH, as in the AWS CLI. Flags override CERTCTL_<KEY> environment
  variables, which override ${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml; see
  certctl config list.

EXIT STATUS
  0 success · 1 unexpected failure · 2 usage error · 3 not found · 4 invalid input
  5 refused by state or rule · 6 vault unavailable · 7 partial failure in a batch
  8 timed out waiting · 130/143 interrupted (SIGINT/SIGTERM; a batch exits 7)`

// NewCmdRoot builds the whole command tree (man pages, shell completion,
// help topics). certctl itself runs NewCmdRootFor, which builds only the
// command that runs.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	return newRoot(f, nil)
}

// newRoot builds the root command and, for each top-level command, either
// the whole command (stubs == nil or !stubs[name]) or its stub.
func newRoot(f *cmdutil.Factory, stubs map[string]bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "certctl <command> [flags]",
		Short:             "Certificate lifecycle in a local vault: inventory, private CA, ACME",
		Long:              longHelp,
		Version:           f.Version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		Args:              cmdutil.GroupArgs,
		RunE:              cmdutil.GroupRunE,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	cmd.SetVersionTemplate("certctl {{.Version}}\n")
	cmd.SetFlagErrorFunc(cmdutil.FlagError)

	pf := cmd.PersistentFlags()
	pf.String("vault", "", "vault `directory` (env CERTCTL_VAULT)")
	pf.String("store", "", "store `URL`: postgres://… or sqlite:PATH (env CERTCTL_STORE; default: the embedded SQLite database in the vault)")
	pf.StringVar(&f.Globals.ConfigFile, "config", "", "config `file` (default ${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml)")
	pf.StringVarP(&f.Globals.Output, "output", "o", "", "output `format`: table, json, yaml or text (default table on a terminal, json otherwise)")
	pf.StringVar(&f.Globals.Query, "query", "", "JMESPath `expression` applied to the JSON form of the output")
	pf.BoolVar(&f.Globals.NoColor, "no-color", false, "disable colour (also NO_COLOR)")
	pf.BoolVarP(&f.Globals.Quiet, "quiet", "q", false, "print only errors and the essential result")
	pf.String("region", "", "region part of ARNs (default local)")
	pf.String("account", "", "account part of ARNs (default 000000000000)")
	pf.StringVar(&f.Globals.VaultPassphraseFile, "vault-passphrase-file", "", "`file` whose first line is the vault passphrase (or the passphrase itself in env CERTCTL_VAULT_PASSPHRASE; asked for at a terminal when neither is given)")
	f.Globals.ConfigFlags = map[string]*pflag.Flag{
		"vault":   pf.Lookup("vault"),
		"store":   pf.Lookup("store"),
		"region":  pf.Lookup("region"),
		"account": pf.Lookup("account"),
	}
	cmdutil.EnumCompletion(cmd, "output", output.Formats)
	_ = cmd.MarkPersistentFlagDirname("vault")
	_ = cmd.MarkPersistentFlagFilename("vault-passphrase-file")
	_ = cmd.MarkPersistentFlagFilename("config")
	cmdutil.MarkNonEmpty(pf, "config", "the default config file")
	cmdutil.MarkNonEmpty(pf, "output", "table on a terminal, json otherwise") // as the AWS CLI refuses --output "" (tester)
	cmdutil.MarkNonEmpty(pf, "store", "CERTCTL_STORE, else the vault's embedded database; --store sqlite: is that database whatever CERTCTL_STORE says")

	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		f.NotIssuing = c != c.Root() && !issues(c)
		if f.Globals.NoColor {
			f.IO.SetColorEnabled(false)
		}
		if f.Globals.Output != "" && !output.ValidFormat(f.Globals.Output) {
			_, err := f.Printer()
			return err
		}
		cmdutil.WarnTagFlags(c, f.IO)
		if err := cmdutil.CheckPathFlags(c); err != nil {
			return err
		}
		return cmdutil.CheckOutputPaths(c, f.VaultDir)
	}

	cmd.AddGroup(
		&cobra.Group{ID: "certs", Title: "Certificates:"},
		&cobra.Group{ID: "ops", Title: "Renewal and operations:"},
		&cobra.Group{ID: "pki", Title: "Certificate authorities:"},
		&cobra.Group{ID: "settings", Title: "Settings and shell:"},
	)
	for _, e := range commands {
		var c *cobra.Command
		if stubs[e.name] {
			c = e.stub()
		} else {
			c = e.build(f)
		}
		c.GroupID = e.group
		cmd.AddCommand(c)
	}
	cmd.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help about any command: certctl help <command> [subcommand].",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			target, _, err := c.Root().Find(args)
			if err != nil || target == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return errs.UsageErrorf("unknown help topic %q", strings.Join(args, " "))
			}
			return target.Help()
		},
	})
	cmd.SetHelpCommandGroupID("settings")
	return cmd
}

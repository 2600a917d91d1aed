// Package root builds certctl's command tree.
package root

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/accountconfig"
	cacmd "github.com/certctl/certctl/pkg/commands/ca"
	"github.com/certctl/certctl/pkg/commands/completion"
	configcmd "github.com/certctl/certctl/pkg/commands/config"
	"github.com/certctl/certctl/pkg/commands/dashboard"
	"github.com/certctl/certctl/pkg/commands/deletecmd"
	"github.com/certctl/certctl/pkg/commands/deploy"
	"github.com/certctl/certctl/pkg/commands/describe"
	endpointcmd "github.com/certctl/certctl/pkg/commands/endpoint"
	eventscmd "github.com/certctl/certctl/pkg/commands/events"
	"github.com/certctl/certctl/pkg/commands/export"
	"github.com/certctl/certctl/pkg/commands/imports"
	"github.com/certctl/certctl/pkg/commands/list"
	metricscmd "github.com/certctl/certctl/pkg/commands/metrics"
	"github.com/certctl/certctl/pkg/commands/renew"
	"github.com/certctl/certctl/pkg/commands/request"
	"github.com/certctl/certctl/pkg/commands/revoke"
	searchcmd "github.com/certctl/certctl/pkg/commands/search"
	"github.com/certctl/certctl/pkg/commands/tags"
	validatecmd "github.com/certctl/certctl/pkg/commands/validate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
)

const longHelp = `certctl keeps your certificates, their private keys and a private certificate
authority in a local vault — what AWS Certificate Manager and AWS Private CA give an
AWS account, on one machine, offline. Point several machines at one database and a
team shares it.

The vault is created on first use in ${XDG_DATA_HOME:-~/.local/share}/certctl
(--vault or CERTCTL_VAULT to choose another). Private keys are sealed with
AES-256-GCM under the vault's master key and are never printed in clear.

Output is a table on a terminal and JSON in a pipe; choose with -o
table|json|yaml|text, and filter the JSON form with --query (JMESPath, as in the
AWS CLI). Identifiers are ARNs; a bare UUID or a unique prefix of 6 or more
characters works wherever an ARN is taken.

A TOUR
  certctl request --domain-name app.internal --certificate-authority-arn default
  certctl export 3f2a1b --passphrase-file pass.txt --out-dir ./tls   # 3f2a1b: an ARN prefix
  certctl ca trust-bundle > roots.pem            # what clients should trust
  certctl import --certificate cert.pem --private-key key.pem --certificate-chain chain.pem
  certctl list                                   # the inventory; -o text for scripts
  certctl list --expiring-within 30d --query 'CertificateSummaryList[].DomainName'
  certctl describe 3f2a1b --versions
  certctl tags add 3f2a1b --tags env=prod
  certctl revoke 3f2a1b --revocation-reason SUPERSEDED
  certctl ca crl default | openssl crl -text -noout

SETTINGS
  Flags override CERTCTL_<KEY> environment variables, which override the config
  file ${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml; see ` + "`certctl config list`" + `.` + `

EXIT STATUS
  0 success · 1 unexpected failure · 2 usage error · 3 not found · 4 invalid input
  5 refused by state or rule · 6 vault unavailable · 7 partial failure in a batch
  8 timed out waiting`

// NewCmdRoot builds the whole command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "certctl <command> [flags]",
		Short:             "Certificate lifecycle in a local vault: inventory, private CA, ACME",
		Long:              longHelp,
		Version:           f.Version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return errs.UsageErrorf("unknown command %q for certctl", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	cmd.SetVersionTemplate("certctl {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errs.UsageErrorf("%v", err)
	})

	pf := cmd.PersistentFlags()
	pf.String("vault", "", "vault `directory` (env CERTCTL_VAULT)")
	pf.String("store", "", "store `URL` (default: the embedded SQLite database in the vault)")
	pf.StringVar(&f.Globals.ConfigFile, "config", "", "config `file` (default ${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml)")
	pf.StringVarP(&f.Globals.Output, "output", "o", "", "output `format`: table, json, yaml or text (default table on a terminal, json otherwise)")
	pf.StringVar(&f.Globals.Query, "query", "", "JMESPath `expression` applied to the JSON form of the output")
	pf.BoolVar(&f.Globals.NoColor, "no-color", false, "disable colour (also NO_COLOR)")
	pf.BoolVarP(&f.Globals.Quiet, "quiet", "q", false, "print only errors and the essential result")
	pf.String("region", "", "region part of ARNs (default local)")
	pf.String("account", "", "account part of ARNs (default 000000000000)")
	pf.StringVar(&f.Globals.VaultPassphraseFile, "vault-passphrase-file", "", "`file` holding the vault passphrase (env CERTCTL_VAULT_PASSPHRASE)")
	f.Globals.ConfigFlags = map[string]*pflag.Flag{
		"vault":   pf.Lookup("vault"),
		"store":   pf.Lookup("store"),
		"region":  pf.Lookup("region"),
		"account": pf.Lookup("account"),
	}
	cmdutil.EnumCompletion(cmd, "output", output.Formats)

	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if f.Globals.NoColor {
			f.IO.SetColorEnabled(false)
		}
		if f.Globals.Output != "" && !output.ValidFormat(f.Globals.Output) {
			_, err := f.Printer()
			return err
		}
		return nil
	}

	cmd.AddGroup(
		&cobra.Group{ID: "certs", Title: "Certificates:"},
		&cobra.Group{ID: "ops", Title: "Renewal and operations:"},
		&cobra.Group{ID: "pki", Title: "Certificate authorities:"},
		&cobra.Group{ID: "settings", Title: "Settings and shell:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			cmd.AddCommand(c)
		}
	}
	add("certs",
		request.NewCmdRequest(f, nil),
		export.NewCmdExport(f, nil),
		imports.NewCmdImport(f, nil),
		imports.NewCmdReimport(f, nil),
		describe.NewCmdDescribe(f, nil),
		list.NewCmdList(f, nil),
		searchcmd.NewCmdSearch(f),
		revoke.NewCmdRevoke(f, nil),
		deletecmd.NewCmdDelete(f, nil),
		tags.NewCmdTags(f),
		validatecmd.NewCmdValidate(f),
		validatecmd.NewCmdResendValidationEmail(f, nil),
	)
	add("ops",
		renew.NewCmdRenew(f, nil),
		deploy.NewCmdDeploy(f),
		eventscmd.NewCmdEvents(f),
		accountconfig.NewCmdAccountConfig(f),
		dashboard.NewCmdDashboard(f, nil),
		metricscmd.NewCmdMetrics(f, nil),
	)
	add("pki", cacmd.NewCmdCA(f), endpointcmd.NewCmdEndpoint(f))
	add("settings",
		configcmd.NewCmdConfig(f),
		completion.NewCmdCompletion(f),
	)
	cmd.SetHelpCommandGroupID("settings")
	return cmd
}

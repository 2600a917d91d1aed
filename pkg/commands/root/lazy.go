package root

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/accountconfig"
	auditcmd "github.com/certctl/certctl/pkg/commands/audit"
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
	"github.com/certctl/certctl/pkg/commands/updateoptions"
	validatecmd "github.com/certctl/certctl/pkg/commands/validate"
	vaultcmd "github.com/certctl/certctl/pkg/commands/vault"
	"github.com/certctl/certctl/pkg/errs"
)

// command is a top-level command: what the root's help lists about it
// (name, group, short help: its stub) and how to build it in full.
// TestStubsMatchCommands keeps the stubs equal to the built commands.
type command struct {
	name, group, short string
	build              func(f *cmdutil.Factory) *cobra.Command
}

// issuing are the commands (paths below the root; a group stands for all
// its subcommands) that issue, serve, check domains or mail validations —
// what the settings only issuance uses (config.IssuingKeys) go into: a
// refused value of one stops them, while every other command only warns
// (Factory.NotIssuing) — ca list, ca describe and endpoint list too
// (tester: refused, though they only read).
var issuing = []string{"request", "renew", "validate", "resend-validation-email",
	"ca create", "ca issue", "ca crl", "ca serve",
	"endpoint serve", "endpoint domain add", "endpoint domain check"}

// issues reports whether c is one of the issuing commands, or under one.
func issues(c *cobra.Command) bool {
	path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	for _, p := range issuing {
		if path == p || strings.HasPrefix(path, p+" ") {
			return true
		}
	}
	return false
}

// commands are certctl's top-level commands (the root's help sorts them).
var commands = []command{
	{"request", "certs", "Request a certificate: private (issued at once) or domain-validated",
		func(f *cmdutil.Factory) *cobra.Command { return request.NewCmdRequest(f, nil) }},
	{"export", "certs", "Export a certificate with its chain and encrypted private key",
		func(f *cmdutil.Factory) *cobra.Command { return export.NewCmdExport(f, nil) }},
	{"import", "certs", "Import a certificate and its private key",
		func(f *cmdutil.Factory) *cobra.Command { return imports.NewCmdImport(f, nil) }},
	{"reimport", "certs", "Replace an imported certificate, keeping its ARN and history",
		func(f *cmdutil.Factory) *cobra.Command { return imports.NewCmdReimport(f, nil) }},
	{"describe", "certs", "Show a certificate's details",
		func(f *cmdutil.Factory) *cobra.Command { return describe.NewCmdDescribe(f, nil) }},
	{"list", "certs", "List the certificates of the inventory",
		func(f *cmdutil.Factory) *cobra.Command { return list.NewCmdList(f, nil) }},
	{"search", "certs", "Search certificates by X.509 attributes and metadata",
		func(f *cmdutil.Factory) *cobra.Command { return searchcmd.NewCmdSearch(f, nil) }},
	{"revoke", "certs", "Revoke a certificate (permanent)",
		func(f *cmdutil.Factory) *cobra.Command { return revoke.NewCmdRevoke(f, nil) }},
	{"delete", "certs", "Delete a certificate, its versions and its private key",
		func(f *cmdutil.Factory) *cobra.Command { return deletecmd.NewCmdDelete(f, nil) }},
	{"tags", "certs", "Add, remove and list the tags of a certificate, CA or ACME endpoint",
		func(f *cmdutil.Factory) *cobra.Command { return tags.NewCmdTags(f) }},
	{"update-certificate-options", "certs", "Change a certificate's Export and certificate transparency options",
		func(f *cmdutil.Factory) *cobra.Command { return updateoptions.NewCmdUpdateOptions(f, nil) }},
	{"validate", "certs", "Check, serve and approve domain validations of ISSUED-type requests",
		func(f *cmdutil.Factory) *cobra.Command { return validatecmd.NewCmdValidate(f) }},
	{"resend-validation-email", "certs", "Send the validation email of a name again, with a new approval code",
		func(f *cmdutil.Factory) *cobra.Command { return validatecmd.NewCmdResendValidationEmail(f, nil) }},
	{"renew", "ops", "Renew a certificate now, or every certificate that is due (the cron job)",
		func(f *cmdutil.Factory) *cobra.Command { return renew.NewCmdRenew(f, nil) }},
	{"deploy", "ops", "Install a certificate and its key into files, and keep them renewed",
		func(f *cmdutil.Factory) *cobra.Command { return deploy.NewCmdDeploy(f, nil) }},
	{"events", "ops", "Show the event log (issuance, renewal, expiry, revocation)",
		func(f *cmdutil.Factory) *cobra.Command { return eventscmd.NewCmdEvents(f, nil) }},
	{"account-config", "ops", "Show or set vault-wide settings for expiry events",
		func(f *cmdutil.Factory) *cobra.Command { return accountconfig.NewCmdAccountConfig(f) }},
	{"dashboard", "ops", "Counts, a 13-week expiration timeline and the certificates needing action",
		func(f *cmdutil.Factory) *cobra.Command { return dashboard.NewCmdDashboard(f, nil) }},
	{"metrics", "ops", "Print expiry metrics in the Prometheus text format",
		func(f *cmdutil.Factory) *cobra.Command { return metricscmd.NewCmdMetrics(f, nil) }},
	{"audit", "ops", "Who changed what in the vault, and whether that record is whole",
		func(f *cmdutil.Factory) *cobra.Command { return auditcmd.NewCmdAudit(f) }},
	{"vault", "ops", "Back up, restore, verify, re-key and migrate the vault",
		func(f *cmdutil.Factory) *cobra.Command { return vaultcmd.NewCmdVault(f) }},
	{"ca", "pki", "Manage the vault's certificate authorities (private CA)",
		func(f *cmdutil.Factory) *cobra.Command { return cacmd.NewCmdCA(f) }},
	{"endpoint", "pki", "Manage ACME endpoints (RFC 8555) and serve them",
		func(f *cmdutil.Factory) *cobra.Command { return endpointcmd.NewCmdEndpoint(f) }},
	{"config", "settings", "Show and change settings",
		func(f *cmdutil.Factory) *cobra.Command { return configcmd.NewCmdConfig(f) }},
	{"completion", "settings", "Print a shell completion script",
		func(f *cmdutil.Factory) *cobra.Command { return completion.NewCmdCompletion(f) }},
}

// stubAnnotation marks a command that only stands for a top-level command
// in the root's help; NewCmdRootFor replaces it before it could run.
const stubAnnotation = "certctl:stub"

func (e command) stub() *cobra.Command {
	return &cobra.Command{
		Use:         e.name,
		Short:       e.short,
		Annotations: map[string]string{stubAnnotation: "true"},
		RunE: func(*cobra.Command, []string) error {
			return &errs.Error{Exit: errs.ExitFailure, Msg: "internal error: command " + e.name + " was not built"}
		},
	}
}

// NewCmdRootFor builds the root command for running certctl with args: the
// one top-level command args name is built in full, every other one is a
// stub carrying its name, group and short help (all the root's help shows).
// `certctl --version` and `certctl --help` build no command but the root.
// What needs the whole tree — help topics, shell completion (__complete),
// an unknown command (for its message) — gets it.
func NewCmdRootFor(f *cmdutil.Factory, args []string) *cobra.Command {
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		cmd := NewCmdRoot(f)
		noFileCompletions(cmd)
		plainUsages(cmd)
		return cmd
	}
	stubs := make(map[string]bool, len(commands))
	for _, e := range commands {
		stubs[e.name] = true
	}
	cmd := newRoot(f, stubs)
	// Find reads the args as cobra's Execute does (before it adds --help
	// and --version: `certctl --help list` is the root's help).
	target, rest, err := cmd.Find(args)
	switch {
	case err != nil || target == nil:
		return NewCmdRoot(f)
	case target == cmd:
		if hasPositional(cmd, rest) {
			return NewCmdRoot(f)
		}
		return cmd
	}
	for target.HasParent() && target.Parent() != cmd {
		target = target.Parent()
	}
	for _, e := range commands {
		if e.name == target.Name() && target.Annotations[stubAnnotation] != "" {
			cmd.RemoveCommand(target)
			c := e.build(f)
			c.GroupID = e.group
			cmd.AddCommand(c)
		}
	}
	return cmd
}

// hasPositional reports whether args, read as the root's flags would read
// them, hold an argument (a command name such as help or __complete) or "--".
func hasPositional(root *cobra.Command, args []string) bool {
	flags := root.Flags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return true
		case strings.HasPrefix(a, "--"):
			if fl := flags.Lookup(a[2:]); !strings.Contains(a, "=") && (fl == nil || fl.NoOptDefVal == "") {
				i++ // its value
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if fl := flags.ShorthandLookup(a[1:2]); len(a) == 2 && (fl == nil || fl.NoOptDefVal == "") {
				i++
			}
		default:
			return true
		}
	}
	return false
}

// plainUsages drops the backquotes that name a flag's value in its usage
// (`file`, for --help's "--config file"), throughout cmd's tree: shell
// completion shows a flag's usage as its description, as it is.
// noFileCompletions gives every flag that takes a value but not a file —
// no filename or directory mark, no completion of its own, and a value
// named other than a file, directory, path or command — a completion
// offering nothing, so that the shell does not list the directory's
// files for --query, --region or a duration (tester).
func noFileCompletions(cmd *cobra.Command) {
	visit := func(fl *pflag.Flag) {
		if fl.NoOptDefVal != "" {
			return // a switch: no value to complete
		}
		if _, ok := fl.Annotations[cobra.BashCompFilenameExt]; ok {
			return
		}
		if _, ok := fl.Annotations[cobra.BashCompSubdirsInDir]; ok {
			return
		}
		if _, ok := cmd.GetFlagCompletionFunc(fl.Name); ok {
			return
		}
		name, _ := pflag.UnquoteUsage(fl)
		for _, takesFiles := range []string{"file", "dir", "path", "command"} {
			if strings.Contains(strings.ToLower(name), takesFiles) {
				return
			}
		}
		_ = cmd.RegisterFlagCompletionFunc(fl.Name, cobra.NoFileCompletions)
	}
	cmd.LocalNonPersistentFlags().VisitAll(visit)
	cmd.PersistentFlags().VisitAll(visit)
	for _, c := range cmd.Commands() {
		noFileCompletions(c)
	}
}

func plainUsages(cmd *cobra.Command) {
	plain := func(fl *pflag.Flag) { _, fl.Usage = pflag.UnquoteUsage(fl) }
	cmd.LocalFlags().VisitAll(plain)
	cmd.PersistentFlags().VisitAll(plain)
	for _, c := range cmd.Commands() {
		plainUsages(c)
	}
}

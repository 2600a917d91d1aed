// Package deploy implements `certctl deploy`.
package deploy

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	dep "github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/renewals"
)

// DeployOptions are the inputs of deploy: its dependencies, as functions
// that tests replace, and its flag values.
type DeployOptions struct {
	Printer  func() (*output.Printer, error)
	Renewals func(context.Context) (*renewals.Service, error)

	ID string
	// Target are the files and the command, with absolute paths.
	Target dep.Target
}

// Output is deploy's JSON form.
type Output struct {
	CertificateArn string   `json:"CertificateArn"`
	InUseBy        []string `json:"InUseBy"`
}

// NewCmdDeploy builds `certctl deploy`.
func NewCmdDeploy(f *cmdutil.Factory, runF func(*DeployOptions) error) *cobra.Command {
	opts := &DeployOptions{Printer: f.Printer, Renewals: f.Renewals}
	var t dep.Target
	cmd := &cobra.Command{
		Use:   "deploy ARN --cert-file PATH --key-file PATH [--chain-file PATH] [--fullchain-file PATH] [--exec CMD]",
		Short: "Install a certificate and its key into files, and keep them renewed",
		Long: `Install the current version of a certificate where a server reads it, and record
the target: every later renewal rewrites the same files and runs --exec again.
Files are replaced atomically (a reader sees the old or the new file, never a
part); the key is written unencrypted with mode 0600, the others 0644. The
files change together: each new one is first written and synced beside its
path, and only then are they renamed into place, one after another (chain,
fullchain, key, certificate, so that a key matches the file it is read with
but for one rename). The renames are journalled in the vault directory: when
certctl is killed among them (kill -9, a power loss), its next install on this
host completes them first. Killed earlier, it leaves the files as they were
and the new ones' temp files beside them (.NAME.tmp-*, the key's holding the
plaintext key, 0600), which the next install of those files removes once they
are an hour old.

--exec runs with sh -c (within 2 minutes) after the files are written, with
CERTCTL_CERTIFICATE_ARN, CERTCTL_CERT_FILE, CERTCTL_KEY_FILE, CERTCTL_CHAIN_FILE
and CERTCTL_FULLCHAIN_FILE in its environment — e.g. "systemctl reload nginx".
When it fails (exit 1), the target is still recorded and every
` + "`renew --due`" + ` pass installs it and runs the command again until it succeeds.

The target belongs to this host: its identity is kept in the vault directory
(host.id, created on first use; host.name, default the system's host name, is
shown in InUseBy as "file:PATH (host NAME)"), and on a PostgreSQL store shared
by many hosts only this host installs it again. A host installs only what
its own vault proves: a version whose certificate (and chain) parses, whose
certificate is of the key sealed under that version's own reference, and —
at renewals — never a certificate older than the one it installed there (a
store restored from an older backup, or a version put into the database:
the target is reported FAILED, exit 7, until the certificate is renewed or
deploy installs it again here). It records what it installed (host.targets:
version and SHA-256 fingerprint), so a restored store's renewal that reuses
an installed version number is installed too. Installs of one host are
serialised (host.deploy.lock): two passes at once run a command once.
--exec needs this host's
hooks.allow_exec (default: true for a local SQLite vault, false on a shared
PostgreSQL store; exit 5 when off): enable it with
` + "`certctl config set hooks.allow_exec true`" + ` or CERTCTL_HOOKS_ALLOW_EXEC=true.

A deployed certificate is in use (InUseBy), which makes it eligible for
managed renewal and protects it from ` + "`certctl delete`" + ` without --force.` + cmdutil.ExitStatus(0, 1, 2, 3, 4, 5, 6),
		Example: `  certctl deploy 3f2a1b9c --cert-file /etc/nginx/tls/app.crt --key-file /etc/nginx/tls/app.key \
      --fullchain-file /etc/nginx/tls/app-fullchain.crt --exec 'systemctl reload nginx'`,
		Args:              cmdutil.ExactArgs(1, "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if t.CertFile == "" || t.KeyFile == "" {
				return errs.UsageErrorf("--cert-file and --key-file are required")
			}
			nt, err := t.Normalize()
			if err != nil {
				return errs.Invalidf("%v", err)
			}
			opts.ID, opts.Target = args[0], nt
			if runF != nil {
				return runF(opts)
			}
			return runDeploy(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&t.CertFile, "cert-file", "", "certificate `path`")
	fl.StringVar(&t.KeyFile, "key-file", "", "private key `path` (written 0600, unencrypted)")
	fl.StringVar(&t.ChainFile, "chain-file", "", "chain `path`")
	fl.StringVar(&t.FullchainFile, "fullchain-file", "", "certificate+chain `path`")
	fl.StringVar(&t.Exec, "exec", "", "`command` to run after installing (and after each renewal)")
	for _, n := range []string{"cert-file", "key-file", "chain-file", "fullchain-file"} {
		cmdutil.MarkOutputFile(cmd, n)
	}
	return cmd
}

func runDeploy(ctx context.Context, o *DeployOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Renewals(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Deploy(ctx, o.ID, o.Target)
	if err != nil {
		return err
	}
	out := Output{CertificateArn: res.CertificateArn, InUseBy: res.InUseBy}
	return p.Print(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{"Deployed", out.CertificateArn}, {"In use by", strings.Join(out.InUseBy, ", ")}}}
		},
		Records: func() [][]string { return [][]string{{out.CertificateArn, strings.Join(out.InUseBy, ",")}} },
	})
}

// Package deploy implements `certctl deploy`.
package deploy

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	dep "github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/renewals"
)

// DeployOptions are the inputs of deploy: its dependencies, as functions
// that tests replace, and its flag values.
type DeployOptions struct {
	Printer  func() (*output.Printer, error)
	Renewals func(context.Context) (*renewals.Service, error)
	IO       *iostreams.IOStreams

	ID string
	// Target are the files and the command, with absolute paths.
	Target dep.Target
	// Remove: stop deploying to the target at Target.CertFile (of this
	// host, or of Host: a host's ID or name) rather than install it.
	Remove bool
	Host   string
}

// Output is deploy's JSON form.
type Output struct {
	CertificateArn string `json:"CertificateArn"`
	// Removed are the targets that --remove removed.
	Removed []RemovedTarget `json:"Removed,omitempty"`
	InUseBy []string        `json:"InUseBy"`
}

// RemovedTarget is a target that --remove removed: its InUseBy label, as
// it was, and its host's ID (omitted for a target recorded before targets
// had hosts).
type RemovedTarget struct {
	Target string `json:"Target"`
	Host   string `json:"Host,omitempty"`
}

// NewCmdDeploy builds `certctl deploy`.
func NewCmdDeploy(f *cmdutil.Factory, runF func(*DeployOptions) error) *cobra.Command {
	opts := &DeployOptions{Printer: f.Printer, Renewals: f.Renewals, IO: f.IO}
	var t dep.Target
	cmd := &cobra.Command{
		Use:   "deploy ARN --cert-file PATH --key-file PATH [--chain-file PATH] [--fullchain-file PATH] [--exec CMD] | --remove --cert-file PATH [--host NAME|ID]",
		Short: "Install a certificate and its key into files, and keep them renewed",
		Long: `Install the current version of a certificate where a server reads it, and record
the target: every later renewal rewrites the same files and runs --exec again.
Like ACM's integrated services, which install a certificate that cannot be
exported into a load balancer, deploy writes the key whatever the certificate's
Export option (Export=DISABLED refuses certctl export, not deploy); the audit
log records each target's files (DeployCertificate).
Files are replaced atomically (a reader sees the old or the new file, never a
part); a new key file is written unencrypted with mode 0600, the others 0644,
and a file replaced keeps its owner, group and mode (a key that others could
read becomes 0600), as a service reading it as its own user or group needs —
but not in a directory every user may write, where another user could have
made it beforehand; there, as everywhere, a link another user could have made
is not followed (exit 4). A target file is a regular file, or none yet: the
standard output, a device, a named pipe or a descriptor of the process
(/dev/stdout, /dev/stderr, /dev/null) is refused (exit 4) — every renewal
replaces the files; certctl export prints a certificate and its key.
The files change together: each new one is first written and synced beside its
path, and only then are they renamed into place, one after another (chain,
fullchain, key, certificate, so that a key matches the file it is read with
but for one rename). The renames are journalled in the vault directory: when
certctl is killed among them (kill -9, a power loss), its next install on this
host completes them first. Killed earlier, it leaves the files as they were
and the new ones' temp files beside them (.NAME.tmp-*, the key's holding the
plaintext key, 0600), which the next install of those files removes once they
are an hour old.

--exec runs with sh -c (within 2 minutes) after the files are written. It
runs in the directory /, whether certctl runs from a shell, cron or a
systemd timer, so that every renewal runs it as the deploy did: name a script
by its absolute path. One named by a relative path (./reload.sh, sh
reload.sh) is refused, and a target recorded with one by an earlier release
is not run (its renewal fails, saying so). It has
CERTCTL_CERTIFICATE_ARN, CERTCTL_CERT_FILE, CERTCTL_KEY_FILE, CERTCTL_CHAIN_FILE
and CERTCTL_FULLCHAIN_FILE in its environment, and the vault in use (CERTCTL_VAULT,
CERTCTL_STORE without its password for another store) for a certctl it runs —
e.g. "systemctl reload nginx".
When it fails (exit 1), the target is still recorded and every
` + "`renew --due`" + ` pass installs it and runs the command again until it succeeds.
A command is recorded as pending until it succeeds: one interrupted (certctl
killed while it ran, a reboot) is run again by the next pass.

The target belongs to this host: its identity is kept in the vault directory
(host.id, created on first use; host.name, default the system's host name, is
shown in InUseBy as "file:PATH (host NAME)"), and on a PostgreSQL store shared
by many hosts only this host installs it again. A host installs only what
its own vault proves: a version whose certificate (and chain) parses, whose
certificate is of the key sealed under that version's own reference, whose
chain certifies it, signed by the key of the vault CA that issued it, not
valid only from more than 5 minutes ahead of this host's clock, and —
at renewals — never one that says it was issued otherwise (by another
CA, or imported) than the one it installed there, nor one older (a
store restored from an older backup, or a version put into the database:
the target is reported FAILED, exit 7, until the certificate is renewed or
deploy installs it again here). It records what it installed (host.targets:
version and SHA-256 fingerprint), so a restored store's renewal that reuses
an installed version number is installed too. Installs of one host are
serialised (host.deploy.lock): two passes at once run a command once; the
command runs after the lock is released, so it may run certctl deploy, and
holds a lock of its own while it runs (host.hook-*.lock), so that a pass
meanwhile does not run it a second time.
--exec needs this host's
hooks.allow_exec (default: true for a local SQLite vault, false on a shared
PostgreSQL store; exit 5 when off): enable it with
` + "`certctl config set hooks.allow_exec true`" + ` or CERTCTL_HOOKS_ALLOW_EXEC=true.

A deployed certificate is in use (InUseBy), which makes it eligible for
managed renewal and protects it from ` + "`certctl delete`" + ` without --force.

--remove stops deploying to a target: it removes this host's target at
--cert-file from the certificate's record, and leaves its files as they are
(nothing is written or run). Another host's target is removed only when named
with --host: its ID, its name, or the first 8 characters of its ID. A host that
was retired, or whose vault directory was rebuilt (a new host.id under the same
host.name), cannot remove its own targets, and removing a record makes no host
write or run anything, so any host of the store may. When two targets at one
path belong to hosts of one name, InUseBy tells them apart by those first 8
characters ("file:PATH (host NAME 758043a9)"), and a deploy or a renewal on the
host of that name names the other host's ID and the command that removes its
target. With no target left and not exported, the certificate is no longer in
use, nor eligible for renewal. The removal is recorded in the audit log
(RemoveDeployTarget); exit 3 when the certificate has no such target, 4 when
--host names the hosts of several targets at the path (name one by its ID).` + cmdutil.ExitStatus(0, 1, 2, 3, 4, 5, 6),
		Example: `  certctl deploy 3f2a1b9c --cert-file /etc/nginx/tls/app.crt --key-file /etc/nginx/tls/app.key \
      --fullchain-file /etc/nginx/tls/app-fullchain.crt --exec 'systemctl reload nginx'

  # Stop deploying to a target of this host, or of a retired or rebuilt one
  certctl deploy 3f2a1b9c --remove --cert-file /etc/nginx/tls/app.crt
  certctl deploy 3f2a1b9c --remove --cert-file /etc/nginx/tls/app.crt --host 758043a9-0c1e-4d5f-9a2b-6f3e1d2c4b5a`,
		Args:              cmdutil.ExactArgs(1, "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Remove {
				for _, n := range []string{"key-file", "chain-file", "fullchain-file", "exec"} {
					if cmd.Flags().Changed(n) {
						return errs.UsageErrorf("--remove takes --cert-file and --host only, not --%s: removing a target writes and runs nothing", n)
					}
				}
				if t.CertFile == "" {
					return errs.UsageErrorf("--remove needs the --cert-file of the target to remove")
				}
				p, err := filepath.Abs(t.CertFile)
				if err != nil {
					return errs.Invalidf("%v", err)
				}
				opts.ID, opts.Target = args[0], dep.Target{CertFile: p}
				if runF != nil {
					return runF(opts)
				}
				return runRemove(cmd.Context(), opts)
			}
			if cmd.Flags().Changed("host") {
				return errs.UsageErrorf("--host goes with --remove: a deploy records a target of this host")
			}
			if err := cmdutil.RequireFlags("cert-file", t.CertFile, "key-file", t.KeyFile); err != nil {
				return err
			}
			if err := refuseStdout(opts.IO, args[0], t); err != nil {
				return err
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
	fl.StringVar(&t.KeyFile, "key-file", "", "private key `path` (written unencrypted, 0600 when new)")
	fl.StringVar(&t.ChainFile, "chain-file", "", "chain `path`")
	fl.StringVar(&t.FullchainFile, "fullchain-file", "", "certificate+chain `path`")
	fl.StringVar(&t.Exec, "exec", "", "`command` to run after installing (and after each renewal)")
	fl.BoolVar(&opts.Remove, "remove", false, "stop deploying to the target at --cert-file (its files are left as they are)")
	fl.StringVar(&opts.Host, "host", "", "with --remove: the `host` (ID, name, or ID's first 8 characters) whose target to remove, when not this host's")
	_ = cmd.RegisterFlagCompletionFunc("host", f.CompleteDeployHost)
	for _, n := range []string{"cert-file", "key-file", "chain-file", "fullchain-file"} {
		cmdutil.MarkOutputFile(cmd, n)
	}
	return cmd
}

// refuseStdout refuses (exit 4) a target file that is the standard output
// (/dev/stdout, or the file it is redirected to: cmdutil.IsStdout): a
// target is a file that every renewal rewrites, which the standard output
// is not, and which carries deploy's answer (tester: --cert-file
// /dev/stdout replaced /dev/stdout with a file; redirected to a file, the
// answer went into the file the install then replaced). export prints.
func refuseStdout(ios *iostreams.IOStreams, arn string, t dep.Target) error {
	for _, f := range []struct{ flag, path string }{
		{"cert-file", t.CertFile}, {"key-file", t.KeyFile}, {"chain-file", t.ChainFile}, {"fullchain-file", t.FullchainFile},
	} {
		if f.path != "" && cmdutil.IsStdout(ios, f.path) {
			return errs.Invalidf("--%s %s is the standard output: a deploy target is a file that every renewal rewrites", f.flag, f.path).
				WithHint("to print the certificate, its chain or its key, use certctl export %s", arn)
		}
	}
	return nil
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
	cmdutil.PrintNotices(o.IO, res.Notices...)
	out := Output{CertificateArn: res.CertificateArn, InUseBy: res.InUseBy}
	return p.Acknowledge(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{"Deployed", out.CertificateArn}, {"In use by", strings.Join(out.InUseBy, ", ")}}}
		},
		Records: func() [][]string { return [][]string{{out.CertificateArn, strings.Join(out.InUseBy, ",")}} },
	})
}

func runRemove(ctx context.Context, o *DeployOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Renewals(ctx)
	if err != nil {
		return err
	}
	res, err := svc.RemoveTarget(ctx, o.ID, o.Target.CertFile, o.Host)
	if err != nil {
		return err
	}
	// Empty lists print as [] (output.Printer).
	out := Output{CertificateArn: res.CertificateArn, InUseBy: res.InUseBy}
	for i, t := range res.Removed {
		out.Removed = append(out.Removed, RemovedTarget{Target: res.RemovedLabels[i], Host: t.HostID})
	}
	return p.Acknowledge(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			inUse := strings.Join(out.InUseBy, ", ")
			if inUse == "" {
				inUse = "-"
			}
			return &output.Table{Rows: [][]string{{"Certificate", out.CertificateArn},
				{"Removed", strings.Join(res.RemovedLabels, ", ")}, {"In use by", inUse}}}
		},
		Records: func() [][]string {
			return [][]string{{out.CertificateArn, strings.Join(res.RemovedLabels, ","), strings.Join(out.InUseBy, ",")}}
		},
	})
}

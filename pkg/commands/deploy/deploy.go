// Package deploy implements `certctl deploy`.
package deploy

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/renew"
	dep "github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// Output is deploy's JSON form.
type Output struct {
	CertificateArn string   `json:"CertificateArn"`
	InUseBy        []string `json:"InUseBy"`
}

// NewCmdDeploy builds `certctl deploy`.
func NewCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	var t dep.Target
	cmd := &cobra.Command{
		Use:   "deploy ARN --cert-file PATH --key-file PATH [--chain-file PATH] [--fullchain-file PATH] [--exec CMD]",
		Short: "Install a certificate and its key into files, and keep them renewed",
		Long: `Install the current version of a certificate where a server reads it, and record
the target: every later renewal rewrites the same files and runs --exec again.
Files are replaced atomically (a reader sees the old or the new file, never a
part); the key is written unencrypted with mode 0600, the others 0644.

--exec runs with sh -c (within 2 minutes) after the files are written, with
CERTCTL_CERTIFICATE_ARN, CERTCTL_CERT_FILE, CERTCTL_KEY_FILE, CERTCTL_CHAIN_FILE
and CERTCTL_FULLCHAIN_FILE in its environment — e.g. "systemctl reload nginx".
When it fails (exit 1), the target is still recorded and every
` + "`renew --due`" + ` pass installs it and runs the command again until it succeeds.

A deployed certificate is in use (InUseBy), which makes it eligible for
managed renewal and protects it from ` + "`certctl delete`" + ` without --force.` + cmdutil.ExitStatus(0, 1, 2, 3, 5, 6),
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
				return errs.UsageErrorf("%v", err)
			}
			return run(cmd.Context(), f, args[0], nt)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&t.CertFile, "cert-file", "", "certificate `path`")
	fl.StringVar(&t.KeyFile, "key-file", "", "private key `path` (written 0600, unencrypted)")
	fl.StringVar(&t.ChainFile, "chain-file", "", "chain `path`")
	fl.StringVar(&t.FullchainFile, "fullchain-file", "", "certificate+chain `path`")
	fl.StringVar(&t.Exec, "exec", "", "`command` to run after installing (and after each renewal)")
	for _, n := range []string{"cert-file", "key-file", "chain-file", "fullchain-file"} {
		_ = cmd.MarkFlagFilename(n)
	}
	return cmd
}

func run(ctx context.Context, f *cmdutil.Factory, arg string, t dep.Target) error {
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return err
	}
	var c *localstore.Certificate
	var m dep.Material
	if err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, arg)
		if err != nil {
			return err
		}
		if c, err = tx.GetCertificate(id); err != nil {
			return err
		}
		if err := checkDeployable(c); err != nil {
			return err
		}
		m, err = renew.Material(tx, e.V, id, e.Names.CertificateARN(id))
		return err
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	installErr := dep.Install(ctx, t, m)
	if installErr != nil && !strings.HasPrefix(installErr.Error(), "deploy hook") {
		return errs.Failuref("%v", installErr)
	}
	t.Version, t.LastError = m.Version, ""
	if installErr != nil {
		// Recorded as not yet done: the next `renew --due` retries it.
		t.Version, t.LastError = 0, installErr.Error()
	}
	var labels []string
	now := f.Now()
	if err := e.V.Store.Update(ctx, func(tx localstore.Tx) error {
		cur, err := tx.GetCertificate(c.ID)
		if err != nil {
			return err
		}
		if labels, err = dep.AddTarget(tx, c.ID, t, now); err != nil {
			return err
		}
		cur.InUseBy = labels
		cur.UpdatedAt = now
		inventory.UpdateEligibility(cur, now)
		return tx.PutCertificate(cur)
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	if installErr != nil {
		return errs.Failuref("installed and recorded, but %v", installErr)
	}
	out := Output{CertificateArn: e.Names.CertificateARN(c.ID), InUseBy: labels}
	return e.P.Print(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{"Deployed", out.CertificateArn}, {"In use by", strings.Join(labels, ", ")}}}
		},
		Records: func() [][]string { return [][]string{{out.CertificateArn, strings.Join(labels, ",")}} },
	})
}

func checkDeployable(c *localstore.Certificate) error {
	switch {
	case c.KeyPairOrigin == inventory.OriginACME:
		return errs.Refusedf("certificate %s belongs to an ACME client, which holds its key", c.ID)
	case c.Status != inventory.StatusIssued:
		return errs.Refusedf("certificate %s is %s, not ISSUED", c.ID, c.Status)
	}
	return nil
}

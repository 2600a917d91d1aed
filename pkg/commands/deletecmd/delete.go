// Package deletecmd implements `certctl delete`.
package deletecmd

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// Options are the inputs of delete.
type Options struct {
	Factory *cmdutil.Factory
	ID      string
	Yes     bool
	Force   bool
}

// Output is delete's JSON form.
type Output struct {
	CertificateArn string `json:"CertificateArn"`
	Deleted        bool   `json:"Deleted"`
}

// NewCmdDelete builds `certctl delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "delete ARN",
		Short: "Delete a certificate, its versions and its private key",
		Long: `Delete a certificate with every version and its sealed private key. This is the
only way data leaves the vault, and it cannot be undone.

On a terminal certctl asks for confirmation; --yes skips the question. A
certificate that is in use (deployed, see InUseBy) is refused (exit 5) unless
--force is given.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl delete 3f2a1b9c
  certctl delete 3f2a1b9c --yes --force`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete even if the certificate is in use")
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	f := o.Factory
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return err
	}
	p, cfg, v := e.P, e.Cfg, e.V
	names := inventory.Names{Region: cfg.Region, Account: cfg.Account}
	var c *localstore.Certificate
	if err := v.Store.View(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, o.ID)
		if err != nil {
			return err
		}
		c, err = tx.GetCertificate(id)
		return err
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	if c.InUse() && !o.Force {
		return errs.Refusedf("certificate %s is in use by %s", c.ID, strings.Join(c.InUseBy, ", ")).
			WithHint("use --force to delete it anyway").WithCode("ResourceInUseException")
	}
	if !o.Yes && f.IO.CanPrompt() {
		fmt.Fprintf(f.IO.ErrOut, "Delete certificate %s (%s) and its private key? This cannot be undone. [y/N] ",
			c.ID, output.Sanitize(c.DomainName))
		line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errs.Refusedf("not deleted")
		}
	}
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		cur, err := tx.GetCertificate(c.ID)
		if err != nil {
			return err
		}
		if cur.InUse() && !o.Force {
			return errs.Refusedf("certificate %s is in use by %s", c.ID, strings.Join(cur.InUseBy, ", "))
		}
		return tx.DeleteCertificate(c.ID)
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	arnStr := names.CertificateARN(c.ID)
	return p.Print(Output{CertificateArn: arnStr, Deleted: true}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Deleted", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}

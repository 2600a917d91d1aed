package validate

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/validation"
)

// Output is the JSON form of validate check and approve (as describe).
type Output struct {
	Certificate inventory.Detail `json:"Certificate"`
}

// NewCmdValidate builds the `certctl validate` group.
func NewCmdValidate(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate <command>",
		Short: "Check, serve and approve domain validations of ISSUED-type requests",
		Long: `Domain validation of ISSUED-type certificates (requested without
--certificate-authority-arn):

  DNS    create the CNAME record of each name (describe --validation-records),
         then run validate check; a CAA record that does not name one of
         validation.caa_identities fails the certificate (CAA_ERROR), and
         so does a CNAME chain longer than 5 records (OTHER); a record not
         there yet, or with a wrong value, leaves the name pending
  EMAIL  approve the code mailed to admin@, administrator@, hostmaster@,
         postmaster@ and webmaster@ of the validation domain (validate approve)
  HTTP   redirect each RedirectFrom URL to its RedirectTo URL, served by
         validate serve-http, then run validate check

A name not validated within 72 hours moves the certificate to
VALIDATION_TIMED_OUT. ` + "`certctl renew --due`" + ` (the cron job) also runs the checks.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdCheck(f, nil), NewCmdServeHTTP(f, nil), NewCmdApprove(f, nil))
	return cmd
}

// CheckOptions are the inputs of validate check.
type CheckOptions struct {
	Factory *cmdutil.Factory
	ID      string
	Wait    bool
	Timeout string
}

// NewCmdCheck builds `certctl validate check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "check ARN [--wait [--timeout D]]",
		Short: "Run the DNS or HTTP checks of a certificate now",
		Long: `Run the validation checks of a certificate pending validation now: the DNS
CNAME (then CAA) or the HTTP file of every name not yet validated, through
validation.resolvers. The certificate is issued as soon as every name is
validated. Prints the certificate as describe does; each name's status and,
when not validated, the reason go to stderr.

Without --wait the command exits 0 whatever the names' status. --wait checks
again every few seconds until the certificate is ISSUED or reaches another
terminal status (exit 5), or --timeout passes (exit 8).` + cmdutil.ExitStatus(0, 2, 3, 5, 6, 8),
		Example: `  certctl validate check 3f2a1b9c
  certctl validate check 3f2a1b9c --wait --timeout 30m`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ParseTimeout(opts.Timeout); err != nil {
				return err
			}
			if cmd.Flags().Changed("timeout") && !opts.Wait {
				return usageErr("--timeout goes with --wait")
			}
			if runF != nil {
				return runF(opts)
			}
			return runCheck(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "check again until the certificate is issued or fails")
	cmd.Flags().StringVar(&opts.Timeout, "timeout", "10m", "how long --wait waits")
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	return cmd
}

func runCheck(ctx context.Context, o *CheckOptions) error {
	e, err := o.Factory.OpenEnv(ctx)
	if err != nil {
		return err
	}
	id, err := resolveID(ctx, e, o.ID)
	if err != nil {
		return err
	}
	svc := NewService(e)
	var out *validation.Outcome
	var waitErr error
	if o.Wait {
		timeout, _ := ParseTimeout(o.Timeout)
		out, waitErr = Wait(ctx, e, svc, id, timeout)
		if out == nil {
			return waitErr
		}
		if waitErr == nil {
			waitErr = TerminalError(out.Certificate)
		}
	} else {
		em := e.Emitter()
		if out, err = svc.Advance(ctx, id, em); err != nil {
			return cmdutil.VaultError(err)
		}
		e.Deliver(ctx, em)
	}
	report(e, out)
	if err := printCertificate(e, out.Certificate); err != nil {
		return err
	}
	return waitErr
}

func resolveID(ctx context.Context, e *cmdutil.Env, arg string) (string, error) {
	var id string
	err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		var err error
		id, err = inventory.ResolveCertificate(tx, arg)
		return err
	})
	return id, cmdutil.VaultError(err)
}

// report writes each name's status (and why it is not validated) to stderr.
func report(e *cmdutil.Env, out *validation.Outcome) {
	if e.F.Globals.Quiet {
		return
	}
	w := e.F.IO.ErrOut
	if len(out.Checks) == 0 {
		c := out.Certificate
		if c.Status != inventory.StatusPendingValidation {
			fmt.Fprintf(w, "certificate %s is %s\n", c.ID, c.Status)
		}
		return
	}
	for _, ch := range out.Checks {
		line := output.Sanitize(ch.DomainName) + "\t" + ch.Status
		if ch.Detail != "" {
			line += "\t" + output.Sanitize(ch.Detail)
		}
		fmt.Fprintln(w, line)
	}
}

func printCertificate(e *cmdutil.Env, c *localstore.Certificate) error {
	inventory.AsOf(c, e.F.Now())
	d := inventory.NewDetail(e.Names, c, nil)
	return e.P.Print(Output{Certificate: d}, detailView(d))
}

func detailView(d inventory.Detail) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Rows: [][]string{
				{"ARN", output.Sanitize(d.CertificateArn)},
				{"Domain", output.Sanitize(d.DomainName)},
				{"Status", s.Status(d.Status)},
			}}
			if d.FailureReason != "" {
				t.Rows = append(t.Rows, []string{"Failure", d.FailureReason})
			}
			for _, dv := range d.DomainValidationOptions {
				line := s.Status(dv.ValidationStatus) + " " + dv.ValidationMethod
				switch {
				case dv.ResourceRecord != nil:
					line += "  " + output.Sanitize(dv.ResourceRecord.Name+" "+dv.ResourceRecord.Type+" "+dv.ResourceRecord.Value)
				case dv.HTTPRedirect != nil:
					line += "  " + output.Sanitize(dv.HTTPRedirect.RedirectFrom+" → "+dv.HTTPRedirect.RedirectTo)
				case len(dv.ValidationEmails) > 0:
					line += "  " + output.Sanitize(strings.Join(dv.ValidationEmails, ", "))
				}
				t.Rows = append(t.Rows, []string{"Validation " + output.Sanitize(dv.DomainName), line})
			}
			return t
		},
		Records: func() [][]string {
			na := ""
			if d.NotAfter != nil {
				na = d.NotAfter.String()
			}
			return [][]string{{d.CertificateArn, d.DomainName, d.Status, d.Type, d.KeyAlgorithm, na, d.Serial}}
		},
	}
}

// Package validate implements `certctl validate check|serve-http|approve`
// and `certctl resend-validation-email`: the command side of domain
// validation. The validations service (pkg/service/validations) does the
// work; this package parses and prints.
package validate

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/validations"
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
         validate serve-http, then run validate check; keep the redirect
         (and serve-http) in place: each renewal checks it again

A name not validated within 72 hours moves the certificate to
VALIDATION_TIMED_OUT. ` + "`certctl renew --due`" + ` (the cron job) also runs the checks.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdCheck(f, nil), NewCmdServeHTTP(f, nil), NewCmdApprove(f, nil))
	return cmd
}

// CheckOptions are the inputs of validate check: its dependencies, as
// functions that tests replace, and its flag values.
type CheckOptions struct {
	Printer     func() (*output.Printer, error)
	Validations func(context.Context) (*validations.Service, error)
	IO          *iostreams.IOStreams
	// Quiet is the global -q: no report on stderr, no spinner.
	Quiet bool

	ID      string
	Wait    bool
	Timeout time.Duration
}

// NewCmdCheck builds `certctl validate check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Printer: f.Printer, Validations: f.Validations, IO: f.IO}
	var timeout string
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
		Args: cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		// Only a certificate whose names are being validated has any to check.
		ValidArgsFunction: f.CompleteCertificatesWhere(cmdutil.CertificateChoice{Statuses: []string{inventory.StatusPendingValidation}}),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Timeout, err = ParseTimeout(timeout); err != nil {
				return err
			}
			if cmd.Flags().Changed("timeout") && !opts.Wait {
				return usageErr("--timeout goes with --wait")
			}
			opts.Quiet = f.Globals.Quiet
			if runF != nil {
				return runF(opts)
			}
			return runCheck(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "check again until the certificate is issued or fails")
	cmd.Flags().StringVar(&timeout, "timeout", "10m", "how long --wait waits (a `duration`: 90s, 10m, 1h)")
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN)")
	return cmd
}

func runCheck(ctx context.Context, o *CheckOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Validations(ctx)
	if err != nil {
		return err
	}
	copts := validations.CheckOptions{Wait: o.Wait, Timeout: o.Timeout}
	var sp *iostreams.Spinner
	if o.Wait && !o.Quiet {
		sp = o.IO.StartSpinner("waiting for domain validation")
	}
	if o.Wait {
		copts.Progress = sp.Set
	}
	res, checkErr := svc.Check(ctx, o.ID, copts)
	sp.Stop()
	if res == nil {
		return checkErr
	}
	if !o.Quiet {
		report(o.IO.ErrOut, res, checkErr != nil)
	}
	if err := printCertificate(p.Print, res.Certificate); err != nil {
		return err
	}
	return checkErr
}

// report writes each name's status (and why it is not validated) to w,
// or the certificate's status when no name was checked — unless failed:
// the error then says it.
func report(w io.Writer, res *validations.CheckResult, failed bool) {
	if len(res.Checks) == 0 {
		if res.Status != inventory.StatusPendingValidation && !failed {
			fmt.Fprintf(w, "certificate %s is %s\n", res.ID, res.Status)
		}
		if rs := res.Certificate.RenewalSummary; rs != nil && rs.RenewalStatus == inventory.StatusPendingValidation && res.Status != inventory.StatusExpired {
			waits, then := "its renewal waits for domain validation", "checks again and renews"
			if dvo := res.Certificate.DomainValidationOptions; len(dvo) > 0 && dvo[0].ValidationMethod == "EMAIL" {
				then = "renews once `certctl validate approve --code CODE` has approved each name with the code mailed for the renewal"
				if allApproved(rs.DomainValidationOptions) {
					// Said as approve says it (tester: it asked for
					// approvals already given).
					waits, then = "every name of its renewal is approved", "renews it"
				}
			}
			fmt.Fprintf(w, "%s: the next `certctl renew --due` (or `certctl renew %s`) %s\n", waits, res.ID, then)
		}
		return
	}
	for _, ch := range res.Checks {
		line := output.Sanitize(ch.DomainName) + "\t" + ch.Status
		if ch.Detail != "" {
			line += "\t" + output.Sanitize(ch.Detail)
		}
		fmt.Fprintln(w, line)
	}
}

// allApproved reports whether every name of a renewal's validation
// succeeded.
func allApproved(dvo []inventory.DomainValidation) bool {
	for _, v := range dvo {
		if v.ValidationStatus != "SUCCESS" {
			return false
		}
	}
	return len(dvo) > 0
}

// printCertificate prints a certificate as describe does.
// With print: Print (check: where the checks left it), or Acknowledge
// (approve, which -q silences).
func printCertificate(print func(any, output.View) error, d inventory.Detail) error {
	return print(Output{Certificate: d}, detailView(d))
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
				t.Rows = append(t.Rows, []string{"Failure", output.Sanitize(d.FailureReason)})
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

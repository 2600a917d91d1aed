// Package metrics implements `certctl metrics`: the inventory's expiry
// figures in the Prometheus text format, for node_exporter's textfile
// collector.
package metrics

import (
	"bytes"
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/promtext"
	"github.com/certctl/certctl/pkg/service/reports"
)

// MetricsOptions are the inputs of metrics: its dependencies, as functions
// that tests replace, and its flag values.
type MetricsOptions struct {
	IO      *iostreams.IOStreams
	Printer func() (*output.Printer, error)
	Reports func(context.Context) (*reports.Service, error)
	// Structured reports whether -o json|yaml or --query asked for the
	// figures as data rather than the Prometheus text.
	Structured func() bool

	// OutFile, when set, receives the text atomically instead of stdout.
	OutFile string
}

// Output is the JSON form of metrics (-o json).
type Output struct {
	Metrics []promtext.Family `json:"Metrics"`
}

// NewCmdMetrics builds `certctl metrics`.
func NewCmdMetrics(f *cmdutil.Factory, runF func(*MetricsOptions) error) *cobra.Command {
	opts := &MetricsOptions{IO: f.IO, Printer: f.Printer, Reports: f.Reports,
		Structured: f.StructuredOutput}
	cmd := &cobra.Command{
		Use:   "metrics [--out-file PATH]",
		Short: "Print expiry metrics in the Prometheus text format",
		Long: `Print the inventory's expiry figures in the Prometheus text exposition format,
for node_exporter's textfile collector (or any scraper of that format):

  certctl_days_to_expiry{arn,domain}                days until NotAfter, negative once expired
  certctl_certificate_not_after_seconds{arn,domain} NotAfter as a Unix time
  certctl_certificate_info{arn,domain,status,type,origin,renewal_eligibility,
    renewal_status,renewal_status_reason}           always 1 (renewal_status: its
                                                    RenewalSummary's, empty when none)
  certctl_certificates{status}                      counts by status
  certctl_certificates_by_type{type}                counts by type
  certctl_renewal_failed{arn,domain}                1 while its last managed renewal failed
  certctl_renewal_pending_validation{arn,domain}    1 while its renewal waits for domain
                                                    validation (records, redirect, CAA, approval)
  certctl_deploy_failed{arn,domain,target}          1 while the target's last install or
                                                    command failed (its file may be older)
  certctl_ca_days_to_expiry{arn,common_name}       a CA's days until its NotAfter
  certctl_ca_not_after_seconds{arn,common_name}     a CA's NotAfter as a Unix time
  certctl_ca_info{arn,common_name,status,type}      always 1 (status: ACTIVE, DISABLED, …)
  certctl_acme_certificate_issuance_success_total{arn}      per ACME endpoint
  certctl_acme_certificate_issuance_failed_total{arn}       per ACME endpoint

Every certificate is included, whatever its origin (ACME too); one that has
no certificate yet (PENDING_VALIDATION, FAILED) has no expiry series. The
expiry series are the vault's current certificate's: a deploy target whose
install failed may still serve an older one (certctl_deploy_failed). Statuses
are judged now: an ISSUED certificate past its NotAfter counts as EXPIRED.
Each of the two counts sums to the number of certificates.

The text is printed whatever the terminal; -o json or -o yaml prints the same
figures as data. --out-file writes the file atomically (mode 0644), so the
collector never reads half of it; run it from the renewal timer or cron. It
writes the text: with -o json, -o yaml or --query it is refused (exit 2).` + cmdutil.ExitStatus(0, 1, 2, 4, 6),
		Example: `  certctl metrics
  certctl metrics --out-file /var/lib/node_exporter/textfile_collector/certctl.prom
  # alert: certctl_days_to_expiry < 14 and on(arn) certctl_certificate_info{status="ISSUED"}
  # alert: certctl_renewal_failed == 1 or certctl_deploy_failed == 1
  # alert: certctl_renewal_pending_validation == 1 and on(arn) certctl_days_to_expiry < 30
  # alert: certctl_ca_days_to_expiry < 60 or certctl_ca_info{status!="ACTIVE"}`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Neither is dropped in silence (tester: --out-file F -o json
			// printed JSON and never wrote F).
			if opts.OutFile != "" && opts.Structured() {
				return errs.UsageErrorf("--out-file writes the Prometheus text: -o json, -o yaml and --query cannot apply to it (leave out --out-file for the figures as data on stdout)")
			}
			if runF != nil {
				return runF(opts)
			}
			return runMetrics(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "write the metrics to this `file` (atomically) instead of stdout")
	cmdutil.MarkOutputFile(cmd, "out-file")
	return cmd
}

func runMetrics(ctx context.Context, o *MetricsOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Reports(ctx)
	if err != nil {
		return err
	}
	fams, err := svc.Metrics(ctx)
	if err != nil {
		return err
	}
	if o.Structured() {
		return p.Print(Output{Metrics: fams}, output.View{})
	}
	if o.OutFile == "" {
		if o.IO.IsStdoutTTY() {
			fams = terminalSafe(fams)
		}
		return promtext.WriteText(o.IO.Out, fams)
	}
	var b bytes.Buffer
	if err := promtext.WriteText(&b, fams); err != nil {
		return err
	}
	return cmdutil.WriteOutputFile(o.IO, o.OutFile, b.Bytes(), 0o644)
}

// terminalSafe is fams with control characters in label values shown
// escaped (output.Sanitize), for a terminal: the text format carries them
// as they are, and a domain name holding an escape sequence would rewrite
// the screen. A pipe or --out-file gets the values unchanged.
func terminalSafe(fams []promtext.Family) []promtext.Family {
	out := make([]promtext.Family, len(fams))
	for i, f := range fams {
		f.Samples = slices.Clone(f.Samples)
		for j, smp := range f.Samples {
			smp.Labels = slices.Clone(smp.Labels)
			for k := range smp.Labels {
				smp.Labels[k].Value = output.Sanitize(smp.Labels[k].Value)
			}
			f.Samples[j] = smp
		}
		out[i] = f
	}
	return out
}

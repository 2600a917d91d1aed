// Package metrics implements `certctl metrics`: the inventory's expiry
// figures in the Prometheus text format, for node_exporter's textfile
// collector.
package metrics

import (
	"bytes"
	"context"
	"sort"
	"time"

	"github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/promtext"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// Options are the inputs of metrics.
type Options struct {
	Factory *cmdutil.Factory
	// OutFile, when set, receives the text atomically instead of stdout.
	OutFile string
}

// Output is the JSON form of metrics (-o json).
type Output struct {
	Metrics []promtext.Family `json:"Metrics"`
}

// NewCmdMetrics builds `certctl metrics`.
func NewCmdMetrics(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "metrics [--out-file PATH]",
		Short: "Print expiry metrics in the Prometheus text format",
		Long: `Print the inventory's expiry figures in the Prometheus text exposition format,
for node_exporter's textfile collector (or any scraper of that format):

  certctl_days_to_expiry{arn,domain}                days until NotAfter, negative once expired
  certctl_certificate_not_after_seconds{arn,domain} NotAfter as a Unix time
  certctl_certificate_info{arn,domain,status,type,origin,renewal_eligibility}  always 1
  certctl_certificates{status}, certctl_certificates{type}   counts
  certctl_acme_certificate_issuance_success_total{arn}      per ACME endpoint
  certctl_acme_certificate_issuance_failed_total{arn}       per ACME endpoint

Every certificate is included, whatever its origin (ACME too); one that has
no certificate yet (PENDING_VALIDATION, FAILED) has no expiry series. Statuses
are judged now: an ISSUED certificate past its NotAfter counts as EXPIRED.
Each certificates series has either a status or a type label: sum over one
of the two, never over both.

The text is printed whatever the terminal; -o json or -o yaml prints the same
figures as data. --out-file writes the file atomically (mode 0644), so the
collector never reads half of it; run it from the renewal timer or cron.` + cmdutil.ExitStatus(0, 1, 2, 6),
		Example: `  certctl metrics
  certctl metrics --out-file /var/lib/node_exporter/textfile_collector/certctl.prom
  # alert: certctl_days_to_expiry < 14 and on(arn) certctl_certificate_info{status="ISSUED"}`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "write the metrics to this `file` (atomically) instead of stdout")
	_ = cmd.MarkFlagFilename("out-file")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	f := o.Factory
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return err
	}
	certs, err := e.ListCertificates(ctx, localstore.CertificateFilter{})
	if err != nil {
		return err
	}
	fams := Families(e.Names, certs, f.Now())
	var acme []endpoint.EndpointMetrics
	if err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		acme, err = endpoint.AllMetrics(tx)
		return err
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	fams = append(fams, endpoint.MetricFamilies(acme, e.Names.EndpointARN)...)
	if f.StructuredOutput() || f.Globals.Query != "" {
		return e.P.Print(Output{Metrics: fams}, output.View{})
	}
	if o.OutFile == "" {
		return promtext.WriteText(f.IO.Out, fams)
	}
	var b bytes.Buffer
	if err := promtext.WriteText(&b, fams); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(o.OutFile, b.Bytes(), 0o644); err != nil {
		return errs.Failuref("writing %s: %v", o.OutFile, err)
	}
	return nil
}

// Families computes the metric families of certs at now, each family's
// samples in a stable order (by domain, then ARN).
func Families(n inventory.Names, certs []*localstore.Certificate, now time.Time) []promtext.Family {
	sorted := append([]*localstore.Certificate(nil), certs...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].DomainName != sorted[j].DomainName {
			return sorted[i].DomainName < sorted[j].DomainName
		}
		return sorted[i].ID < sorted[j].ID
	})
	days := promtext.Family{Name: "certctl_days_to_expiry", Type: "gauge",
		Help: "Days until the certificate's NotAfter (fractional; negative once expired)."}
	notAfter := promtext.Family{Name: "certctl_certificate_not_after_seconds", Type: "gauge",
		Help: "NotAfter of the certificate's current version, as a Unix time in seconds."}
	info := promtext.Family{Name: "certctl_certificate_info", Type: "gauge",
		Help: "Certificate metadata as labels (value always 1), to join on arn."}
	byStatus := map[string]int{}
	byType := map[string]int{}
	for _, c := range sorted {
		arn := n.CertificateARN(c.ID)
		status := inventory.EffectiveStatus(c, now)
		byStatus[status]++
		byType[c.Type]++
		eligibility := c.RenewalEligibility
		if eligibility == "" || status != inventory.StatusIssued {
			eligibility = inventory.Ineligible
		}
		id := []promtext.Label{promtext.L("arn", arn), promtext.L("domain", c.DomainName)}
		info.Samples = append(info.Samples, promtext.Sample{Value: 1, Labels: append(id[:2:2],
			promtext.L("status", status), promtext.L("type", c.Type), promtext.L("origin", c.KeyPairOrigin), promtext.L("renewal_eligibility", eligibility))})
		if c.NotAfter.IsZero() {
			continue
		}
		days.Samples = append(days.Samples, promtext.Sample{Labels: id, Value: c.NotAfter.Sub(now).Seconds() / 86400})
		notAfter.Samples = append(notAfter.Samples, promtext.Sample{Labels: id, Value: float64(c.NotAfter.Unix())})
	}
	counts := promtext.Family{Name: "certctl_certificates", Type: "gauge",
		Help: "Certificates in the vault (every origin), by status and, in other series, by type."}
	for _, s := range withKnown(byStatus, inventory.Statuses) {
		counts.Samples = append(counts.Samples, promtext.Sample{Labels: []promtext.Label{promtext.L("status", s)}, Value: float64(byStatus[s])})
	}
	for _, t := range withKnown(byType, inventory.Types) {
		counts.Samples = append(counts.Samples, promtext.Sample{Labels: []promtext.Label{promtext.L("type", t)}, Value: float64(byType[t])})
	}
	return []promtext.Family{days, notAfter, info, counts}
}

// withKnown lists the known values (so that a zero count is a series, not
// an absence) followed by any other value found, sorted.
func withKnown(m map[string]int, known []string) []string {
	out := append([]string(nil), known...)
	var extra []string
	for k := range m {
		found := false
		for _, x := range known {
			if x == k {
				found = true
			}
		}
		if !found {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

package reports

import (
	"context"
	"sort"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/promtext"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Metrics returns the inventory's expiry figures (every origin) at the
// service's clock, then the issuance counters of every ACME endpoint, as
// Prometheus metric families.
func (s *Service) Metrics(ctx context.Context) ([]promtext.Family, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	fams := append(Families(s.core.Names, snap.certs, snap.targets, snap.now), CAFamilies(s.core.Names, snap.cas, snap.now)...)
	return append(fams, acmestate.MetricFamilies(snap.acme, s.core.Names.EndpointARN)...), nil
}

// CAFamilies are the figures of the vault's certificate authorities at
// now, by CA ARN: when each one's certificate ends, and its status as a
// label (tester: nothing told a CA about to expire, or disabled, until
// the renewals under it failed). A CA without a certificate yet (a
// subordinate waiting for its own) has no expiry.
func CAFamilies(n inventory.Names, cas []*authority.Record, now time.Time) []promtext.Family {
	sorted := append([]*authority.Record(nil), cas...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	days := promtext.Family{Name: "certctl_ca_days_to_expiry", Type: "gauge",
		Help: "Days until the certificate authority's certificate's NotAfter (fractional; negative once expired)."}
	notAfter := promtext.Family{Name: "certctl_ca_not_after_seconds", Type: "gauge",
		Help: "NotAfter of the certificate authority's certificate, as a Unix time in seconds."}
	info := promtext.Family{Name: "certctl_ca_info", Type: "gauge",
		Help: "Certificate authority metadata as labels (value always 1), to join on arn; status is its effective status (EXPIRED once past NotAfter)."}
	for _, r := range sorted {
		id := []promtext.Label{promtext.L("arn", n.CAARN(r.ID)), promtext.L("common_name", r.Subject.CommonName)}
		info.Samples = append(info.Samples, promtext.Sample{Value: 1, Labels: append(id[:2:2],
			promtext.L("status", r.EffectiveStatus(now)), promtext.L("type", r.Type))})
		if r.NotAfter.IsZero() {
			continue
		}
		addExpiry(&days, &notAfter, id, r.NotAfter, now)
	}
	return []promtext.Family{days, notAfter, info}
}

// Families computes the metric families of certs (with their deploy
// targets, by certificate ID) at now, each family's samples in a stable
// order (by domain, then ARN, then target).
//
// Besides the expiry figures, what the dashboard lists as needing action
// is a series to alert on (tester: metrics showed no failure, and
// days_to_expiry the vault's new certificate while a failed deployment
// left the old one on the server): certctl_renewal_failed (1 while a
// certificate's last managed renewal failed), certctl_deploy_failed
// (1 while a deploy target's last install or command failed) and
// certctl_renewal_pending_validation (1 while a renewal waits for domain
// validation: tester, renewal_failed stayed 0 until the certificate
// expired, and no series carried the renewal status).
func Families(n inventory.Names, certs []*localstore.Certificate, targets map[string][]deploy.Target, now time.Time) []promtext.Family {
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
		Help: "Certificate metadata as labels (value always 1), to join on arn; renewal_status and renewal_status_reason are its RenewalSummary's (empty when it has none)."}
	renewFailed := promtext.Family{Name: "certctl_renewal_failed", Type: "gauge",
		Help: "1 while the certificate's last managed renewal failed (certctl dashboard: RENEWAL_FAILED), else 0."}
	renewPending := promtext.Family{Name: "certctl_renewal_pending_validation", Type: "gauge",
		Help: "1 while the certificate's managed renewal waits for domain validation, not renewed (RenewalStatus PENDING_VALIDATION; certctl dashboard: RENEWAL_PENDING_VALIDATION), else 0."}
	deployFailed := promtext.Family{Name: "certctl_deploy_failed", Type: "gauge",
		Help: "1 while the deploy target's last install or command failed (the file may hold an older certificate than the vault), else 0."}
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
		var renewalStatus, renewalReason string
		if c.Renewal != nil {
			renewalStatus, renewalReason = c.Renewal.Status, c.Renewal.Reason
		}
		info.Samples = append(info.Samples, promtext.Sample{Value: 1, Labels: append(id[:2:2],
			promtext.L("status", status), promtext.L("type", c.Type), promtext.L("origin", c.KeyPairOrigin), promtext.L("renewal_eligibility", eligibility),
			promtext.L("renewal_status", renewalStatus), promtext.L("renewal_status_reason", renewalReason))})
		failed, pending := 0.0, 0.0
		switch renewalStatus {
		case renewal.StatusFailed:
			failed = 1
		case renewal.StatusPendingValidation:
			pending = 1
		}
		renewFailed.Samples = append(renewFailed.Samples, promtext.Sample{Labels: id, Value: failed})
		renewPending.Samples = append(renewPending.Samples, promtext.Sample{Labels: id, Value: pending})
		labels := deploy.Labels(targets[c.ID])
		for i, t := range targets[c.ID] {
			v := 0.0
			if t.LastError != "" {
				v = 1
			}
			deployFailed.Samples = append(deployFailed.Samples, promtext.Sample{Labels: append(id[:2:2], promtext.L("target", labels[i])), Value: v})
		}
		if c.NotAfter.IsZero() {
			continue
		}
		addExpiry(&days, &notAfter, id, c.NotAfter, now)
	}
	// One family for each label, so that the sum of each is the number of
	// certificates (tester: one family with both doubled it).
	counts := promtext.Family{Name: "certctl_certificates", Type: "gauge",
		Help: "Certificates in the vault (every origin), by status."}
	for _, s := range withKnown(byStatus, inventory.Statuses) {
		counts.Samples = append(counts.Samples, promtext.Sample{Labels: []promtext.Label{promtext.L("status", s)}, Value: float64(byStatus[s])})
	}
	byTypeCounts := promtext.Family{Name: "certctl_certificates_by_type", Type: "gauge",
		Help: "Certificates in the vault (every origin), by type."}
	for _, t := range withKnown(byType, inventory.Types) {
		byTypeCounts.Samples = append(byTypeCounts.Samples, promtext.Sample{Labels: []promtext.Label{promtext.L("type", t)}, Value: float64(byType[t])})
	}
	return []promtext.Family{days, notAfter, info, counts, byTypeCounts, renewFailed, deployFailed, renewPending}
}

// addExpiry adds the samples of end, a NotAfter, at now to the days-left
// and NotAfter families of certificates or CAs.
func addExpiry(days, notAfter *promtext.Family, id []promtext.Label, end, now time.Time) {
	days.Samples = append(days.Samples, promtext.Sample{Labels: id, Value: timeutil.Seconds(now, end) / 86400})
	notAfter.Samples = append(notAfter.Samples, promtext.Sample{Labels: id, Value: float64(end.Unix())})
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

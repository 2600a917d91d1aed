package reports

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/validation"
)

// Weeks is the length of the expiration timeline.
const Weeks = 13

// ExpiringSoon is how close to NotAfter an ineligible certificate needs
// action.
const ExpiringSoon = 30 * timeutil.Day

// RecentlyRevoked is how long a revoked certificate stays in NeedsAction.
const RecentlyRevoked = 30 * timeutil.Day

// Reasons a certificate needs action, most urgent first.
const (
	ReasonExpired            = "EXPIRED"
	ReasonRenewalFailed      = "RENEWAL_FAILED"
	ReasonExpiringIneligible = "EXPIRING_INELIGIBLE"
	ReasonRenewalOverdue     = "RENEWAL_OVERDUE"
	// ReasonRenewalPendingValidation: an ISSUED certificate's managed
	// renewal waits for its names to be validated again (RenewalStatus
	// PENDING_VALIDATION, the event Renewal Action Required).
	ReasonRenewalPendingValidation = "RENEWAL_PENDING_VALIDATION"
	ReasonFailed                   = "FAILED"
	ReasonValidationTimedOut       = "VALIDATION_TIMED_OUT"
	ReasonPendingValidation        = "PENDING_VALIDATION"
	ReasonRevokedRecently          = "REVOKED_RECENTLY"
)

// Reasons lists the NeedsAction reasons in order of urgency.
var Reasons = []string{ReasonExpired, ReasonRenewalFailed, ReasonExpiringIneligible, ReasonRenewalOverdue,
	ReasonRenewalPendingValidation, ReasonFailed, ReasonValidationTimedOut, ReasonPendingValidation, ReasonRevokedRecently}

// Dashboard is the dashboard's JSON form.
type Dashboard struct {
	Counts             Counts   `json:"Counts"`
	ExpirationTimeline []Week   `json:"ExpirationTimeline"`
	NeedsAction        []Action `json:"NeedsAction"`
	// AcmeEndpoints are the issuance counters of every ACME endpoint.
	AcmeEndpoints []EndpointIssuance `json:"AcmeEndpoints"`
	// FailedDeployments are the deploy targets whose last install or
	// command failed, most recent first.
	FailedDeployments []FailedDeployment `json:"FailedDeployments"`
}

// FailedDeployment is a deploy target whose last attempt failed: the
// certificate is not (or not in its current version) installed there, or
// the target's command failed, until `renew --due` or `deploy` succeeds.
type FailedDeployment struct {
	CertificateArn string `json:"CertificateArn"`
	DomainName     string `json:"DomainName"`
	// Target is the target as InUseBy names it ("file:PATH (host NAME)").
	Target string `json:"Target"`
	// FailedAt is when the last attempt failed (null for a target that
	// failed before certctl kept the time).
	FailedAt *inventory.Timestamp `json:"FailedAt"`
	// Reason says what failed without quoting the target's command or its
	// output (see `certctl renew --due` and `certctl events` for those).
	Reason string `json:"Reason"`
}

// ReasonUnrecorded is the Reason of a target that failed before certctl
// kept a reason fit to show.
const ReasonUnrecorded = "deploy failed (reason not recorded; `certctl renew --due` retries it and reports why)"

// EndpointIssuance is one ACME endpoint's issuance success and failure.
type EndpointIssuance struct {
	AcmeEndpointArn            string `json:"AcmeEndpointArn"`
	CertificateIssuanceSuccess int64  `json:"CertificateIssuanceSuccess"`
	CertificateIssuanceFailed  int64  `json:"CertificateIssuanceFailed"`
}

// Counts are the inventory's counts; every known value is present, zero
// or not.
type Counts struct {
	Total                int            `json:"Total"`
	ByStatus             map[string]int `json:"ByStatus"`
	ByType               map[string]int `json:"ByType"`
	ByKeyPairOrigin      map[string]int `json:"ByKeyPairOrigin"`
	ByRenewalEligibility map[string]int `json:"ByRenewalEligibility"`
}

// Week is one bar of the expiration timeline: the ISSUED certificates
// whose NotAfter falls in [WeekStart, WeekEnd).
type Week struct {
	WeekStart *inventory.Timestamp `json:"WeekStart"`
	WeekEnd   *inventory.Timestamp `json:"WeekEnd"`
	Count     int                  `json:"Count"`
}

// Action is a certificate that needs attention.
type Action struct {
	CertificateArn string               `json:"CertificateArn"`
	DomainName     string               `json:"DomainName"`
	Reason         string               `json:"Reason"`
	Detail         string               `json:"Detail"`
	Status         string               `json:"Status"`
	NotAfter       *inventory.Timestamp `json:"NotAfter,omitempty"`
}

// Dashboard summarises the inventory, every origin included, at the
// service's clock, with the issuance counters of every ACME endpoint.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return Dashboard{}, err
	}
	out := Compute(s.core.Names, snap.certs, s.set.Renewal, snap.now)
	out.FailedDeployments = FailedDeployments(s.core.Names, snap.certs, snap.targets)
	out.AcmeEndpoints = []EndpointIssuance{}
	for _, m := range snap.acme {
		out.AcmeEndpoints = append(out.AcmeEndpoints, EndpointIssuance{AcmeEndpointArn: s.core.Names.EndpointARN(m.EndpointID),
			CertificateIssuanceSuccess: m.CertificateIssuanceSuccess, CertificateIssuanceFailed: m.CertificateIssuanceFailed})
	}
	return out, nil
}

// Compute builds the dashboard of certs (every origin) at now. Statuses are
// effective statuses (an ISSUED certificate past NotAfter is EXPIRED), and
// an expired certificate is INELIGIBLE whatever its stored eligibility.
func Compute(n inventory.Names, certs []*localstore.Certificate, policy renewal.Policy, now time.Time) Dashboard {
	out := Dashboard{
		Counts: Counts{
			Total:                len(certs),
			ByStatus:             zeros(inventory.Statuses),
			ByType:               zeros(inventory.Types),
			ByKeyPairOrigin:      zeros(inventory.Origins),
			ByRenewalEligibility: zeros(inventory.Eligibilities),
		},
		ExpirationTimeline: timeline(now),
		NeedsAction:        []Action{},
		FailedDeployments:  []FailedDeployment{},
	}
	for _, c := range certs {
		status := inventory.EffectiveStatus(c, now)
		out.Counts.ByStatus[status]++
		out.Counts.ByType[c.Type]++
		out.Counts.ByKeyPairOrigin[c.KeyPairOrigin]++
		out.Counts.ByRenewalEligibility[Eligibility(c, status)]++
		if status == inventory.StatusIssued {
			for i := range out.ExpirationTimeline {
				w := &out.ExpirationTimeline[i]
				if !c.NotAfter.Before(time.Time(*w.WeekStart)) && c.NotAfter.Before(time.Time(*w.WeekEnd)) {
					w.Count++
				}
			}
		}
		if reason, detail := needsAction(c, status, policy, now); reason != "" {
			out.NeedsAction = append(out.NeedsAction, Action{CertificateArn: n.CertificateARN(c.ID), DomainName: c.DomainName,
				Reason: reason, Detail: detail, Status: status, NotAfter: inventory.TS(c.NotAfter)})
		}
	}
	rank := map[string]int{}
	for i, r := range Reasons {
		rank[r] = i
	}
	sort.SliceStable(out.NeedsAction, func(i, j int) bool {
		a, b := out.NeedsAction[i], out.NeedsAction[j]
		if rank[a.Reason] != rank[b.Reason] {
			return rank[a.Reason] < rank[b.Reason]
		}
		ta, tb := tsTime(a.NotAfter), tsTime(b.NotAfter)
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.CertificateArn < b.CertificateArn
	})
	return out
}

// FailedDeployments lists the targets (by certificate ID) whose last
// attempt failed, of the certificates in certs, most recent failure first
// (those without a time last), then by ARN and target.
func FailedDeployments(n inventory.Names, certs []*localstore.Certificate, targets map[string][]deploy.Target) []FailedDeployment {
	out := []FailedDeployment{}
	for _, c := range certs {
		labels := deploy.Labels(targets[c.ID])
		for i, t := range targets[c.ID] {
			if t.LastError == "" {
				continue
			}
			f := FailedDeployment{CertificateArn: n.CertificateARN(c.ID), DomainName: c.DomainName,
				Target: labels[i], Reason: t.Failure}
			if f.Reason == "" {
				f.Reason = ReasonUnrecorded
			}
			if t.FailedAt != nil {
				f.FailedAt = inventory.TS(*t.FailedAt)
			}
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.FailedAt == nil) != (b.FailedAt == nil) {
			return b.FailedAt == nil
		}
		if ta, tb := tsTime(a.FailedAt), tsTime(b.FailedAt); !ta.Equal(tb) {
			return ta.After(tb)
		}
		if a.CertificateArn != b.CertificateArn {
			return a.CertificateArn < b.CertificateArn
		}
		return a.Target < b.Target
	})
	return out
}

// Eligibility is c's renewal eligibility as list shows it, except that a
// certificate that is not (effectively) ISSUED is INELIGIBLE.
func Eligibility(c *localstore.Certificate, status string) string {
	if c.RenewalEligibility == inventory.Eligible && status == inventory.StatusIssued {
		return inventory.Eligible
	}
	return inventory.Ineligible
}

func zeros(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

// timeline returns the empty weeks, the first starting at midnight UTC of
// now's day.
func timeline(now time.Time) []Week {
	day0 := now.UTC().Truncate(timeutil.Day)
	weeks := make([]Week, Weeks)
	for i := range weeks {
		weeks[i] = Week{WeekStart: inventory.TS(day0.Add(time.Duration(i) * 7 * timeutil.Day)),
			WeekEnd: inventory.TS(day0.Add(time.Duration(i+1) * 7 * timeutil.Day))}
	}
	return weeks
}

func tsTime(t *inventory.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Time(*t)
}

// needsAction returns why c needs attention, or "".
func needsAction(c *localstore.Certificate, status string, policy renewal.Policy, now time.Time) (string, string) {
	left := c.NotAfter.Sub(now)
	switch {
	case status == inventory.StatusExpired:
		return ReasonExpired, "expired " + ago(c.NotAfter, now) + "; replace it or delete it"
	case c.Renewal != nil && c.Renewal.Status == renewal.StatusFailed && status == inventory.StatusIssued:
		return ReasonRenewalFailed, fmt.Sprintf("managed renewal failed (%s); expires %s", orOther(c.Renewal.Reason), in(now, c.NotAfter))
	case c.Renewal != nil && c.Renewal.Status == renewal.StatusPendingValidation && status == inventory.StatusIssued:
		return ReasonRenewalPendingValidation, renewalWaits(c) + "; expires " + in(now, c.NotAfter)
	case status == inventory.StatusFailed:
		return ReasonFailed, "issuance failed (" + orOther(c.FailureReason) + ")"
	case status == inventory.StatusValidationTimedOut:
		return ReasonValidationTimedOut, "domain validation was not completed within 72 hours; request it again"
	case status == inventory.StatusPendingValidation:
		return ReasonPendingValidation, "waiting for domain validation (see describe --validation-records)"
	case status == inventory.StatusRevoked:
		if !c.RevokedAt.IsZero() && now.Sub(c.RevokedAt) <= RecentlyRevoked {
			d := "revoked " + ago(c.RevokedAt, now)
			if c.RevocationReason != "" {
				d += " (" + c.RevocationReason + ")"
			}
			if c.InUse() {
				d += "; still recorded as deployed"
			}
			return ReasonRevokedRecently, d
		}
	case status == inventory.StatusIssued && !c.NotAfter.IsZero():
		ok, why := renewal.Eligible(c, now)
		if !ok && left <= ExpiringSoon {
			return ReasonExpiringIneligible, "expires " + in(now, c.NotAfter) + "; not renewed automatically: " + why
		}
		if ok && !now.Before(c.NotAfter.Add(-policy.WindowFor(c)/2)) {
			return ReasonRenewalOverdue, "expires " + in(now, c.NotAfter) + " and is past half its renewal window: is `certctl renew --due` running?"
		}
	}
	return "", ""
}

// renewalWaits says what holds back c's renewal, PENDING_VALIDATION, and
// what to do about it, by its RenewalStatusReason and validation method
// (tester: a CAA_ERROR was told to see the validation records and resend
// the approval email of a DNS-validated certificate whose CNAME was there).
func renewalWaits(c *localstore.Certificate) string {
	names := validation.PendingNames(c)
	if len(names) == 0 {
		// Every name validated (an EMAIL renewal refused by CAA after its
		// approvals): the certificate's names.
		names = append([]string{c.DomainName}, slices.DeleteFunc(slices.Clone(c.SubjectAlternativeNames), func(n string) bool { return n == c.DomainName })...)
	}
	of := strings.Join(names, ", ")
	switch reason := c.Renewal.Reason; {
	case reason == validation.ReasonCAA:
		return "renewal refused (CAA_ERROR): the CAA records of " + of + " forbid certctl; fix them, or add certctl's identity to validation.caa_identities"
	case reason != "" && reason != renewal.ReasonPendingDomainValidation:
		return "renewal waits for domain validation (" + reason + ") of " + of + "; `certctl renew --due` says why"
	}
	switch c.ValidationMethod {
	case validation.MethodDNS:
		return "renewal waits for the validation CNAME record of " + of + " (see describe --validation-records)"
	case validation.MethodHTTP:
		return "renewal waits for the validation redirect of " + of + " (its RedirectFrom URL must redirect to RedirectTo: see describe)"
	case validation.MethodEmail:
		return "renewal waits for the approval of " + of + " (resend-validation-email sends a new code)"
	}
	return "renewal waits for domain validation of " + of
}

func orOther(s string) string {
	if s == "" {
		return "OTHER"
	}
	return s
}

// in says when t comes after now: "in 3 days" / "in 5 hours".
func in(now, t time.Time) string { return "in " + span(timeutil.SpanSeconds(now, t)) }

// ago says how long before now t was: "3 days ago".
func ago(t, now time.Time) string { return span(timeutil.SpanSeconds(t, now)) + " ago" }

// span is secs seconds for people (counted from times, not from a
// time.Duration, which stops at 292 years).
func span(secs int64) string {
	switch {
	case secs >= 2*86400:
		return fmt.Sprintf("%d days", secs/86400)
	case secs >= 2*3600:
		return fmt.Sprintf("%d hours", secs/3600)
	case secs >= 2*60:
		return fmt.Sprintf("%d minutes", secs/60)
	}
	return "moments"
}

package renewals

import (
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/validation"
)

// TestDryVerdictAsThePass: the dry run decides a recheck as the pass does
// and tells whether the pass would find the certificate waiting as it was
// (which -q leaves out): a name whose check changes, or a summary that
// changes, is news; the same findings again are not. The caller's
// certificate is left as it was.
func TestDryVerdictAsThePass(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	waitingOn := func(statuses ...string) *localstore.Certificate {
		c := &localstore.Certificate{Renewal: &localstore.RenewalSummary{Status: renewal.StatusPendingValidation, Reason: renewal.ReasonPendingDomainValidation}}
		for i, st := range statuses {
			c.Validations = append(c.Validations, localstore.DomainValidation{DomainName: []string{"a.example.test", "b.example.test"}[i], Status: st})
		}
		return c
	}
	check := func(a, b string) precheck {
		return precheck{checked: true, checks: []validation.NameCheck{{DomainName: "a.example.test", Status: a}, {DomainName: "b.example.test", Status: b}}}
	}
	for _, tc := range []struct {
		name    string
		c       *localstore.Certificate
		pre     precheck
		outcome string
		waiting bool
	}{
		{"all in place", waitingOn(validation.StatusSuccess, validation.StatusPending), check(validation.StatusSuccess, validation.StatusSuccess), "", false},
		{"the same name missing again", waitingOn(validation.StatusSuccess, validation.StatusPending), check(validation.StatusSuccess, validation.StatusFailed), renewal.PendingValidation, true},
		{"another name missing now", waitingOn(validation.StatusSuccess, validation.StatusPending), check(validation.StatusFailed, validation.StatusFailed), renewal.PendingValidation, false},
		{"first found missing", &localstore.Certificate{Validations: []localstore.DomainValidation{{DomainName: "a.example.test", Status: validation.StatusSuccess}}}, check(validation.StatusFailed, ""), renewal.PendingValidation, false},
		{"CAA forbids, the summary says otherwise", waitingOn(validation.StatusSuccess), precheck{forbidden: &validation.NameCheck{DomainName: "a.example.test", Detail: "issue \"other.example\""}}, renewal.PendingValidation, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := make([]localstore.DomainValidation, len(tc.c.Validations))
			copy(before, tc.c.Validations)
			summary := *tc.c
			outcome, reason, waiting := dryVerdict(tc.c, tc.pre, now)
			if outcome != tc.outcome || waiting != tc.waiting {
				t.Errorf("dryVerdict = %q, %q, waiting %v; want %q, waiting %v", outcome, reason, waiting, tc.outcome, tc.waiting)
			}
			for i := range before {
				if tc.c.Validations[i].Status != before[i].Status || !tc.c.Validations[i].UpdatedAt.Equal(before[i].UpdatedAt) {
					t.Errorf("the caller's certificate was changed: %+v, was %+v", tc.c.Validations[i], before[i])
				}
			}
			if tc.c.Renewal != summary.Renewal {
				t.Error("the caller's renewal summary was replaced")
			}
		})
	}
}

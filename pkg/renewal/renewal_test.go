package renewal

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

const day = 24 * time.Hour

func TestWindowFor(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := func(life time.Duration, method string) *localstore.Certificate {
		return &localstore.Certificate{NotBefore: t0, NotAfter: t0.Add(life), ValidationMethod: method}
	}
	p := Policy{Window: 60 * day, EmailWindow: 45 * day}
	for _, tc := range []struct {
		name   string
		c      *localstore.Certificate
		within time.Duration
		want   time.Duration
	}{
		{"395 days: the configured window", cert(395*day, "DNS"), 0, 60 * day},
		{"30 days: capped at a third", cert(30*day, ""), 0, 10 * day},
		{"EMAIL: the email window", cert(395*day, "EMAIL"), 0, 45 * day},
		{"EMAIL, 90 days: capped", cert(90*day, "EMAIL"), 0, 30 * day},
		{"--within: uncapped", cert(30*day, ""), 40 * day, 40 * day},
	} {
		p.Within = tc.within
		if got := p.WindowFor(tc.c); got != tc.want {
			t.Errorf("%s: window %v, want %v", tc.name, got, tc.want)
		}
		start := tc.c.NotAfter.Add(-tc.want)
		if p.Due(tc.c, start.Add(-time.Second)) || !p.Due(tc.c, start) {
			t.Errorf("%s: due boundary is not at NotAfter - %v", tc.name, tc.want)
		}
	}
}

func TestEligible(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base := func() *localstore.Certificate {
		return &localstore.Certificate{Type: "PRIVATE", KeyPairOrigin: "VAULT", Status: "ISSUED", Exported: true, NotAfter: now.Add(day)}
	}
	for _, tc := range []struct {
		name   string
		change func(c *localstore.Certificate)
		ok     bool
		why    string
	}{
		{"exported private", func(c *localstore.Certificate) {}, true, ""},
		{"deployed issued", func(c *localstore.Certificate) { c.Type, c.Exported, c.InUseBy = "ISSUED", false, []string{"file:/x"} }, true, ""},
		{"neither exported nor deployed", func(c *localstore.Certificate) { c.Exported = false }, false, "neither exported"},
		{"imported", func(c *localstore.Certificate) { c.Type, c.KeyPairOrigin = "IMPORTED", "IMPORTED" }, false, "imported"},
		{"acme", func(c *localstore.Certificate) { c.Type, c.KeyPairOrigin = "ISSUED", "ACME" }, false, "ACME"},
		{"revoked", func(c *localstore.Certificate) { c.Status = "REVOKED" }, false, "revoked"},
		{"expired status", func(c *localstore.Certificate) { c.Status = "EXPIRED" }, false, "expired"},
		{"past NotAfter", func(c *localstore.Certificate) { c.NotAfter = now.Add(-time.Second) }, false, "expired"},
		{"pending", func(c *localstore.Certificate) { c.Status = "PENDING_VALIDATION" }, false, "PENDING_VALIDATION"},
	} {
		c := base()
		tc.change(c)
		ok, why := Eligible(c, now)
		if ok != tc.ok || !strings.Contains(why, tc.why) {
			t.Errorf("%s: Eligible = %v %q, want %v %q", tc.name, ok, why, tc.ok, tc.why)
		}
	}
}

// TestHousekeepingDueInWholeDays: the Approaching Expiration threshold
// counts the whole days its event reports (events.DaysToExpiry), so that
// --days-before-expiry 19 covers a certificate whose event says 19 days.
func TestHousekeepingDueInWholeDays(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	c := func(left time.Duration) *localstore.Certificate {
		return &localstore.Certificate{Status: "ISSUED", NotAfter: now.Add(left)}
	}
	for _, tc := range []struct {
		left time.Duration
		days int
		want bool
	}{
		{19*day + 23*time.Hour, 19, true},
		{20 * day, 19, false},
		{20*day - time.Second, 19, true},
		{20*day + time.Hour, 20, true},
		{21 * day, 20, false},
	} {
		if got := HousekeepingDue(c(tc.left), tc.days, now); got != tc.want {
			t.Errorf("%v left, --days-before-expiry %d: due %v, want %v", tc.left, tc.days, got, tc.want)
		}
	}
}

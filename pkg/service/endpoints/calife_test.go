package endpoints

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
)

// TestCALifeNoticeCountsTheChain (tester): an endpoint issuing from a CA
// whose outside issuer expires before a certificate of the endpoint's
// validity would is warned of, naming that issuer, though the CA's own
// certificate lasts years longer; none when the chain outlasts it.
func TestCALifeNoticeCountsTheChain(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	chainEnding := func(end time.Time) string {
		return string(testpki.CertPEM(testpki.NewRootUntil("Outside Root", now, end).Cert))
	}
	s := &Service{set: Settings{Validity: 90 * 24 * time.Hour}}
	ep := &acmestate.Endpoint{}
	r := &authority.Record{ID: "ca1", NotAfter: now.Add(3 * 365 * 24 * time.Hour), ChainPEM: chainEnding(now.Add(30 * 24 * time.Hour))}
	n := s.caLifeNotice(r, ep, now)
	if !strings.Contains(n, "CN=Outside Root") || !strings.Contains(n, "2026-04-03T05:06:07Z") {
		t.Errorf("notice for a chain ending in 30 days: %q", n)
	}
	r.ChainPEM = chainEnding(now.Add(365 * 24 * time.Hour))
	if n := s.caLifeNotice(r, ep, now); n != "" {
		t.Errorf("notice for a chain outlasting 90 days: %q", n)
	}
}

package renewals

import (
	"testing"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
)

// TestNeedsCAARecheck: an EMAIL certificate's renewal, once every name is
// approved again, reads the CAA records alone before it is issued; a DNS
// or HTTP one's recheck (its records or redirects checked again) reads
// them with them; a PRIVATE certificate's neither.
func TestNeedsCAARecheck(t *testing.T) {
	for _, c := range []struct {
		typ, method string
		caa, all    bool
	}{
		{inventory.TypeIssued, validation.MethodHTTP, false, true},
		{inventory.TypeIssued, validation.MethodEmail, false, false}, // not approved again yet
		{inventory.TypeIssued, validation.MethodDNS, false, true},
		{inventory.TypePrivate, "", false, false},
	} {
		cert := &localstore.Certificate{Type: c.typ, ValidationMethod: c.method}
		if got := needsCAARecheck(cert); got != c.caa {
			t.Errorf("%s %s: CAA alone %v, want %v", c.typ, c.method, got, c.caa)
		}
		if got := needsRecheck(cert); got != c.all {
			t.Errorf("%s %s: recheck %v, want %v", c.typ, c.method, got, c.all)
		}
	}
}

package renewals

import (
	"testing"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
)

// TestNeedsCAARecheck: an HTTP certificate's renewal, and an EMAIL one's
// once every name is approved again, read the CAA records alone before it
// is issued; a DNS one's recheck reads them with its records; a PRIVATE
// certificate's none.
func TestNeedsCAARecheck(t *testing.T) {
	for _, c := range []struct {
		typ, method string
		want        bool
	}{
		{inventory.TypeIssued, validation.MethodHTTP, true},
		{inventory.TypeIssued, validation.MethodEmail, false}, // not approved again yet
		{inventory.TypeIssued, validation.MethodDNS, false},
		{inventory.TypePrivate, "", false},
	} {
		cert := &localstore.Certificate{Type: c.typ, ValidationMethod: c.method}
		if got := needsCAARecheck(cert); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.typ, c.method, got, c.want)
		}
	}
}

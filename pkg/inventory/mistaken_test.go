package inventory_test

import (
	"testing"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
)

// TestMistakenForKinds: the object kinds ResolveCertificate looks in for
// its hint are those the CA and endpoint packages store under.
func TestMistakenForKinds(t *testing.T) {
	if got := inventory.MistakenForKinds(); len(got) != 2 || got[0] != authority.ObjectKind || got[1] != acmestate.KindEndpoint {
		t.Errorf("kinds %q, want %q and %q", got, authority.ObjectKind, acmestate.KindEndpoint)
	}
}

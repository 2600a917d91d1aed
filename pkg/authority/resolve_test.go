package authority

import (
	"testing"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

func TestResolve(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "Resolve Root", 0)
	resolve := func(arg string) (*Record, error) {
		var r *Record
		err := update(t, s, func(tx localstore.Tx) error {
			var err error
			r, err = Resolve(tx, s, arg)
			return err
		})
		return r, err
	}
	full := arn.Format(arn.CertificateAuthority, "local", "000000000000", root.ID)
	for _, arg := range []string{root.ID, root.ID[:8], full} {
		r, err := resolve(arg)
		if err != nil || r.ID != root.ID {
			t.Errorf("Resolve(%q) = %v, %v; want %s", arg, r, err, root.ID)
		}
	}
	// default creates the default hierarchy once, then finds it.
	d1, err := resolve("default")
	if err != nil || d1.BuiltIn != BuiltInDefault || d1.ID == root.ID {
		t.Fatalf("Resolve(default) = %+v, %v", d1, err)
	}
	d2, err := resolve("DEFAULT")
	if err != nil || d2.ID != d1.ID {
		t.Errorf("second Resolve(DEFAULT) = %+v, %v; want %s", d2, err, d1.ID)
	}
	if _, err := resolve("00000000-0000-4000-8000-000000000000"); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("unknown CA: %v, want exit 3", err)
	}
	if _, err := resolve("nope"); errs.ExitCodeOf(err) != errs.ExitInvalid && errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("malformed CA: %v", err)
	}
}

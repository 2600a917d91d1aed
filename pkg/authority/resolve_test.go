package authority

import (
	"context"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestResolveAndFind: both take an ARN, a UUID or a unique prefix; for
// "default", Resolve creates the default private CA on first use and Find,
// which only reads, reports it missing until then.
func TestResolveAndFind(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "Resolve Root", 0)
	arn := "arn:certctl:acm-pca:local:000000000000:certificate-authority/" + root.ID
	view := func(fn func(tx localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) }
	for _, arg := range []string{root.ID, root.ID[:8], arn} {
		if err := view(func(tx localstore.Tx) error {
			r, err := Find(tx, arg)
			if err == nil && r.ID != root.ID {
				t.Errorf("Find(%q) = %s", arg, r.ID)
			}
			return err
		}); err != nil {
			t.Errorf("Find(%q): %v", arg, err)
		}
	}
	if err := view(func(tx localstore.Tx) error { _, err := Find(tx, "DEFAULT"); return err }); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("Find(default) before first use: %v", err)
	}
	if err := view(func(tx localstore.Tx) error { _, err := Find(tx, "00000000"); return err }); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("Find of an unknown prefix: %v", err)
	}
	var def *Record
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		def, err = Resolve(tx, s, "default")
		return err
	})
	if def.BuiltIn != BuiltInDefault {
		t.Fatalf("Resolve(default) = %+v", def)
	}
	if err := view(func(tx localstore.Tx) error {
		r, err := Find(tx, "default")
		if err == nil && r.ID != def.ID {
			t.Errorf("Find(default) = %s, want %s", r.ID, def.ID)
		}
		return err
	}); err != nil {
		t.Errorf("Find(default) after first use: %v", err)
	}
}

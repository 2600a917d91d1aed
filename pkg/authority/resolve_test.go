package authority

import (
	"context"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestResolveAndFind: both take an ARN (of the configured region and
// account only), a UUID or a unique prefix; for
// "default", Resolve creates the default private CA on first use and Find,
// which only reads, reports it missing until then.
func TestResolveAndFind(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "Resolve Root", 0)
	arn := "arn:certctl:acm-pca:local:000000000000:certificate-authority/" + root.ID
	view := func(fn func(tx localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) }
	for _, arg := range []string{root.ID, root.ID[:8], arn} {
		if err := view(func(tx localstore.Tx) error {
			r, err := Find(tx, testNames, arg)
			if err == nil && r.ID != root.ID {
				t.Errorf("Find(%q) = %s", arg, r.ID)
			}
			return err
		}); err != nil {
			t.Errorf("Find(%q): %v", arg, err)
		}
	}
	// An ARN of another region or account names no CA of this vault,
	// though its UUID is one's: not found, by Find and by Resolve alike
	// (a full ARN names a whole UUID: one cut short is refused, see
	// pkg/arn).
	for _, foreign := range []string{
		"arn:certctl:acm-pca:eu-west-1:000000000000:certificate-authority/" + root.ID,
		"arn:certctl:acm-pca:local:111111111111:certificate-authority/" + root.ID,
	} {
		if err := view(func(tx localstore.Tx) error { _, err := Find(tx, testNames, foreign); return err }); errs.ExitCodeOf(err) != errs.ExitNotFound ||
			!strings.Contains(err.Error(), "but this vault is configured for region local and account 000000000000") {
			t.Errorf("Find(%q): %v, want not found naming the configured region and account", foreign, err)
		}
		if err := s.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
			_, err := Resolve(tx, s, testNames, foreign)
			return err
		}); errs.ExitCodeOf(err) != errs.ExitNotFound {
			t.Errorf("Resolve(%q): %v, want not found", foreign, err)
		}
	}
	if err := view(func(tx localstore.Tx) error { _, err := Find(tx, testNames, "DEFAULT"); return err }); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("Find(default) before first use: %v", err)
	}
	if err := view(func(tx localstore.Tx) error { _, err := Find(tx, testNames, "00000000"); return err }); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("Find of an unknown prefix: %v", err)
	}
	var def *Record
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		def, err = Resolve(tx, s, testNames, "default")
		return err
	})
	if def.BuiltIn != BuiltInDefault {
		t.Fatalf("Resolve(default) = %+v", def)
	}
	if err := view(func(tx localstore.Tx) error {
		r, err := Find(tx, testNames, "default")
		if err == nil && r.ID != def.ID {
			t.Errorf("Find(default) = %s, want %s", r.ID, def.ID)
		}
		return err
	}); err != nil {
		t.Errorf("Find(default) after first use: %v", err)
	}
}

package localstore_test

import (
	"crypto"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// wrappedCopy reads a vault directory's master.key.enc.
func wrappedCopy(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, localstore.WrappedMasterFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyGeneration is the generation a wrapped copy says it has (0: none).
func copyGeneration(t *testing.T, b []byte) uint64 {
	t.Helper()
	var w struct {
		Gen uint64 `json:"gen"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w.Gen
}

// editCopy returns the wrapped copy b changed by edit (its JSON fields).
func editCopy(t *testing.T, b []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// legacyCopy is b as a release before generations wrote it: no gen, no tag.
func legacyCopy(t *testing.T, b []byte) []byte {
	return editCopy(t, b, func(m map[string]any) { delete(m, "gen"); delete(m, "tag") })
}

// publish puts b in the store at u as its published copy, as someone with
// database access does (no vault: no write guard).
func publish(t *testing.T, u string, b []byte) {
	t.Helper()
	if err := openPostgresAt(t, u).Update(pgCtx(t), func(tx localstore.Tx) error {
		return tx.PutMeta(localstore.MetaMasterKeyWrapped, b)
	}); err != nil {
		t.Fatal(err)
	}
}

func published(t *testing.T, v *localstore.Vault) []byte {
	t.Helper()
	var b []byte
	if err := v.Store.View(pgCtx(t), func(tx localstore.Tx) (err error) {
		b, err = tx.GetMeta(localstore.MetaMasterKeyWrapped)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func changePassphrase(t *testing.T, v *localstore.Vault, to string) {
	t.Helper()
	r, err := v.NewRewrap([]byte(to))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Store.Update(pgCtx(t), func(tx localstore.Tx) error { return v.InstallRewrap(tx, r) }); err != nil {
		t.Fatalf("change-passphrase to %q: %v", to, err)
	}
}

// publishedProblems is what vault verify says of the store's published
// copy, from the vault directory of v.
func publishedProblems(t *testing.T, v *localstore.Vault) []string {
	t.Helper()
	s, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	var p []string
	if err := v.Store.View(pgCtx(t), func(tx localstore.Tx) (err error) {
		p, err = v.PublishedKeyProblems(tx, s)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStoreCannotRevertPassphrase: someone with database access puts back
// the wrapped copy the store published before a passphrase change. The
// machines that saw the change keep their copy: the current passphrase
// opens the vault there, the retired one does not, nothing is rewritten
// under it, vault verify reports the stale copy, and a change-passphrase
// (not refused by the stale copy) publishes a current one.
func TestStoreCannotRevertPassphrase(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	aDir, cDir, a, k := twoMachines(t, u)
	oldPublished := wrappedCopy(t, aDir)
	changePassphrase(t, a, "new")
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("new")), "k"); err != nil {
		t.Fatal(err)
	}
	current := wrappedCopy(t, cDir)
	if g := copyGeneration(t, current); g != 2 {
		t.Errorf("the copy after one change is generation %d, want 2", g)
	}
	publish(t, u, oldPublished)

	for _, dir := range []string{aDir, cDir} {
		got, err := openKey(openSharedVault(t, dir, u, []byte("new")), "k")
		if err != nil || !k.(equaler).Equal(got) {
			t.Errorf("current passphrase refused after the store's copy was put back: %v", err)
		}
	}
	_, err := openSharedVault(t, cDir, u, []byte("old")).Sealer()
	if !errors.Is(err, localstore.ErrWrongPassphrase) || !strings.Contains(err.Error(), "older") {
		t.Errorf("the retired passphrase: %v, want a refusal saying the store's copy is older", err)
	}
	if strings.Contains(err.Error(), "old") && strings.Contains(err.Error(), `"old"`) {
		t.Errorf("the refusal names the passphrase: %v", err)
	}
	if string(wrappedCopy(t, cDir)) != string(current) {
		t.Error("the machine's copy was rewritten after the store's copy was put back")
	}

	probs := publishedProblems(t, openSharedVault(t, cDir, u, []byte("new")))
	if len(probs) != 1 || !strings.Contains(probs[0], "rolled back") {
		t.Errorf("verify's problems with the put-back copy: %q", probs)
	}
	// A change-passphrase is not refused by the stale copy: it publishes
	// a current one (generation 3), which the other machine adopts.
	changePassphrase(t, openSharedVault(t, aDir, u, []byte("new")), "newer")
	if g := copyGeneration(t, published(t, a)); g != 3 {
		t.Errorf("the copy published over a stale one is generation %d, want 3", g)
	}
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("newer")), "k"); err != nil {
		t.Errorf("after republishing: %v", err)
	}
	if p := publishedProblems(t, openSharedVault(t, cDir, u, []byte("newer"))); len(p) != 0 {
		t.Errorf("verify's problems once republished: %q", p)
	}
}

// TestForgedGeneration: a put-back copy whose generation was raised, or
// that carries a newer copy's generation and tag, is not taken for newer.
func TestForgedGeneration(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	aDir, cDir, a, _ := twoMachines(t, u)
	oldPublished := wrappedCopy(t, aDir)
	changePassphrase(t, a, "new")
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("new")), "k"); err != nil {
		t.Fatal(err)
	}
	var newer map[string]any
	if err := json.Unmarshal(published(t, a), &newer); err != nil {
		t.Fatal(err)
	}
	for name, forged := range map[string][]byte{
		"raised":      editCopy(t, oldPublished, func(m map[string]any) { m["gen"] = 99 }),
		"moved tag":   editCopy(t, oldPublished, func(m map[string]any) { m["gen"], m["tag"] = newer["gen"], newer["tag"] }),
		"without tag": editCopy(t, oldPublished, func(m map[string]any) { m["gen"] = 99; delete(m, "tag") }),
	} {
		publish(t, u, forged)
		if _, err := openSharedVault(t, cDir, u, []byte("old")).Sealer(); !errors.Is(err, localstore.ErrWrongPassphrase) {
			t.Errorf("%s: the retired passphrase: %v, want refused", name, err)
		}
		for _, dir := range []string{aDir, cDir} {
			if _, err := openKey(openSharedVault(t, dir, u, []byte("new")), "k"); err != nil {
				t.Errorf("%s: the current passphrase: %v", name, err)
			}
		}
		if p := publishedProblems(t, openSharedVault(t, cDir, u, []byte("new"))); len(p) != 1 {
			t.Errorf("%s: verify's problems: %q", name, p)
		}
	}
}

// TestPublishedCopyWithoutGeneration: copies written by a release before
// generations keep the behaviour they had — the store's prevails over a
// machine's copy without a generation — until the next change publishes
// one; from then on a copy without a generation is older.
func TestPublishedCopyWithoutGeneration(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	aDir, cDir, a, _ := twoMachines(t, u)
	// Everything as the older release wrote it.
	legacy := legacyCopy(t, wrappedCopy(t, aDir))
	for _, dir := range []string{aDir, cDir} {
		if err := os.WriteFile(filepath.Join(dir, localstore.WrappedMasterFile), legacy, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, u, legacy)
	// The older release changes the passphrase on A: a copy without a
	// generation, which C adopts as before.
	changePassphrase(t, openSharedVault(t, aDir, u, []byte("old")), "new")
	legacyNew := legacyCopy(t, wrappedCopy(t, aDir))
	if err := os.WriteFile(filepath.Join(aDir, localstore.WrappedMasterFile), legacyNew, 0o600); err != nil {
		t.Fatal(err)
	}
	publish(t, u, legacyNew)
	if _, err := openSharedVault(t, cDir, u, []byte("old")).Sealer(); !errors.Is(err, localstore.ErrWrongPassphrase) || !strings.Contains(err.Error(), "vault change-passphrase") {
		t.Errorf("the old passphrase before C saw the older release's change: %v", err)
	}
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("new")), "k"); err != nil {
		t.Fatalf("the older release's change did not reach C: %v", err)
	}
	if string(wrappedCopy(t, cDir)) != string(legacyNew) {
		t.Error("C did not take the store's copy")
	}
	// This release's change publishes a generation (1: no copy had one).
	changePassphrase(t, openSharedVault(t, aDir, u, []byte("new")), "newer")
	if g := copyGeneration(t, published(t, a)); g != 1 {
		t.Errorf("the first copy with a generation is %d, want 1", g)
	}
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("newer")), "k"); err != nil {
		t.Fatalf("the change did not reach C: %v", err)
	}
	// Putting back the copy without a generation undoes nothing.
	publish(t, u, legacyNew)
	if _, err := openSharedVault(t, cDir, u, []byte("new")).Sealer(); !errors.Is(err, localstore.ErrWrongPassphrase) {
		t.Errorf("the retired passphrase with the older release's copy put back: %v", err)
	}
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("newer")), "k"); err != nil {
		t.Errorf("the current passphrase with the older release's copy put back: %v", err)
	}
	if p := publishedProblems(t, openSharedVault(t, cDir, u, []byte("newer"))); len(p) != 1 {
		t.Errorf("verify's problems: %q", p)
	}
}

// TestRotationContinuesGenerations: a rotation publishes the new key with
// the next generation, and once the store is sealed under it, a put-back
// copy of it under a retired passphrase is not taken (nor by the path
// that takes a rotation's key).
func TestRotationContinuesGenerations(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	aDir, cDir, a, k := twoMachines(t, u)
	changePassphrase(t, a, "new")
	next, err := openSharedVault(t, aDir, u, []byte("new")).RotateKey(pgCtx(t), localstore.RotateHooks{})
	if err != nil {
		t.Fatal(err)
	}
	rotated := published(t, a)
	if g := copyGeneration(t, rotated); g != 3 {
		t.Errorf("the rotation published generation %d, want 3", g)
	}
	if string(wrappedCopy(t, aDir)) != string(rotated) {
		t.Error("the rotating machine's copy is not the published one")
	}
	if s, err := openSharedVault(t, cDir, u, []byte("new")).Sealer(); err != nil || s.ID() != next.ID() {
		t.Fatalf("C after the rotation: %v %v", s, err)
	}
	changePassphrase(t, openSharedVault(t, aDir, u, []byte("new")), "newer")
	if g := copyGeneration(t, published(t, a)); g != 4 {
		t.Errorf("the change after the rotation published generation %d, want 4", g)
	}
	if _, err := openKey(openSharedVault(t, cDir, u, []byte("newer")), "k"); err != nil {
		t.Fatal(err)
	}
	publish(t, u, rotated)
	if _, err := openSharedVault(t, cDir, u, []byte("new")).Sealer(); !errors.Is(err, localstore.ErrWrongPassphrase) {
		t.Errorf("the retired passphrase with the rotation's copy put back: %v", err)
	}
	for _, dir := range []string{aDir, cDir} {
		got, err := openKey(openSharedVault(t, dir, u, []byte("newer")), "k")
		if err != nil || !k.(equaler).Equal(got) {
			t.Errorf("the current passphrase with the rotation's copy put back: %v", err)
		}
	}
}

// twoMachines is a shared store (u) joined by machine A, in aDir, which
// seals the key k under "k", and machine C, in cDir, both with the
// passphrase "old".
func twoMachines(t *testing.T, u string) (aDir, cDir string, a *localstore.Vault, k crypto.Signer) {
	t.Helper()
	aDir, cDir = t.TempDir(), t.TempDir()
	a = openSharedVault(t, aDir, u, []byte("old"))
	k = ecKey(t)
	sealKey(t, a, "k", k)
	if _, err := openSharedVault(t, cDir, u, []byte("old")).Sealer(); err != nil {
		t.Fatal(err)
	}
	return aDir, cDir, a, k
}

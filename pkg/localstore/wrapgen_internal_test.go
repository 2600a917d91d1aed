package localstore

import (
	"bytes"
	"encoding/json"
	"testing"
)

// wrapCopy is a wrapped copy (its sealed bytes fake: the tag does not
// look inside them) of generation gen, tagged under macKey.
func wrapCopy(t *testing.T, macKey []byte, sealed string, gen uint64) []byte {
	t.Helper()
	w := wrappedKey{KDF: "scrypt", Params: ScryptParams{N: 1 << 10, R: 8, P: 1}, Salt: []byte("salt-" + sealed),
		Nonce: []byte("nonce-" + sealed), Sealed: []byte(sealed), ID: "k1"}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = stampWrap(b, macKey, gen); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWrapTagCoversTheCopy: a newer copy's generation and tag moved onto
// an older copy (someone with database access rolling the published copy
// back to an old passphrase's) prove nothing, whichever of the copy's
// fields differs: the machine that has not seen the newer copy yet does
// not take the old one as newer (final review: no test failed with the
// salt, nonce and sealed bytes left out of the tag).
func TestWrapTagCoversTheCopy(t *testing.T) {
	macKey := bytes.Repeat([]byte{7}, 32)
	newer := wrapCopy(t, macKey, "new-passphrase", 2)
	var n wrappedKey
	if err := json.Unmarshal(newer, &n); err != nil {
		t.Fatal(err)
	}
	for name, alter := range map[string]func(w *wrappedKey){
		"salt":   func(w *wrappedKey) { w.Salt = []byte("old salt") },
		"nonce":  func(w *wrappedKey) { w.Nonce = []byte("old nonce") },
		"sealed": func(w *wrappedKey) { w.Sealed = []byte("old-passphrase") },
		"id":     func(w *wrappedKey) { w.ID = "k0" },
		"kdf":    func(w *wrappedKey) { w.KDF = "argon2id" },
		"N":      func(w *wrappedKey) { w.Params.N *= 2 },
		"r":      func(w *wrappedKey) { w.Params.R++ },
		"p":      func(w *wrappedKey) { w.Params.P++ },
	} {
		w := n
		alter(&w)
		moved, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if gen, stamped := wrapGeneration(moved, macKey); gen != 0 || !stamped {
			t.Errorf("%s changed under a moved tag: generation %d (stamped %v), want 0 (stamped)", name, gen, stamped)
		}
		own := wrapCopy(t, macKey, "old-passphrase", 1)
		if wrapNewer(moved, own, macKey) {
			t.Errorf("%s changed under a moved tag: taken as newer than generation 1", name)
		}
	}
	if gen, _ := wrapGeneration(newer, macKey); gen != 2 {
		t.Fatalf("the newer copy itself: generation %d, want 2", gen)
	}
}

// TestNextGenerationPassesTheStores: a change made by a machine whose own
// copy is behind the store's (a long-running process) publishes one more
// than the store's generation, so that every machine takes it as newer
// (final review: no test failed with the store's generation left out).
func TestNextGenerationPassesTheStores(t *testing.T) {
	macKey := bytes.Repeat([]byte{7}, 32)
	own, published := wrapCopy(t, macKey, "a", 1), wrapCopy(t, macKey, "b", 2)
	for _, tc := range []struct {
		own, published []byte
		want           uint64
	}{
		{own, published, 3},
		{published, own, 3},
		{own, nil, 2},
		{nil, nil, 1},
	} {
		got, err := nextGeneration(tc.own, tc.published, macKey)
		if err != nil || got != tc.want {
			t.Errorf("nextGeneration: %d, %v, want %d", got, err, tc.want)
		}
	}
}

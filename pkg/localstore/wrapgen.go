package localstore

// Generations of the wrapped master key.
//
// A shared (PostgreSQL) store publishes the passphrase-wrapped master key
// (MetaMasterKeyWrapped) and every machine keeps a copy in master.key.enc.
// A passphrase change re-wraps the same key, so a copy made before the
// change has the same key ID as one made after: the ID alone cannot tell
// which is current, and whoever can write the store could put back the
// copy published before the change — the current passphrase refused
// everywhere, the retired one working again.
//
// So each wrapped copy carries a generation, authenticated by a tag: an
// HMAC under a key derived from the master key (wrapMACKey) over the
// generation and the wrapped copy itself. Someone with database access
// alone (without the master key) can neither raise the generation of an
// old copy nor move a newer copy's tag onto it. A machine's own file
// records the generation it adopted (its file is the copy, tag included);
// it adopts the store's copy only when that copy's generation, proven by a
// tag checked under the key (whichever copy the passphrase opened: both
// hold the same key), is strictly greater (wrapNewer). Each change
// (change-passphrase, rotate-key) publishes the greatest generation it
// knows plus one; a rotation's tag is under the new key, its generation
// continues the old key's.
//
// Copies written by releases before generations have neither field (the
// JSON fields are ignored by those releases, which keep reading the
// copies written here). Between two such copies the store's prevails, as
// before; once a machine holds a generation, a copy without one is older.

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// wrapGenInfo is the HKDF info of the key that tags a wrapped copy's
// generation.
const wrapGenInfo = "certctl wrapped key generation v1"

// wrapMACKey derives the key of the generation tags from the master key.
func wrapMACKey(key []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, key, nil, wrapGenInfo, 32)
}

// wrapTag is the tag of w's generation: an HMAC over the generation and
// every field of the wrapped copy (length-prefixed, so that no two
// copies encode alike).
func wrapTag(macKey []byte, w *wrappedKey) []byte {
	m := hmac.New(sha256.New, macKey)
	var n [8]byte
	num := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		m.Write(n[:])
	}
	field := func(b []byte) {
		num(uint64(len(b)))
		m.Write(b)
	}
	field([]byte("published wrap"))
	num(w.Gen)
	field([]byte(w.KDF))
	num(uint64(w.Params.N))
	num(uint64(w.Params.R))
	num(uint64(w.Params.P))
	field(w.Salt)
	field(w.Nonce)
	field(w.Sealed)
	field([]byte(w.ID))
	return m.Sum(nil)
}

// stampWrap returns the wrapped copy content with generation gen and its
// tag under macKey (replacing any it had).
func stampWrap(content, macKey []byte, gen uint64) ([]byte, error) {
	var w wrappedKey
	if err := json.Unmarshal(content, &w); err != nil {
		return nil, fmt.Errorf("%w: %s is unreadable", ErrCorrupt, WrappedMasterFile)
	}
	w.Gen, w.Tag = gen, nil
	w.Tag = wrapTag(macKey, &w)
	return json.Marshal(w)
}

// wrapGeneration reads the generation of a wrapped copy: gen is the
// generation its tag proves under macKey (0 when it has none, or one the
// tag does not prove: an altered copy, or a copy of another key);
// stamped reports whether it carries a generation at all (copies written
// before generations do not).
func wrapGeneration(content, macKey []byte) (gen uint64, stamped bool) {
	var w wrappedKey
	if content == nil || json.Unmarshal(content, &w) != nil {
		return 0, false
	}
	if w.Gen == 0 && w.Tag == nil {
		return 0, false
	}
	tag := w.Tag
	w.Tag = nil
	if w.Gen == 0 || !hmac.Equal(tag, wrapTag(macKey, &w)) {
		return 0, true
	}
	return w.Gen, true
}

// claimedGeneration is the generation a wrapped copy says it has, unproven
// (0 when none): only to word a refusal, never to decide what to adopt.
func claimedGeneration(content []byte) uint64 {
	var w wrappedKey
	if json.Unmarshal(content, &w) != nil {
		return 0
	}
	return w.Gen
}

// wrapNewer reports whether the store's wrapped copy published is newer
// than the machine's own copy own (both of the key whose tag key is
// macKey): its proven generation is greater, or neither carries a
// generation (copies of releases before generations, where the store's
// prevails). A copy whose generation its tag does not prove is never
// newer.
func wrapNewer(published, own, macKey []byte) bool {
	pg, pStamped := wrapGeneration(published, macKey)
	lg, lStamped := wrapGeneration(own, macKey)
	return pg > lg || (!pStamped && !lStamped)
}

// nextGeneration is the generation of a new wrapped copy of a key whose
// current copies are own (this machine's) and published (the store's, nil
// for a local store), both judged under macKey, the current key's tag key:
// one more than the greater proven one.
func nextGeneration(own, published, macKey []byte) (uint64, error) {
	lg, _ := wrapGeneration(own, macKey)
	pg, _ := wrapGeneration(published, macKey)
	gen := max(lg, pg)
	if gen == math.MaxUint64 {
		return 0, errors.New("the wrapped master key's generation is at its maximum")
	}
	return gen + 1, nil
}

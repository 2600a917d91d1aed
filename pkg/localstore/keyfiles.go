package localstore

// The master key as files and records: re-wrapping it under a new
// passphrase, the key material a backup carries and a restore installs, and
// the checks vault verify makes of the key's records.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/certctl/certctl/pkg/fsutil"
)

// Rewrap is the vault's master key wrapped by a new passphrase, ready to
// install (vault change-passphrase). Wrapping runs the slow KDF, so it is
// made before the transaction that installs it.
type Rewrap struct {
	// wrap is the key wrapped by the new passphrase; content is wrap as
	// installed, stamped with its generation (which the installing
	// transaction reads).
	wrap, content []byte
	// macKey is the key of the generation tags (wrapMACKey).
	macKey []byte
	// before are the key files as the rewrap found them.
	before keyFiles
	// wasInClear: the key was in clear (master.key); removePlain: a
	// master.key holding this very key is to be removed once the wrapped
	// one is in place.
	wasInClear, removePlain bool
}

// WasInClear reports whether the key was in clear before (so the change
// turns a key file in clear into a wrapped one).
func (r *Rewrap) WasInClear() bool { return r.wasInClear }

// NewRewrap wraps the vault's master key (loaded with the current
// passphrase, if any) by passphrase.
func (v *Vault) NewRewrap(passphrase []byte) (*Rewrap, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("the new passphrase is empty")
	}
	s, err := v.Sealer()
	if err != nil {
		return nil, err
	}
	wrapped, err := v.currentForm()
	if err != nil {
		return nil, err
	}
	before, err := v.keyFilesHolding(s)
	if err != nil {
		return nil, err
	}
	wrap, err := wrapKey(s.key, passphrase, v.scrypt())
	if err != nil {
		return nil, err
	}
	macKey, err := wrapMACKey(s.key)
	if err != nil {
		return nil, err
	}
	r := &Rewrap{wrap: wrap, macKey: macKey, wasInClear: !wrapped, before: before}
	// A key in clear goes once wrapped, also one left beside a wrapped key
	// by an interrupted change — but only if it is this key.
	if plain, err := os.ReadFile(keyPath(v.Dir, false)); err == nil && len(plain) == 32 {
		id, _ := KeyID(plain)
		r.removePlain = id == s.id
	}
	return r, nil
}

// InstallRewrap installs r in tx (the shared store's published copy) and
// in the vault directory (atomically replacing master.key.enc). Call it
// last in the transaction that records the change, then FinishRewrap after
// the commit. The key itself does not change, so a crash between the two
// writes leaves both copies opening the same key.
//
// The new copy's generation is one more than the greater of this
// machine's copy's and the store's (see wrapgen.go), so that every
// machine takes it for the newer.
func (v *Vault) InstallRewrap(tx Tx, r *Rewrap) error {
	if err := v.checkKeyFiles(r.before); err != nil {
		// A transaction run again (PostgreSQL retries a serialization
		// failure) finds its own earlier write.
		if now, rerr := readKeyFiles(v.Dir); rerr != nil || r.content == nil || !bytes.Equal(now.wrapped, r.content) {
			return err
		}
	}
	_, shared := v.Store.(*Postgres)
	var published []byte
	if shared {
		var err error
		if published, err = getMetaOpt(tx, MetaMasterKeyWrapped); err != nil {
			return err
		}
		if !r.wasInClear {
			if err := checkPublishedPassphrase(tx, v.opts.Passphrase, r.before.wrapped, r.macKey); err != nil {
				return err
			}
		}
	}
	gen, err := nextGeneration(r.before.wrapped, published, r.macKey)
	if err != nil {
		return err
	}
	if r.content, err = stampWrap(r.wrap, r.macKey, gen); err != nil {
		return err
	}
	if shared {
		if err := tx.PutMeta(MetaMasterKeyWrapped, r.content); err != nil {
			return err
		}
	}
	// What tells UndoRewrap that this transaction committed.
	if err := tx.PutMeta(MetaRewrapDigest, rewrapDigest(r.content)); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(keyPath(v.Dir, true), r.content, 0o600)
}

// MetaRewrapDigest is the SHA-256 of the wrapped key file the last
// passphrase change installed (InstallRewrap), written in its transaction:
// whether that transaction committed, which UndoRewrap asks after a
// failure. (The digest of a wrapped key gives nothing away.)
const MetaRewrapDigest = "master-key-rewrap-digest"

func rewrapDigest(content []byte) []byte {
	d := sha256.Sum256(content)
	return d[:]
}

// UndoRewrap puts the vault directory's wrapped key file back as r found
// it when the transaction that installed r (InstallRewrap) did not commit:
// the file is written before the commit, so a commit that failed (a full
// disk, a lost connection) left the new passphrase's copy in place while
// the change was neither made in the store nor recorded, and the old
// passphrase, which the failure said still worked, was refused (tester).
// Nothing is done when the file no longer holds r's copy (another change
// since, or none written) or when the change committed. An error means
// the outcome could not be read (the store unavailable): the file is then
// left as it is.
func (v *Vault) UndoRewrap(ctx context.Context, r *Rewrap) error {
	if r.content == nil {
		return nil
	}
	now, err := readKeyFiles(v.Dir)
	if err != nil || !bytes.Equal(now.wrapped, r.content) {
		return err
	}
	committed := false
	if err := v.Store.View(context.WithoutCancel(ctx), func(tx Tx) error {
		d, err := getMetaOpt(tx, MetaRewrapDigest)
		committed = bytes.Equal(d, rewrapDigest(r.content))
		return err
	}); err != nil {
		return err
	}
	if committed {
		return nil
	}
	path := keyPath(v.Dir, true)
	if r.before.wrapped == nil {
		// The key was in clear: master.key, still there, is it.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	} else if err := fsutil.WriteFileAtomic(path, r.before.wrapped, 0o600); err != nil {
		return err
	}
	return syncDir(v.Dir)
}

// checkPublishedPassphrase refuses a change that would publish a wrapped
// key made with passphrase, when the shared store's published key is
// wrapped under another: another host changed the passphrase, and this
// host, still opening its own copy with the old one, would undo that
// change for every host (and lock out the one that made it).
//
// opened is the wrapped key this process already opened with passphrase
// (its key file): when the store publishes the same, nothing is unwrapped
// again (no scrypt inside the transaction). Nor when the store's copy is
// not newer than opened (macKey proves the generations, wrapNewer): a
// stale copy someone put back, which the change replaces by a current one
// instead of being refused by it.
func checkPublishedPassphrase(tx Tx, passphrase, opened, macKey []byte) error {
	published, err := getMetaOpt(tx, MetaMasterKeyWrapped)
	if err != nil || published == nil || (opened != nil && bytes.Equal(published, opened)) {
		return err
	}
	if opened != nil && wrappedKeyID(published) == wrappedKeyID(opened) && !wrapNewer(published, opened, macKey) {
		return nil
	}
	key, err := unwrapKey(published, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return fmt.Errorf("%w: the store's key is wrapped under another passphrase than this host's (changed on another host with vault change-passphrase?); run this command with the store's current passphrase", ErrWrongPassphrase)
	}
	clear(key)
	return err
}

// FinishRewrap removes the key file in clear that a wrapped key replaced.
func (v *Vault) FinishRewrap(r *Rewrap) error {
	if !r.removePlain {
		return nil
	}
	if err := os.Remove(keyPath(v.Dir, false)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(v.Dir)
}

// KeyMaterial is the master key as the vault directory keeps it: Form is
// "plain" (the 32 bytes) or "wrapped" (the JSON of master.key.enc, which
// only the passphrase opens), or "" for a vault without a key yet.
type KeyMaterial struct {
	Form string
	Data []byte
}

// Key material forms.
const (
	KeyPlain   = "plain"
	KeyWrapped = "wrapped"
)

// KeyMaterialFor returns the key file content of the key whose ID is id
// (what a store snapshot records in MetaMasterKeyID; "" for a store never
// re-keyed, whose key is the directory's key file). It needs no passphrase.
func (v *Vault) KeyMaterialFor(id string) (KeyMaterial, error) {
	if id != "" {
		for _, wrapped := range []bool{true, false} {
			data, err := os.ReadFile(pendingPath(v.Dir, wrapped, id))
			if err == nil {
				return material(wrapped, data), nil
			}
			if !errors.Is(err, os.ErrNotExist) {
				return KeyMaterial{}, err
			}
		}
	}
	for _, wrapped := range []bool{true, false} {
		data, err := os.ReadFile(keyPath(v.Dir, wrapped))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return KeyMaterial{}, err
		}
		if id != "" {
			have := ""
			if wrapped {
				var w wrappedKey
				if json.Unmarshal(data, &w) == nil {
					have = w.ID
				}
			} else if len(data) == 32 {
				have, _ = KeyID(data)
			} else {
				return KeyMaterial{}, keyErrorf(nil, "%s in %s has %d bytes, want 32: the vault's master key file is damaged; %s", MasterKeyFile, v.Dir, len(data), keyRecovery)
			}
			if have != id {
				return v.rotatedSince(wrapped, id)
			}
		}
		return material(wrapped, data), nil
	}
	if id != "" {
		return KeyMaterial{}, keyErrorf(nil, "the vault's master key is missing from %s; %s%s", v.Dir, keyRecovery, migratedNote)
	}
	return KeyMaterial{}, nil
}

// rotatedSince is KeyMaterialFor(id) when the directory's key file holds
// another key: a rotation that committed after the snapshot sealed under
// id was taken (tester: a backup beside vault rotate-key said the key was
// not the store's and to put an old one back, which would have broken the
// vault). The previous key kept for the stores sharing it serves; without
// it the command is to run again (ErrKeyRotated). Only when the store is
// still sealed under id is the key file wrong.
func (v *Vault) rotatedSince(wrapped bool, id string) (KeyMaterial, error) {
	if data, err := os.ReadFile(keyPath(v.Dir, wrapped) + ".replaced-" + id); err == nil {
		return material(wrapped, data), nil
	}
	var now string
	if err := v.Store.View(context.Background(), func(tx Tx) (err error) {
		now, err = storeKeyID(tx)
		return err
	}); err == nil && now != id {
		return KeyMaterial{}, ErrKeyRotated
	}
	return KeyMaterial{}, keyErrorf(nil, "the master key in %s is not the key the store is sealed under (key %s); %s", v.Dir, id, keyRecovery)
}

func material(wrapped bool, data []byte) KeyMaterial {
	if wrapped {
		return KeyMaterial{Form: KeyWrapped, Data: data}
	}
	return KeyMaterial{Form: KeyPlain, Data: data}
}

// CheckKeyMaterial opens m with the vault's passphrase (a wrapped key) and
// returns its KeyID.
func (v *Vault) CheckKeyMaterial(m KeyMaterial) (string, error) {
	s, err := v.SealerOf(m)
	if err != nil {
		return "", err
	}
	return s.id, nil
}

// SealerOf is the sealer of key material m (opened with the vault's
// passphrase when wrapped), without installing it: a restore checks a
// backup's records under the backup's key before the key is the vault's.
func (v *Vault) SealerOf(m KeyMaterial) (*Sealer, error) {
	var key []byte
	var err error
	switch m.Form {
	case KeyPlain:
		key, err = decodeKeyFile(m.Data, false, nil)
	case KeyWrapped:
		key, err = decodeKeyFile(m.Data, true, v.opts.Passphrase)
		err = v.retryLegacy(err, func() (err error) {
			key, err = decodeKeyFile(m.Data, true, v.opts.Passphrase)
			return err
		})
	default:
		return nil, fmt.Errorf("%w: unknown master key form %q", ErrCorrupt, m.Form)
	}
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return newSealer(key)
}

// InstallKeyMaterial makes m the vault directory's master key (a restore
// into an empty vault): pending files are replaced, since an empty store
// seals nothing under them. A key file already there with another key is
// kept beside, as <file>.replaced-<id> (its key's ID, or "unknown-" and a
// hash of the file when the passphrase does not open it), and its path
// returned: the store is empty, but the key may seal another store's data
// — a shared store whose host ran this restore without CERTCTL_STORE
// (tester: the host's copy of the store's key was lost). The caller
// checks that the store is empty.
func (v *Vault) InstallKeyMaterial(ctx context.Context, m KeyMaterial) (kept []string, err error) {
	if m.Form == "" {
		return nil, nil
	}
	id, err := v.CheckKeyMaterial(m)
	if err != nil {
		return nil, err
	}
	if err := v.checkKeyReplaceable(ctx, id, "installing another master key"); err != nil {
		return nil, err
	}
	wrapped := m.Form == KeyWrapped
	for _, w := range []bool{true, false} {
		path := keyPath(v.Dir, w)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		old := fileKeyID(data, w, v.opts.Passphrase)
		if old == id {
			continue // the same key: nothing lost
		}
		if old == "" {
			sum := sha256.Sum256(data)
			old = "unknown-" + hex.EncodeToString(sum[:6])
		}
		to := path + ".replaced-" + old
		if err := fsutil.WriteFileAtomic(to, data, 0o600); err != nil {
			return nil, err
		}
		kept = append(kept, to)
	}
	if err := fsutil.WriteFileAtomic(keyPath(v.Dir, wrapped), m.Data, 0o600); err != nil {
		return kept, err
	}
	if err := os.Remove(keyPath(v.Dir, !wrapped)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return kept, err
	}
	entries, err := os.ReadDir(v.Dir)
	if err != nil {
		return kept, err
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), pendingSuffix) && strings.HasPrefix(e.Name(), MasterKeyFile) {
			if err := os.Remove(filepath.Join(v.Dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return kept, err
			}
		}
	}
	if err := syncDir(v.Dir); err != nil {
		return kept, err
	}
	v.mu.Lock()
	v.current.Store(nil)
	v.keyErr = nil
	v.mu.Unlock()
	return kept, nil
}

// ClaimStoreKey readies the install of key material m (InstallKeyMaterial)
// over an empty store: in one write transaction, it runs check (which
// refuses a store that holds data) and records m's key ID as the key the
// store is sealed under. The key file is installed after it. Another
// process's first write, racing with a restore into a new vault
// directory, either commits first — under its own new key, which the
// store then records, and check refuses the store — or finds m's ID
// recorded and stops at its write guard (ErrKeyRotated) instead of
// sealing data under a key the install then overwrote in the directory.
func (v *Vault) ClaimStoreKey(ctx context.Context, m KeyMaterial, check func(BulkTx) error) error {
	id, err := v.CheckKeyMaterial(m)
	if err != nil {
		return err
	}
	if err := v.checkKeyReplaceable(ctx, id, "installing another master key"); err != nil {
		return err
	}
	return v.Store.Update(ctx, func(tx Tx) error {
		b, err := AsBulk(tx)
		if err != nil {
			return err
		}
		if err := check(b); err != nil {
			return err
		}
		if err := tx.PutMeta(MetaRestoreClaim, []byte(id)); err != nil {
			return err
		}
		return tx.PutMeta(MetaMasterKeyID, []byte(id))
	})
}

// MetaRestoreClaim is the key ID a restore claimed an empty store for
// (ClaimStoreKey), until the restore's copy replaces the key records: a
// vault that finds it with no key file of that ID says that the restore
// did not finish.
const MetaRestoreClaim = "master-key-restore-claim"

// SameVault opens another vault over the same directory and options with
// the store at storeURL (a migration's target).
func (v *Vault) SameVault(ctx context.Context, storeURL string) (*Vault, error) {
	opts := v.opts
	opts.StoreURL = storeURL
	return Open(ctx, v.Dir, opts)
}

// StoreKind names the backend of the vault's store: "sqlite" or
// "postgres".
func (v *Vault) StoreKind() string {
	if _, ok := v.Store.(*Postgres); ok {
		return "postgres"
	}
	return "sqlite"
}

// CheckKeyRecords returns what is wrong with the store's records of its
// master key, judged with s (the key the vault opened): the key ID the
// store names, the shared store's check value and its published wrapped
// key. Nothing wrong gives nil.
func CheckKeyRecords(tx Tx, s *Sealer) ([]string, error) {
	var problems []string
	id, err := storeKeyID(tx)
	if err != nil {
		return nil, err
	}
	if id != "" && id != s.id {
		problems = append(problems, fmt.Sprintf("the store is sealed under master key %s, not the vault directory's key %s", id, s.id))
	}
	check, err := getMetaOpt(tx, MetaMasterKeyCheck)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if pt, err := s.Open(keyCheckRef, check); err != nil {
			problems = append(problems, "the shared store's master key check value does not open under the vault's key")
		} else {
			clear(pt)
		}
	}
	published, err := getMetaOpt(tx, MetaMasterKeyWrapped)
	if err != nil {
		return nil, err
	}
	if published != nil {
		var w wrappedKey
		switch {
		case json.Unmarshal(published, &w) != nil || w.KDF != "scrypt":
			problems = append(problems, "the shared store's published wrapped master key is unreadable")
		case w.ID != "" && w.ID != s.id:
			problems = append(problems, fmt.Sprintf("the shared store publishes master key %s, not the vault's key %s", w.ID, s.id))
		}
	}
	return problems, nil
}

// PublishedKeyProblems returns what is wrong with the wrapped copy of the
// master key that the shared store of tx publishes, judged under s (the
// key the vault opened) against the vault directory's copy: a generation
// its tag does not prove (an altered copy), or a copy that is not newer
// than the directory's — put back, or restored from an older backup. The
// machines that saw a newer copy keep theirs (see wrapgen.go), but a
// machine that joins takes the store's, with the passphrase it is wrapped
// under. Nothing wrong, or nothing to compare, gives nil.
func (v *Vault) PublishedKeyProblems(tx Tx, s *Sealer) ([]string, error) {
	published, err := getMetaOpt(tx, MetaMasterKeyWrapped)
	if err != nil || published == nil || wrappedKeyID(published) != s.id {
		// A copy of another key is CheckKeyRecords' to report.
		return nil, err
	}
	macKey, err := wrapMACKey(s.key)
	if err != nil {
		return nil, err
	}
	defer clear(macKey)
	const fix = "run certctl vault change-passphrase on a machine whose copy is current to publish a current one"
	if gen, stamped := wrapGeneration(published, macKey); stamped && gen == 0 {
		return []string{fmt.Sprintf("the shared store's published wrapped master key says it is generation %d, which its tag does not prove: it was altered; %s",
			claimedGeneration(published), fix)}, nil
	}
	local, err := os.ReadFile(keyPath(v.Dir, true))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if bytes.Equal(published, local) || wrappedKeyID(local) != s.id || wrapNewer(published, local, macKey) {
		return nil, nil
	}
	pg, _ := wrapGeneration(published, macKey)
	lg, _ := wrapGeneration(local, macKey)
	return []string{fmt.Sprintf("the shared store publishes a wrapped master key (generation %d) that is not newer than this vault directory's %s (generation %d): it was rolled back (put back, or restored from an older backup), and machines that join would take it with the passphrase it is wrapped under; %s",
		pg, WrappedMasterFile, lg, fix)}, nil
}

// KeyFileProblems returns what is wrong with the vault directory's key
// files: a key in clear left beside a wrapped one (an interrupted
// change-passphrase; the wrapped key is the one used).
func (v *Vault) KeyFileProblems() []string {
	var problems []string
	_, errPlain := os.Stat(keyPath(v.Dir, false))
	_, errWrapped := os.Stat(keyPath(v.Dir, true))
	if errPlain == nil && errWrapped == nil {
		problems = append(problems, fmt.Sprintf("%s (the master key in clear) is left beside %s: run certctl vault change-passphrase to finish wrapping it, or remove it",
			MasterKeyFile, WrappedMasterFile))
	}
	return problems
}

// KeyIsWrapped reports whether the vault directory's master key is wrapped
// by a passphrase.
func (v *Vault) KeyIsWrapped() bool {
	w, err := v.currentForm()
	return err == nil && w
}

// KeyInClear reports whether the vault directory's master key is in clear
// (master.key, no master.key.enc); false when it has none yet.
func (v *Vault) KeyInClear() bool {
	w, err := v.currentForm()
	return err == nil && !w
}

// KeyInUseError refuses to replace the vault directory's master key while
// its own vault.db (Path), beside the store in use, holds data sealed
// under it: that data would no longer open.
type KeyInUseError struct {
	What, Dir, Path string
}

func (e *KeyInUseError) Error() string {
	return fmt.Sprintf("%s would replace the master key of %s, which also seals the data of %s", e.What, e.Dir, e.Path)
}

// checkKeyReplaceable refuses (KeyInUseError) to replace the vault
// directory's key by key newID ("" for a key yet to be made) while the
// directory's own vault.db, beside the store in use, holds data under the
// current one. what names the replacement for the message.
func (v *Vault) checkKeyReplaceable(ctx context.Context, newID, what string) error {
	path, holds, err := siblingHoldsData(ctx, v.Dir, v.Store)
	if err != nil || !holds {
		return err
	}
	cur, err := v.localKeyID()
	if err != nil || cur == "" || (newID != "" && cur == newID) {
		return err
	}
	return &KeyInUseError{What: what, Dir: v.Dir, Path: path}
}

// fileKeyID is the ID of the key a key file holds ("" when it cannot be
// read: a wrapped key the passphrase does not open).
func fileKeyID(data []byte, wrapped bool, passphrase []byte) string {
	key, err := decodeKeyFile(data, wrapped, passphrase)
	if err != nil {
		return ""
	}
	defer clear(key)
	id, err := KeyID(key)
	if err != nil {
		return ""
	}
	return id
}

// siblingHoldsData reports whether the vault directory dir's own SQLite
// database (vault.db) holds data while store st is another (a shared
// store, or a database elsewhere): dir's master key then serves both. It
// returns the database's path when it does.
func siblingHoldsData(ctx context.Context, dir string, st Store) (string, bool, error) {
	path := filepath.Join(dir, DatabaseFile)
	if sq, ok := st.(*SQLite); ok && sameFile(sq.Path(), path) {
		return "", false, nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	db, err := openSQLiteReadOnly(ctx, path)
	if err != nil {
		// Unreadable here: it may hold data all the same.
		return path, true, nil
	}
	defer db.Close()
	holds, err := holdsData(ctx, db)
	if err != nil {
		return path, true, nil
	}
	return path, holds, nil
}

// SameFile reports whether paths a and b name the same (existing) file.
func SameFile(a, b string) bool { return sameFile(a, b) }

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// localKeyID is the ID of the master key the vault directory holds ("" when
// it holds none), read without creating one.
func (v *Vault) localKeyID() (string, error) {
	if local, err := hasLocalKey(v.Dir); err != nil || !local {
		return "", err
	}
	key, err := loadOrCreateMasterKey(v.Dir, v.opts.Passphrase, v.scrypt(), false)
	if err != nil {
		return "", err
	}
	defer clear(key)
	return KeyID(key)
}

// keyFiles is the content of the vault directory's key files as a change
// that replaces them (rotate-key, change-passphrase) found them: nil for a
// file that is absent. The change compares them again in its transaction,
// so that of two such changes racing on one host the second fails instead
// of undoing the first (a rotation that rewrapped the new key under the
// passphrase a change-passphrase had just retired).
type keyFiles struct{ wrapped, plain []byte }

// errKeyFilesChanged is the error of a key change whose key files another
// one changed meanwhile.
var errKeyFilesChanged = fmt.Errorf("%w (its key file was changed by another vault change-passphrase or rotate-key)", ErrKeyRotated)

func readKeyFiles(dir string) (keyFiles, error) {
	var kf keyFiles
	for _, f := range []struct {
		dst     *[]byte
		wrapped bool
	}{{&kf.wrapped, true}, {&kf.plain, false}} {
		b, err := os.ReadFile(keyPath(dir, f.wrapped))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return kf, err
		}
		*f.dst = b
	}
	return kf, nil
}

func (kf keyFiles) same(o keyFiles) bool {
	return (kf.wrapped == nil) == (o.wrapped == nil) && bytes.Equal(kf.wrapped, o.wrapped) &&
		(kf.plain == nil) == (o.plain == nil) && bytes.Equal(kf.plain, o.plain)
}

// keyFilesHolding reads the key files and checks that they hold s's key
// under the vault's passphrase (the wrapped file when there is one): the
// state a key change then checks again in its transaction. A key loaded
// before another process changed the files is refused here.
func (v *Vault) keyFilesHolding(s *Sealer) (keyFiles, error) {
	kf, err := readKeyFiles(v.Dir)
	if err != nil {
		return kf, err
	}
	var key []byte
	switch {
	case kf.wrapped != nil:
		if v.opts.Passphrase == nil {
			return kf, ErrLocked
		}
		if key, err = unwrapKey(kf.wrapped, v.opts.Passphrase); err != nil {
			if errors.Is(err, ErrWrongPassphrase) {
				v.drop(s)
				return kf, errKeyFilesChanged
			}
			return kf, err
		}
		defer clear(key)
	case len(kf.plain) == 32:
		key = kf.plain
	default:
		return kf, fmt.Errorf("%w: no master key in %s", ErrCorrupt, v.Dir)
	}
	if id, err := KeyID(key); err != nil || id != s.id {
		if err != nil {
			return kf, err
		}
		// The key loaded is not the files' any more: the next
		// Sealer loads theirs.
		v.drop(s)
		return kf, errKeyFilesChanged
	}
	return kf, nil
}

// checkKeyFiles refuses, in a key change's transaction, key files that
// are no longer as the change found them.
func (v *Vault) checkKeyFiles(before keyFiles) error {
	now, err := readKeyFiles(v.Dir)
	if err != nil {
		return err
	}
	if !now.same(before) {
		return errKeyFilesChanged
	}
	return nil
}

// MetaKeySharers lists (JSON) the stores that vault migrate made to share
// this store's master key — the store it was copied to, or copied from —
// by their identities (StoreIdentity: sqlite:ABSOLUTE-PATH, or
// postgres:URL without its password).
const MetaKeySharers = "master-key-shared-with"

// KeySharers returns the stores tx's store shares its master key with.
func KeySharers(tx Tx) ([]string, error) {
	b, err := getMetaOpt(tx, MetaKeySharers)
	if err != nil || b == nil {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("%w: meta %s: %v", ErrCorrupt, MetaKeySharers, err)
	}
	return ids, nil
}

// AddKeySharer records in tx's store that it shares its master key with
// the store of identity id.
func AddKeySharer(tx Tx, id string) error {
	ids, err := KeySharers(tx)
	if err != nil {
		return err
	}
	for _, x := range ids {
		if x == id {
			return nil
		}
	}
	b, err := json.Marshal(append(ids, id))
	if err != nil {
		return err
	}
	return tx.PutMeta(MetaKeySharers, b)
}

// SetKeySharers replaces the stores tx's store records sharing its key
// with (none: the record is removed).
func SetKeySharers(tx BulkTx, ids []string) error {
	if len(ids) == 0 {
		return tx.DeleteMeta(MetaKeySharers)
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	return tx.PutMeta(MetaKeySharers, b)
}

// keepForSharers keeps the vault directory's key file, holding key id, as
// <file>.replaced-<id> (0600) before a rotation replaces it, when stores
// share the key with this one (KeySharers: vault migrate's source or
// target): they stay sealed under it, and would otherwise have no key
// left. kept, when set, is told where and for which stores. It returns
// the copy's path when it made it ("" when there was one already, or
// none was needed), for a rotation that does not commit to remove.
func (v *Vault) keepForSharers(ctx context.Context, id string, kept func(path string, sharers []string)) (made string, sharers []string, err error) {
	if err := v.Store.View(ctx, func(tx Tx) (err error) {
		sharers, err = KeySharers(tx)
		return err
	}); err != nil || len(sharers) == 0 {
		return "", sharers, err
	}
	made, err = v.keepKeyFor(sharers, id, kept)
	return made, sharers, err
}

// keepKeyFor keeps the vault directory's key file, holding key id, for the
// stores sharers as keepForSharers does, and returns the copy's path when
// it made it.
func (v *Vault) keepKeyFor(sharers []string, id string, kept func(path string, sharers []string)) (string, error) {
	wrapped, err := v.currentForm()
	if err != nil {
		return "", err
	}
	path := keyPath(v.Dir, wrapped)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	to := path + ".replaced-" + id
	made := ""
	if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
		made = to
	}
	if err := fsutil.WriteFileAtomic(to, data, 0o600); err != nil {
		return "", err
	}
	if kept != nil {
		kept(to, sharers)
	}
	return made, nil
}

// HoldsData reports whether st holds anything a master key sealed or
// keyed (a certificate, an audit record).
func HoldsData(ctx context.Context, st Store) (bool, error) { return holdsData(ctx, st) }

package localstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/certctl/certctl/pkg/fsutil"
)

// Meta keys of the master key of a shared (PostgreSQL) store.
const (
	// MetaMasterKeyWrapped holds the passphrase-wrapped master key (the
	// content of master.key.enc), so that every machine that knows the
	// passphrase can open the store.
	MetaMasterKeyWrapped = "master-key-wrapped"
	// MetaMasterKeyCheck holds a value sealed under the master key, so that
	// a machine with another key fails at once instead of sealing keys
	// that the other machines cannot open.
	MetaMasterKeyCheck = "master-key-check"
)

// keyCheckRef is the additional data of the check value.
const keyCheckRef = "certctl master key check"

// errKeyNotHere is returned when the shared store has a master key in clear
// (it publishes no wrapped copy) that this vault directory lacks.
func errKeyNotHere(dir string) error {
	return keyErrorf(nil, "the master key of the shared store is not in %s: copy %s from a machine that uses the store (or, there, wrap it with vault change-passphrase, which publishes it for the others, and give this machine the passphrase)",
		dir, MasterKeyFile)
}

// sharedMasterKey returns the master key of a vault whose store is shared by
// many machines. Every machine needs the same key. The key of the vault
// directory is used when there is one. Otherwise, when the store holds a
// passphrase-wrapped key, it is unwrapped with the passphrase and copied to
// the directory; when it holds none, a new key is made as for a local store
// and, when wrapped by a passphrase, published in the store. Whatever its
// origin, the key must open the check value of the store (which the first
// machine writes). The store's wrapped copy prevails over the directory's
// when it is newer: after a passphrase change (a copy of a greater
// generation, see wrapgen.go) or a rotation made on another machine, the
// directory's copy is replaced by the store's (rewrappedSharedKey,
// refreshSharedKey); an older copy put back in the store replaces nothing.
func sharedMasterKey(ctx context.Context, dir string, st Store, identity string, passphrase []byte, params ScryptParams) ([]byte, error) {
	local, err := hasLocalKey(dir)
	if err != nil {
		return nil, err
	}
	if !local {
		if err := fetchSharedKey(ctx, dir, st, passphrase, params); err != nil {
			return nil, err
		}
	}
	key, err := rewrappedSharedKey(ctx, dir, st, passphrase)
	if err != nil {
		return nil, err
	}
	if key == nil {
		key, err = loadOrCreateMasterKey(dir, passphrase, params, true)
	}
	if wrong := err; errors.Is(wrong, ErrWrongPassphrase) {
		// The directory's copy may be of a key another machine rotated
		// since and wrapped under a passphrase changed since: the
		// store's copy of the new key opens with the current one.
		if key, err = refreshSharedKey(ctx, dir, st, identity, passphrase); errors.Is(err, errKeyMismatch) {
			// Said as a wrong passphrase, unless the directory is
			// another vault's (its vault.db holds data) with a key
			// the store is not sealed under: then it is the
			// directory that is wrong for the shared store. A
			// directory whose key is the store's (vault migrate's
			// source, whose vault.db holds data) was only given the
			// wrong passphrase (tester: told to use another
			// directory).
			if _, holds, herr := siblingHoldsData(ctx, dir, st); herr != nil || !holds || holdsStoreKey(ctx, dir, st) {
				return nil, wrong
			}
			return nil, err
		}
	}
	if err != nil {
		clear(key)
		return nil, err
	}
	err = checkSharedKey(ctx, dir, st, key)
	if errors.Is(err, errKeyMismatch) {
		// Another machine may have rotated the key: its new wrapped copy
		// is in the store.
		clear(key)
		if key, err = refreshSharedKey(ctx, dir, st, identity, passphrase); err == nil {
			err = checkSharedKey(ctx, dir, st, key)
		}
	}
	if err != nil {
		clear(key)
		return nil, err
	}
	return key, nil
}

// rewrappedSharedKey returns the master key when the shared store's
// published wrapped key and the vault directory's wrapped copy hold the
// same key (the same key ID) wrapped otherwise: another machine changed
// the passphrase (vault change-passphrase), which re-wraps the published
// copy and its own, not the other machines' — or someone put back an older
// published copy. The key ID cannot tell the two apart (an older copy of
// the key has the same ID): the copies' generations do (see wrapgen.go).
//
// Whichever copy the passphrase opens gives the key, under which both
// copies' generations are proven. A newer store's copy is the one in
// force: when the passphrase opens it, the directory's copy is replaced by
// it, so that the new passphrase works on every machine and, once a
// machine has seen the store's copy, the old one no longer does there
// either; when only the directory's copy opens, the passphrase is refused
// (errStorePassphrase), even though it opens that stale copy. The stale
// copy is not kept: it holds the very key the new copy holds, and would
// keep the retired passphrase able to open it. A store's copy that is not
// newer (older, or with a generation its tag does not prove) is never
// adopted: the directory's copy is used, and a passphrase that opens only
// the store's copy is refused (errRetiredPassphrase) — vault verify
// reports the store's copy.
//
// Nil (and no error) when there is nothing to compare: no wrapped copy
// here or none in the store, the same copy, or copies of different keys (a
// rotation, which refreshSharedKey handles).
func rewrappedSharedKey(ctx context.Context, dir string, st Store, passphrase []byte) ([]byte, error) {
	path := filepath.Join(dir, WrappedMasterFile)
	local, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || passphrase == nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var published []byte
	if err := st.View(ctx, func(tx Tx) (err error) {
		published, err = getMetaOpt(tx, MetaMasterKeyWrapped)
		return err
	}); err != nil {
		return nil, err
	}
	id := wrappedKeyID(local)
	if published == nil || bytes.Equal(published, local) || id == "" || wrappedKeyID(published) != id {
		return nil, nil
	}
	// The store's copy first: after a change elsewhere it is the one the
	// passphrase opens.
	key, err := unwrapKey(published, passphrase)
	fromStore := err == nil
	if errors.Is(err, ErrWrongPassphrase) {
		key, err = unwrapKey(local, passphrase)
	}
	if errors.Is(err, ErrWrongPassphrase) {
		// Neither opens: the refusal says the store's copy is in force
		// only when it says it is newer (unproven: it only words the
		// refusal).
		if claimedGeneration(published) > claimedGeneration(local) || (claimedGeneration(published) == 0 && claimedGeneration(local) == 0) {
			return nil, errStorePassphrase
		}
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, err
	}
	if have, err := KeyID(key); err != nil || have != id {
		clear(key)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: a wrapped master key that says it is key %s is key %s", ErrCorrupt, id, have)
	}
	macKey, err := wrapMACKey(key)
	if err != nil {
		clear(key)
		return nil, err
	}
	newer := wrapNewer(published, local, macKey)
	clear(macKey)
	switch {
	case newer && fromStore:
		if err := fsutil.WriteFileAtomic(path, published, 0o600); err != nil {
			clear(key)
			return nil, err
		}
		return key, nil
	case newer:
		clear(key)
		return nil, errStorePassphrase
	case !fromStore:
		return key, nil
	}
	// The passphrase opens the store's copy, which is not newer than this
	// machine's: this machine's is the key's current copy, whether the
	// passphrase opens it too (the store's copy was put back under the
	// same passphrase) or not (a passphrase retired since).
	clear(key)
	key, err = unwrapKey(local, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, errRetiredPassphrase
	}
	return key, err
}

// errStorePassphrase is the error of a passphrase that does not open the
// master key the shared store publishes, when this machine's own copy is
// wrapped otherwise.
var errStorePassphrase = fmt.Errorf("%w: it does not open the master key the shared store publishes, which is wrapped under another passphrase than this machine's copy (%s) — changed on another machine with vault change-passphrase: give the store's current passphrase (this machine's copy is then replaced by the store's)",
	ErrWrongPassphrase, WrappedMasterFile)

// errRetiredPassphrase is the error of a passphrase that opens only an
// older copy of the master key the shared store publishes, not this
// machine's newer one: the passphrase was changed since, and the store's
// copy is stale (put back, or restored from an older backup).
var errRetiredPassphrase = fmt.Errorf("%w: it opens only an older wrapped copy of the master key that the shared store publishes, not this machine's newer copy (%s); give the current passphrase (vault verify reports the store's stale copy, and vault change-passphrase publishes a current one)",
	ErrWrongPassphrase, WrappedMasterFile)

// errKeyMismatch is the error of a key that does not open the shared
// store's check value.
var errKeyMismatch error = &keyError{msg: "the master key is not the master key of the shared store"}

// errNotSharedKey is errKeyMismatch for the key of the vault directory dir,
// saying what to do: a directory whose own vault.db holds data keeps its
// key (that data is sealed under it), and the shared store needs a vault
// directory of its own; otherwise the store's key is fetched with its
// passphrase (published: the store publishes it wrapped) or copied.
func errNotSharedKey(ctx context.Context, dir string, st Store, published bool) error {
	path, holds, err := siblingHoldsData(ctx, dir, st)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("the master key in %s is not the shared store's", dir)
	switch {
	case holds && published:
		return keyErrorf(errKeyMismatch, "%s, and %s holds data sealed under it: use a separate --vault directory for the shared store (given the store's passphrase, it fetches the store's key)", what, path)
	case holds:
		return keyErrorf(errKeyMismatch, "%s, and %s holds data sealed under it: use a separate --vault directory for the shared store, holding a copy of %s from a machine that uses the store", what, path, MasterKeyFile)
	case published:
		return keyErrorf(errKeyMismatch, "%s: use a separate --vault directory for the shared store (given the store's passphrase, it fetches the store's key), or copy the store's key here from a machine that uses it (after vault rotate-key there, the new one)", what)
	}
	return keyErrorf(errKeyMismatch, "%s: copy %s from a machine that uses the store (after vault rotate-key there, the new one)", what, MasterKeyFile)
}

// refreshSharedKey replaces the vault directory's wrapped key by the
// store's, when the store publishes another one (a rotation made on another
// machine) and the passphrase opens it. A key in clear is not replaced: the
// operator copies master.key to every machine after a rotation.
func refreshSharedKey(ctx context.Context, dir string, st Store, identity string, passphrase []byte) ([]byte, error) {
	path := filepath.Join(dir, WrappedMasterFile)
	local, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var published []byte
	var storeID string
	if err := st.View(ctx, func(tx Tx) (err error) {
		if published, err = getMetaOpt(tx, MetaMasterKeyWrapped); err != nil {
			return err
		}
		storeID, err = storeKeyID(tx)
		return err
	}); err != nil {
		return nil, err
	}
	if local == nil || passphrase == nil || published == nil || bytes.Equal(published, local) {
		return nil, errNotSharedKey(ctx, dir, st, published != nil)
	}
	key, err := unwrapKey(published, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, errStorePassphrase
	}
	if err != nil {
		return nil, err
	}
	// Only a key the store is sealed under (a rotation's, which records
	// its ID) replaces the directory's: a key published over data sealed
	// under another would destroy the only copy of that one.
	if id, err := KeyID(key); err != nil || storeID == "" || id != storeID {
		clear(key)
		if err != nil {
			return nil, err
		}
		return nil, errNotSharedKey(ctx, dir, st, true)
	}
	// The directory's own vault.db, when it holds data, is sealed under
	// the key this would replace: it is not replaced.
	if path, holds, err := siblingHoldsData(ctx, dir, st); err != nil || holds {
		clear(key)
		if err != nil {
			return nil, err
		}
		if !siblingSharesKeyWith(ctx, path, identity) {
			// Another vault's directory, whose key was never the
			// store's: no rotation is why it does not open the store,
			// and its database is not to be moved (review).
			return nil, errNotSharedKey(ctx, dir, st, true)
		}
		return nil, keyErrorf(errKeyMismatch, "another machine rotated the shared store's master key, but %s, which vault migrate copied into it, holds data sealed under this directory's key, which is kept: use a separate --vault directory for the shared store (given the store's passphrase, it fetches the new key), or, where that database is no longer used, move it and its -wal and -shm files out of %s: the next command here then fetches the new key and keeps this one beside it (%s.replaced-%s)",
			path, dir, WrappedMasterFile, wrappedKeyID(local))
	}
	// The replaced key is kept beside (it may seal an older backup's
	// data); nothing reads it.
	if oldID := wrappedKeyID(local); oldID != "" {
		if err := fsutil.WriteFileAtomic(path+".replaced-"+oldID, local, 0o600); err != nil {
			clear(key)
			return nil, err
		}
	}
	if err := fsutil.WriteFileAtomic(path, published, 0o600); err != nil {
		clear(key)
		return nil, err
	}
	return key, nil
}

// siblingSharesKeyWith reports whether the SQLite database at path (a
// vault directory's own) records that it shares its master key with the
// store of identity (Vault.StoreIdentity): vault migrate copied it into
// that store (AddKeySharer), so that the store was sealed under its key.
func siblingSharesKeyWith(ctx context.Context, path, identity string) bool {
	db, err := openSQLiteReadOnly(ctx, path)
	if err != nil {
		return false
	}
	defer db.Close()
	var ids []string
	if err := db.View(ctx, func(tx Tx) (err error) {
		ids, err = KeySharers(tx)
		return err
	}); err != nil {
		return false
	}
	want := canonicalStore(identity)
	for _, id := range ids {
		if canonicalStore(id) == want {
			return true
		}
	}
	return false
}

// holdsStoreKey reports whether the vault directory's wrapped key file
// records the key the store st is sealed under (false when either is
// unknown).
func holdsStoreKey(ctx context.Context, dir string, st Store) bool {
	local, err := os.ReadFile(filepath.Join(dir, WrappedMasterFile))
	if err != nil {
		return false
	}
	var storeID string
	if err := st.View(ctx, func(tx Tx) (err error) {
		storeID, err = storeKeyID(tx)
		return err
	}); err != nil {
		return false
	}
	id := wrappedKeyID(local)
	return id != "" && id == storeID
}

// wrappedKeyID is the key ID a wrapped key file records ("" when none or
// unreadable).
func wrappedKeyID(data []byte) string {
	var w wrappedKey
	if json.Unmarshal(data, &w) != nil {
		return ""
	}
	return w.ID
}

func hasLocalKey(dir string) (bool, error) {
	for _, name := range []string{WrappedMasterFile, MasterKeyFile} {
		_, err := os.Stat(filepath.Join(dir, name))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// getMetaOpt reads a meta value; nil when there is none.
func getMetaOpt(tx Tx, key string) ([]byte, error) {
	b, err := tx.GetMeta(key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// fetchSharedKey writes the store's wrapped key to the vault directory, or
// when the store has no key and a passphrase is given, creates a wrapped
// key, publishes it and writes it to the directory. It leaves the directory
// without a key (for loadOrCreateMasterKey to create one in clear) when
// neither the store nor the caller has a wrapped key.
func fetchSharedKey(ctx context.Context, dir string, st Store, passphrase []byte, params ScryptParams) error {
	var wrapped, check []byte
	err := st.View(ctx, func(tx Tx) (err error) {
		if wrapped, err = getMetaOpt(tx, MetaMasterKeyWrapped); err != nil {
			return err
		}
		check, err = getMetaOpt(tx, MetaMasterKeyCheck)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case wrapped != nil:
		// loadOrCreateMasterKey unwraps it (ErrLocked without a
		// passphrase, ErrWrongPassphrase with a wrong one).
	case check != nil:
		return errKeyNotHere(dir)
	default:
		// No key recorded: a new key only for a store that holds
		// nothing sealed under another (one migrated or restored by a
		// release that did not record its key has data and no record).
		holds, err := holdsData(ctx, st)
		if err != nil {
			return err
		}
		if holds {
			return errKeyUnrecorded(dir)
		}
	}
	switch {
	case wrapped != nil:
	case passphrase == nil:
		return nil
	default:
		if wrapped, err = publishNewKey(ctx, dir, st, passphrase, params); err != nil {
			return err
		}
	}
	// Another process of this machine may have written the same key first.
	_, err = createExclusive(filepath.Join(dir, WrappedMasterFile), wrapped)
	return err
}

// errKeyUnrecorded is returned when a store holds data but records no
// master key, and the vault directory has no key either: a new key would
// seal new secrets under a key the store's data is not sealed under.
func errKeyUnrecorded(dir string) error {
	return keyErrorf(nil, "the store holds data sealed under a master key that %s lacks and the store does not record: copy %s (or %s) from the vault directory that wrote the store's data",
		dir, MasterKeyFile, WrappedMasterFile)
}

// holdsData reports whether st holds anything a master key sealed or
// keyed: a certificate or an audit record (every change appends one).
func holdsData(ctx context.Context, st Store) (bool, error) {
	var holds bool
	err := st.View(ctx, func(tx Tx) error {
		rows, err := tx.ListAudit(0, 1)
		if err != nil || len(rows) > 0 {
			holds = len(rows) > 0
			return err
		}
		n, err := tx.CountCertificates()
		holds = n > 0
		return err
	})
	return holds, err
}

// RecordKey records in the store of tx the master key its data is sealed
// under (s, the key of the vault directory dir): its check value, its ID
// and, when dir holds the key wrapped, the wrapped copy — what a store
// whose first machine created its key records. A migration and a restore
// record it in their target, so that no machine makes a new key for the
// data copied there, and every machine with the passphrase fetches it.
func RecordKey(tx BulkTx, dir string, s *Sealer) error {
	check, err := sealKeyCheck(s.key)
	if err != nil {
		return err
	}
	if err := tx.PutMeta(MetaMasterKeyCheck, check); err != nil {
		return err
	}
	if err := tx.PutMeta(MetaMasterKeyID, []byte(s.id)); err != nil {
		return err
	}
	if _, shared := tx.(*pgTx); !shared {
		// Only a shared store publishes the wrapped key, for the other
		// machines: a copy of one (migrate, restore of its backup) made
		// into a local store keeps none.
		if err := tx.DeleteMeta(MetaMasterKeyWrapped); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	}
	wrapped, err := os.ReadFile(filepath.Join(dir, WrappedMasterFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return tx.DeleteMeta(MetaMasterKeyWrapped)
	case err != nil:
		return err
	}
	return tx.PutMeta(MetaMasterKeyWrapped, wrapped)
}

// publishNewKey makes a master key, wraps it and publishes it with its check
// value. When another machine published first, its wrapped key is returned
// instead.
func publishNewKey(ctx context.Context, dir string, st Store, passphrase []byte, params ScryptParams) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, err
	}
	defer clear(key)
	mine, err := wrapKey(key, passphrase, params)
	if err != nil {
		return nil, err
	}
	check, err := sealKeyCheck(key)
	if err != nil {
		return nil, err
	}
	var wrapped []byte
	err = st.Update(ctx, func(tx Tx) error {
		theirs, err := getMetaOpt(tx, MetaMasterKeyWrapped)
		if err != nil || theirs != nil {
			wrapped = theirs
			return err
		}
		c, err := getMetaOpt(tx, MetaMasterKeyCheck)
		if err != nil {
			return err
		}
		if c != nil {
			return errKeyNotHere(dir)
		}
		wrapped = mine
		if err := tx.PutMeta(MetaMasterKeyWrapped, mine); err != nil {
			return err
		}
		return tx.PutMeta(MetaMasterKeyCheck, check)
	})
	return wrapped, err
}

func sealKeyCheck(key []byte) ([]byte, error) {
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	return s.Seal(keyCheckRef, []byte("certctl"))
}

// checkSharedKey verifies key against the store's check value, writing the
// check value (and the vault's wrapped key, if it has one and the store
// does not) when the store has none yet.
func checkSharedKey(ctx context.Context, dir string, st Store, key []byte) error {
	s, err := newSealer(key)
	if err != nil {
		return err
	}
	matches := func(check []byte) bool {
		pt, err := s.Open(keyCheckRef, check)
		clear(pt)
		return err == nil
	}
	localWrapped, err := os.ReadFile(filepath.Join(dir, WrappedMasterFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var missing bool
	err = st.View(ctx, func(tx Tx) error {
		check, err := getMetaOpt(tx, MetaMasterKeyCheck)
		if err != nil {
			return err
		}
		if check != nil && !matches(check) {
			return fmt.Errorf("%w (the key in %s)", errKeyMismatch, dir)
		}
		w, err := getMetaOpt(tx, MetaMasterKeyWrapped)
		missing = check == nil || (w == nil && localWrapped != nil)
		return err
	})
	if err != nil || !missing {
		return err
	}
	sealed, err := sealKeyCheck(key)
	if err != nil {
		return err
	}
	return st.Update(ctx, func(tx Tx) error {
		check, err := getMetaOpt(tx, MetaMasterKeyCheck)
		if err != nil {
			return err
		}
		switch {
		case check == nil:
			if err := tx.PutMeta(MetaMasterKeyCheck, sealed); err != nil {
				return err
			}
		case !matches(check):
			return fmt.Errorf("%w (the key in %s)", errKeyMismatch, dir)
		}
		if localWrapped == nil {
			return nil
		}
		w, err := getMetaOpt(tx, MetaMasterKeyWrapped)
		if err != nil || w != nil {
			return err
		}
		return tx.PutMeta(MetaMasterKeyWrapped, localWrapped)
	})
}

package localstore

// Key generations: rotating the master key without ever losing it.
//
// `certctl vault rotate-key` replaces the master key K0 by a new key K1:
// every sealed secret is opened under K0 and sealed again under K1, and the
// audit chain (whose HMAC key derives from the master key) is re-MACed, in
// one transaction. The store also records which key it is sealed under: the
// meta value MetaMasterKeyID holds KeyID(K1) from that transaction on. The
// key file is switched around the transaction so that a process killed at
// any instant (kill -9, power loss) leaves a vault in which every secret
// opens under a key that the vault directory holds and that a loader picks:
//
//  1. K1 is written, fsynced, to a file of its own beside the key file,
//     named after its identifier (master.key.pending-<id>, or
//     master.key.enc.pending-<id> when a passphrase wraps the key), and the
//     directory is fsynced. This happens inside the rotation's transaction,
//     which runs alone (ExclusiveStore): no other rotation can run or
//     commit meanwhile.
//  2. The transaction re-seals everything under K1, records KeyID(K1) and
//     commits. Until its commit is durable the store is sealed under K0 and
//     the key file holds K0: the pending file seals nothing and is ignored.
//  3. The pending file is renamed over the key file (atomic) and the
//     directory fsynced. Between 2 and 3 the store names K1 and the pending
//     file holds it: a loader (loadMasterKey) reads the store's key ID
//     first, takes the pending file of that ID when there is one, and
//     finishes the rename itself.
//
// So at every instant either the store is sealed under K0 and the key file
// holds K0, or it is sealed under K1 and K1 is in the pending file or the
// key file; `vault verify` checks that every secret opens. A pending file
// whose ID the store does not name is left by a rotation that did not
// commit; the next rotation removes it (under its exclusive transaction, so
// never the file of a rotation under way). Nothing but a rotation removes a
// key file.
//
// Processes that loaded K0 before the rotation must not seal anything under
// it afterwards: every write transaction first compares the store's key ID
// with its sealer's (writeGuard) and fails with ErrKeyRotated, dropping the
// stale key, so that the next attempt loads K1. A rotation takes the
// PostgreSQL write lock in EXCLUSIVE mode, so a writer's snapshot is taken
// either before the rotation began (and the rotation waits for it) or after
// it committed (and the writer sees the new ID).
//
// On a shared PostgreSQL store, the store also publishes the wrapped key
// (MetaMasterKeyWrapped) and a value sealed under it (MetaMasterKeyCheck);
// both are replaced in the rotation's transaction. Another machine whose
// wrapped key no longer opens the check value fetches the new one from the
// store with its passphrase (refreshSharedKey); a machine with the key in
// clear needs the new master.key copied to it.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MetaMasterKeyID is the meta key of the identifier (KeyID) of the master
// key the store is sealed under. A rotation, a migration and a restore
// record it; a local store records it in its first write transaction once
// its key is known to be the store's (recordsKey), so that a wrong
// master.key is named as such, not as corrupt secrets and a forged audit
// log. It is absent from stores of releases before that whose key was
// never rotated, until they are next written.
const MetaMasterKeyID = "master-key-id"

// ErrKeyRotated is returned by a write transaction of a process whose master
// key is no longer the store's (another process rotated it meanwhile). The
// process loads the new key on its next attempt.
var ErrKeyRotated = errors.New("the vault's master key was rotated by another process while this one ran; run the command again")

// pendingSuffix separates a key file's name from the ID of the key a
// rotation is installing.
const pendingSuffix = ".pending-"

func keyPath(dir string, wrapped bool) string {
	if wrapped {
		return filepath.Join(dir, WrappedMasterFile)
	}
	return filepath.Join(dir, MasterKeyFile)
}

func pendingPath(dir string, wrapped bool, id string) string {
	return keyPath(dir, wrapped) + pendingSuffix + id
}

// writeGuarded is implemented by the backends: guard runs first in every
// write transaction they run.
type writeGuarded interface {
	setWriteGuard(guard func(Tx) error)
}

// guarded returns fn preceded by guard (when there is one).
func guarded(guard func(Tx) error, fn func(Tx) error) func(Tx) error {
	if guard == nil {
		return fn
	}
	return func(tx Tx) error {
		if err := guard(tx); err != nil {
			return err
		}
		return fn(tx)
	}
}

// storeKeyID reads the key ID the store records ("" when none).
func storeKeyID(tx Tx) (string, error) {
	b, err := getMetaOpt(tx, MetaMasterKeyID)
	return string(b), err
}

// writeGuard refuses a write transaction of a process whose loaded master
// key is not the one the store is sealed under, and drops that key.
func (v *Vault) writeGuard(tx Tx) error {
	v.wrote.Store(true)
	s := v.current.Load()
	if s == nil {
		return nil
	}
	id, err := storeKeyID(tx)
	if err != nil || id == s.id {
		return err
	}
	if id == "" {
		if s.record {
			return tx.PutMeta(MetaMasterKeyID, []byte(s.id))
		}
		return nil
	}
	v.drop(s)
	return ErrKeyRotated
}

// proveBatch is how many sealed secrets recordsKey tries.
const proveBatch = 3

// recordsKey reports whether s, loaded for a local store that records no
// key ID, is to be recorded as the store's key (by the next write
// transaction's guard): when the store holds nothing sealed or keyed
// under any key (a new vault), or when one of its first sealed secrets
// opens under s (a vault of an older release, which thus gains the record
// the first time it is written). A key that opens none of them is not
// recorded: it may be the wrong key, which must not become the store's.
// A shared (PostgreSQL) store is not judged here: it records its key with
// its check value (sharedMasterKey) and a rotation records the ID.
func (v *Vault) recordsKey(s *Sealer) bool {
	if _, shared := v.Store.(*Postgres); shared {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	record := false
	err := v.Store.View(ctx, func(tx Tx) error {
		record = false
		b, err := AsBulk(tx)
		if err != nil {
			return err
		}
		secrets, err := b.ScanSecrets("", proveBatch)
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if pt, err := s.Open(sec.Ref, sec.Sealed); err == nil {
				clear(pt)
				record = true
				return nil
			}
		}
		if len(secrets) > 0 {
			return nil
		}
		rows, err := tx.ListAudit(0, 1)
		if err != nil || len(rows) > 0 {
			return err
		}
		n, err := tx.CountCertificates()
		record = n == 0
		return err
	})
	return err == nil && record
}

// CheckSealer refuses, with ErrKeyRotated, a write transaction that would
// seal or MAC with s, taken before the transaction began, when s is no
// longer the vault's key: another process rotated the key and a
// transaction of this one met the write guard first, which dropped it, so
// that the guard now lets this one through. Call it in the transaction.
func (v *Vault) CheckSealer(s *Sealer) error {
	if cur := v.current.Load(); cur == nil || cur.id != s.id {
		return ErrKeyRotated
	}
	return nil
}

// drop forgets s as the vault's sealer (the next Sealer call loads the
// key again).
func (v *Vault) drop(s *Sealer) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.current.CompareAndSwap(s, nil)
}

// staleAfter is how long a loaded key is trusted before Sealer compares it
// with the store's key generation again.
const staleAfter = time.Second

// stale reports whether s is no longer the store's key, looking at most
// once per staleAfter; a stale key is dropped.
func (v *Vault) stale(s *Sealer) bool {
	last := v.checked.Load()
	now := time.Now().UnixNano()
	if now-last < int64(staleAfter) || !v.checked.CompareAndSwap(last, now) {
		return false
	}
	id, err := v.readStoreKeyID()
	if err != nil || id == "" || id == s.id {
		return false
	}
	v.drop(s)
	return true
}

// StoreKeyID reads the ID of the key the store is sealed under ("" for a
// store whose key was never rotated).
func (v *Vault) StoreKeyID(ctx context.Context) (string, error) {
	var id string
	err := v.Store.View(ctx, func(tx Tx) (err error) {
		id, err = storeKeyID(tx)
		return err
	})
	return id, err
}

func (v *Vault) readStoreKeyID() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var id string
	err := v.Store.View(ctx, func(tx Tx) (err error) {
		id, err = storeKeyID(tx)
		return err
	})
	return id, err
}

// loadMasterKey returns the master key the store is sealed under: from the
// pending file of an unfinished rotation when the store names it, else from
// (or, on first use, into) the vault directory, and for a shared store also
// from the store.
//
// It also returns the key ID the store records ("" when none).
func (v *Vault) loadMasterKey(params ScryptParams) ([]byte, string, error) {
	for attempt := 0; ; attempt++ {
		id, err := v.readStoreKeyID()
		if err != nil {
			return nil, "", err
		}
		key, err := v.loadMasterKeyFor(id, params)
		if err == nil || !errors.Is(err, errNotStoreKey) || attempt == 2 {
			return key, id, v.unfinishedRestore(id, err)
		}
		// Another rotation may have committed (and renamed its key
		// file) between reading the store's key ID and the key files:
		// read both again.
		if again, rerr := v.readStoreKeyID(); rerr != nil || again == id {
			return nil, "", v.unfinishedRestore(id, err)
		}
	}
}

// unfinishedRestore is err, or when err is a key file missing or not the
// one the store names (id) and a vault restore claimed the store for that
// key (ClaimStoreKey, MetaRestoreClaim) and stopped before the key file
// was in place, the error that says so. Running the restore again
// finishes it.
func (v *Vault) unfinishedRestore(id string, err error) error {
	if err == nil || id == "" || !(errors.Is(err, errKeyMissing) || errors.Is(err, errNotStoreKey)) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A claim left by a restore stopped after its key was installed
	// names a vault that may have taken data since: running the restore
	// again is advice for an empty store only (review).
	var claim []byte
	empty := false
	if verr := v.Store.View(ctx, func(tx Tx) (e error) {
		if claim, e = getMetaOpt(tx, MetaRestoreClaim); e != nil {
			return e
		}
		b, e := AsBulk(tx)
		if e != nil {
			return e
		}
		empty, e = IsEmpty(b)
		return e
	}); verr != nil || string(claim) != id || !empty {
		return err
	}
	return keyErrorf(nil, "the vault's store is empty and names master key %s, which %s does not hold: a vault restore into it did not finish — run it again (certctl vault restore --from-file BACKUP)", id, v.Dir)
}

// errNotStoreKey is the error of a key file that does not hold the key the
// store names.
var errNotStoreKey error = &keyError{msg: "the master key is not the key the vault's store is sealed under"}

// keyError is an error of the master key a vault directory holds (missing,
// or another key than its store's): a vault unavailable as a corrupt one is
// (errors.Is ErrCorrupt, exit 6), said without calling the database
// corrupt — the key file is what is wrong, or where it is. kind, when set,
// is the sentinel (errNotStoreKey, errKeyMismatch) it also is.
type keyError struct {
	msg  string
	kind error
}

func (e *keyError) Error() string { return e.msg }

func (e *keyError) Is(target error) bool {
	return target == ErrCorrupt || (e.kind != nil && target == e.kind)
}

// keyErrorf makes a keyError of kind (nil: none).
func keyErrorf(kind error, format string, args ...any) error {
	return &keyError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// loadMasterKeyFor loads the key the store names id ("": a store that
// records no key yet, see MetaMasterKeyID).
func (v *Vault) loadMasterKeyFor(id string, params ScryptParams) ([]byte, error) {
	var err error
	if id != "" {
		key, found, err := v.pendingKey(id)
		if err != nil || found {
			return key, err
		}
	}
	var key []byte
	if _, shared := v.Store.(*Postgres); shared {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		key, err = sharedMasterKey(ctx, v.Dir, v.Store, v.StoreIdentity(), v.opts.Passphrase, params)
	} else {
		// Once a store records its key, or holds data (sealed, or
		// chained in its audit log, under a key), a missing key file is
		// an error, not a first use: a new key would open none of it.
		key, err = loadOrCreateMasterKey(v.Dir, v.opts.Passphrase, params, false)
		if errors.Is(err, errKeyMissing) && id == "" {
			// No key file: a first use, unless the store already holds
			// data (sealed, or chained in its audit log, under a key a
			// new one would open none of).
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			holds, herr := holdsData(ctx, v.Store)
			cancel()
			if herr != nil {
				return nil, herr
			}
			if !holds && v.opts.Passphrase != nil && v.opts.LegacyPassphrase != nil {
				// A new passphrase from a file of several lines: which
				// of its readings is meant is a guess, as when one is
				// set (tester: the first line was taken unsaid).
				return nil, ErrPassphraseLines
			}
			// With data, the key file may have appeared meanwhile: the
			// process that wrote the data made it first. Read again,
			// creating only for a store still without data.
			key, err = loadOrCreateMasterKey(v.Dir, v.opts.Passphrase, params, !holds)
		}
	}
	if err != nil {
		return nil, err
	}
	if id != "" {
		have, err := KeyID(key)
		if err != nil {
			return nil, err
		}
		if have != id {
			clear(key)
			return nil, fmt.Errorf("%w (key %s; the key in %s is %s): restore that key from a backup, or copy it from a machine that uses the store",
				errNotStoreKey, id, v.Dir, have)
		}
	}
	return key, nil
}

// pendingKey reads the key of a rotation that committed (the store names
// id) but did not rename its key file yet, and finishes the rename when the
// directory allows it.
func (v *Vault) pendingKey(id string) ([]byte, bool, error) {
	for _, wrapped := range []bool{true, false} {
		path := pendingPath(v.Dir, wrapped, id)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		key, err := decodeKeyFile(data, wrapped, v.opts.Passphrase)
		if err != nil {
			return nil, false, err
		}
		if have, err := KeyID(key); err != nil || have != id {
			clear(key)
			return nil, false, fmt.Errorf("%w: %s does not hold the key its name says", ErrCorrupt, filepath.Base(path))
		}
		// Best effort: a read-only vault directory keeps working from
		// the pending file.
		if os.Rename(path, keyPath(v.Dir, wrapped)) == nil {
			_ = syncDir(v.Dir)
		}
		return key, true, nil
	}
	return nil, false, nil
}

// decodeKeyFile returns the key a key file holds.
func decodeKeyFile(data []byte, wrapped bool, passphrase []byte) ([]byte, error) {
	if !wrapped {
		if len(data) != 32 {
			return nil, fmt.Errorf("%w: a master key file has %d bytes, want 32", ErrCorrupt, len(data))
		}
		return append([]byte(nil), data...), nil
	}
	if passphrase == nil {
		return nil, ErrLocked
	}
	return unwrapKey(data, passphrase)
}

// writeKeyFile writes a new key file that must not exist yet, or exist
// with this very content (a transaction run again).
func writeKeyFile(path string, content []byte) error {
	created, err := createExclusive(path, content)
	if err != nil || created {
		return err
	}
	have, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(have) != string(content) {
		return fmt.Errorf("%s exists with other content", filepath.Base(path))
	}
	return nil
}

// currentForm reports whether the vault directory's key is wrapped by a
// passphrase (master.key.enc, which loaders prefer) or in clear.
func (v *Vault) currentForm() (wrapped bool, err error) {
	for _, w := range []bool{true, false} {
		_, err := os.Stat(keyPath(v.Dir, w))
		if err == nil {
			return w, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
	}
	return false, fmt.Errorf("%w: no master key in %s", ErrCorrupt, v.Dir)
}

// RotateHooks are what a rotation's caller adds to its transaction.
type RotateHooks struct {
	// Reseal runs in the rotation's transaction after the vault's own
	// secrets (the secrets table and the shared store's key records) are
	// sealed under the new key: it re-seals what other packages keep
	// sealed in their records, and re-MACs the audit chain.
	Reseal func(tx BulkTx, old, new *Sealer) error
	// Progress, when set, is called after each batch of re-sealed
	// secrets with how many were done (tests inject failures here).
	Progress func(done int) error
	// KeptKey, when set, is told where the previous key file was kept
	// and which stores still need it (KeySharers).
	KeptKey func(path string, sharers []string)
}

// rotateBatch is how many secrets a rotation re-seals at a time.
const rotateBatch = 500

// beforeRotateTx, set by tests, runs between what a rotation reads first
// and its transaction: where another process's change can commit.
var beforeRotateTx func()

// RotateKey replaces the vault's master key by a new one, re-sealing every
// secret in one exclusive transaction (see the top of this file for why a
// crash at any instant loses nothing). It returns the new sealer, which the
// vault uses from then on.
func (v *Vault) RotateKey(ctx context.Context, hooks RotateHooks) (*Sealer, error) {
	old, err := v.Sealer()
	if err != nil {
		return nil, err
	}
	before, err := v.keyFilesHolding(old)
	if err != nil {
		return nil, err
	}
	if err := v.checkKeyReplaceable(ctx, "", "rotating the master key of the "+v.StoreKind()+" store"); err != nil {
		return nil, err
	}
	kept, sharers, err := v.keepForSharers(ctx, old.id, hooks.KeptKey)
	if err != nil {
		return nil, err
	}
	// A restore killed in this directory left a copy of its backup, with
	// the old key's sealed secrets (and the key, when in clear): it goes
	// with the old key, once stale.
	SweepRestoreLeftovers(v.Dir)
	wrapped, err := v.currentForm()
	if err != nil {
		return nil, err
	}
	newKey := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, newKey); err != nil {
		return nil, err
	}
	defer clear(newKey)
	next, err := newSealer(newKey)
	if err != nil {
		return nil, err
	}
	// The slow KDF runs before the transaction; the new copy's
	// generation, which continues the old key's (see wrapgen.go), is
	// stamped in it, where the store's copy is read.
	var wrap, oldMAC, nextMAC []byte
	if wrapped {
		if v.opts.Passphrase == nil {
			return nil, ErrLocked
		}
		if wrap, err = wrapKey(newKey, v.opts.Passphrase, v.scrypt()); err != nil {
			return nil, err
		}
		if oldMAC, err = wrapMACKey(old.key); err != nil {
			return nil, err
		}
		defer clear(oldMAC)
		if nextMAC, err = wrapMACKey(newKey); err != nil {
			return nil, err
		}
		defer clear(nextMAC)
	}
	pending := pendingPath(v.Dir, wrapped, next.id)
	if beforeRotateTx != nil {
		beforeRotateTx()
	}
	err = UpdateExclusive(ctx, v.Store, func(tx Tx) error {
		b, err := AsBulk(tx)
		if err != nil {
			return err
		}
		id, err := storeKeyID(tx)
		if err != nil {
			return err
		}
		if id != "" && id != old.id {
			v.drop(old)
			return ErrKeyRotated
		}
		if err := v.checkKeyFiles(before); err != nil {
			return err
		}
		_, shared := v.Store.(*Postgres)
		if shared && wrapped {
			if err := checkPublishedPassphrase(tx, v.opts.Passphrase, before.wrapped, oldMAC); err != nil {
				return err
			}
		}
		content := newKey
		if wrapped {
			var published []byte
			if shared {
				if published, err = getMetaOpt(tx, MetaMasterKeyWrapped); err != nil {
					return err
				}
			}
			gen, err := nextGeneration(before.wrapped, published, oldMAC)
			if err != nil {
				return err
			}
			if content, err = stampWrap(wrap, nextMAC, gen); err != nil {
				return err
			}
		}
		if err := v.removeStalePending(next.id); err != nil {
			return err
		}
		if err := writeKeyFile(pending, content); err != nil {
			return err
		}
		if err := resealSecrets(b, old, next, hooks.Progress); err != nil {
			return err
		}
		if err := resealKeyRecords(b, old, next, wrapped, content); err != nil {
			return err
		}
		if err := tx.PutMeta(MetaMasterKeyID, []byte(next.id)); err != nil {
			return err
		}
		// The new key is this store's alone: the stores that shared
		// the old one (KeySharers) keep it (keepForSharers), and the
		// next rotation has nothing to keep for them. A store that
		// became one since keepForSharers read them (vault migrate's
		// AddKeySharer, committed in between: tester — the target's
		// only key was lost) is seen here, where no other can be added,
		// and the key is kept for it now.
		now, err := KeySharers(tx)
		if err != nil {
			return err
		}
		if len(now) > 0 && !slices.Equal(now, sharers) {
			made, err := v.keepKeyFor(now, old.id, hooks.KeptKey)
			if err != nil {
				return err
			}
			if made != "" {
				kept = made
			}
		}
		if err := SetKeySharers(b, nil); err != nil {
			return err
		}
		if hooks.Reseal != nil {
			return hooks.Reseal(b, old, next)
		}
		return nil
	})
	if err != nil {
		v.forgetRotation(ctx, next.id, pending, kept)
		return nil, err
	}
	v.mu.Lock()
	v.current.Store(next)
	v.keyErr = nil
	v.checked.Store(time.Now().UnixNano())
	v.mu.Unlock()
	if err := os.Rename(pending, keyPath(v.Dir, wrapped)); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Committed: loaders take the pending file until a rename works.
		return next, nil
	}
	_ = syncDir(v.Dir)
	return next, nil
}

// forgetRotation removes what a rotation that did not commit wrote in the
// vault directory — its pending key file (the new key, in clear when the
// vault's is) and the copy of the current key it kept for the stores that
// share it (named as replaced, while it was not) — once the store, read
// again, does not name the new key (tester: both stayed after a full disk
// or a SIGTERM). Were the commit to have happened unseen (a lost
// PostgreSQL acknowledgement), the pending file would be the only copy of
// the key: both stay then, and when the store cannot be read (the next
// rotation removes an unused pending file).
func (v *Vault) forgetRotation(ctx context.Context, nextID, pending, kept string) {
	var id string
	if err := v.Store.View(context.WithoutCancel(ctx), func(tx Tx) (err error) {
		id, err = storeKeyID(tx)
		return err
	}); err != nil || id == nextID {
		return
	}
	_ = os.Remove(pending)
	if kept != "" {
		_ = os.Remove(kept)
	}
	_ = syncDir(v.Dir)
}

// removeStalePending removes the pending key files of rotations that never
// committed (their ID is not the store's, which the caller checked is the
// current key's, and not keep). It runs inside the exclusive transaction
// of a rotation, so no other rotation is under way.
func (v *Vault) removeStalePending(keep string) error {
	entries, err := os.ReadDir(v.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		i := strings.Index(name, pendingSuffix)
		if i < 0 || (name[:i] != MasterKeyFile && name[:i] != WrappedMasterFile) {
			continue
		}
		if name[i+len(pendingSuffix):] == keep {
			continue
		}
		// The current key's own pending file was renamed when it was
		// loaded; one still here could not be, and must not go.
		if cur := v.current.Load(); cur != nil && name[i+len(pendingSuffix):] == cur.id {
			return fmt.Errorf("%s holds the current master key and could not be renamed to its place; check the vault directory's permissions", name)
		}
		if err := os.Remove(filepath.Join(v.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// resealSecrets seals every secret of the secrets table under next.
func resealSecrets(b BulkTx, old, next *Sealer, progress func(int) error) error {
	after, done := "", 0
	for {
		page, err := b.ScanSecrets(after, rotateBatch)
		if err != nil {
			return err
		}
		for i, s := range page {
			pt, err := old.Open(s.Ref, s.Sealed)
			if err != nil {
				return err
			}
			page[i].Sealed, err = next.Seal(s.Ref, pt)
			clear(pt)
			if err != nil {
				return err
			}
		}
		if err := b.PutSecrets(page); err != nil {
			return err
		}
		done += len(page)
		if progress != nil {
			if err := progress(done); err != nil {
				return err
			}
		}
		if len(page) < rotateBatch {
			return nil
		}
		after = page[len(page)-1].Ref
	}
}

// resealKeyRecords replaces the shared store's records of the master key:
// its check value, sealed again, and its published wrapped copy (dropped
// when this vault's key is in clear, which no other machine can fetch).
func resealKeyRecords(b BulkTx, old, next *Sealer, wrapped bool, content []byte) error {
	check, err := getMetaOpt(b, MetaMasterKeyCheck)
	if err != nil {
		return err
	}
	if check != nil {
		pt, err := old.Open(keyCheckRef, check)
		if err != nil {
			return err
		}
		sealed, err := next.Seal(keyCheckRef, pt)
		if err != nil {
			return err
		}
		if err := b.PutMeta(MetaMasterKeyCheck, sealed); err != nil {
			return err
		}
	}
	published, err := getMetaOpt(b, MetaMasterKeyWrapped)
	if err != nil || published == nil {
		return err
	}
	if wrapped {
		return b.PutMeta(MetaMasterKeyWrapped, content)
	}
	return b.DeleteMeta(MetaMasterKeyWrapped)
}

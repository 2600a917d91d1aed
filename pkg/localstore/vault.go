package localstore

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
)

// Vault is an opened vault: its store and the sealer of its private keys.
type Vault struct {
	Dir   string
	Store Store

	opts Options
	// mu serialises loading the master key; current is the loaded sealer
	// (read without the lock by the write guard), keyErr a load failure.
	mu      sync.Mutex
	current atomic.Pointer[Sealer]
	keyErr  error
	// checked is when current was last compared with the store's key
	// generation (Unix nanoseconds).
	checked atomic.Int64
	// closers run at Close, before the store closes (OnClose).
	closeMu sync.Mutex
	closers map[string]func()
	// discard: Close removes the vault again, and the directories
	// discardDirs (DiscardIfEmpty).
	discard     bool
	discardDirs []string
	// identity is StoreIdentity, worked out once (it asks for the working
	// directory, and a busy server needs it at every commit).
	identityOnce sync.Once
	identity     string
	// ExposedKeyFiles name the master key files that other users could
	// read or write when the vault was opened (their mode, before it was
	// made 0600): the key may have been read, which its user should know
	// (tester: it was tightened without a word).
	ExposedKeyFiles []string
	// ExposedDatabase names the database files (vault.db and SQLite's
	// beside it) that other users could read or write when the vault
	// was opened (their mode, before it was made 0600): its sealed data
	// may have been copied, or changed (tester: tightened without a word).
	ExposedDatabase []string
	// witness is WitnessIdentity, worked out once.
	witnessOnce sync.Once
	witness     string
	// ReadChecked is set once a read of this process found the store as
	// this host's audit witness last saw it (service.Core.Read).
	ReadChecked atomic.Bool
	// wrote is set by the first write transaction (writeGuard): Wrote.
	wrote atomic.Bool
}

// Wrote reports whether this process began a write transaction on the
// vault's store: a command that only read it changed nothing (a --query
// that failed on its output then names nothing it made).
func (v *Vault) Wrote() bool { return v.wrote.Load() }

// Options tune how a vault is opened.
type Options struct {
	// StoreURL selects the backend: empty or "sqlite:" for the embedded
	// database in Dir, "sqlite:PATH" for another file, postgres:// or
	// postgresql:// for a PostgreSQL database shared by many machines.
	StoreURL string
	// Passphrase wraps the master key; nil for a key file in clear.
	Passphrase []byte
	// AskPassphrase, when Passphrase is nil, asks for the passphrase of
	// a wrapped master key the first time the key is needed (a person
	// at a terminal): at most once, and never to make a new key.
	AskPassphrase func() ([]byte, error)
	// Scrypt are the KDF parameters used when a wrapped key is created.
	// Zero means DefaultScrypt; tests pass cheap ones explicitly.
	Scrypt ScryptParams
	// OnePool opens an embedded database with one pool for reads and
	// writes (OpenSQLiteOnePool): for a process that runs one command,
	// not for a server.
	OnePool bool
	// Restoring opens a vault directory whose database is gone (see
	// ErrLostDatabase) as a new vault: `vault restore` puts a backup in
	// its place.
	Restoring bool
	// LegacyPassphrase, when set, is the passphrase an earlier release
	// read from the same passphrase file (all of it but a last line end,
	// where this one reads its first line): tried when Passphrase does not
	// open the wrapped key, so that a vault made with a file of several
	// lines still opens with it (review); OnLegacyPassphrase is called
	// when it does.
	LegacyPassphrase   []byte
	OnLegacyPassphrase func()
}

// WitnessFileName is the name of the file of a vault directory in which
// this host keeps its audit witness of the store storeID (see
// audit.WitnessIn).
func WitnessFileName(storeID string) string {
	sum := sha256.Sum256([]byte(storeID))
	return WitnessPrefix + hex.EncodeToString(sum[:8])
}

// WitnessPrefix begins the names of audit witness files.
const WitnessPrefix = "audit.witness-"

// ErrLostDatabase is returned by Open for a vault directory that holds a
// vault's master key or audit witness but whose embedded database is
// missing or empty: the certificates and keys were in that database, and
// a new empty vault made in its place would hide their loss (tester: list,
// vault verify, audit verify and renew --due all said nothing was wrong).
var ErrLostDatabase = errors.New("the vault's database is lost")

// ErrRestoreInterrupted is returned by Open for a vault directory where a
// vault restore was killed before it finished (tester: the directory
// then worked as a new, empty vault, and once written to refused the
// restore run again).
var ErrRestoreInterrupted = errors.New("a vault restore into this directory was interrupted")

// checkRestoreNotInterrupted refuses (ErrRestoreInterrupted) a vault
// directory that holds the working copy of a restore whose process is
// gone.
func checkRestoreNotInterrupted(dir string) error {
	left := fsutil.OwnedTempsGone(dir, restoreTempPrefix)
	if len(left) == 0 {
		return nil
	}
	copyDir := filepath.Join(dir, left[0])
	return fmt.Errorf("%w (%s is the copy of the backup it left): run the restore again (certctl vault restore --from-file BACKUP --vault %s), or remove %s to use the vault as it is",
		ErrRestoreInterrupted, copyDir, dir, copyDir)
}

// checkDatabaseNotLost refuses (ErrLostDatabase) to open db, the embedded
// database of the vault directory dir, as a new one when it is missing or
// empty while dir holds what a vault that had data leaves: its master key
// (sealed data), or an audit witness (committed changes).
func checkDatabaseNotLost(dir, db string) error {
	fi, err := os.Stat(db)
	if err == nil && fi.Size() > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	// The witness of this database, under the name of this release and
	// of earlier ones (audit.WitnessIn); another store's (a shared one
	// this directory also serves) says nothing of it.
	witnesses := map[string]bool{WitnessFileName("sqlite:" + db): true, WitnessFileName(canonicalStore("sqlite:" + db)): true}
	var left []string
	own, others := false, false
	for _, e := range ents {
		n := e.Name()
		switch {
		case witnesses[n]:
			own = true
			left = append(left, n)
		case n == MasterKeyFile || n == WrappedMasterFile:
			left = append(left, n)
		case strings.HasPrefix(n, WitnessPrefix):
			others = true
		}
	}
	if len(left) == 0 {
		return nil
	}
	what := "missing"
	if fi != nil {
		what = "empty (0 bytes)"
	}
	if !own && others {
		// The directory of a shared store (its master key, and this
		// host's witness of that store's log): most likely run without
		// the store it serves (review: told of a lost database that never
		// was).
		return fmt.Errorf("%w: %s is %s, and %s holds the master key of a vault whose data is in another store (this host's audit witness of it is there): "+
			"give that store (--store or CERTCTL_STORE); if this directory's own database was lost, restore a backup (certctl vault restore --from-file BACKUP); to start a new vault, use another directory (--vault)",
			ErrLostDatabase, db, what, dir)
	}
	return fmt.Errorf("%w: %s is %s, but %s holds %s, left by a vault that had data — its certificates and keys were in that database: "+
		"restore a backup (certctl vault restore --from-file BACKUP), put the database back, or give the store this directory serves (--store, CERTCTL_STORE); to start a new vault, use another directory (--vault)",
		ErrLostDatabase, db, what, dir, strings.Join(left, " and "))
}

func (o Options) openSQLite(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, o.OnePool, false)
}

// ErrUnsupportedStore is returned for a store URL this build cannot open:
// one that does not parse, or of a scheme it does not know (tester: the
// word "unsupported" for a typo in a URL misled).
var ErrUnsupportedStore = errors.New("invalid store URL")

// Open opens the vault in dir, creating it (mode 0700) on first use.
func Open(ctx context.Context, dir string, opts Options) (*Vault, error) {
	if dir == "" {
		return nil, errors.New("no vault directory")
	}
	// What is in the directory is trusted (its master key, a deploy
	// target's command): nobody else may be able to write it — nor the
	// directories above it, checked before a new one is made there.
	_, err := os.Lstat(dir)
	missing := errors.Is(err, os.ErrNotExist)
	if missing {
		if err := fsutil.CheckParents(dir); err != nil {
			return nil, err
		}
	}
	if err := checkVaultDir(dir); err != nil {
		return nil, err
	}
	if missing {
		// Made walking the path as a write does (fsutil.MkdirAll); one
		// there already is checked as a vault directory below.
		if err := fsutil.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	if !opts.Restoring {
		if err := checkRestoreNotInterrupted(dir); err != nil {
			return nil, err
		}
	}
	tightened, err := fsutil.TightenPrivateDir(dir)
	if err != nil {
		return nil, err
	}
	exposed := exposedFiles(dir, tightened, func(n string) bool { return n == MasterKeyFile || n == WrappedMasterFile })
	exposedDB := exposedFiles(dir, tightened, func(n string) bool { return strings.HasPrefix(n, DatabaseFile) })
	if path, ok := strings.CutPrefix(opts.StoreURL, "sqlite:"); ok && path != "" {
		if err := checkPrivateDatabase(dir, path); err != nil {
			return nil, err
		}
	}
	var st Store
	switch u := opts.StoreURL; {
	case u == "" || u == "sqlite:" || u == "sqlite":
		db := filepath.Join(dir, DatabaseFile)
		if !opts.Restoring {
			if err := checkDatabaseNotLost(dir, db); err != nil {
				return nil, err
			}
		}
		st, err = opts.openSQLite(ctx, db)
		if err != nil {
			return nil, err
		}
	case strings.HasPrefix(u, "sqlite:"):
		st, err = opts.openSQLite(ctx, strings.TrimPrefix(u, "sqlite:"))
		if err != nil {
			return nil, err
		}
	case IsPostgresURL(u):
		// A database shared by many machines. The master key still lives
		// in each vault directory: every machine needs the same key, either
		// a copy of master.key or the passphrase of the wrapped key that
		// the first machine publishes in the database (see sharedMasterKey).
		st, err = OpenPostgres(ctx, u)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w %q: this build supports sqlite: and postgres:// stores", ErrUnsupportedStore, RedactURL(u))
	}
	v := &Vault{Dir: dir, Store: st, opts: opts, ExposedKeyFiles: exposed, ExposedDatabase: exposedDB}
	if g, ok := st.(writeGuarded); ok {
		g.setWriteGuard(v.writeGuard)
	}
	return v, nil
}

// exposedFiles names, of the files of dir opening the vault took the
// group's and others' permissions from, those which (the master key
// files, the database's), with the mode they had ("…/master.key (mode
// 0644)").
func exposedFiles(dir string, tightened []fsutil.Tightened, which func(name string) bool) []string {
	var out []string
	for _, t := range tightened {
		if which(t.Name) {
			out = append(out, fmt.Sprintf("%s (mode %04o)", filepath.Join(dir, t.Name), t.Mode))
		}
	}
	return out
}

// vaultFilePrefixes begin the names of what certctl keeps in a vault
// directory: the database and SQLite's files beside it, the master key
// (and its wrapped and pending forms), the audit witnesses, this host's
// files, the validation email outbox, a restore's staging files.
var vaultFilePrefixes = []string{DatabaseFile, "master.key", WitnessPrefix, ".audit-witness", "host.", "outbox", restoreTempPrefix}

// checkVaultDir refuses an existing directory that is not a vault — it
// holds neither a database nor a master key, and holds something certctl
// does not keep there — before anything is made in it: the vault's rule
// would take the group's and others' permissions from every file in it,
// the user's own (tester: --vault on a project directory made its README
// 0600 and its scripts 0700, for a list). An empty directory is a new
// vault's.
func checkVaultDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // none yet (made below), or unreadable: CheckPrivateDir says why
	}
	var others []string
	for _, e := range entries {
		name := e.Name()
		if name == DatabaseFile || strings.HasPrefix(name, "master.key") {
			return nil // a vault
		}
		ours := slices.ContainsFunc(vaultFilePrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) ||
			strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") // a file written atomically (fsutil)
		if !ours {
			others = append(others, name)
		}
	}
	if len(others) == 0 {
		return nil
	}
	shown := others
	if len(shown) > 3 {
		shown = append(shown[:3:3], "…")
	}
	return &fsutil.UnsafeError{Path: dir, Why: "is not a vault directory: it holds files that are not a vault's (" + strings.Join(shown, ", ") + "), whose permissions the vault would take away",
		Fix: "give --vault (or CERTCTL_VAULT) a new or empty directory, or the vault's own"}
}

// checkPrivateDatabase applies the vault directory's rule to a database
// kept elsewhere (sqlite:PATH), and to the files SQLite keeps beside it.
func checkPrivateDatabase(dir, path string) error {
	if strings.HasPrefix(path, ":") || strings.HasPrefix(path, "file:") {
		return nil // SQLite's own forms (:memory:, a URI): no file of ours to check
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if d, _ := filepath.Abs(dir); filepath.Dir(abs) == d {
		return nil // checked with the vault directory
	}
	if _, err := os.Stat(filepath.Dir(abs)); os.IsNotExist(err) {
		return nil // SQLite's own error says so
	}
	base := filepath.Base(abs)
	return fsutil.CheckPrivateDir(filepath.Dir(abs), base, base+"-wal", base+"-shm", base+"-journal")
}

// Sealer returns the sealer of the vault's secrets, reading (or on first
// use creating) the master key. Only commands that touch private keys call
// it, so listing a passphrase-locked vault needs no passphrase.
//
// A long-running process (endpoint serve) notices within a second that
// another process rotated the master key (vault rotate-key) and loads the
// new one; its write transactions notice at once (see writeGuard).
func (v *Vault) Sealer() (*Sealer, error) {
	if s := v.current.Load(); s != nil && !v.stale(s) {
		return s, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.current.Load(); s != nil {
		return s, nil
	}
	if v.keyErr != nil {
		return nil, v.keyErr
	}
	key, id, err := v.loadMasterKey(v.scrypt())
	err = v.retryLegacy(err, func() (err error) {
		key, id, err = v.loadMasterKey(v.scrypt())
		return err
	})
	if ask := v.opts.AskPassphrase; errors.Is(err, ErrLocked) && v.opts.Passphrase == nil && ask != nil {
		v.opts.AskPassphrase = nil
		var pass []byte
		if pass, err = ask(); err == nil && len(pass) > 0 {
			v.opts.Passphrase = pass
			key, id, err = v.loadMasterKey(v.scrypt())
		} else if err == nil {
			err = ErrLocked // no passphrase typed
		}
	}
	if err != nil {
		v.keyErr = err
		return nil, err
	}
	s, err := newSealer(key)
	clear(key)
	if err != nil {
		v.keyErr = err
		return nil, err
	}
	if id == "" {
		s.record = v.recordsKey(s)
	}
	v.checked.Store(time.Now().UnixNano())
	v.current.Store(s)
	return s, nil
}

// retryLegacy runs try again, with Options.LegacyPassphrase as the
// passphrase, when err says the passphrase given does not open the wrapped
// key: the passphrase as an earlier release read the same file. When it
// opens it, it is the vault's from now on in this process (and
// OnLegacyPassphrase is called); else err stands. Every opening of a
// wrapped key goes through here (Sealer, SealerOf; review: backup and
// restore did not).
func (v *Vault) retryLegacy(err error, try func() error) error {
	legacy := v.opts.LegacyPassphrase
	if legacy == nil || !errors.Is(err, ErrWrongPassphrase) {
		return err
	}
	v.opts.LegacyPassphrase = nil
	cur := v.opts.Passphrase
	v.opts.Passphrase = legacy
	if try() != nil {
		v.opts.Passphrase = cur
		return err
	}
	if v.opts.OnLegacyPassphrase != nil {
		v.opts.OnLegacyPassphrase()
	}
	return nil
}

// CheckUnlocked fails as Sealer would when no key could be opened: a
// wrapped key file and no passphrase given nor a terminal to ask, or a
// passphrase given that does not open it — derived once (scrypt, a third
// of a second and 64 MiB), the price of a cron job's pass finding a stale
// passphrase every time rather than on the day a renewal falls due
// (tester; an earlier review had it skip the derivation). With a terminal
// to ask and no passphrase given, nothing is asked until a key is needed.
// A key in clear, or none in the directory (a shared store's to fetch),
// is loaded as Sealer loads it.
func (v *Vault) CheckUnlocked() error {
	if v.current.Load() != nil {
		return nil
	}
	if wrapped, err := v.currentForm(); err == nil && wrapped {
		if v.opts.Passphrase == nil && v.opts.AskPassphrase == nil {
			return ErrLocked
		}
		if v.opts.Passphrase == nil {
			return nil // asked for at a terminal when the key is needed
		}
	}
	// A passphrase given is tried (one key derivation): a wrong one —
	// stale after vault change-passphrase on another machine — fails
	// every pass, as a missing one does, not only the day a renewal
	// falls due (tester: exit 0 until then).
	_, err := v.Sealer()
	return err
}

// KeyUnusable is the error of the last load of the master key when it
// failed for the key itself — the passphrase no longer opens it (another
// machine changed it and rotated the key), the vault is locked, the key
// file is missing or not the store's — which Sealer returns until a key
// is installed or rotated here (nil otherwise). It loads nothing: a
// server's health check reads it (tester: /healthz answered 200 while
// every request failed for the key).
func (v *Vault) KeyUnusable() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	err := v.keyErr
	if err != nil && (errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrLocked) || errors.Is(err, ErrCorrupt)) {
		return err
	}
	return nil
}

// scrypt are the KDF parameters of keys this vault wraps.
func (v *Vault) scrypt() ScryptParams {
	if v.opts.Scrypt.N == 0 {
		return DefaultScrypt
	}
	return v.opts.Scrypt
}

// Close runs the functions given to OnClose, then closes the store (and
// removes the vault when DiscardIfEmpty asked for it).
func (v *Vault) Close() error {
	v.closeMu.Lock()
	closers := v.closers
	v.closers = nil
	discard, dirs := v.discard, v.discardDirs
	v.closeMu.Unlock()
	for _, fn := range closers {
		fn()
	}
	if discard {
		if s, ok := v.Store.(*SQLite); ok {
			s.discardCreated(v.Dir)
		}
	}
	err := v.Store.Close()
	// The directories the restore made, the deepest first: each only
	// when it is empty (os.Remove removes no directory that is not).
	for _, d := range dirs {
		_ = os.Remove(d)
	}
	return err
}

// CreatedNow reports whether opening the vault made its database: an
// embedded SQLite vault whose directory held none.
func (v *Vault) CreatedNow() bool {
	s, ok := v.Store.(*SQLite)
	return ok && !s.created.zero() && filepath.Clean(s.path) == filepath.Join(filepath.Clean(v.Dir), DatabaseFile)
}

// DiscardIfEmpty has Close remove what a restore that failed made (tester:
// a wrong passphrase left an empty database in the new vault directory):
// the SQLite database of the vault directory, when this process created
// it and it holds no data (SQLite.discardCreated), and nothing else of
// the directory; then made, the directories the restore made (the
// deepest first), each only if it is empty.
func (v *Vault) DiscardIfEmpty(made []string) {
	v.closeMu.Lock()
	v.discard, v.discardDirs = true, made
	v.closeMu.Unlock()
}

// sqliteFiles are the names of a vault directory's database and of the
// files SQLite keeps beside it.
var sqliteFiles = []string{DatabaseFile, DatabaseFile + "-wal", DatabaseFile + "-shm", DatabaseFile + "-journal"}

// discardCreated removes the database, and the files SQLite keeps beside
// it, when it is the vault directory dir's, this process created it (and
// the path still names that file) and it holds no data; nothing else of
// dir. It checks and removes under the database's write lock, so that no
// other process commits meanwhile: one that opened it then fails its next
// transaction (the files it opened are gone, see sqlite_files.go) rather
// than commit into a removed file (review: the check was not held against
// other processes).
func (s *SQLite) discardCreated(dir string) {
	if s.readOnly || s.created.zero() || filepath.Clean(s.path) != filepath.Join(filepath.Clean(dir), DatabaseFile) {
		return
	}
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return
	}
	defer func() { _, _ = c.ExecContext(ctx, "ROLLBACK") }()
	if id, err := fileIDOf(s.path); err != nil || id != s.created {
		return
	}
	var n int64
	if err := c.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM certificates) + (SELECT count(*) FROM audit)`).Scan(&n); err != nil || n != 0 {
		return
	}
	for _, name := range sqliteFiles {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// OnClose has Close run fn first (once; a second fn under the same name
// replaces the first): work a process holds back about this vault, such
// as the audit witness a busy server writes at intervals.
func (v *Vault) OnClose(name string, fn func()) {
	v.closeMu.Lock()
	defer v.closeMu.Unlock()
	if v.closers == nil {
		v.closers = map[string]func(){}
	}
	v.closers[name] = fn
}

// SealKey stores key, sealed, under ref in tx.
func (v *Vault) SealKey(tx Tx, ref string, key crypto.Signer) error {
	sealer, err := v.Sealer()
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	sealed, err := sealer.Seal(ref, der)
	clear(der)
	if err != nil {
		return err
	}
	return tx.PutSecret(ref, sealed)
}

// OpenKey reads and unseals the key stored under ref.
func (v *Vault) OpenKey(tx Tx, ref string) (crypto.Signer, error) {
	sealer, err := v.Sealer()
	if err != nil {
		return nil, err
	}
	sealed, err := tx.GetSecret(ref)
	if err != nil {
		return nil, err
	}
	der, err := sealer.Open(ref, sealed)
	if err != nil {
		if der, err = v.openRotated(tx, ref, sealed, sealer, err); err != nil {
			return nil, err
		}
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %v", ErrCorrupt, ref, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not a signing key", ErrCorrupt, ref)
	}
	return s, nil
}

// SnapshotSealer returns the sealer of the key tx's snapshot is sealed
// under, for a transaction that reads many sealed things under one key
// (vault verify, audit verify): the key this process holds, or, when
// another process rotated the key after this one loaded it and before the
// snapshot, the store's newer key, loaded now. It reads the store's key ID
// in tx, so called first it fixes the snapshot. When the snapshot is older
// than every key this process can load (the rotation committed after the
// snapshot), it returns ErrKeyRotated: run the transaction again.
func (v *Vault) SnapshotSealer(tx Tx) (*Sealer, error) {
	sealer, err := v.Sealer()
	if err != nil {
		return nil, err
	}
	snap, err := storeKeyID(tx)
	if err != nil {
		return nil, err
	}
	if snap == sealer.id {
		return sealer, nil
	}
	cur, latest, err := v.latestSealer(sealer)
	switch {
	case err != nil:
		return nil, err
	case latest == "":
		// The store never recorded a key: the one loaded is its only key.
		return sealer, nil
	case cur.id == snap:
		return cur, nil
	}
	return nil, ErrKeyRotated
}

// rotatedAttempts bounds how many rotations committed one after another
// openRotated follows before it gives up (with ErrKeyRotated: run again).
const rotatedAttempts = 3

// openRotated opens the secret sealed, read under ref in tx, that did not
// open (openErr) under sealer, when tx's snapshot is sealed under another
// key than sealer's: another process, on this host or on another host of
// a shared store, rotated the master key between the loading of sealer and
// the snapshot of tx — either way round, since a read transaction (which
// the write guard does not check) takes its snapshot at its first read,
// and a command loads its key (reading the store's key ID in a transaction
// of its own) when it first needs it, which may be after:
//
//   - the snapshot is newer: sealer was loaded before the rotation (by a
//     server, or before the transaction began);
//   - the snapshot is older: the rotation committed after the snapshot but
//     before sealer was loaded, which is then already the new key.
//
// The vault's key is brought up to the store's latest; when that is the
// snapshot's, the secret opens as read. Otherwise this process holds no key
// the snapshot is sealed under, and the secret is read again under ref in
// a new snapshot, sealed under the key now loaded: a reference names one
// private key for good (a certificate version's, a CA's; written once) and a
// rotation seals the same key again, so it is the key of tx's snapshot.
//
// A snapshot sealed under sealer's own key, or a store whose key was never
// rotated, leaves openErr: the secret is damaged.
func (v *Vault) openRotated(tx Tx, ref string, sealed []byte, sealer *Sealer, openErr error) ([]byte, error) {
	// A snapshot taken before the store's first rotation records no key
	// ID ("") yet: the store's latest then tells.
	snap, err := storeKeyID(tx)
	if err != nil {
		return nil, err
	}
	if snap == sealer.id {
		return nil, openErr
	}
	held := sealer
	for range rotatedAttempts {
		cur, latest, err := v.latestSealer(held)
		if err != nil {
			return nil, err
		}
		switch {
		case latest == "":
			return nil, openErr
		case cur.id == snap:
			return cur.Open(ref, sealed)
		}
		var id string
		var again []byte
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = v.Store.View(ctx, func(tx Tx) (err error) {
			if id, err = storeKeyID(tx); err != nil {
				return err
			}
			again, err = tx.GetSecret(ref)
			return err
		})
		cancel()
		switch {
		case errors.Is(err, ErrNotFound):
			// Deleted since tx's snapshot, which still holds it sealed
			// under a key this process does not have.
			return nil, fmt.Errorf("%w (key %q was deleted since)", ErrKeyRotated, ref)
		case err != nil:
			return nil, err
		case id == cur.id:
			return cur.Open(ref, again)
		}
		// Rotated again meanwhile: load that key and read again.
		held = cur
	}
	return nil, ErrKeyRotated
}

// latestSealer returns the vault's key once it is the store's latest, and
// the key ID the store records ("": none, the store's key was never
// rotated): held, a key this process loaded, is dropped when the store
// names another, and the store's is loaded.
func (v *Vault) latestSealer(held *Sealer) (*Sealer, string, error) {
	latest, err := v.readStoreKeyID()
	if err != nil {
		return nil, "", err
	}
	if latest != "" && latest != held.id {
		v.drop(held)
	}
	s, err := v.Sealer()
	return s, latest, err
}

// StoreIdentity names the store this vault opened, for files the vault
// directory keeps about one store (the audit witness): the database file's
// absolute path for SQLite, the URL less its password for PostgreSQL.
func (v *Vault) StoreIdentity() string {
	v.identityOnce.Do(func() { v.identity = v.storeIdentity() })
	return v.identity
}

// WitnessIdentity names the store for this host's audit witness (see
// audit.WitnessIn): StoreIdentity in a form that does not depend on how
// the store was reached — the database file's path with its symbolic
// links resolved, a PostgreSQL URL without its user, password or the
// parameters that only say how to connect, its other parameters sorted —
// so that a second path or URL to the same store does not find a witness
// of its own, which would let a log rolled back behind the first pass
// unseen (tester: a symbolic link to the vault did). audit.WitnessOf
// takes over a witness an earlier release kept under StoreIdentity.
func (v *Vault) WitnessIdentity() string {
	v.witnessOnce.Do(func() { v.witness = canonicalStore(v.StoreIdentity()) })
	return v.witness
}

// canonicalStore is a StoreIdentity in the form WitnessIdentity gives it.
func canonicalStore(id string) string {
	if p, ok := strings.CutPrefix(id, "sqlite:"); ok {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return "sqlite:" + real
		}
		if dir, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			return "sqlite:" + filepath.Join(dir, filepath.Base(p)) // not made yet
		}
		return id
	}
	raw, _ := strings.CutPrefix(id, "postgres:")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return id
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	q := u.Query()
	for _, k := range []string{"user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout",
		"application_name", "target_session_attrs", "pool_max_conns", "pool_min_conns", "pool_max_conn_lifetime", "pool_max_conn_idle_time",
		"pool_health_check_period"} {
		q.Del(k)
	}
	return "postgres:postgres://" + net.JoinHostPort(host, port) + "/" + strings.TrimPrefix(u.Path, "/") + "?" + q.Encode()
}

// HookEnv is what a command certctl runs for the user (a deploy reload
// command, the event hook) is told of this vault, so that a certctl it
// runs works on the same one (tester: it opened the default vault, and
// made an empty one): CERTCTL_VAULT, and CERTCTL_STORE when the store is
// not the directory's own database — without its password, which never
// reaches a hook (a hook's certctl on a URL that held one fails to
// connect, and says so, rather than open another store).
func (v *Vault) HookEnv() []string {
	dir := v.Dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	env := []string{"CERTCTL_VAULT=" + dir}
	switch u := v.opts.StoreURL; {
	case u == "" || u == "sqlite:" || u == "sqlite":
	case strings.HasPrefix(u, "sqlite:"):
		env = append(env, "CERTCTL_STORE="+strings.TrimPrefix(v.StoreIdentity(), "sqlite:"))
	default:
		env = append(env, "CERTCTL_STORE="+WithoutPassword(u))
	}
	return env
}

func (v *Vault) storeIdentity() string {
	u := v.opts.StoreURL
	switch {
	case u == "" || u == "sqlite:" || u == "sqlite":
		u = filepath.Join(v.Dir, DatabaseFile)
	case strings.HasPrefix(u, "sqlite:"):
		u = strings.TrimPrefix(u, "sqlite:")
	default:
		return "postgres:" + RedactURL(u)
	}
	if abs, err := filepath.Abs(u); err == nil {
		u = abs
	}
	return "sqlite:" + u
}

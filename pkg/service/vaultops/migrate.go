package vaultops

import (
	"context"
	"errors"
	"github.com/certctl/certctl/pkg/fsutil"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// MigrateResult describes a migration.
type MigrateResult struct {
	From string `json:"From"`
	To   string `json:"To"`
	Counts
}

// CheckStoreURL checks a migration target: a store URL as --store takes
// one (localstore.CheckStoreURL), naming a database — postgres://…,
// postgresql://… or sqlite:PATH, not the vault's own. A URL refused is
// invalid input (exit 4) as it is from --store, CERTCTL_STORE or config
// set store (tester: --to mysql://x was exit 2, --store mysql://x exit 4;
// --to sqlite::memory: migrated into nothing, a bad port was exit 6).
func CheckStoreURL(to string) error {
	if err := localstore.CheckStoreURL(to); err != nil {
		return errs.Invalidf("--to: %v", err)
	}
	if to == "" || to == "sqlite" || to == "sqlite:" {
		return errs.Invalidf("--to %q names no database: want postgres://…, postgresql://… or sqlite:PATH", to)
	}
	return nil
}

// Migrate copies the vault's store into the empty store at to (exit 5 when
// it holds data): every row as it is — ARNs, versions, sealed keys,
// serials, objects, meta, events and audit records — read in one snapshot
// and written in one transaction. The vault directory and its master key
// serve both stores. The MigrateVault record is appended to the source
// first, so that the copy carries it and both logs are the same.
func (s *Service) Migrate(ctx context.Context, to string) (*MigrateResult, error) {
	if err := CheckStoreURL(to); err != nil {
		return nil, err
	}
	v := s.core.Vault
	shown := localstore.RedactURL(to)
	// A target refused before the change (invalid, exit 4) is recorded
	// as the change refused, as a target that is not empty is (exit 5).
	refused := func(err error) error {
		return s.core.Refused(ctx, "MigrateVault", err, func(op *service.Op) {
			op.Param("From", v.StoreKind())
			op.Param("To", shown)
		})
	}
	created := ""     // the SQLite database this migration creates
	var made []string // and the directories it made for it
	if path, ok := strings.CutPrefix(to, "sqlite:"); ok {
		if s.sameSQLite(path) {
			return nil, refused(errs.Invalidf("--to %s is the vault's own database", shown))
		}
		// A directory that is missing is made (0700), as restore makes
		// its vault directory (tester: the help's example failed, the
		// directory being missing); one that is not a directory is
		// refused.
		dir := filepath.Dir(path)
		made = missingDirs(dir)
		if err := fsutil.MkdirAll(dir, 0o700); err != nil {
			return nil, refused(errs.Invalidf("--to %s: %v", shown, err))
		}
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			created = path
		}
	}
	// removeMade removes what a failed migration made: its database and
	// the directories, if still empty.
	removeMade := func() {
		removeSQLite(created)
		for _, d := range made {
			_ = os.Remove(d)
		}
	}
	sealer, err := v.Sealer()
	if err != nil {
		removeMade()
		return nil, service.MapError(err)
	}
	dst, err := v.SameVault(ctx, to)
	if err != nil {
		removeMade()
		return nil, refused(targetError(shown, err))
	}
	// The store in use, reached by another URL (other connection
	// parameters): said so, not as a target that is not empty (tester).
	// As the same user: another one's default search_path ("$user",
	// public) may be another schema (review).
	if dst.WitnessIdentity() == v.WitnessIdentity() && storeUser(dst.StoreIdentity()) == storeUser(v.StoreIdentity()) {
		dst.Close()
		return nil, refused(errs.Invalidf("--to %s is the store in use", shown))
	}
	res, err := s.migrateInto(ctx, dst, sealer, shown)
	cerr := dst.Close()
	if err == nil && cerr != nil {
		err = targetError(shown, cerr)
	}
	if err != nil {
		// A migration that failed leaves no half-made database behind
		// (nor its -wal and -shm files, nor the directories made for
		// it): the next one starts afresh.
		removeMade()
		return nil, err
	}
	return res, nil
}

// storeUser is the user a store identity (Vault.StoreIdentity) of a
// PostgreSQL store names in its URL ("" for none, or another store).
func storeUser(identity string) string {
	u, err := url.Parse(strings.TrimPrefix(identity, "postgres:"))
	if err != nil || u.User == nil || !strings.HasPrefix(identity, "postgres:") {
		return ""
	}
	return u.User.Username()
}

// removeSQLite removes the SQLite database path ("": none) and the files
// SQLite keeps beside it.
func removeSQLite(path string) {
	if path == "" {
		return
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		_ = os.Remove(p)
	}
}

// targetError is err, a failure of the migration's target store shown,
// naming that store: the vault the command runs on is not the one that
// is unavailable.
func targetError(shown string, err error) error {
	var ce *errs.Error
	if errors.As(err, &ce) || !localstore.IsStorageError(err) || errors.Is(err, localstore.ErrKeyRotated) {
		return service.MapError(err)
	}
	e := &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: "migration target " + shown + " unavailable", Err: err}
	// What --store's failure is told, for the store --to names (tester:
	// a missing schema got no hint).
	e.Hint = strings.ReplaceAll(localstore.StoreHint(err), "(--store or CERTCTL_STORE", "(--to")
	return e
}

// migrateInto copies the vault into dst, the store shown, which must be
// empty.
func (s *Service) migrateInto(ctx context.Context, dst *localstore.Vault, sealer *localstore.Sealer, shown string) (*MigrateResult, error) {
	v := s.core.Vault
	from := v.StoreKind()
	hint := "migrate into a new, empty store"
	// Once: the copy is recorded as sealed under the key taken before.
	err := s.core.ChangeOnce(ctx, "MigrateVault", func(op *service.Op) error {
		op.Param("From", from)
		op.Param("To", shown)
		// The source shares its key with the target from now on: a
		// rotation of either keeps the old key (vault rotate-key).
		if err := localstore.AddKeySharer(op.Tx, dst.StoreIdentity()); err != nil {
			return err
		}
		return dst.Store.View(ctx, func(tx localstore.Tx) error {
			b, err := localstore.AsBulk(tx)
			if err != nil {
				return err
			}
			return checkEmpty(b, hint)
		})
	})
	if err != nil {
		return nil, err
	}
	var copied map[string]int64
	var last *localstore.AuditRow
	err = dst.Store.Update(ctx, func(tx localstore.Tx) error {
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		if err := checkEmpty(b, hint); err != nil {
			return err
		}
		if err := copyInto(ctx, v.Store, b); err != nil {
			return err
		}
		// A rotation committed before the copy ended may have resealed
		// what it read: the source must still be under sealer's key
		// (key IDs are never reused), or the target would name a key
		// its data is not sealed under.
		if id, err := v.StoreKeyID(ctx); err != nil {
			return err
		} else if id != "" && id != sealer.ID() {
			return localstore.ErrKeyRotated
		}
		// The target records the key its data is sealed under: no
		// other machine makes a new one for it.
		if err := localstore.RecordKey(b, v.Dir, sealer); err != nil {
			return err
		}
		if err := localstore.SetKeySharers(b, []string{v.StoreIdentity()}); err != nil {
			return err
		}
		// Deploy targets recorded without a host came from elsewhere.
		if err := deploy.MarkCopiedStore(b); err != nil {
			return err
		}
		if copied, err = b.RowCounts(); err != nil {
			return err
		}
		if last, err = b.LastAudit(); errors.Is(err, localstore.ErrNotFound) {
			last, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, targetError(shown, err)
	}
	// This host's witness of the target starts at the copied log's end:
	// one left by an earlier store at that place describes a log that is
	// gone, and would refuse the target's first change.
	w := audit.WitnessIn(v.Dir, dst.WitnessIdentity())
	var werr error
	if last != nil {
		werr = w.Set(sealer.AuditKey(), last.Seq, last.MAC)
	} else {
		werr = w.Reset() // an empty copied log: no witness of an earlier one stays
	}
	if werr != nil {
		return nil, service.MapError(werr)
	}
	// An SQLite target is left one self-contained file: certctl keeps the
	// log of its databases between commands (see localstore/sqlite_wal.go).
	if sq, ok := dst.Store.(*localstore.SQLite); ok {
		if err := sq.FoldLog(ctx); err != nil {
			return nil, targetError(shown, err)
		}
	}
	return &MigrateResult{From: from, To: shown, Counts: counts(copied)}, nil
}

// sameSQLite reports whether path is the vault's own SQLite database.
func (s *Service) sameSQLite(path string) bool {
	own, ok := s.core.Vault.Store.(*localstore.SQLite)
	if !ok {
		return false
	}
	a, errA := filepath.Abs(path)
	b, errB := filepath.Abs(own.Path())
	if errA == nil && errB == nil && a == b {
		return true
	}
	return localstore.SameFile(path, own.Path())
}

package localstore

// The portable backup format, written by `certctl vault backup` from either
// backend and read by `certctl vault restore` into either backend:
//
// A backup is one SQLite database file (mode 0600, rollback journal, no -wal
// beside it) holding the vault schema of this build (PRAGMA user_version =
// SchemaVersion) with every row of the store as it was at one instant, plus
// one table of its own, backup_info (key TEXT PRIMARY KEY, value BLOB), that
// describes it: format, created_at, source (sqlite or postgres),
// schema_version, key_form (plain, wrapped or empty) and master_key.
//
// From SQLite the snapshot is SQLite's online backup of every page in one
// step, inside one read transaction, while writers go on (WAL readers do
// not block them).
// From PostgreSQL it is a copy of every table read in one REPEATABLE READ
// transaction (one snapshot) into a new SQLite file. Either way the rows are
// those of the live store, byte for byte: keys stay sealed.
//
// The master key travels in the backup, in the form the vault directory
// keeps it: wrapped by the passphrase when the vault has one (the backup is
// then useless without the passphrase, so it can be stored like any other
// encrypted archive), in clear when the vault's key is a plain master.key
// (the backup is then exactly as secret as the vault directory, which holds
// the same key beside the same sealed rows). An operator expects a backup to
// restore on its own, on a new machine, after the old one is gone: a backup
// that needs a key file copied from elsewhere is the one that turns out not
// to restore. The key is the one the snapshot is sealed under: the store's
// key ID (MetaMasterKeyID) picks it when a rotation ran, so a rotation
// between reading the key and taking the snapshot cannot pair the rows with
// the wrong key.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/certctl/certctl/pkg/fsutil"
)

// BackupFormat is the format name of backups this build writes.
const BackupFormat = "certctl-vault-backup/1"

// ErrInvalidBackup marks a file that is not a readable certctl backup.
var ErrInvalidBackup = errors.New("not a certctl vault backup")

// ErrNewerBackup marks a certctl backup that a newer release made, of a
// schema this one does not know: it restores with that release or a newer
// one (tester: it was called "not a certctl vault backup").
var ErrNewerBackup = errors.New("a backup made by a newer certctl")

// BackupInfo describes a backup.
type BackupInfo struct {
	Format        string
	CreatedAt     time.Time
	Source        string // sqlite or postgres
	SchemaVersion int
	Key           KeyMaterial
	// KeyID is the store's key ID in the snapshot ("" when never rotated).
	KeyID string
	// Counts are the rows of each table.
	Counts map[string]int64
}

// copyBatch is how many rows a copy moves at a time.
const copyBatch = 1000

// CopyAll copies every row of src, read in one snapshot (a read
// transaction), into dst, table by table. dst is the write transaction of
// another store, which should be empty.
func CopyAll(ctx context.Context, src Store, dst BulkTx) error {
	return src.View(ctx, func(tx Tx) error {
		b, err := AsBulk(tx)
		if err != nil {
			return err
		}
		for _, table := range Tables() {
			if err := b.ScanTable(table, copyBatch, func(rows [][]any) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return dst.InsertRows(table, rows)
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteBackup writes a backup of the vault (see the top of this file) to
// path, atomically: a temporary file beside it, renamed into place once
// complete and synced. It runs while other processes use the vault.
func (v *Vault) WriteBackup(ctx context.Context, path string, now time.Time) (*BackupInfo, error) {
	info, err := v.writeBackup(ctx, path, now)
	if err != nil && backupDestinationFailed(err, filepath.Dir(path)) {
		switch {
		case diskFull(err):
			err = errors.New("the disk is full")
		case errors.Is(err, syscall.EFBIG):
			err = errors.New("the file is larger than this process may write (ulimit -f)")
		case errors.Is(err, syscall.EDQUOT):
			err = errors.New("the disk quota is exceeded")
		case isWriteIOError(err):
			// SQLite tells no more (tester: "disk I/O error: not an
			// error (778)", twice, and exit 6 for a vault that was fine).
			err = errors.New("a write failed (a full disk, a quota or a file size limit)")
		}
		return nil, &BackupWriteError{Path: path, Err: err}
	}
	return info, err
}

// BackupWriteError is a backup that could not be written where it was
// asked (a directory that refuses it, a full disk): the vault itself is
// fine.
type BackupWriteError struct {
	Path string
	Err  error
}

func (e *BackupWriteError) Error() string {
	return "writing the backup " + e.Path + ": " + e.Err.Error()
}
func (e *BackupWriteError) Unwrap() error { return e.Err }

// backupDestinationFailed reports whether err is a failure of the backup's
// destination: a file operation in its directory, or a full disk (a
// backup writes nothing but the destination).
func backupDestinationFailed(err error, dir string) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Path, dir+string(filepath.Separator)) {
		return true
	}
	return diskFull(err) || errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EDQUOT) || isWriteIOError(err)
}

// isWriteIOError reports whether err is SQLite's failure to write or sync
// a file: in a backup, which writes nothing but the backup, the
// destination's (a file size limit or a quota, which SQLite reports so).
func isWriteIOError(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_IOERR_WRITE, sqlite3.SQLITE_IOERR_FSYNC, sqlite3.SQLITE_IOERR_TRUNCATE:
		return true
	}
	return false
}

// diskFull reports whether err is a full disk's, as SQLite or the system
// reports it.
func diskFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

func (v *Vault) writeBackup(ctx context.Context, path string, now time.Time) (*BackupInfo, error) {
	tmp, err := fsutil.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
				os.Remove(name + suffix)
			}
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	switch st := v.Store.(type) {
	case *SQLite:
		if err := st.copyPages(ctx, name); err != nil {
			return nil, err
		}
	default:
		dst, err := OpenSQLite(ctx, name)
		if err != nil {
			return nil, err
		}
		err = dst.Update(ctx, func(tx Tx) error { return CopyAll(ctx, v.Store, tx.(BulkTx)) })
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	info := &BackupInfo{Format: BackupFormat, CreatedAt: now.UTC(), Source: v.StoreKind(), SchemaVersion: SchemaVersion}
	if err := v.finishBackup(ctx, name, info); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return nil, err
	}
	if err := os.Rename(name, path); err != nil {
		return nil, err
	}
	ok = true
	return info, syncDir(filepath.Dir(path))
}

// copyPages copies the database, page by page, to the empty file at dst
// with SQLite's online backup API: one step over every page, inside one
// read transaction of the source, so the copy is one instant of the
// database while writers go on (a WAL reader does not block them). It is a
// plain copy of pages, several times faster than VACUUM INTO, which
// rebuilds every table and index.
func (s *SQLite) copyPages(ctx context.Context, dst string) error {
	conn, err := s.ro.Conn(ctx)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		src, ok := dc.(interface {
			NewBackup(dstURI string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver has no online backup")
		}
		b, err := src.NewBackup(dst)
		if err != nil {
			return wrapSQLiteErr(err)
		}
		if _, err := b.Step(-1); err != nil {
			return errors.Join(wrapSQLiteErr(err), b.Finish())
		}
		return wrapSQLiteErr(b.Finish())
	})
}

// finishBackup turns the snapshot at name into a backup: a single file with
// a rollback journal, and backup_info with the key the snapshot is sealed
// under.
func (v *Vault) finishBackup(ctx context.Context, name string, info *BackupInfo) error {
	db, err := sql.Open("sqlite", sqliteFileDSN(name, "journal_mode(DELETE)", "synchronous(FULL)"))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var schema int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&schema); err != nil {
		return wrapSQLiteErr(err)
	}
	if schema != SchemaVersion {
		return fmt.Errorf("the snapshot has schema version %d, want %d", schema, SchemaVersion)
	}
	var id []byte
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, MetaMasterKeyID).Scan(&id); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrapSQLiteErr(err)
	}
	info.KeyID = string(id)
	if info.Key, err = v.KeyMaterialFor(info.KeyID); err != nil {
		return err
	}
	if info.Counts, err = countRows(ctx, db); err != nil {
		return err
	}
	values := map[string][]byte{
		"format":         []byte(info.Format),
		"created_at":     []byte(info.CreatedAt.Format(time.RFC3339Nano)),
		"source":         []byte(info.Source),
		"schema_version": []byte(strconv.Itoa(info.SchemaVersion)),
		"key_form":       []byte(info.Key.Form),
		"master_key":     info.Key.Data,
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if _, err := tx.ExecContext(ctx, `CREATE TABLE backup_info (key TEXT PRIMARY KEY, value BLOB NOT NULL)`); err != nil {
		return wrapSQLiteErr(err)
	}
	for k, val := range values {
		if val == nil {
			val = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO backup_info (key, value) VALUES (?, ?)`, k, val); err != nil {
			return wrapSQLiteErr(err)
		}
	}
	return wrapSQLiteErr(tx.Commit())
}

func sqliteFileDSN(path string, pragmas ...string) string {
	dsn := "file:" + path + "?"
	for i, p := range pragmas {
		if i > 0 {
			dsn += "&"
		}
		dsn += "_pragma=" + p
	}
	return dsn
}

func countRows(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	out := map[string]int64{}
	for _, spec := range tableSpecs {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+spec.name).Scan(&n); err != nil {
			return nil, wrapSQLiteErr(err)
		}
		out[spec.name] = n
	}
	return out, nil
}

// Backup is an opened backup: its description and a working copy of its
// database (schema brought up to date) to copy rows from.
type Backup struct {
	Info  BackupInfo
	Store *SQLite
	dir   string
}

// RestoreTempPattern names the working directories of OpenBackup:
// .restore-<host>.<pid>-<random> (fsutil.MkdirOwnedTemp).
const RestoreTempPattern = restoreTempPrefix + "*"

const restoreTempPrefix = ".restore-"

// RestoreTempPrefix begins the name of the working directory of a restore
// by process pid of this host.
func RestoreTempPrefix(pid int) string { return fsutil.OwnedTempPrefix(restoreTempPrefix, pid) }

// SweepRestoreLeftovers removes from dir the working copies of restores
// killed there (each a copy of its backup: sealed keys, and the master key
// when the vault's is in clear): at once when the process that made it is
// gone, otherwise once stale (fsutil.SweepOwnedTemps).
func SweepRestoreLeftovers(dir string) { fsutil.SweepOwnedTemps(dir, restoreTempPrefix) }

// OpenBackup reads the backup from r into a working copy in a new
// directory under tmpDir (which should be as private as the vault: the
// copy holds sealed keys, and the master key when the vault's is in clear),
// checks its integrity and format, and opens it. Close removes the copy.
func OpenBackup(ctx context.Context, r io.Reader, tmpDir string) (*Backup, error) {
	dir, err := fsutil.MkdirOwnedTemp(tmpDir, restoreTempPrefix)
	if err != nil {
		return nil, err
	}
	b := &Backup{dir: dir}
	if err := b.open(ctx, r); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backup) open(ctx context.Context, r io.Reader) error {
	path := filepath.Join(b.dir, DatabaseFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("reading the backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidBackup, fmt.Sprintf(format, a...))
	}
	db, err := sql.Open("sqlite", sqliteFileDSN(path, "query_only(1)"))
	if err != nil {
		return err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_NOTADB || se.Code()&0xff == sqlite3.SQLITE_CORRUPT) {
			// SQLite's own words, without its result code.
			return invalid("it is not a database, or a damaged one")
		}
		return invalid("%v", err)
	}
	if check != "ok" {
		return invalid("integrity check: %s", check)
	}
	values := map[string][]byte{}
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM backup_info`)
	if err != nil {
		return invalid("no backup_info table")
	}
	for rows.Next() {
		var k string
		var val []byte
		if err := rows.Scan(&k, &val); err != nil {
			rows.Close()
			return invalid("%v", err)
		}
		values[k] = val
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return invalid("%v", err)
	}
	info := &b.Info
	if info.Format = string(values["format"]); info.Format != BackupFormat {
		if newerBackupFormat(info.Format) {
			return fmt.Errorf("%w (format %q; this certctl reads %q): restore it with that release or a newer one",
				ErrNewerBackup, info.Format, BackupFormat)
		}
		return invalid("format %q, want %q", info.Format, BackupFormat)
	}
	if info.CreatedAt, err = time.Parse(time.RFC3339Nano, string(values["created_at"])); err != nil {
		return invalid("created_at %q", values["created_at"])
	}
	info.Source = string(values["source"])
	var schema int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&schema); err != nil {
		return invalid("%v", err)
	}
	if info.SchemaVersion = schema; schema > SchemaVersion {
		return fmt.Errorf("%w (vault schema version %d; this certctl understands up to %d): restore it with that release or a newer one",
			ErrNewerBackup, schema, SchemaVersion)
	}
	if schema <= 0 {
		return invalid("schema version %d is none a certctl vault has", schema)
	}
	info.Key = KeyMaterial{Form: string(values["key_form"]), Data: values["master_key"]}
	switch info.Key.Form {
	case KeyPlain, KeyWrapped:
	case "":
		info.Key.Data = nil
	default:
		return invalid("key form %q", info.Key.Form)
	}
	db.Close()
	// Opening migrates a backup of an older schema.
	if b.Store, err = OpenSQLite(ctx, path); err != nil {
		return invalid("%v", err)
	}
	return b.Store.View(ctx, func(tx Tx) (err error) {
		if info.KeyID, err = storeKeyID(tx); err != nil {
			return err
		}
		info.Counts, err = tx.(BulkTx).RowCounts()
		return err
	})
}

// newerBackupFormat reports whether format names a later version of
// BackupFormat ("certctl-vault-backup/2"): one a newer certctl writes.
func newerBackupFormat(format string) bool {
	name, ours, _ := strings.Cut(BackupFormat, "/")
	n, ok := strings.CutPrefix(format, name+"/")
	if !ok {
		return false
	}
	v, err := strconv.Atoi(n)
	cur, _ := strconv.Atoi(ours)
	return err == nil && v > cur
}

// Close closes and removes the working copy.
func (b *Backup) Close() error {
	var err error
	if b.Store != nil {
		err = b.Store.Close()
	}
	return errors.Join(err, os.RemoveAll(b.dir))
}

package localstore

import (
	"fmt"
	"os"
)

// The database and log files stay the ones opened.
//
// SQLite keeps the files it opened, whatever happens to their names: a
// server whose vault.db-wal was removed went on committing into the
// removed log, and answered ACME clients with certificates that were
// gone once it stopped; one whose vault.db was removed failed every
// request while /healthz, read on an open connection, answered 200
// (tester). Every transaction of a store now checks, before it commits
// (or a read is believed), that the paths still name the files it opened
// — one stat each — and fails as a vault that is unavailable otherwise:
// nothing is acknowledged that the vault would not keep, and a server
// answers 503. SQLite itself replaces neither while a connection of this
// process is open (the last connection to close removes the log only when
// it can lock the database alone), so a change is someone else's doing.
// The pools' connections open the database without creating it (mode=rw
// in sqliteDSN): a removed vault.db is not re-created empty, 0644, by the
// next connection.

// openedFiles identifies the database and log files of a store (zero
// where unknown: a system without inode numbers, a log not there yet).
type openedFiles struct {
	db, log         string
	dbFile, logFile fileID
}

// recordFiles identifies the files at path and its log, as opened.
func recordFiles(path string) openedFiles {
	f := openedFiles{db: path, log: path + "-wal"}
	f.dbFile, _ = fileIDOf(f.db)
	f.logFile, _ = fileIDOf(f.log)
	return f
}

// intact reports an error when the database or log path no longer names
// the file that was opened.
func (f *openedFiles) intact() error {
	for _, c := range []struct {
		path string
		id   fileID
	}{{f.db, f.dbFile}, {f.log, f.logFile}} {
		if c.id.zero() {
			continue
		}
		id, err := fileIDOf(c.path)
		if err == nil && id == c.id {
			continue
		}
		what := "was removed"
		if err == nil {
			what = "was replaced by another file"
		}
		return &FileError{Err: ErrCorrupt, Msg: fmt.Sprintf("%s %s while this process had the vault open, and what it changed since is not in the vault: stop this process (and any other using the vault), then check the vault (certctl vault verify) and restore it from a backup if it lost changes",
			c.path, what)}
	}
	return nil
}

// fileIDOf identifies the file at path (following no link: the vault's
// files are its own).
func fileIDOf(path string) (fileID, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileID{}, err
	}
	return idOf(fi), nil
}

package fsutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCreateTempSweepsStaleTemps: the first CreateTemp of a pattern in a
// directory removes the files of that pattern unwritten for StaleTemp (as
// a killed process leaves them), and no other file; later calls of the
// process do not look again.
func TestCreateTempSweepsStaleTemps(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-StaleTemp - time.Minute)
	file := func(name string, mtime time.Time) string { return writeAged(t, dir, name, mtime) }
	stale := file(".audit-witness-123", old)
	fresh := file(".audit-witness-456", time.Now())
	other := file(".tmp-key-789", old)
	bare := file(".audit-witness-", old) // the pattern's prefix alone: not a temp of it
	if err := os.Mkdir(filepath.Join(dir, ".audit-witness-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := CreateTemp(dir, ".audit-witness-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if exists(stale) {
		t.Error("a stale temporary file was kept")
	}
	for _, p := range []string{fresh, other, bare, f.Name(), filepath.Join(dir, ".audit-witness-dir")} {
		if !exists(p) {
			t.Errorf("%s was removed", filepath.Base(p))
		}
	}
	again := file(".audit-witness-999", old)
	f, err = CreateTemp(dir, ".audit-witness-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !exists(again) {
		t.Error("the directory was swept a second time by the same process")
	}
}

// TestCreateTempKeepsALiveDatabase: a backup is written as a SQLite
// database whose main file can go unmodified while its log grows; it is
// kept, with its -shm, while any of its files is recent, and a dead one is
// removed with all of its files.
func TestCreateTempKeepsALiveDatabase(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-StaleTemp - time.Minute)
	file := func(name string, mtime time.Time) string { return writeAged(t, dir, name, mtime) }
	live := []string{file(".b.db.tmp-1", old), file(".b.db.tmp-1-wal", time.Now()), file(".b.db.tmp-1-shm", old)}
	dead := []string{file(".b.db.tmp-2", old), file(".b.db.tmp-2-wal", old), file(".b.db.tmp-2-shm", old), file(".b.db.tmp-2-journal", old)}
	f, err := CreateTemp(dir, ".b.db.tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range live {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s of a database being written was removed", filepath.Base(p))
		}
	}
	for _, p := range dead {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s of a dead database was kept", filepath.Base(p))
		}
	}
}

// writeAged writes a file name in dir last modified at mtime.
func writeAged(t *testing.T, dir, name string, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMkdirTempSweepsStaleDirs: the first MkdirTemp of a pattern in a
// directory removes the directories of that pattern in which nothing was
// written for StaleTemp (a restore killed with its copy of a backup, keys
// and all), keeps one with a recent file deep inside, and touches nothing
// else.
func TestMkdirTempSweepsStaleDirs(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-StaleTemp - time.Minute)
	mkdir := func(name string, files map[string]time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		for f, mtime := range files {
			writeAged(t, p, f, mtime)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := mkdir(".restore-111", map[string]time.Time{"vault.db": old, "vault.db-journal": old})
	live := mkdir(".restore-222", map[string]time.Time{"vault.db": old, "vault.db-wal": time.Now()})
	other := mkdir(".other-333", map[string]time.Time{"x": old})
	file := writeAged(t, dir, ".restore-444", old) // a file, not a directory
	made, err := MkdirOwnedTemp(dir, ".restore-")
	if err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if exists(stale) {
		t.Error("a stale working directory was kept")
	}
	for _, p := range []string{live, other, file, made} {
		if !exists(p) {
			t.Errorf("%s was removed", filepath.Base(p))
		}
	}
}

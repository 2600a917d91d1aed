package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new content"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "new content" {
		t.Fatalf("content %q, %v", got, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Fatal("expected error for a missing directory")
	}
}

// TestWriteFileAtomicErrorsNamePath: a failed write names the path given
// and what is wrong with it, never the temporary file.
func TestWriteFileAtomicErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{dir, "write " + dir + ": it is a directory"},
		{filepath.Join(dir, "gone", "f"), "write " + filepath.Join(dir, "gone", "f") + ": directory " + filepath.Join(dir, "gone") + " does not exist"},
	} {
		err := WriteFileAtomic(tc.path, []byte("x"), 0o600)
		if err == nil || err.Error() != tc.want {
			t.Errorf("WriteFileAtomic(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
	if err := WriteFileAtomic(filepath.Join(dir, "gone", "f"), nil, 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing directory's error is not fs.ErrNotExist: %v", err)
	}
}

// MkdirIn makes one directory, takes one already there, refuses any other
// entry at the name and any name that is not one entry.
func TestMkdirIn(t *testing.T) {
	dir := t.TempDir()
	if err := MkdirIn(dir, "a", 0o700); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(filepath.Join(dir, "a")); err != nil || !st.IsDir() || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("made: %v, %v", st, err)
	}
	if err := MkdirIn(dir, "a", 0o700); err != nil {
		t.Errorf("again: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"f", "l"} {
		if err := MkdirIn(dir, name, 0o700); !errors.Is(err, ErrNotDir) {
			t.Errorf("%s: %v, want ErrNotDir", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "x/y"} {
		if err := MkdirIn(dir, name, 0o700); err == nil {
			t.Errorf("%q: made", name)
		}
	}
	if err := MkdirIn(filepath.Join(dir, "missing"), "b", 0o700); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("in a missing directory: %v", err)
	}
}

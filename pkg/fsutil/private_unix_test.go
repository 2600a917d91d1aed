//go:build unix

package fsutil_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/fsutil"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestCheckPrivateDirRefusesWritableByOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(dir); err != nil {
		t.Fatalf("a private directory: %v", err)
	}
	for _, m := range []os.FileMode{0o777, 0o702, 0o777 | os.ModeSticky} {
		if err := os.Chmod(dir, m); err != nil {
			t.Fatal(err)
		}
		err := fsutil.CheckPrivateDir(dir)
		var ue *fsutil.UnsafeError
		if !errors.As(err, &ue) || ue.Path != dir || !strings.Contains(ue.Why, "writable by other users") || ue.Fix != "chmod go-w "+dir {
			t.Errorf("mode %v: %v (%+v)", m, err, ue)
		}
	}
	// Readable by others is not a way in: left as the user chose; nor
	// is writable by a group this process is in (its own, here).
	for _, m := range []os.FileMode{0o755, 0o770} {
		if err := os.Chmod(dir, m); err != nil {
			t.Fatal(err)
		}
		if err := fsutil.CheckPrivateDir(dir); err != nil {
			t.Errorf("mode %v: %v", m, err)
		}
	}
	// The mode is shown as chmod takes it.
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(dir); err == nil || !strings.Contains(err.Error(), "(mode 1777)") {
		t.Errorf("sticky: %v", err)
	}
}

// TestCheckPrivateDirNotADirectory: a vault path that is a file or a
// device writable by everyone is refused as no directory, without a chmod
// hint — as root, "chmod go-w /dev/null" breaks /dev/null for everyone
// (tester: --vault /dev/null was told "writable by other users", hint
// chmod go-w /dev/null) — and left as it was.
func TestCheckPrivateDirNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o666); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{file: "is not a directory (it is a file)"}
	if fi, err := os.Stat(os.DevNull); err == nil && fi.Mode()&os.ModeDevice != 0 {
		paths[os.DevNull] = "is not a directory (it is a device)"
	}
	for path, want := range paths {
		for name, check := range map[string]func(string) error{"CheckPrivateDir": func(p string) error { return fsutil.CheckPrivateDir(p) }, "CheckAboveDir": fsutil.CheckAboveDir} {
			err := check(path)
			var ue *fsutil.UnsafeError
			if !errors.As(err, &ue) || ue.Why != want || strings.Contains(ue.Fix, "chmod") {
				t.Errorf("%s(%s): %v (%+v), want %q without a chmod hint", name, path, err, ue, want)
			}
		}
	}
	if m := mode(t, file); m != 0o666 {
		t.Errorf("the file's mode became %v", m)
	}
}

func TestCheckPrivateDirChecksTheDirectoriesAbove(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "shared")
	dir := filepath.Join(parent, "vault")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Anyone could rename the vault away and put another in its place.
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	var ue *fsutil.UnsafeError
	if err := fsutil.CheckPrivateDir(dir); !errors.As(err, &ue) || ue.Path != parent {
		t.Errorf("world-writable parent: %v", err)
	}
	// Unless sticky, as /tmp is: nobody renames another's directory.
	if err := os.Chmod(parent, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(dir); err != nil {
		t.Errorf("sticky parent: %v", err)
	}
	// Through a symbolic link, the directory it leads to is checked.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(link); !errors.As(err, &ue) || ue.Path != parent {
		t.Errorf("via a link: %v", err)
	}
}

func TestCheckPrivateDirNarrowsFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "vault.db")
	if err := os.WriteFile(db, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "master.key")
	if err := os.WriteFile(key, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o666); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{db, key} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", p, m)
		}
	}
	// With names, only those are looked at.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(dir, "vault.db", "vault.db-wal"); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, db); m != 0o600 {
		t.Errorf("named: mode %04o, want 0600", m)
	}
	if m := mode(t, other); m != 0o644 {
		t.Errorf("not named: mode %04o, want it left 0644", m)
	}
}

func TestCheckPrivateDirRefusesAnotherUsersFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "host.id")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ue *fsutil.UnsafeError
	refused := func(what, want string) {
		t.Helper()
		if err := fsutil.CheckPrivateDir(dir); !errors.As(err, &ue) || ue.Path != want || !strings.Contains(ue.Why, "another user (uid 65534)") {
			t.Errorf("%s: %v", what, err)
		}
	}
	chown := func(path string, uid, gid int) {
		t.Helper()
		if err := os.Chown(path, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	chown(p, 65534, 65534)
	refused("another user's file", p)
	chown(p, 0, 0)
	// Another user's vault directory: that user could replace its
	// database and key, and its deploy commands would run as root.
	chown(dir, 65534, 65534)
	refused("another user's vault directory", dir)
	chown(dir, 0, 0)
	// Another user's directory above it, even one only it can write:
	// that user could rename the vault away and put another there.
	chown(parent, 65534, 65534)
	refused("another user's directory above", parent)
	chown(parent, 0, 0)
	// Writable by a group this process is not in is refused.
	chown(dir, 0, 65534)
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(dir); !errors.As(err, &ue) || ue.Path != dir || !strings.Contains(ue.Why, "writable by other users") {
		t.Errorf("writable by another group: %v", err)
	}
	// A config file of another user's is refused, as one above it.
	cfg := filepath.Join(parent, "config.yaml")
	if err := os.WriteFile(cfg, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	chown(cfg, 65534, 65534)
	if err := fsutil.CheckNotWritableByOthers(cfg); !errors.As(err, &ue) || ue.Path != cfg {
		t.Errorf("another user's config file: %v", err)
	}
}

func TestCheckNotWritableByOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckNotWritableByOthers(f); err != nil {
		t.Fatalf("readable by others is fine: %v", err)
	}
	if m := mode(t, f); m != 0o644 {
		t.Errorf("mode %04o: nothing is narrowed", m)
	}
	var ue *fsutil.UnsafeError
	if err := os.Chmod(f, 0o646); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckNotWritableByOthers(f); !errors.As(err, &ue) || ue.Path != f {
		t.Errorf("world-writable file: %v", err)
	}
	if err := os.Chmod(f, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckNotWritableByOthers(f); !errors.As(err, &ue) || ue.Path != dir {
		t.Errorf("world-writable directory: %v", err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckNotWritableByOthers(f); err != nil {
		t.Errorf("sticky directory: %v", err)
	}
}

// TestCheckNotWritableByOthersPipe: a config file given as a pipe
// (--config /dev/stdin, <(…)) is nothing another user could replace.
func TestCheckNotWritableByOthersPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := fsutil.CheckNotWritableByOthers(fmt.Sprintf("/proc/self/fd/%d", r.Fd())); err != nil {
		t.Errorf("a pipe: %v", err)
	}
}

// TestCheckPrivateDirThroughALink: the directories above the path as
// given are checked too, not only those its link leads to.
func TestCheckPrivateDirThroughALink(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "vault")
	if err := os.Symlink(vault, link); err != nil {
		t.Fatal(err)
	}
	if err := fsutil.CheckPrivateDir(link); err != nil {
		t.Fatalf("a private link: %v", err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	var ue *fsutil.UnsafeError
	if err := fsutil.CheckPrivateDir(link); !errors.As(err, &ue) || ue.Path != shared {
		t.Errorf("a link in a directory anyone can write: %v", err)
	}
}

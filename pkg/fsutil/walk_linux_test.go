package fsutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWalkThroughUnreadableDirectory: MkdirAll and the writes' walk pass
// a directory on the way that this user may search but not read (mode
// 0311 of its own, or root's 0711), as the kernel's own walk does (review:
// a vault below a 0711 directory could no longer be made). Root reads
// every directory, so as root the walk runs again as nobody, in a copy of
// this test binary.
func TestWalkThroughUnreadableDirectory(t *testing.T) {
	if dir := os.Getenv("FSUTIL_WALK_HELPER"); dir != "" {
		walkBelow(t, dir)
		return
	}
	base := t.TempDir()
	if os.Geteuid() != 0 {
		shut := filepath.Join(base, "shut")
		mkdirMode(t, shut, 0o711)
		if err := os.Mkdir(filepath.Join(shut, "mine"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shut, 0o311); err != nil { // searchable, not readable
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(shut, 0o700) })
		walkBelow(t, filepath.Join(shut, "mine"))
		return
	}
	const nobody = 65534
	for d := base; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shut := filepath.Join(base, "shut")
	mkdirMode(t, shut, 0o711)
	mine := filepath.Join(shut, "mine")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(mine, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "fsutil.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestWalkThroughUnreadableDirectory$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FSUTIL_WALK_HELPER="+mine)
	cmd.Dir = base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the walk as nobody below a 0711 directory of root's: %v\n%s", err, out)
	}
}

// walkBelow makes a directory below dir, whose parent this user cannot
// read, and writes a file into it.
func walkBelow(t *testing.T, dir string) {
	made := filepath.Join(dir, "a", "b")
	if err := MkdirAll(made, 0o700); err != nil {
		t.Fatalf("MkdirAll below a directory this user cannot read: %v", err)
	}
	if err := WriteFileAtomic(filepath.Join(made, "f"), []byte("x"), 0o600); err != nil {
		t.Fatalf("a write below it: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(made, "f")); err != nil || string(got) != "x" {
		t.Fatalf("read back %q, %v", got, err)
	}
}

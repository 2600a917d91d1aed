//go:build unix

// Package asnobody runs a test again as the unprivileged user nobody: for
// what root's privileges hide (root reads every directory and file), a
// test run as root checks it as nobody, in a copy of its own test binary.
package asnobody

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// UID is nobody's user and group ID.
const UID = 65534

// Searchable lets every user search dir and the directories above it, up
// to the system's temporary directory (a test's temporary directory is
// private to root). It changes no sticky directory (/tmp itself, however
// TMPDIR spells it: review).
func Searchable(t *testing.T, dir string) {
	t.Helper()
	top := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); d != filepath.Dir(d) && d != top; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSticky != 0 {
			return
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// Rerun runs the test named test again as nobody, in a copy of this test
// binary written to dir (Searchable), with env added to its environment,
// and fails t unless it passes. The test tells the run by env.
func Rerun(t *testing.T, test, dir string, env ...string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(self))
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), "TMPDIR=/tmp"), env...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: UID, Gid: UID}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s as nobody: %v\n%s", test, err, out)
	}
}

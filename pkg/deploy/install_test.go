package deploy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/pemio"
)

// listDir names every entry of dir, temp files included.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// selfSigned is a certificate of key, self-signed, valid from notBefore.
func selfSigned(t testing.TB, key *ecdsa.PrivateKey, cn string, notBefore time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notBefore.Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testMaterial is version n to install: a certificate valid from
// notBefore for a new key, and a chain of one certificate, the CA's that
// signed it (internal/testpki).
func testMaterial(t testing.TB, n int, notBefore time.Time) Material {
	ca := testpki.NewRoot("Test CA", notBefore)
	leaf, key := ca.Leaf(testpki.LeafOptions{Names: []string{"app.internal"}, NotBefore: notBefore})
	return Material{CertificateARN: "arn:x", Version: n,
		CertificatePEM: pemio.EncodeCertificatesPEM(leaf),
		ChainPEM:       pemio.EncodeCertificatesPEM(ca.Cert),
		Key:            key}
}

// TestFailedInstallLeavesNoKey: when a file after the key cannot be put in
// place (its rename fails: the certificate path is a directory), Install
// fails without leaving the new key behind, neither at the key path nor in
// a temp file, and a key file that was there before keeps its content.
func TestFailedInstallLeavesNoKey(t *testing.T) {
	m := testMaterial(t, 1, time.Now())

	// A new key path: removed again.
	dir := t.TempDir()
	certDir := filepath.Join(dir, "cert.pem")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certDir, "x"), nil, 0o600); err != nil { // a non-empty directory: rename over it fails
		t.Fatal(err)
	}
	tg := Target{KeyFile: filepath.Join(dir, "key.pem"), CertFile: certDir}
	if err := Install(context.Background(), tg, m, Hooks{}); err == nil {
		t.Fatal("Install over a directory succeeded")
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != "cert.pem" {
		t.Errorf("a failed install left %q behind", got)
	}

	// An existing key file: its old content is back, 0600, no temp file.
	dir = t.TempDir()
	certDir = filepath.Join(dir, "cert.pem")
	if err := os.MkdirAll(filepath.Join(certDir, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	old := []byte("OLD KEY\n")
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, old, 0o600); err != nil {
		t.Fatal(err)
	}
	tg = Target{KeyFile: keyFile, CertFile: certDir}
	if err := Install(context.Background(), tg, m, Hooks{}); err == nil {
		t.Fatal("Install over a directory succeeded")
	}
	data, err := os.ReadFile(keyFile)
	if err != nil || !bytes.Equal(data, old) {
		t.Errorf("the old key file holds %q (%v), want its old content", data, err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode(), err)
	}
	for _, n := range listDir(t, dir) {
		if strings.Contains(n, ".tmp-") {
			t.Errorf("a temp file is left: %s", n)
		}
	}

	// The key's own rename failing leaves no temp file either.
	dir = t.TempDir()
	keyDir := filepath.Join(dir, "key.pem")
	if err := os.MkdirAll(filepath.Join(keyDir, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Install(context.Background(), Target{KeyFile: keyDir, CertFile: filepath.Join(dir, "c.pem")}, m, Hooks{}); err == nil {
		t.Fatal("Install over a directory succeeded")
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != "key.pem" {
		t.Errorf("a failed install left %q behind", got)
	}
}

// TestInstallKeyNeverWorldReadable: the key file is 0600 even where an
// older key file was world-readable, and the certificate files 0644.
func TestInstallKeyNeverWorldReadable(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	tg := Target{KeyFile: keyFile, CertFile: filepath.Join(dir, "c.pem")}
	if err := Install(context.Background(), tg, testMaterial(t, 1, time.Now()), Hooks{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{keyFile: 0o600, tg.CertFile: 0o644} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
}

// TestTargetFilesMustDiffer: a target two of whose files are one (the same
// path, or a link to another's file) is refused by Normalize and by
// Install, which writes nothing: the key would otherwise be replaced by
// the certificate written after it.
func TestTargetFilesMustDiffer(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := os.WriteFile(p("real.pem"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p("real.pem"), p("link.pem")); err != nil {
		t.Fatal(err)
	}
	// A link to the directory: one file not written yet, by two paths.
	if err := os.Symlink(dir, p("dirlink")); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []Target{
		{CertFile: p("srv.pem"), KeyFile: p("dirlink/srv.pem")},
		{CertFile: p("same.pem"), KeyFile: p("same.pem")},
		{CertFile: p("c.pem"), KeyFile: p("k.pem"), FullchainFile: p("k.pem")},
		{CertFile: p("c.pem"), KeyFile: p("k.pem"), ChainFile: p("./k.pem")},
		{CertFile: p("c.pem"), KeyFile: p("k.pem"), ChainFile: p("ch.pem"), FullchainFile: p("ch.pem")},
		{CertFile: p("link.pem"), KeyFile: p("real.pem")},
	} {
		if _, err := tg.Normalize(); err == nil || !strings.Contains(err.Error(), "are one file") {
			t.Errorf("Normalize(%+v) = %v, want a refusal", tg, err)
		}
		err := Install(context.Background(), tg, testMaterial(t, 1, time.Now()), Hooks{})
		if err == nil || !strings.Contains(err.Error(), "are one file") {
			t.Errorf("Install(%+v) = %v, want a refusal", tg, err)
		}
	}
	for _, n := range listDir(t, dir) {
		if n != "real.pem" && n != "link.pem" && n != "dirlink" {
			t.Errorf("a refused target wrote %s", n)
		}
	}
	if _, err := (Target{CertFile: p("c.pem"), KeyFile: p("k.pem"), ChainFile: p("ch.pem"), FullchainFile: p("fc.pem")}).Normalize(); err != nil {
		t.Errorf("four distinct files refused: %v", err)
	}
}

// TestTargetFileMustBeRegular: a target file that is a named pipe, or a
// link to one of the process's descriptors (/dev/stdout, /dev/stderr
// lead into /proc), is refused by Normalize (deploy) and by Install (a
// renewal of a target recorded before), and left as it was: the install
// renamed a regular file over it (tester: /dev/stdout became a file).
func TestTargetFileMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := syscall.Mkfifo(p("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(dir, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// A descriptor of this process that is a regular file, as a
	// redirected stderr is: only its link tells it from a file.
	fdLink := fmt.Sprintf("/proc/self/fd/%d", out.Fd())
	if err := os.Symlink(fdLink, p("fd.lnk")); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []Target{
		{CertFile: p("c.pem"), KeyFile: p("k.pem"), ChainFile: p("fifo")},
		{CertFile: p("fd.lnk"), KeyFile: p("k.pem")},
		{CertFile: p("c.pem"), KeyFile: fdLink},
	} {
		if _, err := tg.Normalize(); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Normalize(%+v) = %v, want ErrNotRegular", tg, err)
		}
		if err := Install(context.Background(), tg, testMaterial(t, 1, time.Now()), Hooks{}); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Install(%+v) = %v, want ErrNotRegular", tg, err)
		}
	}
	if fi, err := os.Lstat(p("fifo")); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi, err)
	}
	if fi, err := os.Lstat(p("fd.lnk")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if fi, _ := out.Stat(); fi.Size() != 0 {
		t.Errorf("the descriptor's file was written")
	}
	for _, n := range listDir(t, dir) {
		if n != "fifo" && n != "fd.lnk" && !strings.HasPrefix(n, "stdout") {
			t.Errorf("a refused target wrote %s", n)
		}
	}
}

// TestHookOutputStaysOut: what a failing command prints (here the key it
// was handed) goes to the host's output as it is printed, and not into
// the error, which the vault, events and other hosts see.
func TestHookOutputStaysOut(t *testing.T) {
	dir := t.TempDir()
	tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"),
		Exec: `cat "$CERTCTL_KEY_FILE"; printf 'to-std%s\n' err >&2; exit 3`}
	var out bytes.Buffer
	err := Install(context.Background(), tg, testMaterial(t, 1, time.Now()), Hooks{Allow: true, Output: &out})
	if err == nil {
		t.Fatal("a failing hook reported success")
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "to-stderr") {
		t.Fatalf("the error holds the hook's output: %v", err)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("the error does not say how the hook ended: %v", err)
	}
	if !strings.Contains(out.String(), "PRIVATE KEY") || !strings.Contains(out.String(), "to-stderr") {
		t.Errorf("the hook's output did not reach the host's output: %q", out.String())
	}
}

// TestHookStartingDaemonDoesNotHang: a command that leaves a process
// holding its output (a daemon it started) ends when the command does,
// not when that process does, even when the output is copied (not a file).
func TestHookStartingDaemonDoesNotHang(t *testing.T) {
	dir := t.TempDir()
	tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), Exec: `sleep 30 & echo started`}
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- RunHook(context.Background(), tg, "arn:x", &out) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the command succeeded but RunHook said %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("RunHook waited for the daemon the command started")
	}
}

// TestInstallKeepsOwnerGroupAndMode: files replaced keep their owner,
// group and mode — a key shared with a group (0640) stays so, a
// certificate file 0640 stays 0640 — so that a service reading them as
// its own user or group still can after a deploy (tester: they became
// root's, 0644). New files are 0600 (key) and 0644.
func TestInstallKeepsOwnerGroupAndMode(t *testing.T) {
	// Root gives the old files another owner and group; another user
	// keeps them its own (the modes are checked all the same).
	uid, gid := 65534, 65533
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	dir := t.TempDir()
	tg := Target{KeyFile: filepath.Join(dir, "k.pem"), CertFile: filepath.Join(dir, "c.pem"), ChainFile: filepath.Join(dir, "ch.pem")}
	for p, mode := range map[string]os.FileMode{tg.KeyFile: 0o640, tg.CertFile: 0o640} {
		if err := os.WriteFile(p, []byte("old"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := Install(context.Background(), tg, testMaterial(t, 1, time.Now()), Hooks{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]struct {
		mode     os.FileMode
		uid, gid int
	}{tg.KeyFile: {0o640, uid, gid}, tg.CertFile: {0o640, uid, gid}, tg.ChainFile: {0o644, os.Geteuid(), os.Getegid()}} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		own := fsutil.OwnerOf(fi)
		if fi.Mode().Perm() != want.mode || own.UID != want.uid || own.GID != want.gid {
			t.Errorf("%s: mode %v, owner %d:%d; want %v, %d:%d", filepath.Base(p), fi.Mode().Perm(), own.UID, own.GID, want.mode, want.uid, want.gid)
		}
	}
}

// TestFailedInstallPutsBackOwnerGroupAndMode: an install whose
// certificate's rename fails after the key file was replaced (a directory
// put at the certificate's path meanwhile) puts the old key file back
// with its owner, group and mode, not the installer's (review: untested).
func TestFailedInstallPutsBackOwnerGroupAndMode(t *testing.T) {
	uid, gid := 65534, 65533
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte("OLD KEY\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(keyFile, uid, gid); err != nil {
		t.Fatal(err)
	}
	crashHook = func(point string) {
		if point == "renamed 1" { // the key (renameOrder): the certificate's rename fails next
			if err := os.MkdirAll(filepath.Join(certFile, "x"), 0o700); err != nil {
				t.Error(err)
			}
		}
	}
	defer func() { crashHook = nil }()
	if err := Install(context.Background(), Target{KeyFile: keyFile, CertFile: certFile}, testMaterial(t, 1, time.Now()), Hooks{}); err == nil {
		t.Fatal("Install whose certificate could not be renamed succeeded")
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(keyFile)
	own := fsutil.OwnerOf(fi)
	if string(data) != "OLD KEY\n" || fi.Mode().Perm() != 0o640 || own.UID != uid || own.GID != gid {
		t.Errorf("the old key put back: %q, mode %v, owner %d:%d; want its content, 0640, %d:%d", data, fi.Mode().Perm(), own.UID, own.GID, uid, gid)
	}
}

// TestExportTakesACertificateValidLater: a certificate valid only from
// later than the clock allows is not installed, but is exported
// (Material.Export): what an export hands out is not put in service by
// it. A refusal of either says which it is.
func TestExportTakesACertificateValidLater(t *testing.T) {
	m := testMaterial(t, 1, time.Now().Add(time.Hour))
	if _, err := m.Identify(); !IsRefusedMaterial(err) || !strings.Contains(err.Error(), "not installed: its certificate is valid only from") {
		t.Errorf("install of a certificate valid from an hour on: %v, want refused", err)
	}
	m.Export = true
	if _, err := m.Identify(); err != nil {
		t.Errorf("export of a certificate valid from an hour on: %v", err)
	}
	m.Key = testpki.ECKey()
	if _, err := m.Identify(); !IsRefusedMaterial(err) || !strings.Contains(err.Error(), "not exported: its certificate's public key is not the one of its sealed key") {
		t.Errorf("export with another key: %v, want refused as not exported", err)
	}
}

// TestInstallRefusesPlantedFiles: a deploy into a directory every user may
// write neither writes through a link another user planted there nor
// gives the key the owner, group and mode of a key file another user made
// there beforehand (tester: the key went to the planter, and a renewal
// gave it again).
func TestInstallRefusesPlantedFiles(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(shared, "app.key")
	if err := os.WriteFile(planted, []byte("ahead"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(planted, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "link.key")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	// Every file the test made is taken for another user's.
	t.Cleanup(fsutil.SetTrustedUID(func(uid int) bool { return uid == -12345 }))
	m := testMaterial(t, 1, time.Now())
	if err := Install(context.Background(), Target{KeyFile: link, CertFile: filepath.Join(shared, "l.pem")}, m, Hooks{}); err == nil || !strings.Contains(err.Error(), "another user") {
		t.Errorf("install through a planted link: %v", err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep me" {
		t.Error("the file the link led to was written")
	}
	notes, err := Host{}.WriteNoting(Target{KeyFile: planted, CertFile: filepath.Join(shared, "app.pem")}, m)
	if err != nil {
		t.Fatal(err)
	}
	// Said, with how to give it back (review: it changed without a word).
	if len(notes) != 1 || !strings.Contains(notes[0], planted+" was another user's") || !strings.Contains(notes[0], "chown") {
		t.Errorf("notices %q", notes)
	}
	if fi, err := os.Stat(planted); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key over a planted file: %v, %v; want 0600, the planter's mode not kept", fi.Mode(), err)
	}
}

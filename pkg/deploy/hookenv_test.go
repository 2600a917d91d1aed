package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeployHookSeesNoSecret(t *testing.T) {
	t.Setenv("CERTCTL_VAULT_PASSPHRASE", "pw-hook-test")
	t.Setenv("CERTCTL_STORE", "postgres://u:store-secret@h/db")
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), Exec: "env > " + out}
	if err := RunHook(context.Background(), tg, "arn:certctl:acm:local:000000000000:certificate/x", nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if strings.Contains(s, "pw-hook-test") || strings.Contains(s, "store-secret") {
		t.Fatalf("the deploy hook saw a secret:\n%s", s)
	}
	if !strings.Contains(s, "CERTCTL_CERTIFICATE_ARN=arn:certctl:acm:local:000000000000:certificate/x") ||
		!strings.Contains(s, "CERTCTL_CERT_FILE="+tg.CertFile) {
		t.Fatalf("the deploy hook lacks its documented variables:\n%s", s)
	}
}

// fileOut hands out its file, as stderr on a terminal does under a status
// line (iostreams).
type fileOut struct{ f *os.File }

func (w fileOut) Write(p []byte) (int, error) { return w.f.Write(p) }
func (w fileOut) File() *os.File              { return w.f }

// A deploy hook writes to the file behind an output that hands one out —
// the terminal itself, not a pipe that a daemon it starts would hold open
// while certctl waits (review: 2 s more per hook on a terminal) — and
// through a pipe to any other output.
func TestDeployHookWritesToTheFileHandedOut(t *testing.T) {
	dir := t.TempDir()
	tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"),
		Exec: `if [ -p /dev/stdout ]; then echo pipe; else echo file; fi`}
	f, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := RunHook(context.Background(), tg, "arn:x", fileOut{f}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := RunHook(context.Background(), tg, "arn:x", &b); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "file\n" || b.String() != "pipe\n" {
		t.Errorf("the hook wrote to a %q (file handed out) and a %q (a buffer), want file and pipe", data, b.String())
	}
}

// TestDeployHookRelativeNotRun: a target recorded with a relative program
// before hooks ran in / (deploy refuses one now) fails with what to do,
// not "exit status 127", and runs nothing (review).
func TestDeployHookRelativeNotRun(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("reload.sh", []byte("#!/bin/sh\ntouch "+dir+"/ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := RunHook(context.Background(), Target{CertFile: dir + "/c.pem", Exec: "./reload.sh"}, "arn:x", nil)
	var he *HookError
	if !errors.As(err, &he) || !strings.Contains(he.Summary, "it names ./reload.sh by a relative path") || !strings.Contains(he.Summary, "deploy again with its absolute path") {
		t.Errorf("got %v", err)
	}
	if _, err := os.Stat(dir + "/ran"); err == nil {
		t.Error("the hook ran")
	}
}

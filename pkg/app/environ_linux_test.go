package app_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/certctl/certctl/internal/asnobody"
)

// TestHookCannotReadSecretEnviron (tester): a deploy hook, whose own
// environment holds none of certctl's secrets, cannot read the vault
// passphrase back from its parent's /proc/<pid>/environ either: certctl
// makes itself non-dumpable when its environment holds one, and when it
// read one from a file (review: its memory held it). Without a secret it
// stays as it was (the hook reads the environ). Run as an
// unprivileged user (nobody, when the test runs as root: root reads any
// process's environ).
func TestHookCannotReadSecretEnviron(t *testing.T) {
	bin := buildCertctl(t)
	dir, err := os.MkdirTemp("", "certctl-environ-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: asnobody.UID, Gid: asnobody.UID}
		for _, d := range []string{filepath.Dir(filepath.Dir(bin)), filepath.Dir(bin), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, secret := range []string{"env", "file", ""} {
		withSecret := secret != ""
		home := filepath.Join(dir, "secret-"+secret)
		if err := os.Mkdir(home, 0o700); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			if err := os.Chown(home, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
		env := []string{"PATH=/usr/bin:/bin", "HOME=" + home, "XDG_CONFIG_HOME=" + home, "CERTCTL_VAULT=" + filepath.Join(home, "v")}
		switch secret {
		case "env":
			env = append(env, "CERTCTL_VAULT_PASSPHRASE=hook must not see this")
		case "file":
			// The passphrase from a file is in memory only (review).
			pf := filepath.Join(home, "pass")
			if err := os.WriteFile(pf, []byte("hook must not see this\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if cred != nil {
				if err := os.Chown(pf, int(cred.Uid), int(cred.Gid)); err != nil {
					t.Fatal(err)
				}
			}
		}
		run := func(args ...string) string {
			t.Helper()
			if secret == "file" {
				args = append([]string{"--vault-passphrase-file", filepath.Join(home, "pass")}, args...)
			}
			cmd := exec.Command(bin, args...)
			cmd.Dir, cmd.Env = home, env
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("certctl %q: %v\n%s", args, err, errb.String())
			}
			return strings.TrimSpace(out.String())
		}
		arn := run("request", "--domain-name", "hook.internal", "--certificate-authority-arn", "default", "-o", "text")
		run("deploy", arn, "--cert-file", "c.pem", "--key-file", "k.pem",
			"--exec", `d=$(dirname "$CERTCTL_CERT_FILE"); tr '\0' '\n' < /proc/$PPID/environ > "$d/seen" 2>/dev/null || echo unreadable > "$d/seen"`)
		seen, err := os.ReadFile(filepath.Join(home, "seen"))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case withSecret && strings.TrimSpace(string(seen)) != "unreadable":
			t.Errorf("with the passphrase given by %s, the hook read certctl's environ:\n%s", secret, seen)
		case !withSecret && !strings.Contains(string(seen), "CERTCTL_VAULT="):
			t.Errorf("without a secret, the hook read %q from its parent's environ, want certctl's environment", seen)
		}
	}
}

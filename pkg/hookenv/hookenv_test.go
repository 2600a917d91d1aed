package hookenv

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestFromDropsCertctlSecrets(t *testing.T) {
	got := From([]string{
		"PATH=/usr/bin", "HOME=/root",
		"CERTCTL_VAULT_PASSPHRASE=pw1", "CERTCTL_STORE=postgres://u:secret@h/db",
		"CERTCTL_SMTP_PASSWORD_FILE=/run/pw", "PGPASSWORD=secret",
	}, "CERTCTL_EVENT_TYPE=Certificate Available")
	want := []string{"PATH=/usr/bin", "HOME=/root", "CERTCTL_EVENT_TYPE=Certificate Available"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("From = %q, want %q", got, want)
	}
}

// TestEnvironReachesAChild runs a real child with the environment and reads
// back what it sees.
func TestEnvironReachesAChild(t *testing.T) {
	t.Setenv("CERTCTL_VAULT_PASSPHRASE", "pw1")
	t.Setenv("CERTCTL_STORE", "postgres://u:secret@h/db")
	cmd := exec.Command("/bin/sh", "-c", "env")
	cmd.Env = Environ("CERTCTL_CERTIFICATE_ARN=arn:x")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "pw1") || strings.Contains(s, "secret") {
		t.Fatalf("a secret reached the child:\n%s", s)
	}
	if !strings.Contains(s, "CERTCTL_CERTIFICATE_ARN=arn:x") {
		t.Fatalf("the documented variable is missing:\n%s", s)
	}
}

// fileWriter hands out its file, as stderr under a status line does.
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }
func (w fileWriter) File() *os.File              { return w.f }

// A hook writes to the file behind a writer that hands one out (the
// terminal itself, where a daemon it starts then holds no pipe), and to
// any other writer as it is.
func TestOutputHandsOutTheFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := Output(fileWriter{f}); got != io.Writer(f) {
		t.Errorf("Output(a writer handing out its file) = %T, want the file", got)
	}
	var b bytes.Buffer
	if got := Output(&b); got != io.Writer(&b) {
		t.Errorf("Output(a buffer) = %T, want the buffer", got)
	}
}

// TestHoldsSecret: the vault passphrase, libpq's password and a store URL
// with a password (in its user information or as a parameter) are
// secrets; a store URL without one, or the vault's path, is not.
func TestHoldsSecret(t *testing.T) {
	for env, want := range map[string]bool{
		"CERTCTL_VAULT_PASSPHRASE=x":                                true,
		"CERTCTL_VAULT_PASSPHRASE=":                                 false,
		"PGPASSWORD=x":                                              true,
		"CERTCTL_STORE=postgres://u:pw@db/certctl":                  true,
		"CERTCTL_STORE=postgres://u@db/certctl?password=pw":         true,
		"CERTCTL_STORE=host=db user=u password=pw":                  true,
		"CERTCTL_STORE=postgres://u@db/certctl?sslpassword=pw":      true,
		"CERTCTL_STORE=postgres://u@db/certctl?sslmode=verify-full": false,
		"CERTCTL_STORE=sqlite:/srv/certctl/vault.db":                false,
		"CERTCTL_VAULT=/home/u/.local/share/certctl":                false,
		"SECRET_OF_SOMEONE_ELSE=x":                                  false,
	} {
		if got := HoldsSecret([]string{"HOME=/root", env}); got != want {
			t.Errorf("HoldsSecret(%q) = %v, want %v", env, got, want)
		}
	}
}

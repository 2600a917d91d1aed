//go:build pkcs11

package hsm

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
)

var harness *testbin.Harness

// TestMain builds certctl with -tags pkcs11 (cgo); the children do not see
// the caller's SOFTHSM2_CONF, only their token's.
func TestMain(m *testing.M) {
	os.Exit(testbin.MainWith(m, "certctl-hsm-test-", testbin.BuildOptions{
		Tags: []string{"pkcs11"}, Env: []string{"CGO_ENABLED=1"}, Unset: []string{"SOFTHSM2_CONF="}}, &harness))
}

// token is a fresh SoftHSM2 token in its own directory.
type token struct{ *testbin.SoftToken }

// newToken initialises a token labelled label under a temporary
// SOFTHSM2_CONF, with a random user PIN written to a 0600 file.
func newToken(t *testing.T, label string) *token {
	t.Helper()
	return &token{testbin.NewSoftToken(t, label)}
}

// env is the certctl environment that selects the token.
func (k *token) env() []string {
	return []string{"SOFTHSM2_CONF=" + k.Conf, "CERTCTL_PKCS11_MODULE=" + k.Module,
		"CERTCTL_PKCS11_TOKEN_LABEL=" + k.Label, "CERTCTL_PKCS11_PIN_FILE=" + k.PINFile}
}

// remove deletes the token (softhsm2-util --delete-token): the "removed
// token" of a hardware device.
func (k *token) remove(t *testing.T) {
	t.Helper()
	if out, err := k.Command("--delete-token", "--token", k.Label).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --delete-token: %v\n%s", err, out)
	}
}

// privateKeys lists the token's private key objects with pkcs11-tool,
// each as its block of text (label, ID, Usage, Access lines).
func (k *token) privateKeys(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command(testbin.Tool(t, "pkcs11-tool"), "--module", k.Module, "--token-label", k.Label, "--login", "--pin", k.PIN,
		"--list-objects", "--type", "privkey")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+k.Conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	keys := map[string]string{}
	for _, blk := range strings.Split(string(out), "Private Key Object")[1:] {
		m := regexp.MustCompile(`(?m)^\s*label:\s*(.*)$`).FindStringSubmatch(blk)
		if m == nil {
			t.Fatalf("pkcs11-tool printed a key without a label:\n%s", out)
		}
		keys[strings.TrimSpace(m[1])] = blk
	}
	return keys
}

// vault is a certctl vault with the environment of its token; it keeps
// everything every command printed, for the scans.
type vault struct{ *testbin.Vault }

func newVault(t *testing.T, env ...string) *vault {
	v := &vault{harness.NewVault(t, env...)}
	v.Timeout = 2 * time.Minute
	return v
}

// dump is the vault database's content (sqlite3 .dump), to compare
// before and after a command that must change nothing.
func (v *vault) dump(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(testbin.Tool(t, "sqlite3"), filepath.Join(v.Dir, "vault.db"), ".dump").Output()
	if err != nil {
		t.Fatalf("sqlite3 .dump: %v", err)
	}
	return string(out)
}

// sql runs a query on the vault database.
func (v *vault) sql(t *testing.T, query string) string {
	t.Helper()
	out, err := exec.Command(testbin.Tool(t, "sqlite3"), filepath.Join(v.Dir, "vault.db"), query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", query, err, out)
	}
	return strings.TrimSpace(string(out))
}

// openssl runs openssl and returns its combined output; it fails the test
// unless openssl exits 0.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(testbin.Tool(t, "openssl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// execOut runs a program and returns its combined output and error.
func execOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

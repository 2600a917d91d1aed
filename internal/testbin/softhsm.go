package testbin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// softHSMModules are where SoftHSM2's PKCS#11 module is installed: Debian
// has it at its multiarch path and links it from /usr/lib/softhsm; other
// systems have one or the other.
var softHSMModules = []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"}

// SoftToken is a fresh SoftHSM2 token in a directory of its own: Conf is
// the SOFTHSM2_CONF that selects it (the caller sets it where it is
// needed: in its own environment or its children's), PIN the user PIN,
// also written to the 0600 file PINFile.
type SoftToken struct {
	Util, Module, Label, PIN, PINFile, Conf, Dir string
}

// NewSoftToken initialises a token labelled label (softhsm2-util
// --init-token --free) with a random PIN. It skips the test when SoftHSM2
// is not installed, unless CERTCTL_REQUIRE_INTEROP=1, where that fails it.
func NewSoftToken(t testing.TB, label string) *SoftToken {
	t.Helper()
	tok := &SoftToken{Util: Tool(t, "softhsm2-util"), Label: label}
	for _, m := range softHSMModules {
		if _, err := os.Stat(m); err == nil {
			tok.Module = m
			break
		}
	}
	if tok.Module == "" {
		if Required() {
			t.Fatalf("the SoftHSM2 module is required (CERTCTL_REQUIRE_INTEROP=1) but none of %v exists", softHSMModules)
		}
		t.Skip("the SoftHSM2 module is not installed")
	}
	dir := t.TempDir()
	tok.Dir, tok.Conf = filepath.Join(dir, "tokens"), filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(tok.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tok.Dir)
	if err := os.WriteFile(tok.Conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok.PIN = "pin-" + hex.EncodeToString(b)
	tok.PINFile = filepath.Join(dir, "user.pin")
	if err := os.WriteFile(tok.PINFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := tok.Command("--init-token", "--free", "--label", label, "--so-pin", "so-"+tok.PIN, "--pin", tok.PIN).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return tok
}

// Command is softhsm2-util with args, on this token's SOFTHSM2_CONF.
func (k *SoftToken) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(k.Util, args...)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+k.Conf)
	return cmd
}

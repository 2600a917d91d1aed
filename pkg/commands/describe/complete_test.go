package describe_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
)

// TestCompletionEscapesNames: the completion of a certificate argument
// describes each certificate by its name with control characters escaped:
// an imported certificate named with an escape sequence does not rewrite
// the terminal through the shell's menu (tester: ESC, BEL reached zsh's).
func TestCompletionEscapesNames(t *testing.T) {
	e := clitest.New(t)
	ca := testpki.NewRoot("Completion Test Root", time.Now())
	leaf, key := ca.Leaf(testpki.LeafOptions{Names: []string{"evil\x1b[31mRED\x1b[2J.example.test"}})
	dir := t.TempDir()
	crt, k := filepath.Join(dir, "evil.crt"), filepath.Join(dir, "evil.key")
	if err := os.WriteFile(crt, testpki.CertPEM(leaf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k, testpki.KeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	e.MustRun("import", "--certificate", crt, "--private-key", k)
	r := e.MustRun("__complete", "describe", "")
	if strings.ContainsAny(r.Stdout, "\x1b\a") || !strings.Contains(r.Stdout, `evil\x1b[31mRED\x1b[2J.example.test`) {
		t.Errorf("completion: %q", r.Stdout)
	}
}

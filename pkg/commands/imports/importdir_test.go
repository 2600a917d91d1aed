package imports_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
)

// TestImportFromEmptyDir: on a terminal, a directory with nothing to import
// says so, as every other empty table does, rather than printing headers
// over no rows.
func TestImportFromEmptyDir(t *testing.T) {
	e := clitest.New(t)
	e.TTY = true
	dir := filepath.Join(e.Dir, "empty")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := e.MustRun("import", "--from-dir", dir)
	if strings.Contains(r.Stdout, "FILE") || !strings.Contains(r.Stdout, "No certificate files found.") {
		t.Errorf("empty directory, stdout:\n%s", r.Stdout)
	}
}

// TestImportFromDirAsTyped (tester): the directory given as ./dir, dir/ or
// an absolute path with a trailing slash — what shell completion types —
// imports what it holds, and the next sync finds it imported (it imported
// nothing, exit 0).
func TestImportFromDirAsTyped(t *testing.T) {
	e := clitest.New(t)
	ca := testpki.NewRoot("importdir Root", e.Now())
	leaf, key := ca.Leaf(testpki.LeafOptions{Names: []string{"typed.example.test"}})
	dir := filepath.Join(e.Dir, "certs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.crt"), testpki.CertPEM(leaf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.key"), testpki.KeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, given := range []string{dir + "/", dir + "/./", dir + "/../certs"} {
		r := e.MustRun("import", "--from-dir", given, "-o", "text")
		want := "\tSKIPPED\t"
		if i == 0 {
			want = "\tIMPORTED\t"
		}
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("import --from-dir %s: want %q in\n%s", given, want, r.Stdout)
		}
	}
}

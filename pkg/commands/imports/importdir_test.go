package imports_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
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

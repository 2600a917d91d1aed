package cmdutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TestReadStatement: --filter-statement is the statement itself, a file's
// or stdin's; an empty one, however given, is invalid input (exit 4) and
// never an empty selection, which would select every certificate.
func TestReadStatement(t *testing.T) {
	dir := t.TempDir()
	const stmt = `{"Filter":{"CertificateArn":"x"}}`
	files := map[string]string{"full.json": stmt + "\n", "empty.json": "", "blank.json": " \n\t"}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func(v, stdin string) ([]byte, error) {
		io, in, _, _ := iostreams.Test()
		in.WriteString(stdin)
		return ReadStatement(io, v)
	}
	for _, v := range []string{stmt, "file://" + filepath.Join(dir, "full.json"), "fileb://" + filepath.Join(dir, "full.json"), "-"} {
		if got, err := read(v, stmt); err != nil || strings.TrimSpace(string(got)) != stmt {
			t.Errorf("ReadStatement(%q) = %q, %v; want the statement", v, got, err)
		}
	}
	for _, v := range []string{"", "  ", "file://" + filepath.Join(dir, "empty.json"), "file://" + filepath.Join(dir, "blank.json"), "-"} {
		if got, err := read(v, ""); errs.ExitCodeOf(err) != errs.ExitInvalid || got != nil || !strings.Contains(err.Error(), "empty --filter-statement") {
			t.Errorf("ReadStatement(%q) = %q, %v; want exit 4 naming the empty statement", v, got, err)
		}
	}
	if _, err := read("file://"+filepath.Join(dir, "missing.json"), ""); errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "--filter-statement") {
		t.Errorf("a missing file: %v, want exit 4 naming the flag", err)
	}
}

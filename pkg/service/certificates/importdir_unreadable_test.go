//go:build unix

package certificates_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/asnobody"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestImportDirUnreadable: a directory below the one imported that cannot
// be read (lost+found at a volume's root) is a FAILED row naming it and
// why, the rest still imported, exit 7 (tester: the whole sync stopped,
// exit 4, nothing imported); a key file that cannot be read is its
// certificate's FAILED row naming the file and the problem, invalid input,
// not "vault unavailable" (tester: the row said "vault unavailable: open
// …"). Root reads everything, so as root the import runs as nobody, in a
// copy of this test binary.
func TestImportDirUnreadable(t *testing.T) {
	if dir := os.Getenv("CERTCTL_UNREADABLE_HELPER"); dir != "" {
		importUnreadable(t, dir)
		return
	}
	base := t.TempDir()
	now := time.Now()
	dir := filepath.Join(base, "d")
	write := func(name string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"a", "b", "locked/c", "lost+found/l"} {
		c := testpki.SelfSignedServer(filepath.Base(n)+".example.test", now)
		write(n+".crt", testpki.CertPEM(c.Cert))
		write(n+".key", testpki.KeyPEM(c.Key))
	}
	// lost+found, unreadable, is passed over: a volume's, it would fail
	// every sync of a mount point (review).
	shut := []string{filepath.Join(dir, "b.key"), filepath.Join(dir, "locked"), filepath.Join(dir, "lost+found")}
	if os.Geteuid() != 0 {
		for _, p := range shut {
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			os.Chmod(filepath.Join(dir, "locked"), 0o700)
			os.Chmod(filepath.Join(dir, "lost+found"), 0o700)
		})
		importUnreadable(t, dir)
		return
	}
	asnobody.Searchable(t, base)
	for _, p := range []string{dir, filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), filepath.Join(dir, "b.crt")} {
		if err := os.Chown(p, asnobody.UID, asnobody.UID); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range shut {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	asnobody.Rerun(t, "TestImportDirUnreadable", base, "CERTCTL_UNREADABLE_HELPER="+dir)
}

// importUnreadable imports dir, whose locked/ and b.key this user cannot
// read, and checks what each file came to.
func importUnreadable(t *testing.T, dir string) {
	svc, _ := newAuditedService(t, time.Now())
	res, err := svc.ImportDir(context.Background(), certificates.ImportDirRequest{Dir: dir})
	if err != nil {
		t.Fatalf("ImportDir: %v (one unreadable directory stopped the sync)", err)
	}
	got := map[string]certificates.ImportFileResult{}
	for _, r := range res.Results {
		got[r.File] = r
	}
	if r := got[filepath.Join(dir, "a.crt")]; r.Status != certificates.FileImported {
		t.Errorf("a.crt: %+v, want IMPORTED", r)
	}
	locked := got[filepath.Join(dir, "locked")]
	if locked.Status != certificates.FileFailed || !strings.Contains(locked.Error, "permission denied") || strings.Contains(locked.Error, "open ") {
		t.Errorf("locked/: %+v, want FAILED saying it could not be read", locked)
	}
	b := got[filepath.Join(dir, "b.crt")]
	if want := filepath.Join(dir, "b.key") + ": permission denied"; b.Status != certificates.FileFailed || b.Error != want {
		t.Errorf("b.crt: %+v, want FAILED with %q", b, want)
	}
	if res.Imported != 1 || res.Failed != 2 || len(res.Results) != 3 {
		t.Errorf("result %+v", res)
	}
	if code := errs.ExitCodeOf(res.Err()); code != errs.ExitPartial {
		t.Errorf("exit %d (%v), want %d", code, res.Err(), errs.ExitPartial)
	}
}

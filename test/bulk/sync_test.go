// Package bulk holds end-to-end tests of certctl's bulk operations at a
// size where batching matters: `import --from-dir` as a sync over a
// thousand files. They run certctl in-process (internal/clitest).
package bulk

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
)

type importResult struct {
	Results []struct {
		File, Status, CertificateArn, Error string
	}
	Imported, Reimported, Skipped, Failed int
}

// import --from-dir twice over 1,000 files imports 1,000 then skips 1,000;
// after 10 certificates are replaced on disk, the third run reimports
// exactly those 10 under their ARNs (2 versions each) and skips the rest.
func TestImportFromDirSync(t *testing.T) {
	const n, changed = 1000, 10
	e := clitest.New(t)
	dir := filepath.Join(e.Dir, "certs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := testpki.WriteMany(dir, n, e.Now()); err != nil {
		t.Fatal(err)
	}

	var first importResult
	e.JSON(&first, "import", "--from-dir", dir)
	if first.Imported != n || first.Reimported+first.Skipped+first.Failed != 0 || len(first.Results) != n {
		t.Fatalf("first run: %d imported, %d reimported, %d skipped, %d failed", first.Imported, first.Reimported, first.Skipped, first.Failed)
	}
	arnOf := map[string]string{}
	for _, r := range first.Results {
		if r.Status != "IMPORTED" || r.CertificateArn == "" {
			t.Fatalf("first run: %+v", r)
		}
		arnOf[r.File] = r.CertificateArn
	}

	var second importResult
	e.JSON(&second, "import", "--from-dir", dir)
	if second.Skipped != n || second.Imported+second.Reimported+second.Failed != 0 {
		t.Fatalf("second run: %d imported, %d reimported, %d skipped, %d failed", second.Imported, second.Reimported, second.Skipped, second.Failed)
	}
	for _, r := range second.Results {
		if r.Status != "SKIPPED" || r.CertificateArn != arnOf[r.File] {
			t.Fatalf("second run: %+v, want SKIPPED as %s", r, arnOf[r.File])
		}
	}

	// Replace 10 certificates (same names, a new key and issuer).
	root := testpki.NewRoot("Replacement Root", e.Now())
	sub := root.Sub("Replacement Intermediate")
	replaced := map[string]bool{}
	for i := 0; i < changed; i++ {
		k := i * 97 // spread over the directory
		base := filepath.Join(dir, fmt.Sprintf("cert%05d", k))
		leaf, key := sub.Leaf(testpki.LeafOptions{Names: []string{fmt.Sprintf("host%05d.bulk.example.test", k)},
			NotAfter: e.Now().Add(200 * 24 * time.Hour)})
		writeFile(t, base+".crt", append(testpki.CertPEM(leaf), testpki.CertPEM(sub.Cert)...))
		writeFile(t, base+".key", testpki.KeyPEM(key))
		replaced[base+".crt"] = true
	}
	// Another 3 files rewritten with the very same certificate and key
	// (new bytes, the same certificate): skipped, their digest updated.
	for _, k := range []int{5, 6, 7} {
		base := filepath.Join(dir, fmt.Sprintf("cert%05d", k))
		data, err := os.ReadFile(base + ".key")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, base+".key", append([]byte("\n"), data...))
	}

	var third importResult
	e.JSON(&third, "import", "--from-dir", dir)
	if third.Reimported != changed || third.Skipped != n-changed || third.Imported+third.Failed != 0 {
		t.Fatalf("third run: %d imported, %d reimported, %d skipped, %d failed", third.Imported, third.Reimported, third.Skipped, third.Failed)
	}
	for _, r := range third.Results {
		want := "SKIPPED"
		if replaced[r.File] {
			want = "REIMPORTED"
		}
		if r.Status != want || r.CertificateArn != arnOf[r.File] {
			t.Errorf("third run: %+v, want %s as %s", r, want, arnOf[r.File])
		}
	}
	for file := range replaced {
		var d struct {
			Certificate struct {
				Versions []struct {
					VersionNumber int
					Current       bool
				}
				Issuer string
			}
		}
		e.JSON(&d, "describe", arnOf[file], "--versions")
		if len(d.Certificate.Versions) != 2 {
			t.Errorf("%s: %d versions, want 2", file, len(d.Certificate.Versions))
		}
		leaf := e.Leaf(arnOf[file])
		if err := leaf.CheckSignatureFrom(sub.Cert); err != nil {
			t.Errorf("%s: the current version is not the replacement: %v", file, err)
		}
	}
	// An untouched certificate has one version.
	var d struct {
		Certificate struct{ Versions []struct{ VersionNumber int } }
	}
	e.JSON(&d, "describe", arnOf[filepath.Join(dir, "cert00001.crt")], "--versions")
	if len(d.Certificate.Versions) != 1 {
		t.Errorf("untouched certificate: %d versions", len(d.Certificate.Versions))
	}
	var list struct {
		CertificateSummaryList []struct{ CertificateArn string }
	}
	e.JSON(&list, "list")
	if len(list.CertificateSummaryList) != n {
		t.Errorf("the vault holds %d certificates, want %d", len(list.CertificateSummaryList), n)
	}

	// A fourth run finds nothing to do, and records nothing: the files
	// rewritten with the same certificate had their digest updated by the
	// third run, so they are not even parsed again.
	records := func() int {
		var out struct{ AuditEvents []struct{ EventName string } }
		e.JSON(&out, "audit", "list", "--event-name", "ImportCertificate")
		return len(out.AuditEvents)
	}
	before := records()
	if want := n + changed + 3; before != want {
		t.Errorf("%d ImportCertificate records after three runs, want %d (first run, reimports, digests)", before, want)
	}
	var fourth importResult
	e.JSON(&fourth, "import", "--from-dir", dir)
	if fourth.Skipped != n {
		t.Errorf("fourth run: %d skipped, want %d", fourth.Skipped, n)
	}
	if after := records(); after != before {
		t.Errorf("the fourth run recorded %d changes", after-before)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

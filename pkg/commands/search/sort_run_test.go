package search_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
)

type sortedResult struct {
	CertificateArn string
	X509Attributes struct {
		Subject  struct{ CommonName string }
		NotAfter string
	}
}

type sortedPage struct {
	Results   []sortedResult
	NextToken *string
}

// walk collects every page of a search, following NextToken.
func walk(e *clitest.Env, size int, args ...string) []sortedResult {
	e.T.Helper()
	var all []sortedResult
	tok := ""
	for pages := 0; ; pages++ {
		a := append([]string{"search", "--max-items", fmt.Sprint(size)}, args...)
		if tok != "" {
			a = append(a, "--starting-token", tok)
		}
		var p sortedPage
		e.JSON(&p, a...)
		all = append(all, p.Results...)
		if p.NextToken == nil {
			return all
		}
		if pages > 100 {
			e.T.Fatal("pagination does not end")
		}
		tok = *p.NextToken
	}
}

// search --sort-by NOT_AFTER --sort-order DESCENDING orders every page,
// and the pages together are the whole ordered list: no certificate
// repeated or skipped, even among certificates with equal NotAfter (the
// same certificate imported twice), which are ordered by ARN.
func TestSearchSortAcrossPages(t *testing.T) {
	e, dir := importedVault(t, 23)
	// Two more records with the NotAfter of cert00005.
	twin := filepath.Join(dir, "cert00005")
	for i := 0; i < 2; i++ {
		e.MustRun("--vault", e.Vault, "import", "--certificate", twin+".crt", "--private-key", twin+".key")
	}
	const total = 25
	full := walk(e, 1000, "--sort-by", "NOT_AFTER", "--sort-order", "DESCENDING")
	if len(full) != total {
		t.Fatalf("one page: %d results, want %d", len(full), total)
	}
	ordered := sort.SliceIsSorted(full, func(i, j int) bool {
		a, b := full[i].X509Attributes.NotAfter, full[j].X509Attributes.NotAfter
		if a != b {
			return a > b
		}
		return full[i].CertificateArn < full[j].CertificateArn
	})
	if !ordered {
		t.Fatalf("not ordered by NotAfter descending, then ARN")
	}
	for _, size := range []int{1, 4, 7, 24} {
		paged := walk(e, size, "--sort-by", "NOT_AFTER", "--sort-order", "DESCENDING")
		if len(paged) != total {
			t.Fatalf("pages of %d: %d results, want %d", size, len(paged), total)
		}
		for i := range paged {
			if paged[i].CertificateArn != full[i].CertificateArn {
				t.Fatalf("pages of %d: result %d is %s, want %s", size, i, paged[i].CertificateArn, full[i].CertificateArn)
			}
		}
	}
	// ASCENDING is the exact reverse, apart from ties (still by ARN).
	asc := walk(e, 6, "--sort-by", "NOT_AFTER", "--sort-order", "ASCENDING")
	if asc[0].X509Attributes.NotAfter != full[total-1].X509Attributes.NotAfter || asc[total-1].X509Attributes.NotAfter != full[0].X509Attributes.NotAfter {
		t.Errorf("ascending ends: %s … %s", asc[0].X509Attributes.NotAfter, asc[total-1].X509Attributes.NotAfter)
	}
	// COMMON_NAME ascending, with a statement.
	cn := walk(e, 5, "san:host0001*", "--sort-by", "COMMON_NAME")
	var names []string
	for _, r := range cn {
		names = append(names, r.X509Attributes.Subject.CommonName)
	}
	if len(names) != 10 || !sort.StringsAreSorted(names) {
		t.Errorf("COMMON_NAME: %v", names)
	}
}

// importedVault is a vault holding the n certificates of testpki.WriteMany,
// imported from dir.
func importedVault(t *testing.T, n int) (*clitest.Env, string) {
	t.Helper()
	e := clitest.New(t)
	dir := filepath.Join(e.Dir, "many")
	if err := testpkiWriteMany(dir, n, e.Now()); err != nil {
		t.Fatal(err)
	}
	e.MustRun("import", "--from-dir", dir)
	return e, dir
}

func testpkiWriteMany(dir string, n int, now time.Time) error {
	if err := mkdir(dir); err != nil {
		return err
	}
	return testpki.WriteMany(dir, n, now)
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o700) }

// Walking the pages of a search visits every certificate that is there
// throughout exactly once while certificates are deleted and imported
// between pages: a page starts after the last result of the one before
// (its sort value and ARN), where a page cut at an offset repeated a result
// after an import and skipped one after a deletion.
func TestSearchPagesWhileTheVaultChanges(t *testing.T) {
	e, dir := importedVault(t, 20)
	for _, sortArgs := range [][]string{{"--sort-by", "NOT_AFTER", "--sort-order", "DESCENDING"}, {"--sort-by", "COMMON_NAME"}} {
		var all sortedPage
		e.JSON(&all, append([]string{"search"}, sortArgs...)...)
		stays := map[string]bool{}
		for _, r := range all.Results {
			stays[r.CertificateArn] = true
		}
		seen := map[string]int{}
		tok := ""
		for page := 0; ; page++ {
			a := append([]string{"search", "--max-items", "3"}, sortArgs...)
			if tok != "" {
				a = append(a, "--starting-token", tok)
			}
			var p sortedPage
			e.JSON(&p, a...)
			for _, r := range p.Results {
				seen[r.CertificateArn]++
			}
			// Between pages: delete a certificate already listed and import
			// one more (a twin of another, sorting among those listed).
			if len(p.Results) > 0 {
				arn := p.Results[0].CertificateArn
				e.MustRun("delete", arn)
				delete(stays, arn)
			}
			twin := filepath.Join(dir, fmt.Sprintf("cert%05d", page%20))
			e.MustRun("import", "--certificate", twin+".crt", "--private-key", twin+".key")
			if p.NextToken == nil {
				break
			}
			if page > 50 {
				t.Fatal("pagination does not end")
			}
			tok = *p.NextToken
		}
		for arn, n := range seen {
			if n > 1 {
				t.Errorf("%v: %s listed %d times", sortArgs, arn, n)
			}
		}
		for arn := range stays {
			if seen[arn] != 1 {
				t.Errorf("%v: %s, there throughout, listed %d times", sortArgs, arn, seen[arn])
			}
		}
	}
}

// Certificates valid until 9999-12-31 (past what int64 nanoseconds hold)
// page like any others by NOT_AFTER: each result once, in order, and the
// walk ends.
func TestSearchPagesPastYear2262(t *testing.T) {
	e, dir := importedVault(t, 4)
	ca := testpki.NewRoot("Far Root", e.Now().Add(-time.Hour))
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("far%d.example.test", i)
		leaf, key := ca.Leaf(testpki.LeafOptions{Names: []string{name},
			NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)})
		crt, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		if err := os.WriteFile(crt, testpki.CertPEM(leaf), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(k, testpki.KeyPEM(key), 0o600); err != nil {
			t.Fatal(err)
		}
		e.MustRun("import", "--certificate", crt, "--private-key", k)
	}
	const total = 7
	for _, order := range []string{"ASCENDING", "DESCENDING"} {
		full := walk(e, 1000, "--sort-by", "NOT_AFTER", "--sort-order", order)
		if len(full) != total {
			t.Fatalf("%s, one page: %d results, want %d", order, len(full), total)
		}
		far := full[len(full)-3:]
		if order == "DESCENDING" {
			far = full[:3]
		}
		for _, r := range far {
			if !strings.HasPrefix(r.X509Attributes.NotAfter, "9999-") {
				t.Errorf("%s: %s (NotAfter %s) where the 9999 certificates belong", order, r.CertificateArn, r.X509Attributes.NotAfter)
			}
		}
		for _, size := range []int{1, 2, 3} {
			paged := walk(e, size, "--sort-by", "NOT_AFTER", "--sort-order", order)
			if len(paged) != total {
				t.Fatalf("%s, pages of %d: %d results, want %d", order, size, len(paged), total)
			}
			for i := range paged {
				if paged[i].CertificateArn != full[i].CertificateArn {
					t.Fatalf("%s, pages of %d: result %d is %s, want %s", order, size, i, paged[i].CertificateArn, full[i].CertificateArn)
				}
			}
		}
	}
}

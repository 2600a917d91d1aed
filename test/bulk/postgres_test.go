package bulk

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
)

type bulkReport struct {
	Results []struct{ CertificateArn, DomainName, Outcome, Reason string }
}

func (r bulkReport) count(outcome string) int {
	n := 0
	for _, res := range r.Results {
		if res.Outcome == outcome {
			n++
		}
	}
	return n
}

// The bulk operations and the import sync on a PostgreSQL store (where a
// transaction may run again after a serialization conflict): revoke and
// tags by selection, one change per certificate, and import --from-dir
// imported, skipped and reimported.
func TestBulkOnPostgres(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_STORE"] = pgtest.FreshSchema(t)
	for i := 0; i < 6; i++ {
		tag := "host=web2"
		if i < 4 {
			tag = "host=web1"
		}
		e.RequestPrivate(fmt.Sprintf("pg%d.internal", i), "--tags", tag)
	}
	dir := filepath.Join(e.Dir, "certs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := testpki.WriteMany(dir, 40, e.Now()); err != nil {
		t.Fatal(err)
	}
	var imp importResult
	e.JSON(&imp, "import", "--from-dir", dir, "--tags", "host=web1")
	if imp.Imported != 40 {
		t.Fatalf("first import: %+v", imp)
	}
	e.JSON(&imp, "import", "--from-dir", dir)
	if imp.Skipped != 40 {
		t.Fatalf("second import: %d skipped", imp.Skipped)
	}
	root := testpki.NewRoot("PG Replacement Root", e.Now())
	for _, k := range []int{3, 17} {
		leaf, key := root.Leaf(testpki.LeafOptions{Names: []string{fmt.Sprintf("host%05d.bulk.example.test", k)}, NotAfter: e.Now().Add(30 * 24 * time.Hour)})
		base := filepath.Join(dir, fmt.Sprintf("cert%05d", k))
		writeFile(t, base+".crt", testpki.CertPEM(leaf))
		writeFile(t, base+".key", testpki.KeyPEM(key))
	}
	e.JSON(&imp, "import", "--from-dir", dir)
	if imp.Reimported != 2 || imp.Skipped != 38 {
		t.Fatalf("third import: %d reimported, %d skipped", imp.Reimported, imp.Skipped)
	}

	// 4 PRIVATE and 40 IMPORTED certificates carry host=web1.
	r := e.Run("revoke", "--query-terse", "tag:host=web1", "--revocation-reason", "SUPERSEDED", "-o", "json")
	if r.Code != errs.ExitPartial {
		t.Fatalf("revoke: %v", r)
	}
	var rep bulkReport
	decode(t, r.Stdout, &rep)
	if rep.count("REVOKED") != 4 || rep.count("REFUSED") != 40 {
		t.Fatalf("revoke: %d revoked, %d refused", rep.count("REVOKED"), rep.count("REFUSED"))
	}
	e.JSON(&rep, "tags", "add", "--query-terse", "type:PRIVATE", "--tags", "wave=1")
	if rep.count("TAGGED") != 6 {
		t.Fatalf("tags add: %+v", rep)
	}
	var audit struct{ AuditEvents []struct{ Outcome string } }
	e.JSON(&audit, "audit", "list", "--event-name", "AddTagsToCertificate")
	if len(audit.AuditEvents) != 6 {
		t.Errorf("%d AddTagsToCertificate records, want 6", len(audit.AuditEvents))
	}
	e.MustRun("audit", "verify")
}

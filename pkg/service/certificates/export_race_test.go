package certificates

import (
	"context"
	"fmt"
	"testing"

	"github.com/certctl/certctl/internal/coretest"
)

// TestExportBesideWriters: exports next to another writer's changes are
// not refused as if the audit log were rolled back: the witness of the
// log is read before the export's read transaction (tester: exit 6,
// "rolled back or cut", for a few exports in a hundred).
func TestExportBesideWriters(t *testing.T) {
	now := t0
	s := newService(t, &now)
	ctx := context.Background()
	res, err := s.Request(ctx, RequestInput{DomainName: "race.internal", KeyAlgorithm: "EC_prime256v1", CertificateAuthority: "default"})
	if err != nil {
		t.Fatal(err)
	}
	stop := coretest.Meanwhile(t, func(i int) error {
		_, err := s.AddTags(ctx, res.ID, []string{fmt.Sprintf("k%d=v", i%40)})
		return err
	})
	failed := 0
	for i := 0; i < 1000; i++ {
		// The key in clear: no key derivation, so that many exports
		// meet the writer's commits.
		if _, err := s.Export(ctx, ExportRequest{Ref: res.ID, WithKey: true, PlaintextKey: true, Format: "pem",
			Passphrase: func() ([]byte, error) { return nil, nil }}); err != nil {
			failed++
			if failed == 1 {
				t.Errorf("export %d: %v", i, err)
			}
		}
	}
	stop()
	if failed > 0 {
		t.Errorf("%d of 1000 exports failed", failed)
	}
}

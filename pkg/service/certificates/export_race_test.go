package certificates

import (
	"context"
	"fmt"
	"sync"
	"testing"
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
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.AddTags(ctx, res.ID, []string{fmt.Sprintf("k%d=v", i%40)}); err != nil {
				t.Errorf("tags: %v", err)
				return
			}
		}
	}()
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
	close(stop)
	wg.Wait()
	if failed > 0 {
		t.Errorf("%d of 1000 exports failed", failed)
	}
}

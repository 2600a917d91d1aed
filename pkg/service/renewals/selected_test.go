package renewals

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/service/certificates"
)

// RenewSelected tells its progress as it goes, up to the selection's size
// (renewed and ineligible certificates alike), and a dry run tells none.
func TestRenewSelectedTellsProgress(t *testing.T) {
	ctx := context.Background()
	_, core, first, _ := newFixture(t, "a.progress.internal")
	// Exported: eligible, renewed; the two others are not (INELIGIBLE).
	if _, err := certificates.New(core, certificates.Settings{}).Export(ctx, certificates.ExportRequest{Ref: first.CertificateArn, WithKey: true,
		Format: "pem", Passphrase: func() ([]byte, error) { return []byte("change-me"), nil }}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"b.progress.internal", "c.progress.internal"} {
		if _, err := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour}).Request(ctx,
			certificates.RequestInput{DomainName: d, CertificateAuthority: "default", KeyAlgorithm: "EC_prime256v1"}); err != nil {
			t.Fatal(err)
		}
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour})
	sel := certificates.Selection{Query: "san:*.progress.internal"}
	var told [][2]int
	progress := func(done, total int) { told = append(told, [2]int{done, total}) }
	if _, err := s.RenewSelected(ctx, certificates.BulkOptions{Selection: sel, DryRun: true, Progress: progress}); err != nil {
		t.Fatal(err)
	}
	if len(told) != 0 {
		t.Fatalf("a dry run told progress %v", told)
	}
	rep, err := s.RenewSelected(ctx, certificates.BulkOptions{Selection: sel, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, r := range rep.Results {
		outcomes[r.Outcome]++
	}
	if len(rep.Results) != 3 || outcomes["RENEWED"] != 1 || outcomes["INELIGIBLE"] != 2 {
		t.Fatalf("report: %+v", rep.Results)
	}
	if want := "[[1 3] [2 3] [3 3]]"; fmt.Sprint(told) != want {
		t.Errorf("progress told %v, want %s", told, want)
	}
}

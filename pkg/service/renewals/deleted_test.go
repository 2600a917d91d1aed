package renewals

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestDueGoesOnPastADeletedCertificate: a certificate that another process
// deletes while the due pass runs is reported as refused (not found) and
// the pass goes on with the rest, exit 0 (tester: the pass stopped there,
// exit 3, every later certificate not done).
func TestDueGoesOnPastADeletedCertificate(t *testing.T) {
	ctx := context.Background()
	_, core, first, _ := newFixture(t, "first.internal")
	certs := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour})
	var arns []string
	for _, n := range []string{"first.internal", "gone.internal", "last.internal"} {
		arn := first.CertificateArn
		if n != "first.internal" {
			r, err := certs.Request(ctx, certificates.RequestInput{DomainName: n, CertificateAuthority: "default", KeyAlgorithm: "EC_prime256v1"})
			if err != nil {
				t.Fatal(err)
			}
			arn = r.CertificateArn
		}
		if _, err := certs.Export(ctx, certificates.ExportRequest{Ref: arn, WithKey: true, Format: "pem",
			Passphrase: func() ([]byte, error) { return []byte("change-me"), nil }}); err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour})
	gone := arns[1][strings.LastIndexByte(arns[1], '/')+1:]
	s.reaching = func(id string) {
		if id == gone {
			// Another certctl deletes it as the pass reaches it.
			if _, err := certs.Delete(ctx, arns[1], true, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := s.due(ctx, DueOptions{Within: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatalf("the pass stopped: %v", err)
	}
	got := map[string]Result{}
	for _, r := range rep.Results {
		got[r.CertificateArn] = r
	}
	if r := got[arns[1]]; r.Outcome != renewal.Ineligible || !strings.Contains(r.Reason, "not found") {
		t.Errorf("the deleted certificate: %+v, want INELIGIBLE, not found", r)
	}
	for _, a := range []string{arns[0], arns[2]} {
		if r := got[a]; r.Outcome != renewal.Renewed {
			t.Errorf("%s: %+v, want RENEWED", a, r)
		}
	}
	if rep.Err() != nil {
		t.Errorf("report error %v, want none (exit 0)", rep.Err())
	}
}

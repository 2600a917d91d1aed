package acmeserver

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestWriteMetrics checks the exact exposition: one counter family per
// counter under the shared names, one sample per endpoint (zero before any
// issuance), labelled with the endpoint's ARN.
func TestWriteMetrics(t *testing.T) {
	ctx := context.Background()
	v, err := localstore.Open(ctx, t.TempDir(), localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var a, b *acmestate.Endpoint
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		p := acmestate.CreateParams{AuthorizationBehavior: "PRE_APPROVED", Contact: acmestate.ContactNotRequired}
		if a, err = acmestate.Create(tx, p, now); err != nil {
			return err
		}
		if b, err = acmestate.Create(tx, p, now.Add(time.Second)); err != nil {
			return err
		}
		for _, ok := range []bool{true, true, false} {
			if err := acmestate.CountIssuance(tx, a.ID, ok, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := inventory.Names{Region: "local", Account: "000000000000"}
	var got bytes.Buffer
	if err := v.Store.View(ctx, func(tx localstore.Tx) error { return WriteMetrics(&got, tx, n) }); err != nil {
		t.Fatal(err)
	}
	aa, ba := n.EndpointARN(a.ID), n.EndpointARN(b.ID)
	want := "# HELP certctl_acme_certificate_issuance_success_total Certificates issued by an ACME endpoint.\n" +
		"# TYPE certctl_acme_certificate_issuance_success_total counter\n" +
		`certctl_acme_certificate_issuance_success_total{arn="` + aa + `"} 2` + "\n" +
		`certctl_acme_certificate_issuance_success_total{arn="` + ba + `"} 0` + "\n" +
		"# HELP certctl_acme_certificate_issuance_failed_total Finalizations an ACME endpoint refused or failed.\n" +
		"# TYPE certctl_acme_certificate_issuance_failed_total counter\n" +
		`certctl_acme_certificate_issuance_failed_total{arn="` + aa + `"} 1` + "\n" +
		`certctl_acme_certificate_issuance_failed_total{arn="` + ba + `"} 0` + "\n"
	if got.String() != want {
		t.Fatalf("metrics:\n%s\nwant:\n%s", got.String(), want)
	}
}

package certificates_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/service/certificates"
)

// A statement naming more certificates than a search looks up by key
// (1,000) reads the whole inventory instead, and still finds every one it
// names — here the only one that exists, named 1,100th of 1,200.
func TestSearchByManyARNs(t *testing.T) {
	ctx := context.Background()
	svc, core := newAuditedService(t, time.Now().UTC().Truncate(time.Second))
	want := storeVaultCertificate(t, core, "many.example.test")
	storeVaultCertificate(t, core, "other.example.test")
	type filter struct {
		CertificateArn string
	}
	type term struct {
		Filter filter
	}
	var or []term
	for i := range 1200 {
		ref := uuid.NewString() // a whole UUID of this vault: it names nothing
		if i == 1099 {
			ref = want
		}
		or = append(or, term{filter{ref}})
	}
	stmt, err := json.Marshal(map[string][]term{"Or": or})
	if err != nil {
		t.Fatal(err)
	}
	page, err := svc.Search(ctx, certificates.SearchInput{FilterStatement: stmt})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 1 || page.Results[0].CertificateArn != want {
		t.Fatalf("search by 1,200 ARNs found %+v, want only %s", page.Results, want)
	}
}

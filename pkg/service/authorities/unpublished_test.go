package authorities

import (
	"bytes"
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/coretest"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/timeutil"
)

// TestRevokeTellsAnUnpublishedRevocation: ca revoke-certificate of a
// certificate of a permanently deleted CA revokes it, and says that no
// CRL or OCSP answer will carry the revocation (tester: a plain success);
// an ACTIVE CA's says nothing, nor a DELETED one's within its restore
// window, which still publishes its revocations (review: the notice said
// otherwise).
func TestRevokeTellsAnUnpublishedRevocation(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := New(coretest.New(t, coretest.Config{Now: func() time.Time { return now }, Actor: actor}), Settings{})
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Unpublished Root"}})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, name := range []string{"a.internal", "b.internal", "c.internal"} {
		issued, err := s.Issue(ctx, root, IssueRequest{CSR: csrPEM(t, name), Template: "EndEntity", Validity: timeutil.Validity{Duration: 30 * 24 * time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, issued.CertificateArn)
	}
	revoke := func(arn string) []string {
		t.Helper()
		got, notices, err := s.RevokeCertificate(ctx, root, CertificateRef{CertificateArn: arn}, "KEY_COMPROMISE")
		if err != nil || got != arn {
			t.Fatalf("revoke %s: %q, %v", arn, got, err)
		}
		return notices
	}
	if n := revoke(arns[0]); len(n) != 0 {
		t.Errorf("an ACTIVE CA's revocation: notices %q, want none", n)
	}
	if _, err := s.Update(ctx, root, UpdateInput{Status: authority.StatusDisabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, root, 7, nil); err != nil {
		t.Fatal(err)
	}
	if n := revoke(arns[1]); len(n) != 0 {
		t.Errorf("a DELETED CA's revocation within its restore window: notices %q, want none", n)
	}
	if der, err := s.CRL(ctx, root, -1); err != nil || !bytes.Contains(der, serialOf(t, arns[1])) {
		t.Fatalf("the CRL of the DELETED CA within its window: %v, want it listing the revocation", err)
	}
	now = now.Add(8 * timeutil.Day)
	n := revoke(arns[2])
	if len(n) != 1 || !strings.Contains(n[0], arns[2]) || !strings.Contains(n[0], "was permanently deleted: no CRL or OCSP answer will carry this revocation") {
		t.Errorf("a permanently deleted CA's revocation: notices %q", n)
	}
}

// serialOf is the serial number of the certificate arn names (its last
// path element, hexadecimal, as ca ARNs of issued certificates carry it),
// as the octets a CRL entry holds.
func serialOf(t *testing.T, arn string) []byte {
	t.Helper()
	n, ok := new(big.Int).SetString(arn[strings.LastIndexByte(arn, '/')+1:], 16)
	if !ok {
		t.Fatalf("no serial in %s", arn)
	}
	return n.Bytes()
}

package authorities

import (
	"context"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
)

// A serial the CA never issued is named as the user wrote it, with the
// ACM form when that differs: 00:11 is not shown back as 11 alone.
func TestUnknownSerialNamedAsGiven(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Serial Root"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ given, want string }{
		{"00:11", "serial 00:11 (read as 11)"},
		{"0x0011", "serial 0x0011 (read as 11)"},
		{"11", "serial 11"},
		{"AB:CD", "serial ab:cd"},
	} {
		_, err := s.GetCertificate(ctx, root, CertificateRef{Serial: c.given})
		if errs.ExitCodeOf(err) != errs.ExitNotFound || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("get-certificate --serial %s: %v, want exit 3 ending %q", c.given, err, c.want)
		}
		_, _, err = s.RevokeCertificate(ctx, root, CertificateRef{Serial: c.given}, "SUPERSEDED")
		if errs.ExitCodeOf(err) != errs.ExitNotFound || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("revoke-certificate --serial %s: %v, want exit 3 ending %q", c.given, err, c.want)
		}
	}
}

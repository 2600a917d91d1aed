package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestResolveRegionAndAccount: a full ARN resolves only in the region and
// account the vault is configured for. An ARN naming another region or
// account is not found (exit 3) with a message naming both sides, for
// certificates and for objects (CAs, endpoints) alike — never the vault's
// resource of the same UUID; bare UUIDs and prefixes are unaffected, and
// an ARN of another kind stays invalid input.
func TestResolveRegionAndAccount(t *testing.T) {
	const id = "0f8fad5b-d9cb-469f-a165-70867728950e"
	cert := fleet(1)[0]
	cert.ID = id
	st := testStore(t, []*localstore.Certificate{cert})
	ctx := context.Background()
	if err := st.Update(ctx, func(tx localstore.Tx) error {
		return tx.PutObject(&localstore.Object{Kind: "ca", ID: id, Data: []byte(`{}`), UpdatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	n := Names{Region: "local", Account: "000000000000"}
	resolvers := []struct {
		kind, label string
		fn          func(tx localstore.Tx, arg string) (string, error)
	}{
		{arn.Certificate, "certificate", func(tx localstore.Tx, arg string) (string, error) {
			return ResolveCertificate(tx, n, arg, Describing)
		}},
		{arn.CertificateAuthority, "certificate authority", func(tx localstore.Tx, arg string) (string, error) {
			return ResolveObject(tx, n, "ca", arn.CertificateAuthority, "certificate authority", arg)
		}},
	}
	for _, r := range resolvers {
		run := func(arg string) (string, error) {
			var got string
			err := st.View(ctx, func(tx localstore.Tx) error {
				var err error
				got, err = r.fn(tx, arg)
				return err
			})
			return got, err
		}
		for _, arg := range []string{
			arn.Format(r.kind, "local", "000000000000", id),
			" " + arn.Format(r.kind, "local", "000000000000", id) + "\n",
			id, strings.ToUpper(id), id[:8],
		} {
			if got, err := run(arg); err != nil || got != id {
				t.Errorf("%s %q: %q, %v; want %s", r.label, arg, got, err, id)
			}
		}
		// A full ARN names its resource whole: one cut short is no
		// prefix (tester).
		if got, err := run(arn.Format(r.kind, "local", "000000000000", id[:8])); errs.ExitCodeOf(err) != errs.ExitInvalid || got != "" {
			t.Errorf("%s: an ARN cut short: %q, %v; want invalid", r.label, got, err)
		}
		for _, c := range []struct{ region, account, want string }{
			{"eu-west-1", "000000000000", "names region eu-west-1 and account 000000000000"},
			{"local", "111111111111", "names region local and account 111111111111"},
			{"eu-west-1", "111111111111", "names region eu-west-1 and account 111111111111"},
			{"Local", "000000000000", "names region Local and account 000000000000"},
			{"", "000000000000", `names region "" and account 000000000000`},
			{"local", "0\x1b[31m", `names region local and account "0\x1b[31m"`},
		} {
			foreign := arn.Format(r.kind, c.region, c.account, id)
			got, err := run(foreign)
			if errs.ExitCodeOf(err) != errs.ExitNotFound || got != "" {
				t.Errorf("%s %q: %q, %v; want not found", r.label, foreign, got, err)
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, r.label+" ") || !strings.Contains(msg, c.want) ||
				!strings.Contains(msg, "but this vault is configured for region local and account 000000000000") {
				t.Errorf("%s %q: message %q", r.label, foreign, msg)
			}
			if strings.ContainsRune(msg, 0x1b) {
				t.Errorf("%s %q: message %q holds a raw escape", r.label, foreign, msg)
			}
		}
		other := arn.CertificateAuthority
		if r.kind == other {
			other = arn.Certificate
		}
		if _, err := run(arn.Format(other, "eu-west-1", "111111111111", id)); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("%s: an ARN of another kind: %v, want invalid input", r.label, err)
		}
	}
}

// TestResolveTagged: the identifier of a resource with tags names a
// certificate, a CA or an ACME endpoint by its ARN, its UUID or a unique
// prefix; a prefix several kinds share is ambiguous (invalid input naming
// the candidates' ARNs) unless one has the whole UUID; one nothing has is
// not found.
func TestResolveTagged(t *testing.T) {
	const (
		certID = "0f8fad5b-d9cb-469f-a165-70867728950e"
		caID   = "0f8fad5b-1111-469f-a165-70867728950e"
		epID   = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
		caTwin = "7c9e6679-0000-40de-944b-e07fc1f90ae7"
	)
	cert := fleet(1)[0]
	cert.ID = certID
	st := testStore(t, []*localstore.Certificate{cert})
	ctx := context.Background()
	if err := st.Update(ctx, func(tx localstore.Tx) error {
		for _, o := range []*localstore.Object{
			{Kind: "ca", ID: caID, Data: []byte(`{}`), UpdatedAt: t0},
			{Kind: "ca", ID: caTwin, Data: []byte(`{}`), UpdatedAt: t0},
			{Kind: "acme-endpoint", ID: epID, Data: []byte(`{}`), UpdatedAt: t0},
		} {
			if err := tx.PutObject(o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := Names{Region: "local", Account: "000000000000"}
	run := func(arg string) (kind, id string, err error) {
		err = st.View(ctx, func(tx localstore.Tx) error {
			var err error
			kind, id, err = ResolveTagged(tx, n, arg)
			return err
		})
		return kind, id, err
	}
	for _, c := range []struct{ arg, kind, id string }{
		{certID, arn.Certificate, certID},
		{"0f8fad5b-d9", arn.Certificate, certID},
		{n.CertificateARN(certID), arn.Certificate, certID},
		{caID, arn.CertificateAuthority, caID},
		{"0f8fad5b-11", arn.CertificateAuthority, caID},
		{n.CAARN(caID), arn.CertificateAuthority, caID},
		{epID, arn.AcmeEndpoint, epID},
		{"7C9E6679-74", arn.AcmeEndpoint, epID},
		{n.EndpointARN(epID), arn.AcmeEndpoint, epID},
		{n.CAARN(caTwin), arn.CertificateAuthority, caTwin},
	} {
		if kind, id, err := run(c.arg); err != nil || kind != c.kind || id != c.id {
			t.Errorf("%q: %s %s, %v; want %s %s", c.arg, kind, id, err, c.kind, c.id)
		}
	}
	// 0f8fad5b names a certificate and a CA; 7c9e6679 an endpoint and a CA.
	for _, c := range []struct{ arg, want1, want2 string }{
		{"0f8fad5b", n.CertificateARN(certID), n.CAARN(caID)},
		{"7c9e6679", n.CAARN(caTwin), n.EndpointARN(epID)},
	} {
		_, _, err := run(c.arg)
		if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "is ambiguous") ||
			!strings.Contains(err.Error(), c.want1) || !strings.Contains(err.Error(), c.want2) {
			t.Errorf("%q: %v; want ambiguous naming %s and %s", c.arg, err, c.want1, c.want2)
		}
	}
	for _, arg := range []string{"abcdef", n.CAARN("abcdef12-0000-4000-8000-000000000000"), n.EndpointARN(certID), n.CertificateARN(caID)} {
		if _, _, err := run(arg); errs.ExitCodeOf(err) != errs.ExitNotFound {
			t.Errorf("%q: %v; want not found", arg, err)
		}
	}
	foreign := arn.Format(arn.CertificateAuthority, "eu-west-1", "000000000000", caID)
	if _, _, err := run(foreign); errs.ExitCodeOf(err) != errs.ExitNotFound || !strings.Contains(err.Error(), "names region eu-west-1") {
		t.Errorf("%q: %v; want not found naming the region", foreign, err)
	}
	for _, arg := range []string{"abc", "default", "arn:certctl:acm:local:000000000000:nothing/x"} {
		if _, _, err := run(arg); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("%q: %v; want invalid input", arg, err)
		}
	}
}

// TestResolveCertificateHintByUse: a CA's or an endpoint's identifier
// given for a certificate is not found, with a hint naming the command
// that does the same to that resource.
func TestResolveCertificateHintByUse(t *testing.T) {
	const caID, epID = "0f8fad5b-1111-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	st := testStore(t, nil)
	ctx := context.Background()
	if err := st.Update(ctx, func(tx localstore.Tx) error {
		if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: caID, Data: []byte(`{}`), UpdatedAt: t0}); err != nil {
			return err
		}
		return tx.PutObject(&localstore.Object{Kind: "acme-endpoint", ID: epID, Data: []byte(`{}`), UpdatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	n := Names{Region: "local", Account: "000000000000"}
	for _, c := range []struct {
		use      Use
		arg      string
		wantHint string
	}{
		{Describing, "0f8fad5b", "0f8fad5b is a certificate authority, not a certificate: use certctl ca describe 0f8fad5b"},
		{Deleting, "0f8fad5b", "use certctl ca delete 0f8fad5b"},
		{Deleting, "7c9e6679", "7c9e6679 is an ACME endpoint, not a certificate: use certctl endpoint delete 7c9e6679"},
		{Updating, "7c9e6679", "use certctl endpoint update 7c9e6679"},
		{Exporting, "0f8fad5b", "use certctl ca get-certificate-authority-certificate 0f8fad5b"},
		{Renewing, "0f8fad5b", "certctl ca csr 0f8fad5b"},
		{Revoking, "0f8fad5b", "certctl ca revoke-certificate"},
		{Validating, "7c9e6679", "use certctl endpoint domain list 7c9e6679"},
	} {
		err := st.View(ctx, func(tx localstore.Tx) error {
			_, err := ResolveCertificate(tx, n, c.arg, c.use)
			return err
		})
		var e *errs.Error
		if !errors.As(err, &e) || e.Exit != errs.ExitNotFound || !strings.Contains(e.Hint, c.wantHint) {
			t.Errorf("%+v %q: %v; want not found with a hint holding %q", c.use, c.arg, err, c.wantHint)
		}
	}
}

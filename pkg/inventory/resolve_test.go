package inventory

import (
	"context"
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
			return ResolveCertificate(tx, n, arg)
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
			arn.Format(r.kind, "local", "000000000000", id[:8]),
			" " + arn.Format(r.kind, "local", "000000000000", id) + "\n",
			id, strings.ToUpper(id), id[:8],
		} {
			if got, err := run(arg); err != nil || got != id {
				t.Errorf("%s %q: %q, %v; want %s", r.label, arg, got, err, id)
			}
		}
		for _, c := range []struct{ region, account, want string }{
			{"eu-west-1", "000000000000", "names region eu-west-1 and account 000000000000"},
			{"local", "111111111111", "names region local and account 111111111111"},
			{"eu-west-1", "111111111111", "names region eu-west-1 and account 111111111111"},
			{"Local", "000000000000", "names region Local and account 000000000000"},
			{"", "000000000000", `names region "" and account 000000000000`},
			{"local", "0\x1b[31m", `names region local and account "0\x1b[31m"`},
		} {
			for _, ref := range []string{id, id[:8]} {
				foreign := arn.Format(r.kind, c.region, c.account, ref)
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

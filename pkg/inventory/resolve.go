package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// IDOf takes apart an identifier argument of kind (label names the kind in
// messages) for this vault: every identifier argument — of a certificate,
// a CA or an ACME endpoint, wherever it is taken — goes through here. A
// full ARN names a resource in one region and account: one that names
// another region or account than n names a resource that does not exist
// here (exit 3, as AWS answers ResourceNotFoundException), never this
// vault's resource of the same UUID. A bare UUID or prefix names neither.
// A malformed identifier, or an ARN of another kind, is invalid input.
func (n Names) IDOf(kind, label, arg string) (arn.Ref, error) {
	r, err := arn.IDOf(kind, arg)
	if err != nil {
		return arn.Ref{}, errs.Invalidf("%v", err)
	}
	if r.FullARN && (r.Region != n.Region || r.Account != n.Account) {
		s := strings.TrimSpace(arg)
		if !plain(r.Region) || !plain(r.Account) {
			s = strconv.Quote(s)
		}
		return arn.Ref{}, errs.NotFoundf("%s %s not found: the ARN names region %s and account %s, but this vault is configured for region %s and account %s",
			label, s, shown(r.Region), shown(r.Account), n.Region, n.Account).
			WithHint("this vault's ARNs carry the configured region and account (certctl config get region; certctl config get account)")
	}
	return r, nil
}

// plain reports whether an ARN's region or account can go into a message
// as it is: one a vault could be configured for (arn.CheckComponent).
func plain(v string) bool { return arn.CheckComponent(v) == nil }

// shown is an ARN's region or account as a message shows it: quoted (and
// escaped) unless plain.
func shown(v string) string {
	if plain(v) {
		return v
	}
	return strconv.Quote(v)
}

// ResolveCertificate turns an identifier argument (full ARN of this
// vault's region and account, UUID or unique UUID prefix of at least 6
// characters) into a certificate ID for a command that does use with it.
// A UUID or prefix that names no certificate but a CA or an ACME endpoint
// is not found all the same, with a hint naming what it is and the
// command that does use to it (a full ARN of another kind is refused by
// IDOf).
func ResolveCertificate(tx localstore.Tx, n Names, arg string, use Use) (string, error) {
	id, err := resolve(n, arg, arn.Certificate, "certificate", func(prefix string) ([]string, error) {
		return tx.FindCertificateIDs(prefix, 10)
	})
	var ce *errs.Error
	if err == nil || !errors.As(err, &ce) || ce.Exit != errs.ExitNotFound || ce.Hint != "" {
		return id, err
	}
	r, rerr := arn.IDOf(arn.Certificate, arg)
	if rerr != nil || r.FullARN {
		return id, err
	}
	for _, o := range mistakenFor {
		if ids, ferr := tx.FindObjectIDs(o.objKind, r.ID, 1); ferr == nil && len(ids) > 0 {
			a := strings.TrimSpace(arg)
			return id, ce.WithHint("%s is %s, not a certificate: %s", a, o.label, fmt.Sprintf(o.command(use), a))
		}
	}
	return id, err
}

// Use is what a command does with a certificate, for ResolveCertificate's
// hint when the identifier given names a CA or an ACME endpoint instead:
// what to run to do it to that resource (a format taking the identifier),
// or, where no command does, the nearest one that does.
type Use struct{ CA, Endpoint string }

// The uses of certificate identifiers, by command.
var (
	// Describing is describe.
	Describing = Use{"use certctl ca describe %s", "use certctl endpoint describe %s"}
	// GettingPEM is describe --pem.
	GettingPEM = Use{"use certctl ca get-certificate-authority-certificate %s", "use certctl endpoint describe %s"}
	// Validating is describe --validation-records, validate and
	// resend-validation-email: an endpoint's domains are its validations.
	Validating = Use{"use certctl ca describe %s", "use certctl endpoint domain list %s"}
	// Deleting is delete.
	Deleting = Use{"use certctl ca delete %s", "use certctl endpoint delete %s"}
	// Updating is update-certificate-options.
	Updating = Use{"use certctl ca update %s", "use certctl endpoint update %s"}
	// Revoking is revoke: a CA's certificate is revoked by the CA that
	// issued it; an endpoint has nothing to revoke.
	Revoking = Use{"revoke its certificate with certctl ca revoke-certificate on the CA that issued it (certctl ca describe %s)",
		"it is not revoked (certctl endpoint delete %s removes it)"}
	// Exporting is export and deploy: a CA's certificate and chain are
	// printed by get-certificate-authority-certificate.
	Exporting = Use{"use certctl ca get-certificate-authority-certificate %s", "use certctl endpoint describe %s"}
	// Renewing is renew: a CA is renewed through a new CSR.
	Renewing = Use{"renew it with certctl ca csr %s (see certctl ca csr --help)", "use certctl endpoint describe %s"}
	// Reimporting is reimport: a CA's new certificate is installed by
	// import-certificate.
	Reimporting = Use{"use certctl ca import-certificate %s", "use certctl endpoint describe %s"}
)

// mistakenFor are the resources whose identifiers are given where a
// certificate's is taken, by object kind (authority.ObjectKind,
// acmestate.KindEndpoint, which import this package: TestMistakenForKinds
// keeps them equal).
// They are also the other resources with tags (ResolveTagged).
var mistakenFor = []mistakenKind{
	{"ca", arn.CertificateAuthority, "certificate authority", "a certificate authority", func(u Use) string { return u.CA }, "certctl ca describe %s"},
	{"acme-endpoint", arn.AcmeEndpoint, "ACME endpoint", "an ACME endpoint", func(u Use) string { return u.Endpoint }, "certctl endpoint describe %s"},
}

// mistakenKind is a kind of resource of mistakenFor.
type mistakenKind struct {
	objKind, arnKind string
	// name names the kind in messages; label is "a" or "an" name.
	name, label string
	command     func(Use) string
	// describe is the command that shows one (a format taking its
	// identifier).
	describe string
}

// ResolveTagged turns an identifier argument of a resource with tags into
// its kind (arn.Certificate, arn.CertificateAuthority or arn.AcmeEndpoint)
// and ID. A full ARN names its kind. A UUID or prefix may name any of the
// three: it must name one resource among them all, else it is ambiguous
// (invalid input naming the candidates' ARNs), unless one of them has the
// whole UUID.
func ResolveTagged(tx localstore.Tx, n Names, arg string) (kind, id string, err error) {
	if a, perr := arn.Parse(strings.TrimSpace(arg)); perr == nil {
		for _, o := range mistakenFor {
			if a.Kind == o.arnKind {
				id, err = ResolveObject(tx, n, o.objKind, o.arnKind, o.name, arg)
				return o.arnKind, id, err
			}
		}
	}
	r, err := n.IDOf(arn.Certificate, "certificate", arg)
	if err != nil {
		return "", "", err
	}
	if r.FullARN {
		id, err = ResolveCertificate(tx, n, arg, Describing)
		return arn.Certificate, id, err
	}
	type candidate struct{ kind, id string }
	var found []candidate
	certs, err := tx.FindCertificateIDs(r.ID, 10)
	if err != nil {
		return "", "", err
	}
	for _, c := range certs {
		found = append(found, candidate{arn.Certificate, c})
	}
	for _, o := range mistakenFor {
		ids, err := tx.FindObjectIDs(o.objKind, r.ID, 10)
		if err != nil {
			return "", "", err
		}
		for _, x := range ids {
			found = append(found, candidate{o.arnKind, x})
		}
	}
	switch len(found) {
	case 0:
		return "", "", errs.NotFoundf("certificate, certificate authority or ACME endpoint %s not found", arg)
	case 1:
		return found[0].kind, found[0].id, nil
	}
	var exact []candidate
	arns := make([]string, len(found))
	for i, c := range found {
		if c.id == r.ID {
			exact = append(exact, c)
		}
		arns[i] = arn.Format(c.kind, n.Region, n.Account, c.id)
	}
	if len(exact) == 1 {
		return exact[0].kind, exact[0].id, nil
	}
	return "", "", errs.Invalidf("identifier %q is ambiguous: it matches %s", arg, strings.Join(arns, ", ")).
		WithHint("give more characters of the UUID, or the full ARN")
}

// ResolveObject resolves an identifier of a generic object kind (CAs, ACME
// endpoints) stored under objKind.
func ResolveObject(tx localstore.Tx, n Names, objKind, arnKind, label, arg string) (string, error) {
	id, err := resolve(n, arg, arnKind, label, func(prefix string) ([]string, error) {
		return tx.FindObjectIDs(objKind, prefix, 10)
	})
	return id, otherKindHint(tx, objKind, arnKind, arg, err)
}

// otherKindHint is err, a CA or an ACME endpoint (objKind) not found, with
// a hint when the UUID or prefix arg names a resource of another kind —
// a certificate, a CA, an endpoint — naming the command that shows it, as
// ResolveCertificate hints the other way (tester: ca describe with a
// certificate's ID; review: endpoint describe with a CA's).
func otherKindHint(tx localstore.Tx, objKind, arnKind, arg string, err error) error {
	var ce *errs.Error
	if err == nil || !errors.As(err, &ce) || ce.Exit != errs.ExitNotFound || ce.Hint != "" {
		return err
	}
	this := slices.IndexFunc(mistakenFor, func(o mistakenKind) bool { return o.objKind == objKind })
	r, rerr := arn.IDOf(arnKind, arg)
	if this < 0 || rerr != nil || r.FullARN {
		return err
	}
	a := strings.TrimSpace(arg)
	if ids, ferr := tx.FindCertificateIDs(r.ID, 1); ferr == nil && len(ids) > 0 {
		return ce.WithHint("%s is a certificate of the inventory, not %s: certctl describe %s shows it", a, mistakenFor[this].label, a)
	}
	for _, o := range mistakenFor {
		if o.objKind == objKind {
			continue
		}
		if ids, ferr := tx.FindObjectIDs(o.objKind, r.ID, 1); ferr == nil && len(ids) > 0 {
			return ce.WithHint("%s is %s, not %s: %s shows it", a, o.label, mistakenFor[this].label, fmt.Sprintf(o.describe, a))
		}
	}
	return err
}

func resolve(n Names, arg, arnKind, label string, find func(string) ([]string, error)) (string, error) {
	r, err := n.IDOf(arnKind, label, arg)
	if err != nil {
		return "", err
	}
	id := r.ID
	ids, err := find(id)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", errs.NotFoundf("%s %s not found", label, arg)
	case 1:
		return ids[0], nil
	}
	for _, x := range ids {
		if x == id {
			return x, nil
		}
	}
	return "", errs.Invalidf("identifier %q is ambiguous: it matches %s", arg, strings.Join(ids, ", ")).
		WithHint("give more characters of the UUID, or the full ARN")
}

// NotFound maps localstore.ErrNotFound to a not-found error for label.
func NotFound(err error, label, arg string) error {
	if errors.Is(err, localstore.ErrNotFound) {
		return errs.NotFoundf("%s %s not found", label, arg)
	}
	return err
}

// MistakenForKinds are the object kinds of mistakenFor, for its test.
func MistakenForKinds() []string {
	var out []string
	for _, o := range mistakenFor {
		out = append(out, o.objKind)
	}
	return out
}

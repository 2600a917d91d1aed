package inventory

import (
	"errors"
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
// characters) into a certificate ID.
// A UUID or prefix that names no certificate but a CA or an ACME endpoint
// is not found all the same, with a hint naming what it is and the
// command that takes it (a full ARN of another kind is refused by IDOf).
func ResolveCertificate(tx localstore.Tx, n Names, arg string) (string, error) {
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
			return id, ce.WithHint("%s is %s, not a certificate: use %s %s", strings.TrimSpace(arg), o.label, o.command, strings.TrimSpace(arg))
		}
	}
	return id, err
}

// mistakenFor are the resources whose identifiers are given where a
// certificate's is taken, by object kind (authority.ObjectKind,
// acmestate.KindEndpoint, which import this package: TestMistakenForKinds
// keeps them equal).
var mistakenFor = []struct{ objKind, label, command string }{
	{"ca", "a certificate authority", "certctl ca describe"},
	{"acme-endpoint", "an ACME endpoint", "certctl endpoint describe"},
}

// ResolveObject resolves an identifier of a generic object kind (CAs, ACME
// endpoints) stored under objKind.
func ResolveObject(tx localstore.Tx, n Names, objKind, arnKind, label, arg string) (string, error) {
	return resolve(n, arg, arnKind, label, func(prefix string) ([]string, error) {
		return tx.FindObjectIDs(objKind, prefix, 10)
	})
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

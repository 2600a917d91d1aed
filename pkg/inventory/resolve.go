package inventory

import (
	"errors"
	"strings"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// ResolveCertificate turns an identifier argument (full ARN, UUID or unique
// UUID prefix of at least 6 characters) into a certificate ID.
func ResolveCertificate(tx localstore.Tx, arg string) (string, error) {
	return resolve(arg, arn.Certificate, "certificate", func(prefix string) ([]string, error) {
		return tx.FindCertificateIDs(prefix, 10)
	})
}

// ResolveObject resolves an identifier of a generic object kind (CAs, ACME
// endpoints) stored under objKind.
func ResolveObject(tx localstore.Tx, objKind, arnKind, label, arg string) (string, error) {
	return resolve(arg, arnKind, label, func(prefix string) ([]string, error) {
		return tx.FindObjectIDs(objKind, prefix, 10)
	})
}

func resolve(arg, arnKind, label string, find func(string) ([]string, error)) (string, error) {
	id, _, err := arn.IDOf(arnKind, arg)
	if err != nil {
		return "", errs.Invalidf("%v", err)
	}
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

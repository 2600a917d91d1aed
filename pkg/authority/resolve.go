package authority

import (
	"errors"
	"strings"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Resolve finds the CA named by arg: an ARN (of the region and account n
// names, see inventory.Names.IDOf), UUID, unique prefix, or the word
// default for the vault's default private CA (created on first use, so
// call it in a write transaction when arg may be "default").
func Resolve(tx localstore.Tx, s *Service, n inventory.Names, arg string) (*Record, error) {
	if strings.EqualFold(arg, "default") {
		return s.EnsureDefault(tx)
	}
	return find(tx, n, arg)
}

// Find is Resolve for read transactions: the default private CA must
// already exist (exit 3 before its first use).
func Find(tx localstore.Tx, n inventory.Names, arg string) (*Record, error) {
	if strings.EqualFold(arg, "default") {
		r, err := findBuiltIn(tx, BuiltInDefault)
		if err != nil {
			return nil, err
		}
		if r == nil {
			// Said with what makes it (tester: the message named no
			// command).
			return nil, errs.NotFoundf("the default private CA does not exist yet (it is created on first use)").
				WithHint("the first certctl request --certificate-authority-arn default (or certctl ca issue default --csr FILE …) makes it")
		}
		return r, nil
	}
	return find(tx, n, arg)
}

// caLabel names a CA in messages.
const caLabel = "certificate authority"

func find(tx localstore.Tx, n inventory.Names, arg string) (*Record, error) {
	// A whole UUID or ARN names one CA: read it at once (what the prefix
	// search below would find first); anything else, or a CA not there,
	// goes through the search and its messages.
	ref, err := n.IDOf(arn.CertificateAuthority, caLabel, arg)
	if err != nil {
		// A mistyped keyword is told the keyword, as a mistyped enum
		// value is (tester: defualt got no suggestion).
		var e *errs.Error
		if errors.As(err, &e) && e.Hint == "" && len(enum.Nearest(strings.ToLower(strings.TrimSpace(arg)), []string{"default"})) > 0 {
			e.WithHint(`did you mean default (the vault's default private CA)?`)
		}
		return nil, err
	}
	if ref.Exact {
		if r, err := Get(tx, ref.ID); err == nil {
			return r, nil
		}
	}
	id, err := inventory.ResolveObject(tx, n, ObjectKind, arn.CertificateAuthority, caLabel, arg)
	if err != nil {
		return nil, err
	}
	return Get(tx, id)
}

package authority

import (
	"strings"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Resolve finds the CA named by arg: its ARN, UUID or a unique UUID prefix,
// or the word default for the vault's default private CA, which s creates
// (with its root) on first use — so resolve "default" in a write
// transaction. An unknown CA is not found (exit 3); an ambiguous prefix is
// invalid (exit 4).
func Resolve(tx localstore.Tx, s *Service, arg string) (*Record, error) {
	if strings.EqualFold(arg, "default") {
		return s.EnsureDefault(tx)
	}
	id, err := inventory.ResolveObject(tx, ObjectKind, arn.CertificateAuthority, "certificate authority", arg)
	if err != nil {
		return nil, err
	}
	return Get(tx, id)
}

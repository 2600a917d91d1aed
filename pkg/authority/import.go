package authority

import (
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Import brings an existing CA — its certificate, private key and chain
// (m, already checked by ACM's import rules: version 3, key match, chain
// order, validity) — into the vault as an ACTIVE CA that can issue (`ca
// import`). The key is sealed like every other key. A self-signed
// certificate makes a ROOT, any other a SUBORDINATE; when the issuer of a
// subordinate is a CA of the vault, it becomes its parent and supplies the
// chain if none was given. Refused (exit 4): a certificate that is not a
// CA's; (exit 5) a CA already in the vault.
func (s *Service) Import(tx localstore.Tx, m *inventory.Material, tags []localstore.Tag) (*Record, error) {
	r, created, err := s.ImportCA(tx, ImportCARequest{Certificate: m.Leaf, Chain: m.Chain, Key: m.Key, Tags: tags})
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, errs.Refusedf("this CA is already in the vault: certificate authority %s", r.ID)
	}
	return r, nil
}

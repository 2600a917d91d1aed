package certificates

import (
	"errors"
	"fmt"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Material reads the current version of certificate c (read in tx) and
// its key, and
// checks that they are what this host may install or export — anyone who can write
// the database can write a version record, but not seal a key under the
// master key: the record must be the version the certificate names, its
// key the one sealed under that version's own reference
// (inventory.KeyRef; the seal binds the reference, so a key copied from
// another version's row does not open under it, and a reference to
// another version's key is refused here), and its certificate and chain
// must parse, the certificate's public key being that key's
// (deploy.Material.Identify: its chain certifying it, its NotBefore not
// ahead of this host's clock). A certificate the vault issued must be
// signed by the key of the CA that issued it, sealed in the vault
// (authority.Service.CheckIssuedBy): one made elsewhere for the same key
// and put into the store is not installed. What fails these is refused (exit 5; a
// renewal pass reports each of this host's targets FAILED with it),
// before anything is written or run (an export of a sealed key missing or
// that does not open fails exit 6: the vault is damaged).
func (s *Service) Material(tx localstore.Tx, c *localstore.Certificate) (deploy.Material, deploy.Identity, error) {
	return s.material(tx, c, false)
}

// ExportMaterial is Material for an export (deploy.Material.Export): the
// same proof that the key handed out is the certificate's own, sealed
// under its own version's reference, and the certificate the one its CA
// signed — someone who can write the database but has no master key
// could otherwise point a version's key reference at a CA's key, or at
// another certificate's, and have it exported.
func (s *Service) ExportMaterial(tx localstore.Tx, c *localstore.Certificate) (deploy.Material, deploy.Identity, error) {
	return s.material(tx, c, true)
}

func (s *Service) material(tx localstore.Tx, c *localstore.Certificate, export bool) (deploy.Material, deploy.Identity, error) {
	verb := "installed"
	if export {
		verb = "exported"
	}
	id := c.ID
	arn := s.core.Names.CertificateARN(id)
	refuse := func(format string, a ...any) (deploy.Material, deploy.Identity, error) {
		return deploy.Material{}, deploy.Identity{}, errs.Refusedf("version %d of %s is not %s: %s", c.Version, arn, verb, fmt.Sprintf(format, a...))
	}
	// A sealed key missing or damaged is a vault damaged, which vault
	// verify reports too: an export of it fails exit 6 (SPEC: corrupt),
	// not 5 as a rule refusing it would (tester). An install is refused
	// still (exit 5): a renewal pass reports that target FAILED and goes
	// on with the others.
	corrupt := func(format string, a ...any) (deploy.Material, deploy.Identity, error) {
		if !export {
			return refuse(format, a...)
		}
		return deploy.Material{}, deploy.Identity{}, damagedErr(fmt.Errorf("version %d of %s is not %s: %s", c.Version, arn, verb, fmt.Sprintf(format, a...)))
	}
	ver, err := tx.GetVersion(id, c.Version)
	if errors.Is(err, localstore.ErrNotFound) {
		return refuse("the store does not hold it")
	}
	if err != nil {
		return deploy.Material{}, deploy.Identity{}, err
	}
	if ver.KeyRef == "" {
		return deploy.Material{}, deploy.Identity{}, errs.Refusedf("certificate %s has no key in the vault", id)
	}
	if ver.Number != c.Version {
		return refuse("its record is numbered %d", ver.Number)
	}
	if want := inventory.KeyRef(id, c.Version); ver.KeyRef != want {
		return refuse("its key reference %q is not the version's own (%s)", ver.KeyRef, want)
	}
	key, err := s.core.Vault.OpenKey(tx, ver.KeyRef)
	switch {
	case errors.Is(err, localstore.ErrNotFound):
		return corrupt("its sealed key %s is missing", ver.KeyRef)
	case errors.Is(err, localstore.ErrCorrupt):
		return corrupt("its sealed key %s does not open under its reference", ver.KeyRef)
	case err != nil:
		return deploy.Material{}, deploy.Identity{}, err
	}
	m := deploy.Material{CertificateARN: arn, Version: ver.Number,
		CertificatePEM: ver.CertificatePEM, ChainPEM: ver.ChainPEM, Key: key, Now: s.core.Now(), Export: export}
	in, leaf, err := m.IdentifyLeaf()
	if export && deploy.IsDamagedMaterial(err) {
		// Stored PEM that does not parse is damage (tester: a chain
		// damaged in the store failed its export exit 5).
		return deploy.Material{}, deploy.Identity{}, damagedErr(err)
	}
	if err != nil {
		return deploy.Material{}, deploy.Identity{}, &errs.Error{Exit: errs.ExitRefused, Err: err}
	}
	if c.Type == inventory.TypeImported && c.KeyPairOrigin != inventory.OriginImported {
		// An imported certificate's key came with it; a key the vault
		// made is proved by its CA's signature below, which a record
		// typed IMPORTED would skip (verification tester).
		return refuse("its record says it was imported, but its key was made by the vault (origin %s)", c.KeyPairOrigin)
	}
	if c.Type == inventory.TypeImported {
		// No vault CA signed it: what Identify checked (its chain,
		// its own signature when it names itself its issuer, a
		// NotBefore not ahead of the clock) is all there is to prove.
		// A certificate this host installed as a vault CA's is not
		// taken as imported later (Host.Decide).
		in.Issuer = deploy.IssuerImported
		return m, in, nil
	}
	in.Issuer = deploy.IssuerCA(c.CertificateAuthorityID)
	if c.CertificateAuthorityID == "" {
		return refuse("it names no certificate authority that issued it")
	}
	err = s.core.Authority.CheckIssuedBy(tx, c.CertificateAuthorityID, leaf)
	switch {
	case errors.Is(err, authority.ErrNotIssuedBy):
		return refuse("its certificate is %v", err)
	case err != nil:
		return deploy.Material{}, deploy.Identity{}, err
	}
	return m, in, nil
}

// storedPEMDamage is what of ver's certificate and chain does not parse,
// as the export of the certificate without its key (which checks no
// material: deploy.Material) tells it; nil when both do.
func storedPEMDamage(arn string, ver *localstore.CertificateVersion) error {
	m := deploy.Material{CertificateARN: arn, Version: ver.Number, CertificatePEM: ver.CertificatePEM, ChainPEM: ver.ChainPEM, Export: true}
	if err := m.CheckParses(); err != nil {
		return damagedErr(err)
	}
	return nil
}

// damagedErr is err, damage of the vault (exit 6: SPEC's corrupt), which
// vault verify reports too.
func damagedErr(err error) error {
	return (&errs.Error{Exit: errs.ExitVaultUnavailable, Err: err}).
		WithHint("certctl vault verify lists what is damaged; restore a backup (certctl vault restore) or reissue the certificate")
}

package authority

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
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
	c := m.Leaf
	name := x509util.FormatName(c.Subject)
	if !c.BasicConstraintsValid || !c.IsCA {
		return nil, errs.Invalidf("the certificate %q is not a CA certificate: its basic constraints do not say CA:TRUE", name).
			WithHint("import an end-entity certificate with: certctl import")
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errs.Invalidf("the CA certificate %q may not sign certificates: its key usage lacks keyCertSign", name)
	}
	keyAlg, err := x509util.KeyAlgorithmOf(c.PublicKey)
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	if keyAlg == x509util.RSA1024 {
		return nil, errs.Invalidf("the CA key is %s: too weak to sign with (RSA_2048 or stronger)", keyAlg)
	}
	sigAlg, err := casign.SigningAlgorithmName(m.Key.Public())
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	chain := m.Chain
	typ, parentID := TypeSubordinate, ""
	if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
		typ = TypeRoot
		if len(chain) > 0 {
			return nil, errs.Invalidf("the certificate %q is a self-signed root: it has no chain (drop --certificate-chain)", name)
		}
	}
	for _, o := range all {
		oc, err := o.Certificate()
		if err != nil {
			continue // no certificate yet
		}
		if bytes.Equal(oc.Raw, c.Raw) && o.Status != StatusDeleted {
			return nil, errs.Refusedf("this CA is already in the vault: certificate authority %s", o.ID)
		}
		if typ == TypeSubordinate && parentID == "" && o.Status != StatusDeleted && bytes.Equal(c.RawIssuer, oc.RawSubject) && c.CheckSignatureFrom(oc) == nil {
			parentID = o.ID
			if len(chain) == 0 {
				ochain, err := o.Chain()
				if err != nil {
					return nil, err
				}
				chain = append([]*x509.Certificate{oc}, ochain...)
			}
		}
	}
	now := s.Now()
	r := &Record{
		ID:                uuid.NewString(),
		Type:              typ,
		Status:            StatusActive,
		ParentID:          parentID,
		Subject:           subjectOf(c.Subject),
		KeyAlgorithm:      keyAlg,
		SigningAlgorithm:  sigAlg,
		CreatedAt:         now,
		LastStateChangeAt: now,
		Tags:              tags,
	}
	r.KeyRef = "ca/" + r.ID + "/key"
	if err := s.Vault.SealKey(tx, r.KeyRef, m.Key); err != nil {
		return nil, err
	}
	r.setCertificate(c, chain)
	return r, Put(tx, r)
}

// subjectOf is n as AWS Private CA's ASN1Subject (the first value of each
// attribute).
func subjectOf(n pkix.Name) Subject {
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	return Subject{
		Country:            first(n.Country),
		Organization:       first(n.Organization),
		OrganizationalUnit: first(n.OrganizationalUnit),
		State:              first(n.Province),
		Locality:           first(n.Locality),
		CommonName:         n.CommonName,
		SerialNumber:       n.SerialNumber,
	}
}

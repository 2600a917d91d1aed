package authority

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// ImportKeyAlgorithms are the key algorithms of a CA brought in with its
// key (ImportCA): those of created CAs, and the other sizes other tools
// make (mkcert's roots are RSA 3072). RSA 1024 is too weak to sign with.
var ImportKeyAlgorithms = []string{x509util.RSA2048, x509util.RSA3072, x509util.RSA4096,
	x509util.ECPrime256v1, x509util.ECSecp384r1, x509util.ECSecp521r1}

// ImportCARequest is an existing CA — its certificate, its issuers' chain
// (issuer first; none for a self-signed root) and its private key — to
// become a CA of the vault.
type ImportCARequest struct {
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	Key         crypto.Signer
	Tags        []localstore.Tag
	// KeyStorage PKCS11: Key is a key already in the token, labelled
	// KeyLabel with CKA_ID KeyID; the vault keeps only those.
	KeyStorage string
	KeyLabel   string
	KeyID      []byte
}

// ImportCA records req's CA as an ACTIVE CA of the vault in tx, its key
// sealed like a created CA's: a self-signed certificate is a ROOT, any
// other a SUBORDINATE — the child of the vault's CA that issued it, or
// External when its issuer is outside the vault (it then needs its chain). It
// refuses (exit 4) a certificate that is not a CA's (BasicConstraints
// CA:TRUE, and keyCertSign when Key Usage is present), a key that is not
// the certificate's, a key algorithm outside ImportKeyAlgorithms, a
// certificate not valid now, and a subordinate that does not verify
// against its chain. A CA the vault already holds (the same certificate,
// not deleted) is returned as it is, with created false.
func (s *Service) ImportCA(tx localstore.Tx, req ImportCARequest) (r *Record, created bool, err error) {
	cert := req.Certificate
	if cert == nil {
		return nil, false, errs.Invalidf("no CA certificate given")
	}
	name := x509util.Subject(cert)
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, false, errs.Invalidf("%s is not a CA certificate (BasicConstraints CA:TRUE is missing)", name)
	}
	if !casign.MaySignCertificates(cert) {
		return nil, false, errs.Invalidf("%s may not sign certificates (Key Usage lacks keyCertSign)", name)
	}
	alg, err := x509util.KeyAlgorithmOf(cert.PublicKey)
	if err != nil || !slices.Contains(ImportKeyAlgorithms, alg) {
		return nil, false, errs.Invalidf("%s: key algorithm %s is not one a CA of the vault may have (%s)",
			name, orUnknown(alg), strings.Join(ImportKeyAlgorithms, ", "))
	}
	if req.Key == nil {
		return nil, false, errs.Invalidf("%s: no private key given", name)
	}
	if eq, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(req.Key.Public()) {
		return nil, false, errs.Invalidf("the private key does not match the CA certificate %s", name)
	}
	// A key this vault revoked a certificate of for compromise signs
	// nothing (checked here once, not per signature: see sign).
	if err := inventory.CheckKeyNotCompromised(tx, cert.PublicKey, "the CA's key", inventory.ReasonKeyCompromised); err != nil {
		return nil, false, err
	}
	now := s.Now()
	switch {
	case now.Before(cert.NotBefore):
		return nil, false, errs.Invalidf("%s is not valid before %s", name, timeutil.RFC3339(cert.NotBefore))
	case now.After(cert.NotAfter):
		return nil, false, errs.Invalidf("%s expired at %s", name, timeutil.RFC3339(cert.NotAfter))
	}
	selfSigned := signedBy(cert, cert)
	chain := req.Chain
	if selfSigned && len(chain) > 0 {
		return nil, false, errs.Invalidf("%s is a self-signed root: it has no chain (drop --certificate-chain)", name)
	}
	certPEM := string(pemio.EncodeCertificatesPEM(cert))
	all, err := List(tx)
	if err != nil {
		return nil, false, err
	}
	for _, have := range all {
		if have.Status != StatusDeleted && have.CertificatePEM == certPEM {
			return have, false, nil
		}
	}
	parentID := ""
	if !selfSigned {
		// A subordinate whose issuer is a CA of the vault becomes its
		// child, and takes its chain when none was given.
		parent, pchain, err := issuerInVault(all, cert, "")
		if err != nil {
			return nil, false, err
		}
		if parent != nil {
			parentID = parent.ID
			if len(chain) == 0 {
				chain = pchain
			}
		}
		if chain, err = completeChain(all, chain, ""); err != nil {
			return nil, false, err
		}
		if err := verifyChain(cert, chain, now); err != nil {
			return nil, false, err
		}
		if err := checkImportRoom(tx, nil, cert, chain, false, now); err != nil {
			return nil, false, err
		}
	}
	sigAlg, err := casign.SigningAlgorithmName(req.Key.Public())
	if err != nil {
		return nil, false, errs.Invalidf("%s: %v", name, err)
	}
	r = &Record{
		ID:                uuid.NewString(),
		Type:              TypeSubordinate,
		External:          !selfSigned && parentID == "",
		ParentID:          parentID,
		Status:            StatusActive,
		Subject:           SubjectOf(cert.Subject),
		KeyAlgorithm:      alg,
		SigningAlgorithm:  sigAlg,
		CreatedAt:         now,
		LastStateChangeAt: now,
		Tags:              req.Tags,
	}
	if selfSigned {
		r.Type = TypeRoot
	}
	if err := s.storeKey(tx, r, req.Key, req.KeyStorage, req.KeyLabel, req.KeyID); err != nil {
		return nil, false, err
	}
	if selfSigned {
		// A root issued its own serial: record it, as for a created root.
		err := tx.ReserveSerial(r.ID, x509util.FormatSerial(cert.SerialNumber), "", now)
		if err != nil && !errors.Is(err, localstore.ErrConflict) {
			return nil, false, err
		}
	}
	r.setCertificate(cert, chain)
	return r, true, Put(tx, r)
}

// issuerInVault is the CA among all (not deleted, not the CA except) whose
// key signed cert under the subject cert names as its issuer, and that CA's
// certificate followed by its chain; nil when no CA of the vault issued
// cert.
func issuerInVault(all []*Record, cert *x509.Certificate, except string) (*Record, []*x509.Certificate, error) {
	for _, have := range all {
		if have.Status == StatusDeleted || have.ID == except || have.CertificatePEM == "" {
			continue
		}
		oc, err := have.Certificate()
		if err != nil || !signedBy(cert, oc) {
			continue
		}
		ochain, err := have.Chain()
		if err != nil {
			return nil, nil, err
		}
		return have, append([]*x509.Certificate{oc}, ochain...), nil
	}
	return nil, nil, nil
}

// completeChain is chain (issuer first) completed from the vault's CAs
// when it stops short of a root that the vault holds: a CA of all (but
// except) issued its last certificate, whose certificate and chain follow
// it — so that verification and the path length constraints of the
// vault's CAs above apply to what is imported (tester: a partial chain
// escaped both).
func completeChain(all []*Record, chain []*x509.Certificate, except string) ([]*x509.Certificate, error) {
	if len(chain) == 0 {
		return chain, nil
	}
	last := chain[len(chain)-1]
	if signedBy(last, last) {
		return chain, nil
	}
	_, above, err := issuerInVault(all, last, except)
	if err != nil || len(above) == 0 {
		return chain, err
	}
	return append(append([]*x509.Certificate{}, chain...), above...), nil
}

// verifyChain checks that cert verifies against chain (issuer first, the
// last one trusted).
func verifyChain(cert *x509.Certificate, chain []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 {
		return errs.Invalidf("%s is not self-signed: give its issuers' chain with it", x509util.Subject(cert))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1])
	for _, c := range chain[:len(chain)-1] {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return errs.Invalidf("%s does not verify against its chain: %v", x509util.Subject(cert), err)
	}
	return nil
}

// SubjectOf is the AWS Private CA subject of a certificate's name (the
// first value of each attribute).
func SubjectOf(n pkix.Name) Subject {
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

func orUnknown(s string) string {
	if s == "" {
		return "(unsupported)"
	}
	return s
}

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

package authority

import (
	"crypto"
	"crypto/x509"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

// LeafParams describe an end-entity certificate to issue.
type LeafParams struct {
	CertID     string // the inventory record the serial belongs to
	Names      []string
	PublicKey  crypto.PublicKey
	Validity   time.Duration
	ClientAuth bool
	// Requester is who asked (Requester of the audit actor), recorded
	// with the certificate.
	Requester string
}

// Issued is a signed certificate with its chain (issuer first, up to the root).
type Issued struct {
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
}

// IssueLeaf signs an end-entity certificate from r in tx. The serial is
// reserved in the same transaction, so a certificate exists only if the
// vault holds its serial (and can revoke it).
func (s *Service) IssueLeaf(tx localstore.Tx, r *Record, p LeafParams) (*Issued, error) {
	if err := s.CheckCanIssue(r); err != nil {
		return nil, err
	}
	now := s.Now()
	v := casign.Validity{NotBefore: now.Add(-time.Minute).Truncate(time.Second), NotAfter: now.Add(p.Validity).Truncate(time.Second)}
	if v.NotAfter.After(r.NotAfter) {
		return nil, errs.Refusedf("a validity of %s ends %s, after the issuing CA's %s",
			timeutil.FormatDuration(p.Validity), timeutil.RFC3339(v.NotAfter), timeutil.RFC3339(r.NotAfter)).
			WithCode(ReasonInvalidDuration)
	}
	signer, err := s.cached(tx, r)
	if err != nil {
		return nil, err
	}
	cert, key := signer.cert, signer.key
	if err := casign.CheckNameConstraints(p.Names, append([]*x509.Certificate{cert}, signer.chain...)...); err != nil {
		return nil, errs.Refusedf("certificate authority %s may not issue this certificate: %v", r.ID, err).WithCode(ReasonDomainNotAllowed)
	}
	serial, err := s.reserveSerial(tx, r.ID, p.CertID)
	if err != nil {
		return nil, err
	}
	tmpl, err := casign.LeafTemplate(casign.LeafRequest{Names: p.Names, PublicKey: p.PublicKey, Serial: serial, Validity: v, ClientAuth: p.ClientAuth})
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	s.setURLs(tmpl, r.ID)
	leaf, err := casign.Sign(tmpl, cert, p.PublicKey, key)
	if err != nil {
		return nil, mapSignErr(err)
	}
	if err := recordIssued(tx, r.ID, leaf, leafTemplateName(p), p.Requester); err != nil {
		return nil, err
	}
	return s.withChain(r, cert, leaf)
}

func (s *Service) withChain(r *Record, caCert, leaf *x509.Certificate) (*Issued, error) {
	s.mu.Lock()
	c := s.signers[r.ID]
	s.mu.Unlock()
	var chain []*x509.Certificate
	if c != nil && c.certPEM == r.CertificatePEM {
		chain = c.chain
	} else {
		var err error
		if chain, err = r.Chain(); err != nil {
			return nil, err
		}
	}
	return &Issued{Certificate: leaf, Chain: append([]*x509.Certificate{caCert}, chain...)}, nil
}

// IssueCSR signs a CSR with a template (AWS Private CA IssueCertificate).
// The certificate is not managed by the inventory.
// requester (see Requester) is recorded with the certificate.
func (s *Service) IssueCSR(tx localstore.Tx, r *Record, csrPEM []byte, template string, validity time.Duration, requester string) (*Issued, error) {
	csr, err := casign.ParseCSR(csrPEM)
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	if err := s.CheckCanIssue(r); err != nil {
		return nil, err
	}
	now := s.Now()
	v := casign.Validity{NotBefore: now.Add(-time.Minute).Truncate(time.Second), NotAfter: now.Add(validity).Truncate(time.Second)}
	if v.NotAfter.After(r.NotAfter) {
		return nil, errs.Refusedf("a validity of %s ends after the issuing CA's %s",
			timeutil.FormatDuration(validity), timeutil.RFC3339(r.NotAfter)).WithCode(ReasonInvalidDuration)
	}
	cert, key, err := s.signer(tx, r)
	if err != nil {
		return nil, err
	}
	selfSigned := false
	switch template {
	case casign.TemplateSubordinateCA:
		if err := checkMayCertifyCA(r); err != nil {
			return nil, err
		}
	case casign.TemplateRootCA:
		// AWS Private CA's RootCACertificate template: the root CA signs
		// its own CSR. Anything else would be an unconstrained
		// intermediate under a misleading name.
		own, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if r.Type != TypeRoot || !ok || !own.Equal(csr.PublicKey) {
			return nil, errs.Invalidf("the RootCA template self-signs a ROOT CA's own key: this CSR's key is not the key of certificate authority %s", r.ID).
				WithHint("use --template SubordinateCA to sign another CA's CSR")
		}
		selfSigned = true
	}
	serial, err := s.reserveSerial(tx, r.ID, "")
	if err != nil {
		return nil, err
	}
	tmpl, err := casign.CSRTemplate(csr, template, serial, v)
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	if selfSigned {
		c, err := casign.Sign(tmpl, nil, csr.PublicKey, key)
		if err != nil {
			return nil, mapSignErr(err)
		}
		if err := recordIssued(tx, r.ID, c, pcaTemplateName(template), requester); err != nil {
			return nil, err
		}
		return &Issued{Certificate: c}, nil
	}
	s.setURLs(tmpl, r.ID)
	leaf, err := casign.Sign(tmpl, cert, csr.PublicKey, key)
	if err != nil {
		return nil, mapSignErr(err)
	}
	if err := recordIssued(tx, r.ID, leaf, pcaTemplateName(template), requester); err != nil {
		return nil, err
	}
	return s.withChain(r, cert, leaf)
}

package authority

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
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
	// GeneratedKey: certctl generated PublicKey's key for this
	// certificate (request, renewal, a server's own certificate), so it
	// cannot be among the keys revoked for compromise (see sign). A key
	// from a CSR (ACME) is looked up.
	GeneratedKey bool
}

// Issued is a signed certificate with its chain (issuer first, up to the root).
type Issued struct {
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// ChainPEM is Chain in PEM (pemio.EncodeCertificatesPEM), encoded
	// once per CA certificate and chain: the bytes are shared, not to be
	// modified.
	ChainPEM []byte
	// Template is the AWS Private CA template it was issued with ("" for
	// certificates of the inventory).
	Template string
}

// CheckLeaf runs the rules of IssueLeaf that need no signature: r may
// issue now, and a leaf of validity (0: the default) ends within it. A
// dry run (renew --dry-run) reports with it what the issuance would
// refuse.
func (s *Service) CheckLeaf(r *Record, validity time.Duration) error {
	_, err := s.LeafValidity(r, validity)
	return err
}

// LeafValidity is the validity of a leaf of the given validity r would
// issue now, once r is found able to issue it (CheckLeaf's refusals).
func (s *Service) LeafValidity(r *Record, validity time.Duration) (casign.Validity, error) {
	if err := s.CheckCanIssue(r); err != nil {
		return casign.Validity{}, err
	}
	return s.validity(r, timeutil.Validity{Duration: validity}, time.Time{})
}

// IssueLeaf signs an end-entity certificate from r in tx. The serial is
// reserved in the same transaction, so a certificate exists only if the
// vault holds its serial (and can revoke it).
func (s *Service) IssueLeaf(tx localstore.Tx, r *Record, p LeafParams) (*Issued, error) {
	v, err := s.LeafValidity(r, p.Validity)
	if err != nil {
		return nil, err
	}
	cert, key, err := s.signer(tx, r)
	if err != nil {
		return nil, err
	}
	serial, err := s.reserveSerialFor(tx, r, p.CertID)
	if err != nil {
		return nil, err
	}
	tmpl, err := casign.LeafTemplate(casign.LeafRequest{Names: p.Names, PublicKey: p.PublicKey, Serial: serial, Validity: v, ClientAuth: p.ClientAuth})
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	leaf, err := s.sign(tx, r, tmpl, p.PublicKey, p.GeneratedKey, cert, key)
	if err != nil {
		return nil, err
	}
	if err := recordIssued(tx, r.ID, leaf, leafTemplateName(p), p.Requester); err != nil {
		return nil, err
	}
	return s.withChain(r, cert, leaf)
}

// validity is the validity of a certificate r issues now: from notBefore
// (zero: a minute ago, for clocks running late) to v. It must end in the
// future, after it starts, within r's own validity, and within 7 days for
// a SHORT_LIVED_CERTIFICATE CA. Every certificate a CA of the vault signs,
// a CA's (ca create --parent, ca issue with a CA template) included, is
// bound by it; only a root's own self-signed certificate is not
// (ownValidity).
func (s *Service) validity(r *Record, v timeutil.Validity, notBefore time.Time) (casign.Validity, error) {
	now := s.Now()
	out, err := s.ownValidity(v, notBefore)
	if err != nil {
		return out, err
	}
	if !notBefore.IsZero() && out.NotBefore.Before(r.NotBefore) {
		return out, errs.Refusedf("a validity starting %s starts before the issuing CA's %s",
			timeutil.RFC3339(out.NotBefore), timeutil.RFC3339(r.NotBefore)).WithCode(ReasonInvalidDuration)
	}
	if end, by := r.IssueEnd(); out.NotAfter.After(end) && by != "" {
		return out, errs.Refusedf("a validity of %s ends %s, after %s of the issuing CA's chain expires (%s): nothing it signs verifies after that",
			v, timeutil.RFC3339(out.NotAfter), by, timeutil.RFC3339(end)).
			WithCode(ReasonInvalidDuration).
			WithHint("ask for a validity ending by %s, or import a certificate of the CA whose chain lasts longer (certctl ca import-certificate)", timeutil.RFC3339(end))
	} else if out.NotAfter.After(end) {
		return out, errs.Refusedf("a validity of %s ends %s, after the issuing CA's %s",
			v, timeutil.RFC3339(out.NotAfter), timeutil.RFC3339(end)).
			WithCode(ReasonInvalidDuration)
	}
	if r.UsageMode == UsageShortLived {
		// The certificate's whole lifetime counts, its minute of
		// backdating included: one asked for 7 days from now starts now.
		if notBefore.IsZero() && out.NotAfter.Sub(out.NotBefore) > ShortLivedMax && out.NotAfter.Sub(now) <= ShortLivedMax {
			out.NotBefore = out.NotAfter.Add(-ShortLivedMax)
		}
		if out.NotAfter.Sub(out.NotBefore) > ShortLivedMax {
			return out, errs.Refusedf("certificate authority %s is SHORT_LIVED_CERTIFICATE: a certificate lasts at most 7 days (asked: %s to %s)",
				r.ID, timeutil.RFC3339(out.NotBefore), timeutil.RFC3339(out.NotAfter)).WithCode(ReasonInvalidDuration).
				WithHint("whatever it signs, a CA certificate included, lasts %s at most: ask for that or less", timeutil.FormatDuration(ShortLivedMax))
		}
	}
	return out, nil
}

// ownValidity is the validity of a certificate issued now, from notBefore
// (zero: a minute ago) to v, that no CA's validity bounds: a root's own
// certificate, self-signed again to renew it. It must end in the future,
// after it starts.
func (s *Service) ownValidity(v timeutil.Validity, notBefore time.Time) (casign.Validity, error) {
	now := s.Now()
	out := casign.Validity{NotBefore: now.Add(-casign.Backdate).Truncate(time.Second), NotAfter: v.NotAfter(now).Truncate(time.Second)}
	if !notBefore.IsZero() {
		out.NotBefore = notBefore.Truncate(time.Second)
	}
	if !out.NotAfter.After(now) {
		return out, errs.Invalidf("a validity ending %s ends in the past", timeutil.RFC3339(out.NotAfter))
	}
	if !out.NotAfter.After(out.NotBefore) {
		return out, errs.Invalidf("a validity ending %s does not end after it starts (%s)", timeutil.RFC3339(out.NotAfter), timeutil.RFC3339(out.NotBefore))
	}
	return out, nil
}

func (s *Service) withChain(r *Record, caCert, leaf *x509.Certificate) (*Issued, error) {
	s.mu.Lock()
	c := s.signers[r.ID]
	s.mu.Unlock()
	if c != nil && c.certPEM == r.CertificatePEM && c.chainPEM == r.ChainPEM {
		// caCert is the certificate of r's CertificatePEM, as c's is.
		return &Issued{Certificate: leaf, Chain: append([]*x509.Certificate{caCert}, c.chain...), ChainPEM: c.issuedChainPEM}, nil
	}
	chain, err := r.Chain()
	if err != nil {
		return nil, err
	}
	chain = append([]*x509.Certificate{caCert}, chain...)
	return &Issued{Certificate: leaf, Chain: chain, ChainPEM: pemio.EncodeCertificatesPEM(chain...)}, nil
}

// CSRParams describe a certificate to issue from a CSR (AWS Private CA's
// IssueCertificate).
type CSRParams struct {
	CSR []byte // PEM or DER
	// CSRFile names the file CSR was read from, for messages ("" when
	// it came from elsewhere).
	CSRFile string
	// Template is a template name or ARN (casign.CanonicalTemplate).
	Template  string
	Validity  timeutil.Validity
	NotBefore time.Time // zero: now (less a minute)
	// Passthrough is BlankEndEntityCertificate_APIPassthrough's
	// ApiPassthrough.
	Passthrough *casign.APIPassthrough
	// SigningAlgorithm is AWS Private CA's name of the algorithm to sign
	// with ("": the CA's own, as ca create set it); one of another family
	// than the CA's key is refused (exit 4).
	SigningAlgorithm string
	// Requester is recorded with the certificate (see Requester).
	Requester string
	// Parsed, when set, is CSR as casign.ParseCSR returned it (signature
	// checked): a caller that parsed the CSR before the transaction
	// passes it so that it is neither parsed nor checked twice.
	Parsed *x509.CertificateRequest
}

// renewsExpiredRoot reports whether template is a ROOT CA, ACTIVE but
// expired, signing its own next certificate (RootCACertificate, which
// IssueCSR checks is the root's own key): the one thing an expired CA
// still signs, since nothing above it can (tester: `ca csr` gave an
// expired root its CSR, which nothing could then sign).
func (s *Service) renewsExpiredRoot(r *Record, template string) bool {
	return template == casign.PCARootCA && r.Type == TypeRoot && r.Status == StatusActive && r.KeyRevoked == "" &&
		r.EffectiveStatus(s.Now()) == StatusExpired
}

// IssueCSR signs a CSR with a template (AWS Private CA IssueCertificate).
// The certificate is not managed by the inventory.
// p.Requester (see Requester) is recorded with the certificate.
func (s *Service) IssueCSR(tx localstore.Tx, r *Record, p CSRParams) (*Issued, error) {
	template, err := casign.CanonicalTemplate(p.Template)
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	csr := p.Parsed
	if csr == nil {
		if csr, err = casign.ParseCSR(p.CSR); err != nil {
			return nil, errs.Invalidf("%v", casign.WithFile(err, p.CSRFile))
		}
	}
	if err := CheckPrivateIssuer(tx, r); err != nil {
		return nil, err
	}
	if err := s.CheckCanIssue(r); err != nil && !s.renewsExpiredRoot(r, template) {
		return nil, err
	}
	cert, key, err := s.signer(tx, r)
	if err != nil {
		return nil, err
	}
	selfSigned := false
	if isCA, pathLen := casign.IsCATemplate(template); isCA && template != casign.PCARootCA {
		c, err := s.cached(tx, r)
		if err != nil {
			return nil, err
		}
		if err := checkMayCertifyCA(r, c, pathLen); err != nil {
			return nil, err
		}
	} else if template == casign.PCARootCA {
		// AWS Private CA's RootCACertificate template: the root CA signs
		// its own CSR. Anything else would be an unconstrained
		// intermediate under a misleading name.
		own, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		switch {
		case r.Type != TypeRoot:
			// Its own key or not: a subordinate's next certificate comes
			// from its parent (second tester: the message said the key
			// was not its own).
			return nil, errs.Invalidf("the RootCA template self-signs a ROOT CA's own key: certificate authority %s is a %s", r.ID, r.Type).
				WithHint("have its parent sign its CSR (certctl ca issue PARENT --csr CSR --template SubordinateCACertificate_PathLen0..3), or use --template SubordinateCA to sign another CA's CSR")
		case !ok || !own.Equal(csr.PublicKey):
			return nil, errs.Invalidf("the RootCA template self-signs a ROOT CA's own key: this CSR's key is not the key of certificate authority %s", r.ID).
				WithHint("use --template SubordinateCA to sign another CA's CSR")
		}
		selfSigned = true
	}
	var v casign.Validity
	if selfSigned {
		// The root's own next certificate (its renewal): no CA above
		// bounds it, and the root's current certificate does not either.
		v, err = s.ownValidity(p.Validity, p.NotBefore)
	} else {
		v, err = s.validity(r, p.Validity, p.NotBefore)
	}
	if err != nil {
		return nil, err
	}
	serial, err := s.reserveSerialFor(tx, r, "")
	if err != nil {
		return nil, err
	}
	tmpl, err := casign.Build(casign.Issue{CSR: csr, Template: template, Serial: serial, Validity: v, Passthrough: p.Passthrough, Verified: true})
	if err != nil {
		return nil, errs.Invalidf("%v", casign.WithFile(err, p.CSRFile))
	}
	if p.SigningAlgorithm != "" {
		// Asked for (aws acm-pca issue-certificate requires it): used
		// when of the CA key's family (sign keeps it), refused in
		// PCA's names otherwise (review: Go's were shown).
		if !casign.SigningAlgorithmFamilyOK(p.SigningAlgorithm, r.KeyAlgorithm) {
			return nil, errs.Invalidf("--signing-algorithm %s is not of the family of certificate authority %s's %s key (its own: %s)",
				p.SigningAlgorithm, r.ID, r.KeyAlgorithm, r.SigningAlgorithm)
		}
		if tmpl.SignatureAlgorithm, err = casign.ParseSigningAlgorithm(p.SigningAlgorithm, key.Public()); err != nil {
			return nil, errs.Invalidf("--signing-algorithm: %v (certificate authority %s has a %s key)", err, r.ID, r.KeyAlgorithm)
		}
	}
	if selfSigned {
		if tmpl.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
			tmpl.SignatureAlgorithm = signatureAlgorithm(r, key.Public())
		}
		// The root's name constraints stay in its renewed certificate.
		if err := r.NameConstraints.apply(tmpl); err != nil {
			return nil, err
		}
		c, err := casign.Sign(tmpl, nil, csr.PublicKey, key)
		if err != nil {
			return nil, mapSignErr(err)
		}
		if err := recordIssued(tx, r.ID, c, pcaTemplateName(template), p.Requester); err != nil {
			return nil, err
		}
		return &Issued{Certificate: c, Template: template}, nil
	}
	if isCA, _ := casign.IsCATemplate(template); isCA {
		// A CA of the vault's CSR (its key, its subject: a CA renewed in
		// place, or one waiting for its first certificate) gets that CA's
		// name constraints, which its import requires.
		if err := applyOwnConstraints(tx, csr, tmpl); err != nil {
			return nil, err
		}
	}
	leaf, err := s.sign(tx, r, tmpl, csr.PublicKey, false, cert, key)
	if err != nil {
		return nil, err
	}
	if err := recordIssued(tx, r.ID, leaf, pcaTemplateName(template), p.Requester); err != nil {
		return nil, err
	}
	out, err := s.withChain(r, cert, leaf)
	if out != nil {
		out.Template = template
	}
	return out, err
}

// applyOwnConstraints gives tmpl the name constraints of the CA of the
// vault whose key and subject csr carries, when there is one: a CA
// renewed in place, or one waiting for its first certificate — an
// --external CA whose CSR a CA of the vault signs gets them as one made
// with --parent does (tester: its certificate carried none, and relying
// parties enforce only what it carries).
func applyOwnConstraints(tx localstore.Tx, csr *x509.CertificateRequest, tmpl *x509.Certificate) error {
	all, err := List(tx)
	if err != nil {
		return err
	}
	pub, ok := csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil
	}
	for _, ca := range all {
		if ownRequest(ca, csr.RawSubject, pub) {
			return ca.NameConstraints.apply(tmpl)
		}
	}
	return nil
}

// ownRequest reports whether a CSR of subject and key pub is ca's: ca's
// key under the subject of its certificate or, while it has none, of the
// CSR it was created with.
func ownRequest(ca *Record, subject []byte, pub interface{ Equal(crypto.PublicKey) bool }) bool {
	if ca.CertificatePEM != "" {
		c, err := ca.Certificate()
		return err == nil && bytes.Equal(c.RawSubject, subject) && pub.Equal(c.PublicKey)
	}
	if ca.CSRPEM == "" {
		return false
	}
	own, err := casign.ParseCSR([]byte(ca.CSRPEM))
	return err == nil && bytes.Equal(own.RawSubject, subject) && pub.Equal(own.PublicKey)
}

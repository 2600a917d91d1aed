package authority

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

func (s *Service) setStatus(r *Record, status string) {
	r.Status = status
	r.LastStateChangeAt = s.Now()
}

// UpdateStatus sets a CA ACTIVE or DISABLED.
func (s *Service) UpdateStatus(tx localstore.Tx, r *Record, status string) error {
	switch r.Status {
	case StatusActive, StatusDisabled:
	default:
		return invalidState("certificate authority %s is %s: only ACTIVE and DISABLED CAs change status", r.ID, r.Status)
	}
	if r.EffectiveStatus(s.Now()) == StatusExpired {
		e := invalidState("certificate authority %s has expired: its status changes no more", r.ID)
		if r.Type == TypeRoot {
			// An expired root signs nothing, its own renewal neither
			// (second tester: the hint led to a refusal).
			return e.WithHint("create a new root CA (certctl ca create --type ROOT), or delete this one")
		}
		return e.WithHint("renew it first (certctl ca csr %s, have its issuer sign the CSR, then ca import-certificate), or delete it", r.ID)
	}
	if r.Status != status {
		s.setStatus(r, status)
	}
	return Put(tx, r)
}

// Delete marks a CA DELETED, restorable for days (7..30).
func (s *Service) Delete(tx localstore.Tx, r *Record, days int) error {
	if r.Status == StatusDeleted {
		return invalidState("certificate authority %s is already deleted", r.ID)
	}
	if r.PublicStyle() {
		// Deleted, it would be made again on the next domain-validated
		// issuance: a second root that the trust bundles handed out
		// before do not hold.
		return invalidState("certificate authority %s (%s) is the built-in public-style hierarchy's, which is not deleted", r.ID, r.Subject.CommonName).
			WithHint("disable it (certctl ca update %s --status DISABLED) to stop domain-validated issuance", r.ID)
	}
	if r.Status == StatusActive && r.EffectiveStatus(s.Now()) == StatusActive {
		return invalidState("certificate authority %s is ACTIVE", r.ID).
			WithHint("disable it first: certctl ca update %s --status DISABLED", r.ID)
	}
	r.PreviousStatus = r.Status
	s.setStatus(r, StatusDeleted)
	r.RestorableUntil = r.LastStateChangeAt.Add(time.Duration(days) * timeutil.Day)
	return Put(tx, r)
}

// PurgeDue reports whether r's sealed key is to be destroyed at now: it
// is permanently deleted and the vault still holds its key.
func (r *Record) PurgeDue(now time.Time) bool {
	return r.Status == StatusDeleted && !now.Before(r.RestorableUntil) && r.KeyRef != ""
}

// PurgeDeleted destroys the keys the vault seals for the CAs whose restore
// window ended at now (permanently deleted, as AWS Private CA deletes a
// CA then): their sealed key leaves the vault, so that nothing can sign
// with it again. The record stays, its key reference cleared, for the
// chains and audit reports of what the CA issued. A key in a PKCS#11
// token is the token's to destroy. It returns the CAs purged.
func PurgeDeleted(tx localstore.Tx, now time.Time) ([]*Record, error) {
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, r := range all {
		if !r.PurgeDue(now) {
			continue
		}
		if err := tx.DeleteSecret(r.KeyRef); err != nil {
			return nil, err
		}
		r.KeyRef = ""
		if err := Put(tx, r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Restore returns a deleted CA to the status it had before deletion.
func (s *Service) Restore(tx localstore.Tx, r *Record) error {
	if r.Status != StatusDeleted {
		return invalidState("certificate authority %s is %s, not DELETED", r.ID, r.Status)
	}
	if s.Now().After(r.RestorableUntil) {
		return invalidState("certificate authority %s was permanently deleted at %s", r.ID, timeutil.RFC3339(r.RestorableUntil))
	}
	if r.BuiltIn != "" {
		// Its role was given to another CA while it was deleted (the
		// default CA is created again on first use): that one keeps it,
		// and this one comes back as an ordinary CA, so that a role
		// names one CA (see cachedBuiltIn).
		m, err := findBuiltIns(tx)
		if err != nil {
			return err
		}
		if other := m[r.BuiltIn]; other != nil && other.ID != r.ID {
			// A public-style CA stays one (CheckPrivateIssuer).
			r.PublicHierarchy = r.PublicHierarchy || publicStyleRole(r.BuiltIn)
			r.BuiltIn = ""
		}
	}
	prev := r.PreviousStatus
	if prev == "" {
		prev = StatusDisabled
	}
	s.setStatus(r, prev)
	r.PreviousStatus, r.RestorableUntil = "", time.Time{}
	// Its chain from its parent's certificate as it is now: the parent
	// may have been renewed while this CA was deleted (a vault from
	// before rechain kept deleted CAs' chains current), and the CAs
	// below it take it in turn.
	if r.ParentID != "" {
		if p, err := Get(tx, r.ParentID); err == nil {
			pc, err1 := p.Certificate()
			rc, err2 := r.Certificate()
			if err1 == nil && err2 == nil && signedBy(rc, pc) {
				r.ChainPEM = p.CertificatePEM + p.ChainPEM
			}
		}
	}
	if err := Put(tx, r); err != nil {
		return err
	}
	return s.rechain(tx, r)
}

// CSR is the certificate signing request of r, as PEM (AWS Private CA's
// GetCertificateAuthorityCsr). A PENDING_CERTIFICATE CA has the one made
// when it was created. An ACTIVE or DISABLED CA gets a new one, signed by
// its key, with the subject of its certificate exactly as encoded there:
// the request to renew it in place (have the parent sign it, or the CA
// itself with the RootCACertificate template, then ImportCertificate).
// Any other status is refused (exit 5).
func (s *Service) CSR(tx localstore.Tx, r *Record) (string, error) {
	switch r.Status {
	case StatusPendingCertificate:
		if r.CSRPEM != "" {
			return r.CSRPEM, nil
		}
	case StatusActive, StatusDisabled:
		// A CSR is a signature: none with a key revoked for compromise,
		// which could only ask for a certificate of that key again.
		if r.KeyRevoked != "" {
			return "", invalidState("the key of certificate authority %s was revoked for compromise (%s): nothing is signed with it again, a CSR neither", r.ID, r.KeyRevoked)
		}
		cert, err := r.Certificate()
		if err != nil {
			return "", err
		}
		if err := inventory.CheckKeyNotCompromised(tx, cert.PublicKey, "the key of certificate authority "+r.ID, inventory.ReasonKeyCompromised); err != nil {
			return "", err
		}
		key, err := s.caKey(tx, r, cert.PublicKey)
		if err != nil {
			return "", err
		}
		// The signature algorithm is the CA's, as for what it signs.
		der, err := x509.CreateCertificateRequest(s.Rand, &x509.CertificateRequest{
			RawSubject: cert.RawSubject, SignatureAlgorithm: signatureAlgorithm(r, key.Public())}, key)
		if err != nil {
			return "", err
		}
		return string(pemEncode("CERTIFICATE REQUEST", der)), nil
	}
	return "", invalidState("certificate authority %s is %s: it has no CSR (a CSR is for a PENDING_CERTIFICATE CA, or an ACTIVE or DISABLED one to renew)", r.ID, r.Status)
}

// CertificateImport is what ImportCertificate installs: the CA's signed
// certificate (PEM; its issuers may follow it, issuer first) and an
// optional separate chain, with the names of the files they were read
// from, for messages ("" when they came from no file).
type CertificateImport struct {
	Certificate, Chain         []byte
	CertificateFile, ChainFile string
}

// fileOr is the prefix of a message about the input read from file: the
// file's name, or what when there is none ("" for no prefix).
func fileOr(file, what string) string {
	if file == "" {
		file = what
	}
	if file == "" {
		return ""
	}
	return file + ": "
}

// ImportCertificate installs the CA certificate in.Certificate, with its
// issuers' chain in.Chain (issuer first; the certificates after the first
// in in.Certificate when in.Chain is empty), in r (AWS Private CA's
// ImportCertificateAuthorityCertificate).
//
// A PENDING_CERTIFICATE CA is activated with the certificate signed for its
// CSR. An ACTIVE or DISABLED CA is renewed in place: it keeps its ID, status,
// key and settings, and the new certificate — the same key and subject, so
// that what the CA issued before still verifies — is the one it signs and
// publishes with from then on; the CAs below it take it into their chains.
//
// The certificate must be a CA certificate (CA:TRUE, keyCertSign) for r's
// key, valid now; a ROOT's renewal must be self-signed and a SUBORDINATE's
// must not be. When its issuer is a CA of the vault, that CA becomes r's
// parent and, when no chain is given, supplies it; otherwise it must verify
// against the chain given (a renewed subordinate may also keep the chain it
// has when the new certificate verifies against it). Refused: exit 4 for
// a certificate that does not fit, exit 5 for a CA in another status.
func (s *Service) ImportCertificate(tx localstore.Tx, r *Record, in CertificateImport) error {
	renewal := false
	switch r.Status {
	case StatusPendingCertificate:
	case StatusActive, StatusDisabled:
		renewal = true
	default:
		return invalidState("certificate authority %s is %s: a certificate is imported into a PENDING_CERTIFICATE CA, or an ACTIVE or DISABLED one to renew it", r.ID, r.Status)
	}
	certs, err := pemio.ParseCertificatesPEM(in.Certificate)
	if err != nil {
		return errs.Invalidf("%s%v", fileOr(in.CertificateFile, ""), err)
	}
	cert := certs[0]
	var chain []*x509.Certificate
	if len(in.Chain) > 0 {
		if chain, err = pemio.ParseCertificatesPEM(in.Chain); err != nil {
			return errs.Invalidf("%s%v", fileOr(in.ChainFile, "certificate chain"), err)
		}
	} else {
		chain = certs[1:]
	}
	key, err := s.caKey(tx, r, nil)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if !bytes.Equal(pub, cert.RawSubjectPublicKeyInfo) {
		return errs.Invalidf("the certificate is not for this CA's key (was it signed from `certctl ca csr %s`?)", r.ID)
	}
	// Its key revoked for compromise meanwhile (a certificate of it
	// revoked after ca issue signed its CSR): it is not activated.
	if err := inventory.CheckKeyNotCompromised(tx, key.Public(), "the CA's key", inventory.ReasonKeyCompromised); err != nil {
		return err
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return errs.Invalidf("the certificate is not a CA certificate (BasicConstraints CA:TRUE is missing)")
	}
	if !casign.MaySignCertificates(cert) {
		return errs.Invalidf("the certificate may not sign certificates (Key Usage lacks keyCertSign)")
	}
	now := s.Now()
	switch {
	case now.Before(cert.NotBefore):
		return errs.Invalidf("the certificate is not valid before %s", timeutil.RFC3339(cert.NotBefore))
	case now.After(cert.NotAfter):
		return errs.Invalidf("the certificate expired at %s", timeutil.RFC3339(cert.NotAfter))
	}
	if err := checkOwnConstraints(r, cert); err != nil {
		return err
	}
	selfSigned := signedBy(cert, cert)
	if err := checkSubjectOfCSR(r, cert); err != nil {
		return err
	}
	var old *x509.Certificate
	if renewal {
		if old, err = r.Certificate(); err != nil {
			return err
		}
		// What the CA issued names its subject as its issuer, byte for
		// byte: under another subject it would no longer chain.
		if !bytes.Equal(cert.RawSubject, old.RawSubject) {
			return errs.Invalidf("the certificate's subject %s is not certificate authority %s's subject %s (sign the CSR of `certctl ca csr %s`)",
				x509util.Subject(cert), r.ID, x509util.Subject(old), r.ID)
		}
		switch {
		case r.Type == TypeRoot && !selfSigned:
			return errs.Invalidf("certificate authority %s is a ROOT: its new certificate must be self-signed (certctl ca issue %s --csr CSR --template %s)", r.ID, r.ID, casign.PCARootCA)
		case r.Type == TypeSubordinate && selfSigned:
			return errs.Invalidf("certificate authority %s is a SUBORDINATE: its new certificate must be signed by its parent, not by itself", r.ID)
		}
		// The limits relying parties enforce come from the certificate,
		// not the record: a renewal keeps its name constraints, byte for
		// byte, and a path length no looser than before. Those of the
		// CA's configuration are checked below (a certificate imported
		// before that check may lack them: its renewal may add them).
		if r.NameConstraints == nil && !bytes.Equal(extensionValue(cert, oidNameConstraints), extensionValue(old, oidNameConstraints)) {
			return errs.Invalidf("the certificate's name constraints are not certificate authority %s's: a renewal keeps them (have its issuer sign the CSR with the same name constraints)", r.ID)
		}
		if looserPathLen(old, cert) {
			return errs.Invalidf("the certificate allows a longer path (%s) than certificate authority %s's (%s): a renewal keeps its path length or tightens it", pathLenText(cert), r.ID, pathLenText(old))
		}
		if err := checkOutlived(tx, r.ID, cert); err != nil {
			return err
		}
	}
	parentID := ""
	if !selfSigned {
		all, err := List(tx)
		if err != nil {
			return err
		}
		parent, pchain, err := issuerInVault(all, cert, r.ID)
		if err != nil {
			return err
		}
		if parent != nil {
			parentID = parent.ID
			if len(chain) == 0 {
				chain = pchain
			}
		}
		if len(chain) == 0 && renewal {
			// Signed again by the same outside issuer: the chain the CA
			// has still leads to it.
			if chain, err = r.Chain(); err != nil {
				return err
			}
		}
		if len(chain) == 0 {
			return errs.Invalidf("the certificate's issuer %s is not a CA of the vault: give its chain with --certificate-chain (issuer first, root last)", x509util.Issuer(cert))
		}
		if chain, err = completeChain(all, chain, r.ID); err != nil {
			return err
		}
		if err := verifyChain(cert, chain, now); err != nil {
			return err
		}
	} else {
		if r.Type == TypeSubordinate {
			return errs.Invalidf("certificate authority %s is a SUBORDINATE: its certificate must be signed by its parent, not by itself", r.ID)
		}
		chain = nil
	}
	if err := checkImportRoom(tx, r, cert, chain, renewal, now); err != nil {
		return err
	}
	r.setCertificate(cert, chain)
	r.ParentID = parentID
	r.External = !selfSigned && parentID == ""
	if renewal {
		r.LastStateChangeAt = now
	} else {
		r.CSRPEM = ""
		s.setStatus(r, StatusActive)
	}
	if err := Put(tx, r); err != nil {
		return err
	}
	return s.rechain(tx, r)
}

var oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}

// checkSubjectOfCSR refuses (exit 4) the first certificate of a
// PENDING_CERTIFICATE CA when its subject is not the one of the CA's CSR:
// a signer that replaced it (openssl x509 -req -subj) would leave the CA
// described under a name no certificate bears (tester). The same name
// differently encoded is the same subject.
func checkSubjectOfCSR(r *Record, cert *x509.Certificate) error {
	if r.Status != StatusPendingCertificate || r.CSRPEM == "" {
		return nil
	}
	csr, err := casign.ParseCSR([]byte(r.CSRPEM))
	if err != nil {
		return err
	}
	if bytes.Equal(cert.RawSubject, csr.RawSubject) || cert.Subject.String() == csr.Subject.String() {
		return nil
	}
	return errs.Invalidf("the certificate's subject %s is not %s, the subject of certificate authority %s's CSR: its signer replaced it",
		x509util.Subject(cert), x509util.Subject(&x509.Certificate{RawSubject: csr.RawSubject, Subject: csr.Subject}), r.ID).
		WithHint("have the issuer sign the CSR of `certctl ca csr %s` with its subject as it is", r.ID)
}

// checkOwnConstraints refuses (exit 4) a certificate for r that does not
// carry r's configured name constraints, critical, and no others:
// relying parties enforce only what the certificate carries (tester: an
// --external CA's certificate without them was imported without a word).
func checkOwnConstraints(r *Record, cert *x509.Certificate) error {
	if r.NameConstraints == nil {
		return nil
	}
	want := &x509.Certificate{}
	if err := r.NameConstraints.apply(want); err != nil {
		return err
	}
	wantText, gotText := constraintsText(want), constraintsText(cert)
	var e *errs.Error
	switch {
	case extensionValue(cert, oidNameConstraints) == nil:
		e = errs.Invalidf("the certificate lacks certificate authority %s's name constraints %s, which relying parties would then not enforce", r.ID, wantText)
	case gotText != wantText || slices.ContainsFunc(cert.UnhandledCriticalExtensions, oidNameConstraints.Equal):
		e = errs.Invalidf("the certificate's name constraints %s are not certificate authority %s's %s", gotText, r.ID, wantText)
	case !cert.PermittedDNSDomainsCritical:
		e = errs.Invalidf("the certificate's name constraints are not critical: certificate authority %s's must be (RFC 5280)", r.ID)
	default:
		return nil
	}
	// A CA's name constraints are set at its creation: ca update does not
	// change them.
	return e.WithHint("have its issuer sign its CSR (certctl ca csr %s) with them, critical — certctl ca issue ISSUER --csr CSR --template SubordinateCA puts them in; "+
		"ca update does not change them: to do without them, create the CA again without --name-constraints", r.ID)
}

// extensionValue is the value of c's extension id (nil when it has none).
func extensionValue(c *x509.Certificate, id asn1.ObjectIdentifier) []byte {
	for _, e := range c.Extensions {
		if e.Id.Equal(id) {
			return e.Value
		}
	}
	return nil
}

// checkOutlived refuses (exit 4) a new certificate for CA id that ends
// before the certificate of a CA directly below it: from then on that CA,
// and all it issued, would chain to an expired certificate.
func checkOutlived(tx localstore.Tx, id string, cert *x509.Certificate) error {
	all, err := List(tx)
	if err != nil {
		return err
	}
	for _, ca := range all {
		if ca.ParentID != id || ca.Status == StatusDeleted || !ca.NotAfter.After(cert.NotAfter) {
			continue
		}
		return errs.Invalidf("the certificate ends at %s, before the certificate of certificate authority %s below it (%s), which would no longer verify from then: sign its CSR with a validity reaching %s at least",
			timeutil.RFC3339(cert.NotAfter), ca.ID, timeutil.RFC3339(ca.NotAfter), timeutil.RFC3339(ca.NotAfter))
	}
	return nil
}

// depthBelow is how many levels of CAs the vault has below the CA id (0:
// none).
func depthBelow(tx localstore.Tx, id string) (int, error) {
	all, err := List(tx)
	if err != nil {
		return 0, err
	}
	children := map[string][]string{}
	for _, ca := range all {
		if ca.ParentID != "" && ca.Status != StatusDeleted {
			children[ca.ParentID] = append(children[ca.ParentID], ca.ID)
		}
	}
	var depth func(id string, seen int) int
	depth = func(id string, seen int) int {
		best := 0
		if seen > len(all) { // a loop in damaged records
			return 0
		}
		for _, c := range children[id] {
			best = max(best, 1+depth(c, seen+1))
		}
		return best
	}
	return depth(id, 0), nil
}

// pathLen is the longest path of CAs below c its basic constraints allow
// (-1: no limit).
func pathLen(c *x509.Certificate) int {
	if c.MaxPathLen > 0 || c.MaxPathLenZero {
		return c.MaxPathLen
	}
	return -1
}

// looserPathLen reports whether next allows a longer path below it than old.
func looserPathLen(old, next *x509.Certificate) bool {
	o, n := pathLen(old), pathLen(next)
	return o >= 0 && (n < 0 || n > o)
}

func pathLenText(c *x509.Certificate) string {
	if n := pathLen(c); n >= 0 {
		return fmt.Sprintf("pathlen:%d", n)
	}
	return "no path length limit"
}

// rechain gives the CAs below r, at every depth, r's certificate in their
// chains: after a renewal, newly issued certificates carry the new one.
// Their own certificates, signed by the same key under the same subject,
// verify under either.
func (s *Service) rechain(tx localstore.Tx, r *Record) error {
	all, err := List(tx)
	if err != nil {
		return err
	}
	byParent := map[string][]*Record{}
	// DELETED ones too: restored, a CA serves the chain it has (tester:
	// one deleted before its parent's renewal came back with the old,
	// revoked certificate in it).
	for _, c := range all {
		if c.ParentID != "" {
			byParent[c.ParentID] = append(byParent[c.ParentID], c)
		}
	}
	var walk func(p *Record, depth int) error
	walk = func(p *Record, depth int) error {
		if depth > len(all) {
			return nil // a loop of parents, which no record should make
		}
		for _, c := range byParent[p.ID] {
			if c.ID == r.ID {
				continue
			}
			// Only a CA that p's key signed under p's subject (one whose
			// chain was given at import may lead elsewhere).
			pc, err1 := p.Certificate()
			cc, err2 := c.Certificate()
			if err1 != nil || err2 != nil || !signedBy(cc, pc) {
				continue
			}
			want := p.CertificatePEM + p.ChainPEM
			if c.ChainPEM == want {
				continue
			}
			c.ChainPEM = want
			if err := Put(tx, c); err != nil {
				return err
			}
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(r, 0)
}

// Unpublished says, for a certificate r issued that is being revoked at
// now, why no CRL or OCSP answer of r will carry the revocation ("" when
// r publishes them, publishesRevocation — a DELETED CA within its
// restore window does): r was permanently deleted. The revocation is
// recorded all the same — a key compromise still blocks the key
// (inventory.RevokeSerial) — but nothing would tell the revoker that no
// relying party learns of it (tester: revoking a certificate of a
// permanently deleted CA reported a plain success).
func (r *Record) Unpublished(now time.Time) string {
	if r.publishesRevocation(now) {
		return ""
	}
	if r.Status == StatusDeleted {
		return "its issuing certificate authority " + r.ID + " was permanently deleted: no CRL or OCSP answer will carry this revocation (the vault records it)"
	}
	return "its issuing certificate authority " + r.ID + " has no certificate: no CRL or OCSP answer carries this revocation (the vault records it)"
}

// UnpublishedBy is Unpublished for the CA caID, read in tx ("" when it
// cannot be read: a notice, not a rule).
func UnpublishedBy(tx localstore.Tx, caID string, now time.Time) string {
	if caID == "" {
		return ""
	}
	r, err := Get(tx, caID)
	if err != nil {
		return ""
	}
	return r.Unpublished(now)
}

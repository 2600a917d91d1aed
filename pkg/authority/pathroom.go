package authority

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// noPathLimit is the room of a CA whose chain constrains no path length.
const noPathLimit = 1 << 30

// pathRoom is how many CA certificates may still follow cert in a path
// that verifies, under the path length constraints of cert and of every
// certificate of its chain (its issuers, up to the root): a constraint
// pathlen:p at i certificates above cert leaves p-i. Verifiers apply every
// certificate's constraint, the root's included (Go's crypto/x509 and
// OpenSSL do), so that what a CA signs verifies only when each leaves
// room for it: 0 lets the CA sign end-entity certificates but no CA
// certificate, a negative room nothing at all. by is the certificate
// whose constraint leaves the least room (nil: none constrains the path).
func pathRoom(cert *x509.Certificate, chain []*x509.Certificate) (room int, by *x509.Certificate) {
	room = noPathLimit
	for i := -1; i < len(chain); i++ {
		c := cert
		if i >= 0 {
			c = chain[i]
		}
		if n := pathLen(c); n >= 0 && n-(i+1) < room {
			room, by = n-(i+1), c
		}
	}
	return room, by
}

// roomText says which constraint sets room, for messages.
func roomText(cert, by *x509.Certificate) string {
	if by == cert {
		return fmt.Sprintf("its own path length constraint (%s)", pathLenText(by))
	}
	return fmt.Sprintf("the path length constraint of %s (%s) above it", x509util.Subject(by), pathLenText(by))
}

// checkSignRoom refuses (exit 5) to sign template t as CA r (certificate
// cert, chain) where the path length constraints of r's chain make it
// fail verification: anything, when r itself is already deeper than they
// allow (a CA made before this check, or under a chain tightened since);
// a CA certificate, when they allow none below r; a CA certificate whose
// own constraint allows more below it than they leave (AWS Private CA's
// rule: a CA's path length is less than its issuer's).
func checkSignRoom(r *Record, cert *x509.Certificate, chain []*x509.Certificate, t *x509.Certificate) error {
	room, by := pathRoom(cert, chain)
	switch {
	case room < 0:
		return invalidState("certificate authority %s is deeper than %s allows: nothing it signs would verify", r.ID, roomText(cert, by))
	case !t.IsCA || room == noPathLimit:
		return nil
	case room == 0:
		return invalidState("certificate authority %s may not sign CA certificates: %s allows no CA below it", r.ID, roomText(cert, by))
	}
	if n := pathLen(t); n < 0 || n > room-1 {
		return invalidState("certificate authority %s may sign CA certificates with a path length of at most %d (%s)", r.ID, room-1, roomText(cert, by))
	}
	return nil
}

// checkImportRoom refuses (exit 4) cert, with its chain, as the
// certificate of CA r (nil: a CA imported) when the path length constraints of cert and its
// chain would make what hangs below r fail verification: anything r
// signs, when r is deeper than they allow; on a renewal (r already
// active), the vault's CAs below r and the CA certificates r signed that
// are neither expired nor revoked, each of which may have as many CAs
// below it as its own constraint allows.
func checkImportRoom(tx localstore.Tx, r *Record, cert *x509.Certificate, chain []*x509.Certificate, renewal bool, now time.Time) error {
	room, by := pathRoom(cert, chain)
	if room < 0 {
		return errs.Invalidf("%s is deeper than %s allows: nothing it signed would verify", x509util.Subject(cert), roomText(cert, by))
	}
	if !renewal || room == noPathLimit {
		return nil
	}
	need, err := depthBelow(tx, r.ID)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("has CAs %d level(s) below it", need)
	issued, err := tx.ListIssued(r.ID)
	if err != nil {
		return err
	}
	for _, s := range issued {
		isCA, n := casign.IsCATemplate(s.Template)
		if !isCA || s.Template == casign.PCARootCA || !s.RevokedAt.IsZero() || !s.NotAfter.After(now) {
			continue
		}
		d := noPathLimit
		if n >= 0 {
			d = 1 + n
		}
		if d > need {
			need, what = d, fmt.Sprintf("signed a CA certificate (serial %s, %s) that allows CAs %s below it", s.Serial, s.Template, levels(d))
		}
	}
	if room < need {
		return errs.Invalidf("%s leaves room for %s below certificate authority %s, but it %s, which would no longer verify: sign its CSR with a template allowing more",
			roomText(cert, by), levels(room), r.ID, what)
	}
	return nil
}

// levels says how many levels of CAs n is.
func levels(n int) string {
	if n >= noPathLimit {
		return "any number of levels"
	}
	return fmt.Sprintf("%d level(s)", n)
}

// chainLink is a certificate of a CA's chain that a CA of the vault
// issued: its issuer and serial, and what it is (for messages).
type chainLink struct{ issuer, serial, what string }

// chainLinks are the certificates of r's chain — its own cert, then the
// chain's — that CAs of the vault issued, each named by the vault CA
// whose certificate signed it: those of the vault's CAs above r, and
// those of an outside chain that a CA of the vault signed with ca issue
// (tester: only the vault CAs' own links were looked at).
func chainLinks(tx localstore.Tx, r *Record, cert *x509.Certificate, chain []*x509.Certificate) ([]chainLink, error) {
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	return chainLinksAmong(all, cert, chain), nil
}

// chainLinksAmong is chainLinks with the vault's CAs all read.
func chainLinksAmong(all []*Record, cert *x509.Certificate, chain []*x509.Certificate) []chainLink {
	type ca struct {
		id   string
		cert *x509.Certificate
	}
	var cas []ca
	for _, a := range all {
		if a.CertificatePEM == "" {
			continue
		}
		if c, err := a.Certificate(); err == nil {
			cas = append(cas, ca{a.ID, c})
		}
	}
	var out []chainLink
	for i := -1; i < len(chain); i++ {
		c, what := cert, "its certificate"
		if i >= 0 {
			c, what = chain[i], "the certificate of "+x509util.Subject(chain[i])+" above it"
		}
		if issuedBy(c, c) {
			continue // a root: no issuer to revoke it
		}
		for _, a := range cas {
			if issuedBy(c, a.cert) {
				out = append(out, chainLink{issuer: a.id, serial: x509util.FormatSerial(c.SerialNumber), what: what})
			}
		}
	}
	return out
}

// SigningBlocked says why r signs nothing, whatever its status, or ""
// when nothing stops it: its key revoked for compromise (KeyRevoked), or
// its certificate or one above it revoked (checkChainRevoked) — what every
// issuance would be refused for (exit 5). all are the vault's CAs
// (List), read once for many.
func SigningBlocked(tx localstore.Tx, all []*Record, r *Record) (string, error) {
	if r.KeyRevoked != "" {
		return "its key was revoked for compromise (" + r.KeyRevoked + ")", nil
	}
	if r.CertificatePEM == "" {
		return "", nil
	}
	cert, err := r.Certificate()
	if err != nil {
		return "", err
	}
	chain, err := r.Chain()
	if err != nil {
		return "", err
	}
	err = checkChainRevoked(tx, r, chainLinksAmong(all, cert, chain))
	if errs.ExitCodeOf(err) == errs.ExitRefused {
		var ce *errs.Error
		if errors.As(err, &ce) {
			return ce.Msg, nil
		}
	}
	return "", err
}

// checkChainRevoked refuses (exit 5) to sign as r when a certificate of
// its chain is revoked — r's own, or a CA's above it, for any reason:
// relying parties that check revocation refuse everything that chains
// through it (tester: the subordinates of a CA revoked for compromise
// went on issuing). It lifts when the CA gets a certificate that is not
// (ca import-certificate).
func checkChainRevoked(tx localstore.Tx, r *Record, links []chainLink) error {
	for _, l := range links {
		at, reason, err := tx.SerialRevocation(l.issuer, l.serial)
		if errors.Is(err, localstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if at.IsZero() {
			continue
		}
		return invalidState("certificate authority %s signs nothing that would verify: %s (serial %s of CA %s) is revoked (%s, %s)",
			r.ID, l.what, l.serial, l.issuer, casign.ReasonName(reason), timeutil.RFC3339(at)).
			WithHint("give it a certificate that is not revoked (certctl ca csr, then ca import-certificate), or issue from another CA")
	}
	return nil
}

// issuedBy reports whether issuer issued c, for chainLinks: under
// issuer's subject and with its key — the key known by identifier when
// c's authority key identifier is issuer's subject key identifier (as
// path builders match them, RFC 5280 4.2.1.1), and by c's signature
// otherwise. A chain's
// links are looked up on every signer a process builds, and the first
// check of a P-384 root's signature costs a few milliseconds — more than
// the rest of a leaf's cryptography; what the signature would add here
// is nothing a store written behind certctl's back could not undo more
// simply, by deleting the revocation the link leads to.
func issuedBy(c, issuer *x509.Certificate) bool {
	if !bytes.Equal(c.RawIssuer, issuer.RawSubject) {
		return false
	}
	if len(c.AuthorityKeyId) > 0 && bytes.Equal(c.AuthorityKeyId, issuer.SubjectKeyId) {
		return true
	}
	// Identifiers that differ do not prove another key: a CA renewed
	// with its key may carry an identifier computed another way, and
	// what it signed before names the old one (review). A link missed
	// would let a revoked one sign on; one found more only refuses.
	return c.CheckSignatureFrom(issuer) == nil
}

// signedBy reports whether issuer's key signed c under issuer's subject
// (c self-signed when issuer is c).
func signedBy(c, issuer *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, issuer.RawSubject) && c.CheckSignatureFrom(issuer) == nil
}

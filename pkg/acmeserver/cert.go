package acmeserver

import (
	"bytes"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
)

// handleCertificate serves the certificate of a valid order as a PEM chain
// (leaf, then its issuers; a self-signed root above the issuer is left to
// the trust store), by POST-as-GET.
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request) {
	// The order is read with the endpoint and account, and the
	// certificate with the order when the order has one.
	var v *localstore.CertificateVersion
	var verr error
	fetched := false
	version := func(tx localstore.Tx, o *acmestate.Order) {
		if o.Status == acmestate.AcmeValid && o.CertificateID != "" {
			v, verr = tx.GetVersion(o.CertificateID, o.CertificateVersion)
			fetched = true
		}
	}
	var pre *readOrder
	ep, req, ok := s.postAsGetWith(w, r, s.readOrderAhead(r, &pre, true, version))
	if !ok {
		return
	}
	o, p := s.loadOrderFrom(r, ep, req, pre, true, version)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if o.Status != acmestate.AcmeValid || o.CertificateID == "" {
		writeProblem(w, problem(errMalformed, http.StatusNotFound, "the order has no certificate"))
		return
	}
	if !fetched {
		verr = s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
			var err error
			v, err = tx.GetVersion(o.CertificateID, o.CertificateVersion)
			return err
		})
	}
	if errors.Is(verr, localstore.ErrNotFound) {
		writeProblem(w, problem(errMalformed, http.StatusNotFound, "the certificate is no longer in the vault"))
		return
	}
	if verr != nil {
		writeProblem(w, s.internal(verr))
		return
	}
	issuers, err := s.issuers.pem(v.ChainPEM, s.selfSigned.check)
	if err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	var out bytes.Buffer
	out.Grow(len(v.CertificatePEM) + 1 + len(issuers))
	out.Write(v.CertificatePEM)
	if len(out.Bytes()) > 0 && out.Bytes()[out.Len()-1] != '\n' {
		out.WriteByte('\n')
	}
	out.Write(issuers)
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// maxSelfSignedCache bounds the certificates whose self-signature verdict
// is remembered (the vault's CA certificates: a handful).
const maxSelfSignedCache = 256

// selfSignedCache remembers isSelfSigned for the chain certificates served
// with every download, so that each does not verify the CA's signature
// again (a P-384 verification was a fifth of the server's CPU per order).
type selfSignedCache struct {
	mu sync.Mutex
	m  map[string]bool // DER → verdict
}

func (sc *selfSignedCache) check(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		return false
	}
	sc.mu.Lock()
	v, ok := sc.m[string(c.Raw)]
	sc.mu.Unlock()
	if ok {
		return v
	}
	v = isSelfSigned(c)
	sc.mu.Lock()
	if sc.m == nil {
		sc.m = make(map[string]bool)
	}
	if len(sc.m) < maxSelfSignedCache {
		sc.m[string(c.Raw)] = v
	}
	sc.mu.Unlock()
	return v
}

// issuersCache remembers the issuers part of the chains served (the
// vault's CA chains: a handful), so that a download does not parse and
// re-encode the same chain each time.
type issuersCache struct {
	mu sync.Mutex
	m  map[string][]byte // chain PEM → issuers PEM served
}

// pem is the PEM of the certificates of chainPEM that are served after
// the leaf: all but a self-signed root above the first (the issuer). The
// bytes returned are shared: not to be modified.
func (c *issuersCache) pem(chainPEM []byte, selfSigned func(*x509.Certificate) bool) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.m[string(chainPEM)]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	chain, err := pemio.ParseCertificatesPEM(chainPEM)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for i, cert := range chain {
		// The root is left to the trust store, unless it is the issuer
		// itself (an endpoint on a vault root CA): clients such as certbot
		// refuse a chain of the leaf alone.
		if i > 0 && selfSigned(cert) {
			continue
		}
		out.Write(pemio.EncodeCertificatesPEM(cert))
	}
	b = out.Bytes()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSelfSignedCache {
		c.m = make(map[string][]byte)
	}
	c.m[string(chainPEM)] = b
	c.mu.Unlock()
	return b, nil
}

package acmeserver

import (
	"bytes"
	"crypto/x509"
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
	ep, req, ok := s.postAsGet(w, r)
	if !ok {
		return
	}
	o, p := s.loadOrder(r, ep, req)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if o.Status != acmestate.AcmeValid || o.CertificateID == "" {
		writeProblem(w, problem(errMalformed, http.StatusNotFound, "the order has no certificate"))
		return
	}
	var v *localstore.CertificateVersion
	err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		var err error
		v, err = tx.GetVersion(o.CertificateID, o.CertificateVersion)
		return err
	})
	if err != nil {
		writeProblem(w, problem(errMalformed, http.StatusNotFound, "the certificate is no longer in the vault"))
		return
	}
	chain, err := pemio.ParseCertificatesPEM(v.ChainPEM)
	if err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	var out bytes.Buffer
	out.Write(v.CertificatePEM)
	if len(out.Bytes()) > 0 && out.Bytes()[out.Len()-1] != '\n' {
		out.WriteByte('\n')
	}
	for i, c := range chain {
		// The root is left to the trust store, unless it is the issuer
		// itself (an endpoint on a vault root CA): clients such as certbot
		// refuse a chain of the leaf alone.
		if i > 0 && s.selfSigned.check(c) {
			continue
		}
		out.Write(pemio.EncodeCertificatesPEM(c))
	}
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

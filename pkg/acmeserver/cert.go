package acmeserver

import (
	"bytes"
	"crypto/x509"
	"net/http"

	"github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
)

// handleCertificate serves the certificate of a valid order as a PEM chain
// (leaf, then its issuers; the self-signed root is left to the trust
// store), by POST-as-GET.
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
	if o.Status != endpoint.AcmeValid || o.CertificateID == "" {
		writeProblem(w, problem(errMalformed, http.StatusNotFound, "the order has no certificate"))
		return
	}
	var v *localstore.CertificateVersion
	err := s.cfg.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
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
	for _, c := range chain {
		if isSelfSigned(c) {
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

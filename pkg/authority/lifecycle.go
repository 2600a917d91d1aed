package authority

import (
	"bytes"
	"crypto/x509"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
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
	if status == StatusActive && r.EffectiveStatus(s.Now()) == StatusExpired {
		return invalidState("certificate authority %s has expired", r.ID)
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
	if r.Status == StatusActive && r.EffectiveStatus(s.Now()) == StatusActive {
		return invalidState("certificate authority %s is ACTIVE", r.ID).
			WithHint("disable it first: certctl ca update %s --status DISABLED", r.ID)
	}
	r.PreviousStatus = r.Status
	s.setStatus(r, StatusDeleted)
	r.RestorableUntil = r.LastStateChangeAt.Add(time.Duration(days) * timeutil.Day)
	return Put(tx, r)
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
			r.BuiltIn = ""
		}
	}
	prev := r.PreviousStatus
	if prev == "" {
		prev = StatusDisabled
	}
	s.setStatus(r, prev)
	r.PreviousStatus, r.RestorableUntil = "", time.Time{}
	return Put(tx, r)
}

// ImportCertificate activates a PENDING_CERTIFICATE CA with the certificate
// an external CA signed for its CSR, and that certificate's chain.
func (s *Service) ImportCertificate(tx localstore.Tx, r *Record, certPEM, chainPEM []byte) error {
	if r.Status != StatusPendingCertificate {
		return invalidState("certificate authority %s is %s, not PENDING_CERTIFICATE", r.ID, r.Status)
	}
	certs, err := pemio.ParseCertificatesPEM(certPEM)
	if err != nil {
		return errs.Invalidf("%v", err)
	}
	cert := certs[0]
	var chain []*x509.Certificate
	if len(chainPEM) > 0 {
		if chain, err = pemio.ParseCertificatesPEM(chainPEM); err != nil {
			return errs.Invalidf("certificate chain: %v", err)
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
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return errs.Invalidf("the certificate is not a CA certificate (BasicConstraints CA:TRUE is missing)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errs.Invalidf("the certificate may not sign certificates (Key Usage lacks keyCertSign)")
	}
	if len(chain) == 0 {
		return errs.Invalidf("give the issuer's chain with --certificate-chain")
	}
	roots := x509.NewCertPool()
	inter := x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1])
	for _, c := range chain[:len(chain)-1] {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: s.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return errs.Invalidf("the certificate does not verify against its chain: %v", err)
	}
	r.setCertificate(cert, chain)
	r.CSRPEM = ""
	s.setStatus(r, StatusActive)
	return Put(tx, r)
}

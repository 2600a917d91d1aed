package inventory

import (
	"crypto"
	"crypto/x509"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// NewIssuedRecord builds the record of a certificate certctl issues, before
// it is signed: the caller passes its ID to the CA so the serial is bound
// to it, then calls StoreIssued.
func NewIssuedRecord(id, typ, caID string, tags []localstore.Tag, exportOption, ctLogging string, now time.Time) *localstore.Certificate {
	return &localstore.Certificate{
		ID:                     id,
		Type:                   typ,
		KeyPairOrigin:          OriginVault,
		CertificateAuthorityID: caID,
		CreatedAt:              now,
		UpdatedAt:              now,
		RenewalEligibility:     Ineligible,
		Tags:                   tags,
		ExportOption:           exportOption,
		CTLoggingPreference:    ctLogging,
	}
}

// StoreIssued records a newly signed version of c (its first, or a
// renewal) with its chain in PEM (authority.Issued.ChainPEM) and its
// sealed key, makes it current and recomputes c's renewal eligibility
// (UpdateEligibility), writing the record once.
func StoreIssued(tx localstore.Tx, v *localstore.Vault, c *localstore.Certificate, leaf *x509.Certificate, chainPEM []byte, key crypto.Signer, now time.Time) error {
	c.Version++
	c.Status = StatusIssued
	c.IssuedAt = now
	c.UpdatedAt = now
	c.FailureReason = ""
	if err := fillFromLeaf(c, leaf); err != nil {
		return err
	}
	UpdateEligibility(c, now)
	ref := KeyRef(c.ID, c.Version)
	if key != nil {
		if err := v.SealKey(tx, ref, key); err != nil {
			return err
		}
	} else {
		ref = ""
	}
	ver := NewVersion(c.Version, leaf, chainPEM, ref)
	ver.IssuedAt = now
	if err := tx.PutVersion(c.ID, ver); err != nil {
		return err
	}
	return tx.PutCertificate(c)
}

// UpdateEligibility recomputes ACM's renewal eligibility of c: VAULT-origin
// ISSUED or PRIVATE certificates that were exported or are in use, and are
// neither expired nor revoked.
func UpdateEligibility(c *localstore.Certificate, now time.Time) {
	c.RenewalEligibility = Ineligible
	if c.KeyPairOrigin != OriginVault || (c.Type != TypeIssued && c.Type != TypePrivate) {
		return
	}
	if c.Status != StatusIssued || (!c.NotAfter.IsZero() && now.After(c.NotAfter)) {
		return
	}
	if c.Exported || c.InUse() {
		c.RenewalEligibility = Eligible
	}
}

package inventory

import (
	"crypto"
	"crypto/x509"
	"time"

	"github.com/certctl/certctl/pkg/errs"
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
	if key != nil { // the vault's key: a version hosts install (deploy)
		if err := CheckNotOlder(c, leaf.NotBefore, now); err != nil {
			return err
		}
	}
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

// MaxClockBehind is how far behind the clock of the host that made a
// certificate's current version another host's clock is taken to be, at
// most, by CheckNotOlder.
const MaxClockBehind = 24 * time.Hour

// CheckNotOlder refuses (exit 5) a new version of c whose certificate
// would start at notBefore, before c's current certificate does: made by
// a host whose clock is behind the one that made the current version
// (now is this host's time), it would be refused by every host that
// installed the current one — a certificate older than what a target
// holds is never installed over it (deploy.Host.Decide) — until the
// certificate next came due, months on (tester: a host an hour slow
// renewed, the others refused the renewal at every pass). The host with
// the wrong clock is told, and nothing is made. StoreIssued checks it of
// every version whose key the vault holds; a version an ACME client holds
// the key of is installed by no host, and is not refused.
//
// A current version starting more than MaxClockBehind after notBefore is
// taken for no clock's: a certificate valid only from years on is one the
// store was made to hold (a reviewer's case: valid from 2099), which no
// host installs, and which the renewal replaces.
func CheckNotOlder(c *localstore.Certificate, notBefore, now time.Time) error {
	if c.Version == 0 || c.NotBefore.IsZero() || !notBefore.Before(c.NotBefore) || c.NotBefore.Sub(notBefore) > MaxClockBehind {
		return nil
	}
	// One host cannot tell its clock behind from the other's ahead
	// (review: the fast one's version is what needs replacing): both are
	// said, and when this host's clock lets a renewal be made.
	return errs.Refusedf("certificate %s: a new version made now would be valid from %s, before its current version %d (valid from %s): this host's clock (%s) is behind, or the clock of the host that made version %d was ahead",
		c.ID, notBefore.UTC().Format(time.RFC3339), c.Version, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), c.Version).
		WithHint("set the wrong clock right (NTP): every host that installed version %d would refuse an older certificate; on this host's clock a renewal can be made from %s",
			c.Version, now.Add(c.NotBefore.Sub(notBefore)).UTC().Format(time.RFC3339))
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

// Package renewal is managed renewal: which certificates are due, renewing
// them (same ARN, new key pair and serial, previous version kept), and the
// cron pass that also expires certificates and emits expiry events.
package renewal

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/x509util"
)

// Outcomes of a certificate in a renewal run.
const (
	Renewed           = "RENEWED"
	NotDue            = "NOT_DUE"
	Ineligible        = "INELIGIBLE"
	Failed            = "FAILED"
	PendingValidation = "PENDING_VALIDATION"
)

// Renewal statuses (ACM).
const (
	StatusPendingAutoRenewal = "PENDING_AUTO_RENEWAL"
	StatusPendingValidation  = "PENDING_VALIDATION"
	StatusSuccess            = "SUCCESS"
	StatusFailed             = "FAILED"
)

// Policy holds the renewal windows.
type Policy struct {
	Window      time.Duration // renewal.window
	EmailWindow time.Duration // renewal.email_window
	// Within, when set, replaces the window (uncapped) for one run.
	Within time.Duration
}

// WindowFor is the renewal window of c: the configured window (the EMAIL
// one for EMAIL-validated certificates) capped at a third of the
// certificate's lifetime, or Within when set.
func (p Policy) WindowFor(c *localstore.Certificate) time.Duration {
	if p.Within > 0 {
		return p.Within
	}
	w := p.Window
	if c.ValidationMethod == "EMAIL" {
		w = p.EmailWindow
	}
	if life := c.NotAfter.Sub(c.NotBefore); life > 0 && w > life/3 {
		w = life / 3
	}
	return w
}

// Due reports whether c is within its renewal window at now.
func (p Policy) Due(c *localstore.Certificate, now time.Time) bool {
	return !now.Before(c.NotAfter.Add(-p.WindowFor(c)))
}

// Eligible reports whether c may be renewed (ACM's rules) and why not.
func Eligible(c *localstore.Certificate, now time.Time) (bool, string) {
	switch {
	case c.KeyPairOrigin == inventory.OriginACME:
		return false, "ACME certificates are renewed by their ACME client"
	case c.Type == inventory.TypeImported:
		return false, "imported certificates are not renewed by certctl; reimport a new one"
	case c.KeyPairOrigin != inventory.OriginVault:
		return false, "the key is not held by the vault"
	case c.Status == inventory.StatusRevoked:
		return false, "the certificate is revoked"
	case c.Status == inventory.StatusExpired || (!c.NotAfter.IsZero() && now.After(c.NotAfter)):
		return false, "the certificate has expired"
	case c.Status != inventory.StatusIssued:
		return false, "the certificate is " + c.Status
	case !c.Exported && !c.InUse():
		return false, "the certificate is neither exported (since it was issued or last renewed) nor deployed to any target"
	}
	return true, ""
}

// Renewer renews certificates in transactions.
type Renewer struct {
	Vault     *localstore.Vault
	Authority *authority.Service
	Validity  time.Duration
	Now       func() time.Time
	// Requester is recorded with each certificate issued (see
	// authority.Requester).
	Requester string
}

// NewKey makes a key of c's algorithm (outside the transaction: RSA key
// generation is slow and need not hold the write lock).
func NewKey(c *localstore.Certificate) (crypto.Signer, error) {
	return x509util.GenerateKey(c.KeyAlgorithm)
}

// Renew issues a new version of c with key in tx: same ARN, new serial,
// previous version kept, Exported reset (as in ACM), an Available event
// with Action RENEWAL.
func (r *Renewer) Renew(tx localstore.Tx, c *localstore.Certificate, key crypto.Signer, em *events.Emitter) error {
	now := r.Now()
	caRec, err := r.check(tx, c, now)
	if err != nil {
		return err
	}
	if caRec == nil {
		if caRec, err = r.Authority.EnsurePublic(tx, key.Public()); err != nil {
			return err
		}
	}
	// A leaf older than the current version is refused by StoreIssued,
	// on the leaf itself (Check foresees it for a dry run).
	issued, err := r.Authority.IssueLeaf(tx, caRec, authority.LeafParams{
		CertID: c.ID, Names: c.SubjectAlternativeNames, PublicKey: key.Public(),
		Validity: r.Validity, ClientAuth: c.Type == inventory.TypePrivate, Requester: r.Requester, GeneratedKey: true,
	})
	if err != nil {
		return err
	}
	c.CertificateAuthorityID = caRec.ID
	c.Exported = false
	c.Renewal = &localstore.RenewalSummary{Status: StatusSuccess, UpdatedAt: now}
	delete(c.Extra, toldKey) // what fails from now on is news
	if err := inventory.StoreIssued(tx, r.Vault, c, issued.Certificate, issued.ChainPEM, key, now); err != nil {
		return err
	}
	return em.EmitAvailable(tx, c, events.ActionRenewal)
}

// Check runs the rules of Renew that need no signature, in a read
// transaction: c is eligible, its record names its certificate's names,
// and the CA that would sign it may issue a leaf of the renewal's
// validity now (not DISABLED, EXPIRED or DELETED, its key not revoked,
// the leaf ending within it, and starting no earlier than c's current
// certificate). renew --dry-run reports with it what the
// renewal would refuse.
func (r *Renewer) Check(tx localstore.Tx, c *localstore.Certificate) error {
	now := r.Now()
	caRec, err := r.check(tx, c, now)
	if err != nil {
		return err
	}
	if caRec == nil { // a public-style certificate: its CA, or the root it would be made under
		if caRec, err = r.Authority.PublicIssuer(tx, c.KeyAlgorithm); err != nil || caRec == nil {
			return err
		}
	}
	// The leaf's start is the authority's, not a guess (review: a
	// SHORT_LIVED_CERTIFICATE CA's leaf of 7 days starts now, not a
	// minute before); StoreIssued refuses the real leaf when it is older
	// than c's current certificate (inventory.CheckNotOlder).
	v, err := r.Authority.LeafValidity(caRec, r.Validity)
	if err != nil {
		return err
	}
	return inventory.CheckNotOlder(c, v.NotBefore, now)
}

// check is Renew's and Check's rules before the CA signs, and the
// private CA that signs c (nil for a public-style certificate, which
// EnsurePublic gives its CA).
func (r *Renewer) check(tx localstore.Tx, c *localstore.Certificate, now time.Time) (*authority.Record, error) {
	if ok, why := Eligible(c, now); !ok {
		return nil, errs.Refusedf("certificate %s is not eligible for renewal: %s", c.ID, why)
	}
	if err := checkNames(tx, c); err != nil {
		return nil, err
	}
	if c.Type != inventory.TypePrivate {
		return nil, nil
	}
	caRec, err := authority.Get(tx, c.CertificateAuthorityID)
	if err != nil {
		return nil, err
	}
	// Issued from the public-style hierarchy by a release before the
	// rule: not renewed from it.
	if err := authority.CheckPrivateIssuer(tx, caRec); err != nil {
		return nil, err
	}
	return caRec, nil
}

// checkNames refuses to renew c when its record's names are not those of
// its current certificate (the record was changed outside certctl): a
// renewal signs the record's names, and the names a certificate was
// issued for — checked by validation or granted by the CA's rules — are
// those its certificate carries.
func checkNames(tx localstore.Tx, c *localstore.Certificate) error {
	v, err := tx.GetVersion(c.ID, c.Version)
	if err != nil {
		return err
	}
	certs, err := pemio.ParseCertificatesPEM(v.CertificatePEM)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("%w: certificate %s version %d: its certificate is unreadable: %v", localstore.ErrCorrupt, c.ID, c.Version, err)
	}
	if why := inventory.NamesMismatch(c, certs[0]); why != "" {
		return errs.VaultErrorf("certificate %s: %s — one of them was changed outside certctl: it is not renewed", c.ID, why).
			WithCode(ReasonRecordMismatch).WithHint("run certctl vault verify")
	}
	return nil
}

// ReasonRecordMismatch is the error code of a renewal refused because the
// record's names are not its certificate's.
const ReasonRecordMismatch = "RecordMismatch"

// RecordFailure stores a failed renewal on c, and tells it (a Certificate
// Renewal Action Required event) unless a failure for the same reason was
// told since c last renewed (see told): every failing pass of a cron job
// emitted it again (tester), and an EMAIL renewal whose mail fails went
// pending then failed at every pass, two events each (review). The
// summary's time still moves: when it was last tried. message, when not
// empty, is why in words (never a secret), kept in the summary for describe.
func RecordFailure(tx localstore.Tx, c *localstore.Certificate, reason, message string, now time.Time, em *events.Emitter) error {
	already := c.Renewal != nil && c.Renewal.Status == StatusFailed && c.Renewal.Reason == reason
	c.Renewal = &localstore.RenewalSummary{Status: StatusFailed, Reason: reason, UpdatedAt: now, Message: message}
	tell := !already && markTold(c, StatusFailed+" "+reason)
	if err := tx.PutCertificate(c); err != nil {
		return err
	}
	if !tell {
		return nil
	}
	d := events.CertificateDetail(c, now)
	d["RenewalStatus"] = StatusFailed
	d["RenewalStatusReason"] = reason
	return em.Emit(tx, events.RenewalActionRequired, []string{em.ARN(c.ID)}, d)
}

// toldKey keeps, among a certificate's Extra, the renewal states its
// Renewal Action Required events told since it last renewed ("|"
// between them: "PENDING_VALIDATION", "FAILED <reason>"), each told once;
// a renewal that succeeds forgets them.
const toldKey = "renewalActionTold"

// markTold notes state as told on c and reports whether it was not yet.
func markTold(c *localstore.Certificate, state string) bool {
	told := c.Extra[toldKey]
	if told != "" && slices.Contains(strings.Split(told, "|"), state) {
		return false
	}
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	if told != "" {
		told += "|"
	}
	c.Extra[toldKey] = told + state
	return true
}

// ReasonPendingDomainValidation is ACM's RenewalStatusReason of a renewal
// that waits for domain validation.
const ReasonPendingDomainValidation = "PENDING_DOMAIN_VALIDATION"

// SetPendingValidation sets c's renewal summary to PENDING_VALIDATION
// for reason ("" is ReasonPendingDomainValidation), as
// MarkPendingValidation records it, and reports whether that changed it
// (a summary saying so already, for the same reason, is left as it is).
// A dry run uses it alone, on a copy, to tell what the pass would change.
func SetPendingValidation(c *localstore.Certificate, reason string, now time.Time) bool {
	if reason == "" {
		reason = ReasonPendingDomainValidation
	}
	if c.Renewal != nil && c.Renewal.Status == StatusPendingValidation && c.Renewal.Reason == reason {
		return false
	}
	c.Renewal = &localstore.RenewalSummary{Status: StatusPendingValidation, Reason: reason, UpdatedAt: now}
	return true
}

// MarkPendingValidation records that the renewal of c waits for domain
// validation: RenewalSummary PENDING_VALIDATION with reason, ACM's
// RenewalStatusReason code — PENDING_DOMAIN_VALIDATION when empty, or that
// of a definite failure such as CAA_ERROR — and, when the renewal was not
// already pending, a Certificate Renewal Action Required event. c stays
// ISSUED and usable. It stores c.
func MarkPendingValidation(tx localstore.Tx, c *localstore.Certificate, reason string, now time.Time, em *events.Emitter) error {
	already := c.Renewal != nil && c.Renewal.Status == StatusPendingValidation
	if !SetPendingValidation(c, reason, now) {
		return tx.PutCertificate(c)
	}
	tell := !already && markTold(c, StatusPendingValidation)
	if err := tx.PutCertificate(c); err != nil {
		return err
	}
	if !tell {
		return nil
	}
	d := events.CertificateDetail(c, now)
	d["RenewalStatus"] = StatusPendingValidation
	d["RenewalStatusReason"] = c.Renewal.Reason
	return em.Emit(tx, events.RenewalActionRequired, []string{em.ARN(c.ID)}, d)
}

// FailureReason maps an error to ACM's RenewalStatusReason codes.
func FailureReason(err error) string {
	var ce *errs.Error
	if errors.As(err, &ce) {
		switch ce.Code {
		case authority.ReasonInvalidState, authority.ReasonInvalidDuration, authority.ReasonNotFound:
			return ce.Code
		}
	}
	return "OTHER"
}

// AccountConfig is ACM's account configuration.
type AccountConfig struct {
	DaysBeforeExpiry int `json:"DaysBeforeExpiry"`
}

// DefaultDaysBeforeExpiry is ACM's default.
const DefaultDaysBeforeExpiry = 45

const accountConfigKey = "account-config"

// GetAccountConfig reads the account configuration.
func GetAccountConfig(tx localstore.Tx) (AccountConfig, error) {
	cfg := AccountConfig{DaysBeforeExpiry: DefaultDaysBeforeExpiry}
	b, err := tx.GetMeta(accountConfigKey)
	if errors.Is(err, localstore.ErrNotFound) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	return cfg, json.Unmarshal(b, &cfg)
}

// PutAccountConfig writes the account configuration.
func PutAccountConfig(tx localstore.Tx, cfg AccountConfig) error {
	if cfg.DaysBeforeExpiry < 1 || cfg.DaysBeforeExpiry > 45 {
		return errs.Invalidf("--days-before-expiry must be 1 to 45 (ACM's range), not %d", cfg.DaysBeforeExpiry)
	}
	b, _ := json.Marshal(cfg)
	return tx.PutMeta(accountConfigKey, b)
}

// approachingKey is the Extra key holding the day (UTC) of c's last
// Approaching Expiration event.
const approachingKey = "approachingExpiryEventDay"

// HousekeepingDue reports whether Housekeep has something to do for c at
// now: move it to EXPIRED, or emit the day's Approaching Expiration event
// within daysBefore days of NotAfter.
func HousekeepingDue(c *localstore.Certificate, daysBefore int, now time.Time) bool {
	if c.Status != inventory.StatusIssued || c.NotAfter.IsZero() {
		return false
	}
	if now.After(c.NotAfter) {
		return true
	}
	// Whole days, as the event reports them (DaysToExpiry): a certificate
	// 19 days and some hours from expiry is 19 days from it.
	return events.DaysToExpiry(c.NotAfter, now) <= daysBefore &&
		c.Extra[approachingKey] != now.UTC().Format("2006-01-02")
}

// Housekeep moves an expired certificate to EXPIRED (with an Expired event)
// and emits the daily Approaching Expiration event within daysBefore days.
// It reports whether c changed.
func Housekeep(tx localstore.Tx, c *localstore.Certificate, daysBefore int, now time.Time, em *events.Emitter) (bool, error) {
	if !HousekeepingDue(c, daysBefore, now) {
		return false, nil
	}
	if now.After(c.NotAfter) {
		c.Status = inventory.StatusExpired
		c.UpdatedAt = now
		inventory.UpdateEligibility(c, now)
		if r := c.Renewal; r != nil && (r.Status == StatusPendingValidation || r.Status == StatusPendingAutoRenewal) {
			// A renewal still waiting when the certificate expires
			// failed, as in ACM (tester: it stayed PENDING_VALIDATION,
			// and validate check promised a renewal that renew refuses).
			c.Renewal = &localstore.RenewalSummary{Status: StatusFailed, Reason: r.Reason, UpdatedAt: now,
				Message: "the certificate expired while its renewal waited (" + r.Status + ")"}
		}
		if err := tx.PutCertificate(c); err != nil {
			return false, err
		}
		return true, em.Emit(tx, events.Expired, []string{em.ARN(c.ID)}, events.CertificateDetail(c, now))
	}
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	c.Extra[approachingKey] = now.UTC().Format("2006-01-02")
	if err := tx.PutCertificate(c); err != nil {
		return false, err
	}
	// RenewalEligibility tells an alert a certificate certctl renews
	// (ELIGIBLE) from one it will not: a short-lived one is renewed in
	// the last third of its life, after the events start (tester: a
	// 30-day certificate raised them daily from its first day).
	eligibility := inventory.Ineligible
	if ok, _ := Eligible(c, now); ok {
		eligibility = inventory.Eligible
	}
	d := map[string]any{"DaysToExpiry": events.DaysToExpiry(c.NotAfter, now), "CommonName": c.DomainName, "RenewalEligibility": eligibility}
	return true, em.Emit(tx, events.ApproachingExpiration, []string{em.ARN(c.ID)}, d)
}

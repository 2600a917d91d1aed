// Package authority holds the rules of certctl's certificate authorities
// (the AWS Private CA analogue): CA records in the vault, the default
// private and the built-in public-style hierarchies, issuance with
// persisted serials, revocation and CRLs. pkg/casign builds and signs the certificates;
// this package decides and persists, inside the caller's transaction
// (a localstore.Tx). The transactions themselves, their events and audit
// records belong to pkg/service/authorities (and to the other services
// that issue).
package authority

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// ObjectKind is the store kind of CA records.
const ObjectKind = "ca"

// CA statuses (AWS Private CA).
const (
	StatusCreating           = "CREATING"
	StatusPendingCertificate = "PENDING_CERTIFICATE"
	StatusActive             = "ACTIVE"
	StatusDisabled           = "DISABLED"
	StatusExpired            = "EXPIRED"
	StatusFailed             = "FAILED"
	StatusDeleted            = "DELETED"
)

// Statuses lists the CA statuses.
var Statuses = []string{StatusCreating, StatusPendingCertificate, StatusActive, StatusDisabled, StatusExpired, StatusFailed, StatusDeleted}

// CA types.
const (
	TypeRoot        = "ROOT"
	TypeSubordinate = "SUBORDINATE"
)

// Types lists the CA types.
var Types = []string{TypeRoot, TypeSubordinate}

// KeyAlgorithms are the key algorithms a CA may have.
var KeyAlgorithms = []string{x509util.RSA2048, x509util.RSA4096, x509util.ECPrime256v1, x509util.ECSecp384r1}

// Templates are the `ca issue` templates.
var Templates = []string{casign.TemplateEndEntity, casign.TemplateSubordinateCA, casign.TemplateRootCA}

// Built-in CA roles.
const (
	BuiltInDefaultRoot = "default-private-root"
	BuiltInDefault     = "default-private"
	BuiltInPublicRoot  = "public-root"
	BuiltInPublicRSA   = "public-rsa"
	BuiltInPublicECDSA = "public-ecdsa"
)

// ACM failure reasons used here.
const (
	ReasonInvalidState    = "PCA_INVALID_STATE"
	ReasonInvalidDuration = "PCA_INVALID_DURATION"
	ReasonNotFound        = "PCA_RESOURCE_NOT_FOUND"
	// ReasonDomainNotAllowed: a name the CA's name constraints forbid.
	ReasonDomainNotAllowed = "DOMAIN_NOT_ALLOWED"
)

// Record is a CA as stored in the vault.
type Record struct {
	ID                string           `json:"id"`
	Type              string           `json:"type"`
	Status            string           `json:"status"`
	PreviousStatus    string           `json:"previousStatus,omitempty"`
	ParentID          string           `json:"parentId,omitempty"`
	External          bool             `json:"external,omitempty"`
	Subject           Subject          `json:"subject"`
	KeyAlgorithm      string           `json:"keyAlgorithm"`
	SigningAlgorithm  string           `json:"signingAlgorithm"`
	Serial            string           `json:"serial,omitempty"`
	NotBefore         time.Time        `json:"notBefore,omitzero"`
	NotAfter          time.Time        `json:"notAfter,omitzero"`
	CreatedAt         time.Time        `json:"createdAt"`
	LastStateChangeAt time.Time        `json:"lastStateChangeAt"`
	RestorableUntil   time.Time        `json:"restorableUntil,omitzero"`
	FailureReason     string           `json:"failureReason,omitempty"`
	CertificatePEM    string           `json:"certificatePem,omitempty"`
	ChainPEM          string           `json:"chainPem,omitempty"`
	CSRPEM            string           `json:"csrPem,omitempty"`
	KeyRef            string           `json:"keyRef"`
	CRLNumber         int64            `json:"crlNumber,omitempty"`
	BuiltIn           string           `json:"builtIn,omitempty"`
	Tags              []localstore.Tag `json:"tags,omitempty"`
}

// Service runs CA operations inside the caller's transactions.
type Service struct {
	Vault *localstore.Vault
	Now   func() time.Time
	Rand  io.Reader
	// BaseURL is embedded in CRL distribution point and OCSP URLs when set.
	BaseURL string

	mu      sync.Mutex
	signers map[string]*cachedSigner
}

// cachedSigner is a CA's parsed certificate, chain and unsealed key, kept
// for the life of the Service (a long-running server issues many
// certificates from one CA). It is used only while the record still holds
// the same certificate and key reference.
type cachedSigner struct {
	certPEM, keyRef string
	cert            *x509.Certificate
	chain           []*x509.Certificate
	key             crypto.Signer
}

// New returns a service over v.
func New(v *localstore.Vault, now func() time.Time, baseURL string) *Service {
	return &Service{Vault: v, Now: now, Rand: rand.Reader, BaseURL: strings.TrimRight(baseURL, "/")}
}

func invalidState(format string, a ...any) *errs.Error {
	return errs.Refusedf(format, a...).WithCode(ReasonInvalidState)
}

// Get reads a CA record.
func Get(tx localstore.Tx, id string) (*Record, error) {
	o, err := tx.GetObject(ObjectKind, id)
	if err != nil {
		if errors.Is(err, localstore.ErrNotFound) {
			return nil, errs.NotFoundf("certificate authority %s not found", id).WithCode(ReasonNotFound)
		}
		return nil, err
	}
	r := &Record{}
	if err := json.Unmarshal(o.Data, r); err != nil {
		return nil, fmt.Errorf("%w: CA %s: %v", localstore.ErrCorrupt, id, err)
	}
	return r, nil
}

// Put writes a CA record.
func Put(tx localstore.Tx, r *Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.PutObject(&localstore.Object{Kind: ObjectKind, ID: r.ID, Data: data, UpdatedAt: r.LastStateChangeAt})
}

// List reads every CA record.
func List(tx localstore.Tx) ([]*Record, error) {
	objs, err := tx.ListObjects(ObjectKind)
	if err != nil {
		return nil, err
	}
	out := make([]*Record, 0, len(objs))
	for _, o := range objs {
		r := &Record{}
		if err := json.Unmarshal(o.Data, r); err != nil {
			return nil, fmt.Errorf("%w: CA %s: %v", localstore.ErrCorrupt, o.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Certificate parses the CA's certificate.
func (r *Record) Certificate() (*x509.Certificate, error) {
	if r.CertificatePEM == "" {
		return nil, invalidState("certificate authority %s has no certificate yet (status %s)", r.ID, r.Status)
	}
	certs, err := pemio.ParseCertificatesPEM([]byte(r.CertificatePEM))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%w: CA %s certificate unreadable", localstore.ErrCorrupt, r.ID)
	}
	return certs[0], nil
}

// Chain parses the CA's chain (its issuers, up to the root).
func (r *Record) Chain() ([]*x509.Certificate, error) {
	if r.ChainPEM == "" {
		return nil, nil
	}
	return pemio.ParseCertificatesPEM([]byte(r.ChainPEM))
}

// EffectiveStatus is the status with expiry applied.
func (r *Record) EffectiveStatus(now time.Time) string {
	if (r.Status == StatusActive || r.Status == StatusDisabled) && !r.NotAfter.IsZero() && now.After(r.NotAfter) {
		return StatusExpired
	}
	return r.Status
}

// signer returns the CA's certificate and unsealed key.
func (s *Service) signer(tx localstore.Tx, r *Record) (*x509.Certificate, crypto.Signer, error) {
	c, err := s.cached(tx, r)
	if err != nil {
		return nil, nil, err
	}
	return c.cert, c.key, nil
}

func (s *Service) cached(tx localstore.Tx, r *Record) (*cachedSigner, error) {
	s.mu.Lock()
	c := s.signers[r.ID]
	s.mu.Unlock()
	if c != nil && c.certPEM == r.CertificatePEM && c.keyRef == r.KeyRef {
		return c, nil
	}
	cert, err := r.Certificate()
	if err != nil {
		return nil, err
	}
	chain, err := r.Chain()
	if err != nil {
		return nil, err
	}
	key, err := s.Vault.OpenKey(tx, r.KeyRef)
	if err != nil {
		return nil, err
	}
	c = &cachedSigner{certPEM: r.CertificatePEM, keyRef: r.KeyRef, cert: cert, chain: chain, key: key}
	s.mu.Lock()
	if s.signers == nil {
		s.signers = map[string]*cachedSigner{}
	}
	s.signers[r.ID] = c
	s.mu.Unlock()
	return c, nil
}

// CheckCanIssue refuses issuance from a CA that is not ACTIVE.
func (s *Service) CheckCanIssue(r *Record) error {
	if st := r.EffectiveStatus(s.Now()); st != StatusActive {
		e := invalidState("certificate authority %s is %s, not ACTIVE", r.ID, st)
		switch st {
		case StatusDisabled:
			e = e.WithHint("enable it with: certctl ca update %s --status ACTIVE", r.ID)
		case StatusDeleted:
			e = e.WithHint("restore it within its window with: certctl ca restore %s", r.ID)
		case StatusPendingCertificate:
			e = e.WithHint("sign its CSR (certctl ca csr %s) and activate it with certctl ca import-certificate", r.ID)
		case StatusExpired:
			e = e.WithHint("create a new CA: an expired CA cannot issue")
		}
		return e
	}
	return nil
}

// reserveSerial draws random serials until one is free for issuer and
// records it: the serial is persisted (in the caller's transaction) before
// any certificate carrying it is signed.
func (s *Service) reserveSerial(tx localstore.Tx, issuer, certID string) (*big.Int, error) {
	for i := 0; i < 5; i++ {
		serial, err := casign.NewSerial(s.Rand)
		if err != nil {
			return nil, err
		}
		err = tx.ReserveSerial(issuer, x509util.FormatSerial(serial), certID, s.Now())
		if errors.Is(err, localstore.ErrConflict) {
			continue
		}
		return serial, err
	}
	return nil, errors.New("could not draw a unique serial number")
}

// Create makes a new CA per req.
type CreateRequest struct {
	Type         string
	KeyAlgorithm string
	Subject      Subject
	ParentID     string // SUBORDINATE signed in the vault
	External     bool   // SUBORDINATE left PENDING_CERTIFICATE
	Validity     time.Duration
	Tags         []localstore.Tag
	BuiltIn      string
	Requester    string // recorded with the CA's certificate (see Requester)
}

// Create creates a CA in tx.
func (s *Service) Create(tx localstore.Tx, req CreateRequest) (*Record, error) {
	now := s.Now()
	if req.Validity <= 0 {
		req.Validity = 10 * timeutil.Year
		if req.Type == TypeSubordinate {
			req.Validity = 5 * timeutil.Year
		}
	}
	key, err := x509util.GenerateKey(req.KeyAlgorithm)
	if err != nil {
		return nil, errs.UsageErrorf("%v", err)
	}
	sigAlg, err := casign.SigningAlgorithmName(key.Public())
	if err != nil {
		return nil, err
	}
	r := &Record{
		ID:                uuid.NewString(),
		Type:              req.Type,
		Subject:           req.Subject,
		KeyAlgorithm:      req.KeyAlgorithm,
		SigningAlgorithm:  sigAlg,
		CreatedAt:         now,
		LastStateChangeAt: now,
		Tags:              req.Tags,
		BuiltIn:           req.BuiltIn,
	}
	r.KeyRef = "ca/" + r.ID + "/key"
	if err := casign.ValidateSubject(req.Subject.Name()); err != nil {
		return nil, errs.Invalidf("subject: %v", err)
	}
	if err := s.Vault.SealKey(tx, r.KeyRef, key); err != nil {
		return nil, err
	}
	v := casign.Validity{NotBefore: now.Add(-time.Minute).Truncate(time.Second), NotAfter: now.Add(req.Validity).Truncate(time.Second)}
	switch {
	case req.Type == TypeRoot:
		serial, err := s.reserveSerial(tx, r.ID, "")
		if err != nil {
			return nil, err
		}
		cert, err := casign.Sign(casign.RootTemplate(req.Subject.Name(), key.Public(), serial, v), nil, key.Public(), key)
		if err != nil {
			return nil, err
		}
		if err := recordIssued(tx, r.ID, cert, TemplateNameRootCA, req.Requester); err != nil {
			return nil, err
		}
		r.setCertificate(cert, nil)
		r.Status = StatusActive
	case req.External:
		csr, err := x509.CreateCertificateRequest(s.Rand, &x509.CertificateRequest{Subject: req.Subject.Name()}, key)
		if err != nil {
			return nil, err
		}
		r.External = true
		r.CSRPEM = string(pemEncode("CERTIFICATE REQUEST", csr))
		r.Status = StatusPendingCertificate
	default:
		parent, err := Get(tx, req.ParentID)
		if err != nil {
			return nil, err
		}
		if err := s.CheckCanIssue(parent); err != nil {
			return nil, err
		}
		if err := checkMayCertifyCA(parent); err != nil {
			return nil, err
		}
		if v.NotAfter.After(parent.NotAfter) {
			return nil, errs.Refusedf("validity ends %s, after the parent CA's %s",
				timeutil.RFC3339(v.NotAfter), timeutil.RFC3339(parent.NotAfter)).WithCode(ReasonInvalidDuration)
		}
		pcert, pkey, err := s.signer(tx, parent)
		if err != nil {
			return nil, err
		}
		serial, err := s.reserveSerial(tx, parent.ID, "")
		if err != nil {
			return nil, err
		}
		tmpl := casign.SubordinateTemplate(req.Subject.Name(), key.Public(), serial, v, -1)
		s.setURLs(tmpl, parent.ID)
		cert, err := casign.Sign(tmpl, pcert, key.Public(), pkey)
		if err != nil {
			return nil, mapSignErr(err)
		}
		if err := recordIssued(tx, parent.ID, cert, "", req.Requester); err != nil {
			return nil, err
		}
		pchain, err := parent.Chain()
		if err != nil {
			return nil, err
		}
		r.ParentID = parent.ID
		r.setCertificate(cert, append([]*x509.Certificate{pcert}, pchain...))
		r.Status = StatusActive
	}
	return r, Put(tx, r)
}

func (r *Record) setCertificate(cert *x509.Certificate, chain []*x509.Certificate) {
	r.CertificatePEM = string(pemio.EncodeCertificatesPEM(cert))
	r.ChainPEM = string(pemio.EncodeCertificatesPEM(chain...))
	r.Serial = x509util.FormatSerial(cert.SerialNumber)
	r.NotBefore = cert.NotBefore.UTC()
	r.NotAfter = cert.NotAfter.UTC()
}

// checkMayCertifyCA refuses to sign a CA certificate under a CA whose own
// certificate has a path length constraint of zero: no verifier would accept
// a certificate issued by the new CA.
func checkMayCertifyCA(r *Record) error {
	cert, err := r.Certificate()
	if err != nil {
		return err
	}
	if cert.BasicConstraintsValid && cert.MaxPathLen == 0 && cert.MaxPathLenZero {
		return errs.Refusedf("certificate authority %s has a path length constraint of 0: it may not sign CA certificates", r.ID)
	}
	return nil
}

func mapSignErr(err error) error {
	if errors.Is(err, casign.ErrValidityBeyondCA) {
		return errs.Refusedf("%v", err).WithCode(ReasonInvalidDuration)
	}
	return err
}

func (s *Service) setURLs(t *x509.Certificate, issuerID string) {
	if s.BaseURL == "" {
		return
	}
	casign.SetRevocationURLs(t, s.BaseURL+"/crl/"+issuerID+".crl", s.BaseURL+"/ocsp")
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// Decode parses a stored CA record.
func Decode(data []byte) (*Record, error) {
	r := &Record{}
	return r, json.Unmarshal(data, r)
}

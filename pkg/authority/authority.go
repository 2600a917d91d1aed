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
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
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
var KeyAlgorithms = []string{x509util.RSA2048, x509util.RSA3072, x509util.RSA4096, x509util.ECPrime256v1, x509util.ECSecp384r1, x509util.ECSecp521r1}

// Templates are the `ca issue` templates (AWS Private CA's names, then
// certctl's aliases; template ARNs are accepted as well).
var Templates = casign.TemplateNames

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
	ID                string    `json:"id"`
	Type              string    `json:"type"`
	Status            string    `json:"status"`
	PreviousStatus    string    `json:"previousStatus,omitempty"`
	ParentID          string    `json:"parentId,omitempty"`
	External          bool      `json:"external,omitempty"`
	Subject           Subject   `json:"subject"`
	KeyAlgorithm      string    `json:"keyAlgorithm"`
	SigningAlgorithm  string    `json:"signingAlgorithm"`
	Serial            string    `json:"serial,omitempty"`
	NotBefore         time.Time `json:"notBefore,omitzero"`
	NotAfter          time.Time `json:"notAfter,omitzero"`
	CreatedAt         time.Time `json:"createdAt"`
	LastStateChangeAt time.Time `json:"lastStateChangeAt"`
	RestorableUntil   time.Time `json:"restorableUntil,omitzero"`
	FailureReason     string    `json:"failureReason,omitempty"`
	CertificatePEM    string    `json:"certificatePem,omitempty"`
	ChainPEM          string    `json:"chainPem,omitempty"`
	CSRPEM            string    `json:"csrPem,omitempty"`
	KeyRef            string    `json:"keyRef"`
	// KeyStorage is where the CA key is: VAULT ("" in records written
	// before it existed; sealed under KeyRef) or PKCS11 (in the token of the
	// pkcs11.* settings, as the key labelled KeyLabel with CKA_ID KeyID, hex;
	// KeyRef is then empty and the vault holds nothing of the key).
	KeyStorage string           `json:"keyStorage,omitempty"`
	KeyLabel   string           `json:"keyLabel,omitempty"`
	KeyID      string           `json:"keyId,omitempty"`
	CRLNumber  int64            `json:"crlNumber,omitempty"`
	BuiltIn    string           `json:"builtIn,omitempty"`
	Tags       []localstore.Tag `json:"tags,omitempty"`

	// UsageMode is GENERAL_PURPOSE ("" in records written before it
	// existed) or SHORT_LIVED_CERTIFICATE.
	UsageMode       string                   `json:"usageMode,omitempty"`
	NameConstraints *NameConstraints         `json:"nameConstraints,omitempty"`
	Revocation      *RevocationConfiguration `json:"revocation,omitempty"`
	// IssuedCount counts the certificates a PARTITIONED CA issued: the
	// partition of the next one is IssuedCount / partition size.
	IssuedCount int64 `json:"issuedCount,omitempty"`
	// PartitionBases are the CRL locations its partitions' certificates
	// name, in order of From (see partitionBase).
	PartitionBases   []PartitionBase `json:"partitionBases,omitempty"`
	IdempotencyToken string          `json:"idempotencyToken,omitempty"`
	IdempotencyKey   string          `json:"idempotencyKey,omitempty"`
	// KeyRevoked names the revocation, for key or CA compromise, of a
	// certificate of the CA's key — its own, or one before a renewal
	// with the same key (see Revoke): the CA signs nothing more.
	KeyRevoked string `json:"keyRevoked,omitempty"`
	// PublicHierarchy marks a CA of the built-in public-style hierarchy
	// for good: a restore may take its BuiltIn role away (another CA has
	// it by then), never this.
	PublicHierarchy bool `json:"publicHierarchy,omitempty"`
	// BaseURL is the ca.base_url of the host that created the CA or
	// last updated its revocation configuration (or, for a CA that had
	// none, the first that issued from it with one): the CRL and OCSP
	// location of a host that sets none (see Service.baseURL).
	BaseURL string `json:"baseUrl,omitempty"`
}

// Service runs CA operations inside the caller's transactions.
type Service struct {
	Vault *localstore.Vault
	Now   func() time.Time
	Rand  io.Reader
	// BaseURL is embedded in CRL distribution point and OCSP URLs when set
	// (unless a CA's revocation configuration names its own CNAME).
	BaseURL string
	// CRLPartitionSize is how many certificates go into one CRL partition
	// of a PARTITIONED CA (0: DefaultCRLPartitionSize).
	CRLPartitionSize int

	// Tokens opens the PKCS#11 token that holds the keys of PKCS11 CAs
	// (nil: no token configured).
	Tokens func() (TokenKeys, error)

	mu      sync.Mutex
	signers map[string]*cachedSigner
	// builtInIDs is the ID of the CA of each built-in role found so far
	// (see cachedBuiltIn).
	builtInIDs map[string]string
	// created is the built-in CAs each unfinished transaction made on
	// first use, for the change running it to name (TakeCreated), under
	// createdMu; pending counts its entries, so that every change of a
	// busy server (nearly always none) looks without taking a lock.
	createdMu sync.Mutex
	created   map[localstore.Tx][]string
	pending   atomic.Int32
}

// TokenKeys finds CA keys held in a PKCS#11 token (an hsm.Token).
type TokenKeys interface {
	Find(label string, id []byte) (crypto.Signer, []byte, error)
}

// cachedSigner is a CA's parsed certificate, chain and unsealed key, kept
// for the life of the Service (a long-running server issues many
// certificates from one CA). It is used only while the record still holds
// the same certificate and key reference. A token key is not kept: it is
// looked up in the token at each use, so that a token that was removed and
// put back serves again, and one that is gone fails at once.
type cachedSigner struct {
	// certPEM and chainPEM are what it was made from: a CA renewed in
	// place, or one above it renewed (which rewrites the stored chains
	// below), makes it stale.
	certPEM, chainPEM, keyRef string
	cert                      *x509.Certificate
	chain                     []*x509.Certificate
	// issuedChainPEM is the PEM of the chain of what the CA issues (its
	// certificate, then chain): every issuance stores it (Issued.ChainPEM).
	issuedChainPEM []byte
	key            crypto.Signer
	// links are the certificates of r's chain that CAs of the vault
	// issued, each by its issuer and serial (r's own first, then its
	// parent's, …): looked up at every signature (checkChainRevoked),
	// since a revocation of one leaves r's record as it was.
	links []chainLink
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
	return decode(id, o.Data)
}

// IsNotFound reports whether err is Get's answer for a CA the vault does
// not hold. (Get's error is its own, naming the CA: it does not wrap
// localstore.ErrNotFound.)
func IsNotFound(err error) bool {
	return errs.ExitCodeOf(err) == errs.ExitNotFound && errs.CodeNameOf(err) == ReasonNotFound
}

// decode decodes the stored record data of the CA id, reusing the last
// decoding of the same bytes.
func decode(id string, data []byte) (*Record, error) {
	if v, ok := decoded.Load(id); ok {
		if d := v.(*decodedRecord); bytes.Equal(d.data, data) {
			return d.r.clone(), nil
		}
	}
	r := &Record{}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("%w: CA %s: %v", localstore.ErrCorrupt, id, err)
	}
	decoded.Store(id, &decodedRecord{data: bytes.Clone(data), r: r.clone()})
	return r, nil
}

// decoded keeps the last decoding of each CA record read, by ID: a record
// read again as stored then (the same bytes) is copied instead of decoded
// — every issuance reads its CA.
var decoded sync.Map

type decodedRecord struct {
	data []byte
	r    *Record
}

// clone is a copy of r that shares nothing a caller could change (see
// TestRecordCloneSharesNothing, which fails when a field it does not copy
// is added).
func (r *Record) clone() *Record {
	c := *r
	c.Tags = slices.Clone(r.Tags)
	c.PartitionBases = slices.Clone(r.PartitionBases)
	if r.NameConstraints != nil {
		c.NameConstraints = &NameConstraints{Permitted: r.NameConstraints.Permitted.clone(), Excluded: r.NameConstraints.Excluded.clone()}
	}
	if r.Revocation != nil {
		rc := &RevocationConfiguration{}
		if r.Revocation.CrlConfiguration != nil {
			x := *r.Revocation.CrlConfiguration
			if e := x.CrlDistributionPointExtensionConfiguration; e != nil {
				y := *e
				x.CrlDistributionPointExtensionConfiguration = &y
			}
			rc.CrlConfiguration = &x
		}
		if r.Revocation.OcspConfiguration != nil {
			x := *r.Revocation.OcspConfiguration
			rc.OcspConfiguration = &x
		}
		c.Revocation = rc
	}
	return &c
}

func (s *Subtrees) clone() *Subtrees {
	if s == nil {
		return nil
	}
	return &Subtrees{DnsNames: slices.Clone(s.DnsNames), IpRanges: slices.Clone(s.IpRanges),
		EmailAddresses: slices.Clone(s.EmailAddresses), Uris: slices.Clone(s.Uris)}
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
		r, err := decode(o.ID, o.Data)
		if err != nil {
			return nil, err
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

// IssueEnd is when what r signs stops verifying: r's NotAfter, or that of
// a certificate of its chain that ends sooner — a CA whose certificate an
// issuer outside the vault signed to outlive that issuer (tester: such a
// CA issued 180-day certificates that stopped verifying on day 30) — and
// the subject of that certificate ("" when it is r's own).
func (r *Record) IssueEnd() (time.Time, string) {
	if end, subject := chainEnd(r.ChainPEM); !end.IsZero() && end.Before(r.NotAfter) {
		return end, subject
	}
	return r.NotAfter, ""
}

// chainEnds caches chainEnd's answers by chain, so that an issuance
// parses no chain.
var chainEnds struct {
	sync.Mutex
	m map[string]chainEndOf
}

type chainEndOf struct {
	end     time.Time
	subject string
}

// chainEnd returns the earliest NotAfter of the certificates of chainPEM
// and the subject of the certificate with it; zero for no chain, or one
// that does not parse (which what reads the chain reports).
func chainEnd(chainPEM string) (time.Time, string) {
	if chainPEM == "" {
		return time.Time{}, ""
	}
	chainEnds.Lock()
	defer chainEnds.Unlock()
	if e, ok := chainEnds.m[chainPEM]; ok {
		return e.end, e.subject
	}
	certs, err := pemio.ParseCertificatesPEM([]byte(chainPEM))
	if err != nil {
		return time.Time{}, ""
	}
	var e chainEndOf
	for _, c := range certs {
		if e.end.IsZero() || c.NotAfter.Before(e.end) {
			e = chainEndOf{c.NotAfter.UTC(), x509util.Subject(c)}
		}
	}
	if chainEnds.m == nil || len(chainEnds.m) >= 256 {
		chainEnds.m = map[string]chainEndOf{}
	}
	chainEnds.m[chainPEM] = e
	return e.end, e.subject
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
	if r.InToken() {
		key, err := s.tokenKey(r, c.cert.PublicKey)
		if err != nil {
			return nil, nil, err
		}
		return c.cert, key, nil
	}
	return c.cert, c.key, nil
}

// InToken reports whether r's key is in the PKCS#11 token.
func (r *Record) InToken() bool { return r.KeyStorage == hsm.StoragePKCS11 }

// Storage is r's key storage, VAULT or PKCS11.
func (r *Record) Storage() string {
	if r.InToken() {
		return hsm.StoragePKCS11
	}
	return hsm.StorageVault
}

// keyHandle names r's key for the signer cache.
func (r *Record) keyHandle() string {
	if r.InToken() {
		return "pkcs11:" + r.KeyLabel + ":" + r.KeyID
	}
	return r.KeyRef
}

// tokenKey finds the token key of the PKCS11 CA r and checks that it is
// the key of pub (r's certificate or CSR). A token that cannot be opened,
// or a key that is gone or is another's, makes the CA unavailable (exit 6).
func (s *Service) tokenKey(r *Record, pub crypto.PublicKey) (crypto.Signer, error) {
	if s.Tokens == nil {
		return nil, errs.VaultErrorf("certificate authority %s keeps its key in a PKCS#11 token, and no token is configured (set %s, %s and %s)",
			r.ID, hsm.SettingModule, hsm.SettingTokenLabel, hsm.SettingPINFile)
	}
	tok, err := s.Tokens()
	if err != nil {
		return nil, err
	}
	id, err := hex.DecodeString(r.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: CA %s key id %q", localstore.ErrCorrupt, r.ID, r.KeyID)
	}
	key, _, err := tok.Find(r.KeyLabel, id)
	if err != nil {
		if errs.ExitCodeOf(err) == errs.ExitVaultUnavailable {
			return nil, err
		}
		return nil, errs.VaultErrorf("certificate authority %s: its key %q is not in the PKCS#11 token (%s): %v", r.ID, r.KeyLabel, hsm.SettingTokenLabel, err)
	}
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); pub != nil && (!ok || !eq.Equal(key.Public())) {
		return nil, errs.VaultErrorf("certificate authority %s: the token key labelled %q is not the key of its certificate", r.ID, r.KeyLabel)
	}
	return key, nil
}

// caKey returns r's private key, from the vault or the token; pub is its
// public key (nil: not checked).
func (s *Service) caKey(tx localstore.Tx, r *Record, pub crypto.PublicKey) (crypto.Signer, error) {
	if r.InToken() {
		return s.tokenKey(r, pub)
	}
	key, err := s.Vault.OpenKey(tx, r.KeyRef)
	if err != nil || pub == nil {
		return key, err
	}
	if err := checkSealedKey(r, pub, key); err != nil {
		return nil, err
	}
	return key, nil
}

// checkSealedKey refuses key, opened from the vault under r's key
// reference, unless it is the key of pub (r's certificate's): the
// reference is a field someone with database access can point at another
// key sealed in the vault (another CA's, a certificate's), and signing
// with it would issue — or ask for, in a CSR — what is not this CA's, under
// its name (security tester, verification tester).
func checkSealedKey(r *Record, pub crypto.PublicKey, key crypto.Signer) error {
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(key.Public()) {
		return fmt.Errorf("%w: certificate authority %s: the key sealed under its reference %q is not the key of its certificate", localstore.ErrCorrupt, r.ID, r.KeyRef)
	}
	return nil
}

func (s *Service) cached(tx localstore.Tx, r *Record) (*cachedSigner, error) {
	s.mu.Lock()
	c := s.signers[r.ID]
	s.mu.Unlock()
	if c != nil && c.certPEM == r.CertificatePEM && c.chainPEM == r.ChainPEM && c.keyRef == r.keyHandle() {
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
	var key crypto.Signer
	if !r.InToken() {
		if key, err = s.Vault.OpenKey(tx, r.KeyRef); err != nil {
			return nil, err
		}
		if err := checkSealedKey(r, cert.PublicKey, key); err != nil {
			return nil, err
		}
	}
	c = &cachedSigner{certPEM: r.CertificatePEM, chainPEM: r.ChainPEM, keyRef: r.keyHandle(), cert: cert, chain: chain, key: key,
		issuedChainPEM: pemio.EncodeCertificatesPEM(append([]*x509.Certificate{cert}, chain...)...)}
	if c.links, err = chainLinks(tx, r, cert, chain); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.signers == nil {
		s.signers = map[string]*cachedSigner{}
	}
	s.signers[r.ID] = c
	s.mu.Unlock()
	return c, nil
}

// PublicStyle reports whether r is a CA of the built-in public-style
// hierarchy (its root and issuing CAs), which signs the domain-validated
// (ISSUED) certificates.
func (r *Record) PublicStyle() bool {
	return publicStyleRole(r.BuiltIn) || r.PublicHierarchy
}

// publicStyleRole reports whether the built-in role is one of the
// public-style hierarchy's.
func publicStyleRole(role string) bool {
	return strings.HasPrefix(role, "public-")
}

// maxChainDepth bounds a walk up a CA's parents: longer than any chain
// the vault makes, so that a loop in damaged records ends.
const maxChainDepth = 16

// CheckPrivateIssuer refuses (exit 5) a CA of the public-style hierarchy
// — or under it: a subordinate an earlier release let ca create --parent
// make there — as the signer of what no domain validation stands behind:
// a PRIVATE certificate, its renewal, a ca issue, a subordinate CA, an
// ACME endpoint's CA (an endpoint without one issues from that hierarchy
// under its own rules). As AWS keeps Amazon's public CAs out of Private
// CA: the names a certificate of the public-style root holds were
// validated.
func CheckPrivateIssuer(tx localstore.Tx, r *Record) error {
	if r.BuiltIn == BuiltInDefault || r.BuiltIn == BuiltInDefaultRoot {
		return nil // the default private hierarchy, the usual signer: no walk
	}
	for a, depth := r, 0; a != nil && depth < maxChainDepth; depth++ {
		if a.PublicStyle() {
			r = a
			break
		}
		if a.ParentID == "" {
			return nil
		}
		parent, err := Get(tx, a.ParentID)
		if IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		a = parent
	}
	if !r.PublicStyle() {
		return nil
	}
	return invalidState("certificate authority %s (%s) is the built-in public-style hierarchy's: it signs only domain-validated certificates", r.ID, r.Subject.CommonName).
		WithHint("use a private CA (default, or one made with certctl ca create); a request or an ACME endpoint without --certificate-authority-arn gets this hierarchy, with its validation")
}

// CheckCanIssue refuses issuance from a CA that is not ACTIVE.
func (s *Service) CheckCanIssue(r *Record) error {
	if r.KeyRevoked != "" {
		return invalidState("the key of certificate authority %s was revoked for compromise (%s): it signs nothing more", r.ID, r.KeyRevoked)
	}
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
			if r.Type == TypeRoot && r.Status == StatusActive {
				e = e.WithHint("renew it with its own key: certctl ca csr %s | certctl ca issue %s --csr - --template %s --validity 10y > new.pem; certctl ca import-certificate %s --certificate new.pem",
					r.ID, r.ID, casign.PCARootCA, r.ID)
			} else if r.Type == TypeSubordinate {
				e = e.WithHint("renew it: have its parent sign its CSR (certctl ca csr %s) and import the certificate (certctl ca import-certificate %s)", r.ID, r.ID)
			} else {
				e = e.WithHint("create a new CA: an expired CA cannot issue")
			}
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
	// SigningAlgorithm is AWS Private CA's name ("": the key's default).
	SigningAlgorithm string
	Subject          Subject
	ParentID         string // SUBORDINATE signed in the vault
	External         bool   // SUBORDINATE left PENDING_CERTIFICATE
	// Template, for a SUBORDINATE signed in the vault, is the AWS Private
	// CA template its parent signs it with (any name
	// casign.CanonicalTemplate takes): one of SubordinateCACertificate_PathLen0..3,
	// which sets its path length constraint. "": the longest path the
	// parent allows (none under an unconstrained parent).
	Template        string `json:",omitempty"`
	Validity        time.Duration
	Tags            []localstore.Tag
	BuiltIn         string
	UsageMode       string
	NameConstraints *NameConstraints
	Revocation      *RevocationConfiguration
	// IdempotencyToken: the same token and request within an hour gives
	// the same CA.
	IdempotencyToken string
	// IdempotencyKey, when set, is the caller's digest of the request as
	// it was asked (before defaults that depend on the time were applied);
	// by default the digest of this request without the token.
	IdempotencyKey string
	Requester      string // recorded with the CA's certificate (see Requester)

	// ID is the new CA's ID ("": a new UUID).
	ID string
	// Key, when set, is the CA's key pair, made by the caller: in a
	// PKCS#11 token when KeyStorage is PKCS11 (labelled KeyLabel, CKA_ID
	// KeyID), and then nothing of it is sealed in the vault. Without Key a
	// key of KeyAlgorithm is generated and sealed.
	Key        crypto.Signer
	KeyStorage string
	KeyLabel   string
	KeyID      []byte
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
	if old, err := s.findIdempotent(tx, req); err != nil || old != nil {
		return old, err
	}
	switch {
	case req.Type == TypeRoot && (req.ParentID != "" || req.External):
		return nil, errs.Invalidf("a ROOT CA signs itself: it has no parent and is not external")
	case req.ParentID != "" && req.External:
		return nil, errs.Invalidf("a SUBORDINATE CA is signed by a parent CA of the vault or externally, not both")
	case req.Type == TypeSubordinate && req.ParentID == "" && !req.External:
		return nil, errs.Invalidf("a SUBORDINATE CA needs a parent CA of the vault or to be external (signed elsewhere)")
	case req.Type != TypeRoot && req.Type != TypeSubordinate:
		return nil, errs.Invalidf("CA type %q (want %s)", req.Type, strings.Join(Types, " or "))
	}
	template, tmplPathLen, err := subordinateTemplate(req)
	if err != nil {
		return nil, err
	}
	if req.SigningAlgorithm != "" && !casign.SigningAlgorithmFamilyOK(req.SigningAlgorithm, req.KeyAlgorithm) {
		return nil, errs.Invalidf("signing algorithm %s is not of the family of key algorithm %s", req.SigningAlgorithm, req.KeyAlgorithm)
	}
	switch req.UsageMode {
	case "", UsageGeneralPurpose, UsageShortLived:
	default:
		return nil, errs.Invalidf("usage mode %q (want GENERAL_PURPOSE or SHORT_LIVED_CERTIFICATE)", req.UsageMode)
	}
	if err := checkShortLivedRevocation(req.UsageMode, "", req.Revocation); err != nil {
		return nil, err
	}
	key := req.Key
	if key == nil {
		if req.KeyStorage == hsm.StoragePKCS11 {
			return nil, errors.New("authority: a PKCS11 CA needs its token key")
		}
		var err error
		if key, err = x509util.GenerateKey(req.KeyAlgorithm); err != nil {
			return nil, errs.UsageErrorf("%v", err)
		}
	} else if alg, err := x509util.KeyAlgorithmOf(key.Public()); err != nil || alg != req.KeyAlgorithm {
		return nil, fmt.Errorf("authority: the given key is not %s", req.KeyAlgorithm)
	}
	sigAlg := req.SigningAlgorithm
	switch {
	case sigAlg != "":
	case req.BuiltIn == "":
		// A CA the user creates: SHA-256 of its key's family (SPEC).
		sigAlg = "SHA256WITHRSA"
		if strings.HasPrefix(req.KeyAlgorithm, "EC_") {
			sigAlg = "SHA256WITHECDSA"
		}
	default:
		// The built-in hierarchies keep the hash matched to the key.
		if sigAlg, err = casign.SigningAlgorithmName(key.Public()); err != nil {
			return nil, err
		}
	}
	id := req.ID
	if id == "" {
		id = uuid.NewString()
	}
	r := &Record{
		ID:                id,
		Type:              req.Type,
		Subject:           req.Subject,
		KeyAlgorithm:      req.KeyAlgorithm,
		SigningAlgorithm:  sigAlg,
		CreatedAt:         now,
		LastStateChangeAt: now,
		Tags:              req.Tags,
		BuiltIn:           req.BuiltIn,
		PublicHierarchy:   publicStyleRole(req.BuiltIn),
		UsageMode:         req.UsageMode,
		NameConstraints:   req.NameConstraints,
		Revocation:        req.Revocation,
		IdempotencyToken:  req.IdempotencyToken,
	}
	if req.IdempotencyToken != "" {
		r.IdempotencyKey = idempotencyKey(req)
	}
	if err := casign.ValidateSubject(req.Subject.Name()); err != nil {
		return nil, errs.Invalidf("subject: %v", err)
	}
	if err := s.storeKey(tx, r, key, req.KeyStorage, req.KeyLabel, req.KeyID); err != nil {
		return nil, err
	}
	v := casign.Validity{NotBefore: now.Add(-casign.Backdate).Truncate(time.Second), NotAfter: now.Add(req.Validity).Truncate(time.Second)}
	switch {
	case req.Type == TypeRoot:
		serial, err := s.reserveSerial(tx, r.ID, "")
		if err != nil {
			return nil, err
		}
		tmpl := casign.RootTemplate(req.Subject.Name(), key.Public(), serial, v)
		tmpl.SignatureAlgorithm = signatureAlgorithm(r, key.Public())
		if err := req.NameConstraints.apply(tmpl); err != nil {
			return nil, err
		}
		cert, err := casign.Sign(tmpl, nil, key.Public(), key)
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
		// The public-style hierarchy's own issuing CAs aside.
		if !publicStyleRole(req.BuiltIn) {
			if err := CheckPrivateIssuer(tx, parent); err != nil {
				return nil, err
			}
		}
		if err := s.CheckCanIssue(parent); err != nil {
			return nil, err
		}
		// Under a parent whose chain leaves room for r more CAs (its own
		// path length constraint and those above it) the new CA gets
		// r-1: the longest path they allow; a template asks for its own.
		pc, err := s.cached(tx, parent)
		if err != nil {
			return nil, err
		}
		pathLen := -1
		if room, _ := pathRoom(pc.cert, pc.chain); room != noPathLimit && room > 0 {
			pathLen = room - 1
		}
		if req.Template != "" {
			pathLen = tmplPathLen
		}
		if err := checkMayCertifyCA(parent, pc, pathLen); err != nil {
			return nil, err
		}
		// The parent's rules for what it signs, as for ca issue: within
		// its own validity, and within 7 days for a
		// SHORT_LIVED_CERTIFICATE parent (tester: one signed a 5-year CA).
		if v, err = s.validity(parent, timeutil.Validity{Duration: req.Validity}, time.Time{}); err != nil {
			return nil, err
		}
		pcert, pkey, err := s.signer(tx, parent)
		if err != nil {
			return nil, err
		}
		serial, err := s.reserveSerialFor(tx, parent, "")
		if err != nil {
			return nil, err
		}
		tmpl := casign.SubordinateTemplate(req.Subject.Name(), key.Public(), serial, v, pathLen)
		if err := req.NameConstraints.apply(tmpl); err != nil {
			return nil, err
		}
		cert, err := s.sign(tx, parent, tmpl, key.Public(), true, pcert, pkey)
		if err != nil {
			return nil, err
		}
		if template == "" {
			// No template asked: the path length the parent allowed
			// says which AWS Private CA template the certificate is.
			template = SubordinateTemplateName(pathLen)
		}
		if err := recordIssued(tx, parent.ID, cert, template, req.Requester); err != nil {
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
	s.noteBaseURL(r, true)
	return r, Put(tx, r)
}

// subordinateTemplate is the AWS Private CA name of req's template and the
// path length it sets ("" and -1 without one). A template is for a
// SUBORDINATE its parent in the vault signs, and must be one of
// SubordinateCACertificate_PathLen0..3 (exit 4 otherwise).
func subordinateTemplate(req CreateRequest) (string, int, error) {
	if req.Template == "" {
		return "", -1, nil
	}
	if req.Type != TypeSubordinate || req.ParentID == "" {
		return "", -1, errs.Invalidf("a template is for a SUBORDINATE CA signed by a parent of the vault (--parent); an --external CA's signer chooses its own")
	}
	name, err := casign.CanonicalTemplate(req.Template)
	if err != nil {
		return "", -1, errs.Invalidf("%v", err)
	}
	if isCA, pathLen := casign.IsCATemplate(name); isCA && name != casign.PCARootCA {
		return name, pathLen, nil
	}
	return "", -1, errs.Invalidf("template %s does not make a subordinate CA (want %s)", name, strings.Join(SubordinateTemplates, ", "))
}

// SubordinateTemplates are the templates `ca create --parent` takes.
var SubordinateTemplates = []string{casign.PCASubordinateCAPathLen0, casign.PCASubordinateCAPathLen1,
	casign.PCASubordinateCAPathLen2, casign.PCASubordinateCAPathLen3}

// storeKey records where r's key is: sealed in the vault under its own
// reference, or (PKCS11) only the token key's label and CKA_ID.
func (s *Service) storeKey(tx localstore.Tx, r *Record, key crypto.Signer, storage, label string, id []byte) error {
	if storage == hsm.StoragePKCS11 {
		if label == "" || len(id) == 0 {
			return errors.New("authority: a token key needs its label and CKA_ID")
		}
		r.KeyStorage, r.KeyLabel, r.KeyID, r.KeyRef = hsm.StoragePKCS11, label, hex.EncodeToString(id), ""
		return nil
	}
	r.KeyRef = "ca/" + r.ID + "/key"
	return s.Vault.SealKey(tx, r.KeyRef, key)
}

func (r *Record) setCertificate(cert *x509.Certificate, chain []*x509.Certificate) {
	r.CertificatePEM = string(pemio.EncodeCertificatesPEM(cert))
	r.ChainPEM = string(pemio.EncodeCertificatesPEM(chain...))
	r.Serial = x509util.FormatSerial(cert.SerialNumber)
	r.NotBefore = cert.NotBefore.UTC()
	r.NotAfter = cert.NotAfter.UTC()
}

// checkMayCertifyCA refuses (exit 5), before anything is reserved or
// signed, a CA certificate of path length pathLen (-1: unconstrained)
// signed by r (its signer c) that the path length constraints of r's
// chain would make fail verification (checkSignRoom, which sign applies
// again).
func checkMayCertifyCA(r *Record, c *cachedSigner, pathLen int) error {
	return checkSignRoom(r, c.cert, c.chain, &x509.Certificate{IsCA: true, MaxPathLen: pathLen, MaxPathLenZero: pathLen == 0})
}

func mapSignErr(err error) error {
	switch {
	case errors.Is(err, casign.ErrValidityBeyondCA):
		return errs.Refusedf("%v", err).WithCode(ReasonInvalidDuration)
	case errors.Is(err, casign.ErrMalformed):
		return errs.Invalidf("%v", err)
	}
	return err
}

// sign signs template t for pub as the CA r (certificate caCert, key
// caKey): with r's signing algorithm, the revocation URLs of r's
// configuration (the CRL partition the serial belongs to), after checking
// the names against r's name constraints and its chain's.
// A key certctl generated for this certificate (freshKey) has been seen by
// no one, so it is not looked up among the compromised ones: a lookup is a
// store read on the issuance path.
func (s *Service) sign(tx localstore.Tx, r *Record, t *x509.Certificate, pub crypto.PublicKey, freshKey bool, caCert *x509.Certificate, caKey crypto.Signer) (*x509.Certificate, error) {
	if t.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
		// The CA's own, unless the issuance asked for one (ca issue
		// --signing-algorithm, checked against the key's family).
		t.SignatureAlgorithm = signatureAlgorithm(r, caKey.Public())
	}
	c, err := s.cached(tx, r)
	if err != nil {
		return nil, err
	}
	if err := checkNameConstraints(r, caCert, c.chain, t); err != nil {
		return nil, err
	}
	if err := checkSignRoom(r, caCert, c.chain, t); err != nil {
		return nil, err
	}
	if !freshKey {
		if err := inventory.CheckKeyNotCompromised(tx, pub, "the certificate's key", inventory.ReasonKeyCompromised); err != nil {
			return nil, err
		}
		if err := checkNotCAKey(caCert, c.chain, t, pub); err != nil {
			return nil, err
		}
	}
	// A CA whose own certificate its issuer revoked for compromise signs
	// nothing more: relying parties refuse all it would sign. Marked on
	// its record when revoked (Revoke), so that no signature pays a
	// lookup for it.
	if r.KeyRevoked != "" {
		return nil, invalidState("the key of certificate authority %s was revoked for compromise (%s): it signs nothing more", r.ID, r.KeyRevoked)
	}
	// The key itself noted compromised, where the mark above is missing:
	// a certificate for the CA's key revoked KEY_COMPROMISE by another
	// path than Revoke (certctl revoke, ACME revocation by the key), or a
	// release before the mark still running during an upgrade. Looked up
	// at every signature, not once per signer: a long-running server
	// would otherwise go on signing with it (review).
	if err := inventory.CheckSPKINotCompromised(tx, caCert.RawSubjectPublicKeyInfo, "the key of certificate authority "+r.ID, inventory.ReasonKeyCompromised); err != nil {
		return nil, err
	}
	if err := checkChainRevoked(tx, r, c.links); err != nil {
		return nil, err
	}
	part := -1
	if r.partitioned() {
		part = partitionOf(t.SerialNumber.Bytes())
	}
	casign.SetRevocationURLs(t, s.carriedCRLURL(r, part), s.OCSPURL(r))
	cert, err := casign.Sign(t, caCert, pub, caKey)
	if err != nil {
		return nil, mapSignErr(err)
	}
	return cert, nil
}

// CheckNames refuses DNS names that the name constraints of r, or of a CA
// above it, do not allow (DOMAIN_NOT_ALLOWED, exit 5), as issuing a
// certificate for them from r would: for a request that can be refused
// before anything is signed (an ACME order, when it is made).
func (s *Service) CheckNames(tx localstore.Tx, r *Record, names []string) error {
	c, err := s.cached(tx, r)
	if err != nil {
		return err
	}
	return checkNameConstraints(r, c.cert, c.chain, &x509.Certificate{DNSNames: names})
}

// CheckDomain refuses a domain d that stands for d, its subdomains and
// *.d (an ACME endpoint's pre-approved domain) when the name constraints
// of r, or of a CA above it, allow none of those names
// (DOMAIN_NOT_ALLOWED, exit 5): every order under d would be refused, as
// CheckNames refuses its names. A d they allow in part passes; its names
// are checked one by one when they are ordered.
func (s *Service) CheckDomain(tx localstore.Tx, r *Record, d string) error {
	c, err := s.cached(tx, r)
	if err != nil {
		return err
	}
	err = casign.CheckDomainSubtree(constrainingCAs(r, c.cert, c.chain), d)
	var de *casign.DomainConstraintError
	if !errors.As(err, &de) {
		return err
	}
	e := errs.Refusedf("certificate authority %s issues for no name under domain %s: the domain %s", r.ID, d, de.Reason()).WithCode(ReasonDomainNotAllowed)
	switch {
	case de.ByExclusion:
		return e.WithHint("the CA issues for no name within the excluded subtree %q: add a domain outside it, or issue from another CA", de.Excluded)
	case len(de.Permitted) == 0:
		return e.WithHint("the name constraints of the CA and of the CAs above it admit no common name under it: add a domain within a subtree each of them allows (ca describe shows them), or issue from another CA")
	}
	return e.WithHint("the CA issues only for DNS names within %s: add a domain within one of them or above one, or issue from another CA", strings.Join(de.Permitted, ", "))
}

// checkNotCAKey refuses an end-entity certificate for the key of the CA
// that signs it or of a CA of its chain (as Boulder's key policy does):
// whoever holds such a certificate's key holds the CA's, and a CSR that
// carries it is a mistake or a probe (tester: signed). A CA certificate
// for its own key — a root signed again, a cross-signature — is what a CA
// makes of itself, and left alone.
func checkNotCAKey(caCert *x509.Certificate, chain []*x509.Certificate, t *x509.Certificate, pub crypto.PublicKey) error {
	if t.IsCA {
		return nil
	}
	for _, ca := range append([]*x509.Certificate{caCert}, chain...) {
		if x509util.PublicKeysEqual(pub, ca.PublicKey) {
			return errs.Invalidf("the certificate's key is the key of the CA %q: a CA's key signs, it is never an end-entity certificate's",
				ca.Subject.String())
		}
	}
	return nil
}

// checkNameConstraints refuses template t when its names fall outside the
// name constraints of r's certificate caCert, of its chain, or of r's own
// configuration.
func checkNameConstraints(r *Record, caCert *x509.Certificate, chain []*x509.Certificate, t *x509.Certificate) error {
	if err := casign.CheckNameConstraints(constrainingCAs(r, caCert, chain), t); err != nil {
		return errs.Refusedf("%v", err).WithCode(ReasonDomainNotAllowed)
	}
	return nil
}

// constrainingCAs are the certificates whose name constraints bind what r
// issues: r's certificate caCert, its chain, and r's own configuration.
func constrainingCAs(r *Record, caCert *x509.Certificate, chain []*x509.Certificate) []*x509.Certificate {
	cas := append([]*x509.Certificate{caCert}, chain...)
	if r.NameConstraints != nil {
		// The CA's own constraints, also when its certificate (signed
		// outside, for an --external CA) does not carry them.
		own := &x509.Certificate{Subject: caCert.Subject}
		if err := r.NameConstraints.apply(own); err == nil {
			cas = append(cas, own)
		}
	}
	return cas
}

// reserveSerialFor reserves a serial of the CA r; a PARTITIONED CA's serial
// carries its CRL partition in its low 16 bits, and r's issuance count
// (stored in tx) moves on.
func (s *Service) reserveSerialFor(tx localstore.Tx, r *Record, certID string) (*big.Int, error) {
	if !r.partitioned() {
		serial, err := s.reserveSerial(tx, r.ID, certID)
		if err == nil && s.noteBaseURL(r, false) {
			err = Put(tx, r)
		}
		return serial, err
	}
	s.noteBaseURL(r, false) // stored with the count below
	size := int64(s.partitionSize())
	part := r.IssuedCount / size
	// A partition's certificates all name one distribution point, the one
	// its CRL's Issuing Distribution Point names (PartitionBases). When
	// the CA's CRL location changed (ca update: another CustomCname) since
	// certificates of this partition were issued, this one opens the next
	// partition. A location that comes from ca.base_url, which each
	// process configures, is taken when a partition opens and kept until
	// it is full, so that processes configured apart do not open a
	// partition a certificate.
	now := PartitionBase{Base: s.crlBase(r), Cname: crlCname(r)}
	rec, known := r.partitionRecord(int(part))
	opening := r.IssuedCount%size == 0
	moved := known && !strings.EqualFold(rec.Cname, now.Cname) && !opening
	if moved {
		part++
	}
	if part >= maxPartitions {
		return nil, errs.Refusedf("certificate authority %s has filled its %d CRL partitions", r.ID, maxPartitions)
	}
	switch now.From = int(part); {
	case moved:
		r.IssuedCount = part * size
		r.notePartitionBase(now)
	case !known:
		// The first certificate, or the first since locations were
		// recorded: the partitions before it were issued with this one.
		now.From = 0
		r.notePartitionBase(now)
	case rec.Base == "" && now.Base != "":
		// Opened by a process that had no location (no ca.base_url):
		// its certificates name none, the next ones name this one.
		r.notePartitionBase(now)
	case opening && (rec.Base != now.Base || rec.Cname != now.Cname):
		r.notePartitionBase(now)
	}
	for i := 0; i < 5; i++ {
		serial, err := casign.NewSerial(s.Rand)
		if err != nil {
			return nil, err
		}
		serial.Lsh(serial, 16).Or(serial, big.NewInt(part))
		err = tx.ReserveSerial(r.ID, x509util.FormatSerial(serial), certID, s.Now())
		if errors.Is(err, localstore.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r.IssuedCount++
		return serial, Put(tx, r)
	}
	return nil, errors.New("could not draw a unique serial number")
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// Decode parses a stored CA record.
func Decode(data []byte) (*Record, error) {
	r := &Record{}
	return r, json.Unmarshal(data, r)
}

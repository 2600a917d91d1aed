package authority

import (
	"crypto"
	"crypto/rsa"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// builtIns maps each built-in role to its CA (the first not deleted), from
// one listing of the vault's CAs: the callers below, on every request and
// every ACME finalize, read the CAs once instead of once a role.
type builtIns map[string]*Record

func findBuiltIns(tx localstore.Tx) (builtIns, error) {
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	m := builtIns{}
	for _, r := range all {
		if r.BuiltIn != "" && r.Status != StatusDeleted && m[r.BuiltIn] == nil {
			m[r.BuiltIn] = r
		}
	}
	return m, nil
}

// cachedBuiltIn returns the CA of role that s found before, read again in
// tx, while it still holds that role and is not deleted; nil when the CAs
// must be listed (not found yet, deleted since, or unreadable). A
// long-running server resolves the CA of every issuance so with one read
// of one record instead of a listing of every CA. Another CA cannot take
// the role meanwhile: a role is given only while no CA that is not
// deleted holds it (ensure), and a CA restored after its role was given
// again comes back without it (Restore).
func (s *Service) cachedBuiltIn(tx localstore.Tx, role string) *Record {
	s.mu.Lock()
	id := s.builtInIDs[role]
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	r, err := Get(tx, id)
	if err != nil || r.BuiltIn != role || r.Status == StatusDeleted {
		return nil
	}
	return r
}

// noteBuiltIns remembers the CAs of m for cachedBuiltIn. A CA created in
// a transaction that then rolls back is remembered too: cachedBuiltIn
// does not find it and lists the CAs again.
func (s *Service) noteBuiltIns(m builtIns) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.builtInIDs == nil {
		s.builtInIDs = map[string]string{}
	}
	for role, r := range m {
		s.builtInIDs[role] = r.ID
	}
}

// findBuiltIn returns the CA with the given built-in role, or nil.
func findBuiltIn(tx localstore.Tx, role string) (*Record, error) {
	m, err := findBuiltIns(tx)
	return m[role], err
}

// ensure returns the CA of role in m, creating it (and noting it in m) if
// there is none.
func (s *Service) ensure(tx localstore.Tx, m builtIns, role string, req CreateRequest) (*Record, error) {
	if r := m[role]; r != nil {
		return r, nil
	}
	req.BuiltIn = role
	r, err := s.Create(tx, req)
	if err == nil {
		m[role] = r
		s.createdMu.Lock()
		if s.created == nil {
			s.created = map[localstore.Tx][]string{}
		}
		if _, ok := s.created[tx]; !ok {
			s.pending.Add(1)
		}
		s.created[tx] = append(s.created[tx], r.ID)
		s.createdMu.Unlock()
	}
	return r, err
}

// TakeCreated returns the IDs of the built-in CAs made on first use in tx
// since the last call, and forgets them. A change calls it once its
// function has run, and names them in its audit record: their creation
// is part of the change, whichever command or server needed them (a
// request of the default CA, an ACME order of a public-style
// certificate, the trust bundle).
func (s *Service) TakeCreated(tx localstore.Tx) []string {
	if s.pending.Load() == 0 {
		return nil
	}
	s.createdMu.Lock()
	defer s.createdMu.Unlock()
	ids, ok := s.created[tx]
	if ok {
		delete(s.created, tx)
		s.pending.Add(-1)
	}
	return ids
}

// EnsureDefault returns the vault's default private issuing CA, creating
// the two-level default hierarchy (root, issuing subordinate) on first use.
// Call it in a write transaction.
func (s *Service) EnsureDefault(tx localstore.Tx) (*Record, error) {
	if r := s.cachedBuiltIn(tx, BuiltInDefault); r != nil {
		return r, nil
	}
	m, err := findBuiltIns(tx)
	if err != nil {
		return nil, err
	}
	defer s.noteBuiltIns(m)
	return s.ensureDefault(tx, m)
}

func (s *Service) ensureDefault(tx localstore.Tx, m builtIns) (*Record, error) {
	if r := m[BuiltInDefault]; r != nil {
		return r, nil
	}
	root, err := s.ensure(tx, m, BuiltInDefaultRoot, CreateRequest{
		Type: TypeRoot, KeyAlgorithm: x509util.ECSecp384r1, Validity: 20 * timeutil.Year,
		Subject: Subject{CommonName: "certctl Default Private Root CA", Organization: "certctl"},
	})
	if err != nil {
		return nil, err
	}
	return s.ensure(tx, m, BuiltInDefault, CreateRequest{
		Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1, ParentID: root.ID, Validity: 10 * timeutil.Year,
		Subject: Subject{CommonName: "certctl Default Private Issuing CA", Organization: "certctl"},
	})
}

// EnsurePublic returns the built-in public-style issuing CA for a leaf key
// (an RSA intermediate for RSA keys, an ECDSA one otherwise), creating it
// on first use, and the public-style root it is signed by when there is
// none. Only the CA the key needs is made: an ECDSA issuance does not
// generate the RSA intermediate's key. Call it in a write transaction.
func (s *Service) EnsurePublic(tx localstore.Tx, leafKey crypto.PublicKey) (*Record, error) {
	_, isRSA := leafKey.(*rsa.PublicKey)
	role, req := BuiltInPublicECDSA, CreateRequest{
		Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1, Validity: 10 * timeutil.Year,
		Subject: Subject{CommonName: "certctl ECDSA Issuing CA", Organization: "certctl"},
	}
	if isRSA {
		role, req.KeyAlgorithm, req.Subject.CommonName = BuiltInPublicRSA, x509util.RSA2048, "certctl RSA Issuing CA"
	}
	r, m, err := s.publicIssuer(tx, role)
	if r != nil || err != nil {
		return r, err
	}
	defer s.noteBuiltIns(m)
	root, err := s.ensurePublicRoot(tx, m)
	if err != nil {
		return nil, err
	}
	req.ParentID = root.ID
	return s.ensure(tx, m, role, req)
}

// PublicIssuer returns the built-in public-style issuing CA that
// EnsurePublic gives a leaf of keyAlgorithm (an RSA one for RSA keys) or,
// when it is not made yet, the public-style root it would be made under
// (whose state then decides: review) — nil when neither is, and without
// making any: for a read transaction.
func (s *Service) PublicIssuer(tx localstore.Tx, keyAlgorithm string) (*Record, error) {
	role := BuiltInPublicECDSA
	if x509util.IsRSA(keyAlgorithm) {
		role = BuiltInPublicRSA
	}
	r, m, err := s.publicIssuer(tx, role)
	if r != nil || err != nil {
		return r, err
	}
	if m == nil {
		if m, err = findBuiltIns(tx); err != nil {
			return nil, err
		}
	}
	s.noteBuiltIns(m)
	return m[BuiltInPublicRoot], nil
}

// publicIssuer returns the CA of role, and the built-in CAs when it
// listed them to find it.
func (s *Service) publicIssuer(tx localstore.Tx, role string) (*Record, builtIns, error) {
	if r := s.cachedBuiltIn(tx, role); r != nil {
		return r, nil, nil
	}
	m, err := findBuiltIns(tx)
	if err != nil {
		return nil, nil, err
	}
	return m[role], m, nil
}

// EnsurePublicRoot returns the built-in public-style root, creating it on
// first use.
func (s *Service) EnsurePublicRoot(tx localstore.Tx) (*Record, error) {
	m, err := findBuiltIns(tx)
	if err != nil {
		return nil, err
	}
	return s.ensurePublicRoot(tx, m)
}

func (s *Service) ensurePublicRoot(tx localstore.Tx, m builtIns) (*Record, error) {
	return s.ensure(tx, m, BuiltInPublicRoot, CreateRequest{
		Type: TypeRoot, KeyAlgorithm: x509util.ECSecp384r1, Validity: 20 * timeutil.Year,
		Subject: Subject{CommonName: "certctl Public-Style Root CA", Organization: "certctl"},
	})
}

// trustBundleBuiltIns are the built-in CAs TrustBundle creates on first use.
var trustBundleBuiltIns = []string{BuiltInPublicRoot, BuiltInDefaultRoot, BuiltInDefault}

// TrustBundleReady reports whether every built-in CA TrustBundle creates on
// first use exists already: then TrustBundle changes nothing and Roots,
// in a read transaction, gives the same bundle.
func TrustBundleReady(tx localstore.Tx) (bool, error) {
	m, err := findBuiltIns(tx)
	if err != nil {
		return false, err
	}
	for _, role := range trustBundleBuiltIns {
		if m[role] == nil {
			return false, nil
		}
	}
	return true, nil
}

// TrustBundle returns the PEM of every root of the vault: the built-in
// public-style root, the default private root and every ACTIVE root CA,
// creating the built-in ones on first use. Call it in a write transaction.
func (s *Service) TrustBundle(tx localstore.Tx) ([]byte, error) {
	m, err := findBuiltIns(tx)
	if err != nil {
		return nil, err
	}
	if _, err := s.ensurePublicRoot(tx, m); err != nil {
		return nil, err
	}
	if _, err := s.ensureDefault(tx, m); err != nil {
		return nil, err
	}
	return s.Roots(tx)
}

// Roots returns the PEM of every ACTIVE root CA of the vault (SPEC: a
// DISABLED one is not in the bundle, though what it signed still chains
// to it); it only reads.
func (s *Service) Roots(tx localstore.Tx) ([]byte, error) {
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	var out []byte
	now := s.Now()
	for _, r := range all {
		if r.Type == TypeRoot && r.EffectiveStatus(now) == StatusActive {
			out = append(out, r.CertificatePEM...)
		}
	}
	return out, nil
}

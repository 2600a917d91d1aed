package authority

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// findBuiltIn returns the CA with the given built-in role, or nil.
func findBuiltIn(tx localstore.Tx, role string) (*Record, error) {
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.BuiltIn == role && r.Status != StatusDeleted {
			return r, nil
		}
	}
	return nil, nil
}

func (s *Service) ensure(tx localstore.Tx, role string, req CreateRequest) (*Record, error) {
	r, err := findBuiltIn(tx, role)
	if err != nil || r != nil {
		return r, err
	}
	req.BuiltIn = role
	return s.Create(tx, req)
}

// EnsureDefault returns the vault's default private issuing CA, creating
// the two-level default hierarchy (root, issuing subordinate) on first use.
// Call it in a write transaction.
func (s *Service) EnsureDefault(tx localstore.Tx) (*Record, error) {
	root, err := s.ensure(tx, BuiltInDefaultRoot, CreateRequest{
		Type: TypeRoot, KeyAlgorithm: x509util.ECSecp384r1, Validity: 20 * timeutil.Year,
		Subject: Subject{CommonName: "certctl Default Private Root CA", Organization: "certctl"},
	})
	if err != nil {
		return nil, err
	}
	return s.ensure(tx, BuiltInDefault, CreateRequest{
		Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1, ParentID: root.ID, Validity: 10 * timeutil.Year,
		Subject: Subject{CommonName: "certctl Default Private Issuing CA", Organization: "certctl"},
	})
}

// EnsurePublic returns the built-in public-style issuing CA for a leaf key
// (an RSA intermediate for RSA keys, an ECDSA one otherwise), creating the
// hierarchy on first use. Call it in a write transaction.
func (s *Service) EnsurePublic(tx localstore.Tx, leafKey crypto.PublicKey) (*Record, error) {
	want := BuiltInPublicECDSA
	if _, ok := leafKey.(*rsa.PublicKey); ok {
		want = BuiltInPublicRSA
	}
	// Past the first use, the whole hierarchy is there: one listing finds
	// the CA (an ACME server's every finalize comes here).
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	var found *Record
	have := 0
	for _, r := range all {
		if r.Status == StatusDeleted {
			continue
		}
		switch r.BuiltIn {
		case BuiltInPublicRoot, BuiltInPublicRSA, BuiltInPublicECDSA:
			have |= 1 << builtInBit(r.BuiltIn)
			if r.BuiltIn == want && found == nil {
				found = r
			}
		}
	}
	if have == 7 {
		return found, nil
	}
	root, err := s.EnsurePublicRoot(tx)
	if err != nil {
		return nil, err
	}
	rsaCA, err := s.ensure(tx, BuiltInPublicRSA, CreateRequest{
		Type: TypeSubordinate, KeyAlgorithm: x509util.RSA2048, ParentID: root.ID, Validity: 10 * timeutil.Year,
		Subject: Subject{CommonName: "certctl RSA Issuing CA", Organization: "certctl"},
	})
	if err != nil {
		return nil, err
	}
	ecCA, err := s.ensure(tx, BuiltInPublicECDSA, CreateRequest{
		Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1, ParentID: root.ID, Validity: 10 * timeutil.Year,
		Subject: Subject{CommonName: "certctl ECDSA Issuing CA", Organization: "certctl"},
	})
	if err != nil {
		return nil, err
	}
	switch leafKey.(type) {
	case *rsa.PublicKey:
		return rsaCA, nil
	case *ecdsa.PublicKey:
		return ecCA, nil
	}
	return ecCA, nil
}

// builtInBit numbers the public-style built-in roles for EnsurePublic.
func builtInBit(role string) int {
	switch role {
	case BuiltInPublicRoot:
		return 0
	case BuiltInPublicRSA:
		return 1
	}
	return 2
}

// EnsurePublicRoot returns the built-in public-style root, creating it on
// first use.
func (s *Service) EnsurePublicRoot(tx localstore.Tx) (*Record, error) {
	return s.ensure(tx, BuiltInPublicRoot, CreateRequest{
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
	for _, role := range trustBundleBuiltIns {
		r, err := findBuiltIn(tx, role)
		if err != nil || r == nil {
			return false, err
		}
	}
	return true, nil
}

// TrustBundle returns the PEM of every root of the vault: the built-in
// public-style root, the default private root and every ACTIVE root CA,
// creating the built-in ones on first use. Call it in a write transaction.
func (s *Service) TrustBundle(tx localstore.Tx) ([]byte, error) {
	if _, err := s.EnsurePublicRoot(tx); err != nil {
		return nil, err
	}
	if _, err := s.EnsureDefault(tx); err != nil {
		return nil, err
	}
	return s.Roots(tx)
}

// Roots returns the PEM of every ACTIVE root CA of the vault; it only
// reads.
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

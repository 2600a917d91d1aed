package deploy

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/x509util"
)

// Identity is which certificate an install puts in place: what this host
// records of a target it installed (TargetsFile) and compares the next
// version with (Host.Stale, Host.Decide).
type Identity struct {
	// Version is the certificate version installed with its command
	// succeeding (0: none yet).
	Version int `json:"version"`
	// Fingerprint is the SHA-256 of the certificate's DER, in hex: what
	// tells two certificates of one version number apart (a store
	// restored from a backup numbers its next renewal as one a host may
	// already have installed). Records written before it was kept have
	// none.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Serial and NotBefore are the certificate's, as the certificate's
	// record in the store also has them: the cheap comparison of a due
	// pass (Host.Stale). NotBefore is also the floor below which this
	// host installs nothing over what it installed (Host.Decide).
	Serial    string    `json:"serial,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Issuer is who the vault says issued it: IssuerImported, or
	// IssuerCA(id) for the vault CA whose signature the host checked. A
	// later version that says otherwise is not installed (Host.Decide):
	// the certificate's type is a field of its record, which someone with
	// database access can change to skip the CA's check. Records written
	// before it was kept have none.
	Issuer string `json:"issuer,omitempty"`
}

// IssuerImported is the Issuer of an imported certificate.
const IssuerImported = "imported"

// IssuerCA is the Issuer of a certificate the vault CA id issued.
func IssuerCA(id string) string { return "ca:" + id }

// checked is material that passed check: the certificate and chain as
// they are written (re-encoded from what parsed, so that nothing but
// certificates reaches the files) and which certificate it is.
type checked struct {
	certPEM, chainPEM []byte
	id                Identity
	leaf              *x509.Certificate
}

// errMaterial marks what check refuses, errMaterialExport what it
// refuses to export (Material.Export).
var (
	errMaterial       = errors.New("not installed")
	errMaterialExport = errors.New("not exported")
	// errDamaged marks, beside them, PEM of the material that does not
	// parse: damage where it is stored (IsDamagedMaterial).
	errDamaged = errors.New("damaged")
)

// damagedError is check's refusal of material that does not parse.
type damagedError struct{ error }

func (e damagedError) Is(target error) bool { return target == errDamaged }
func (e damagedError) Unwrap() error        { return e.error }

// ClockSkew is how far in the future a certificate's NotBefore may be, by
// this host's clock, for the host to install it. Every certificate the
// vault issues is valid from a minute before it was issued, and an import
// refuses one not yet valid: a later NotBefore is either another host's
// clock running ahead (a few minutes, at most, on hosts kept by NTP) or a
// certificate made outside the vault and put into the store, which would
// otherwise become the floor below which this host installs nothing (see
// Host.Decide) for as long as its NotBefore is ahead.
const ClockSkew = 5 * time.Minute

// check refuses material whose certificate is not exactly one certificate
// that parses, whose chain does not parse, or whose certificate's public
// key is not the key's: bytes put into the store by someone else, which
// the host would otherwise write where a server reads its certificate
// and hand to its command. It also refuses a chain whose certificates do
// not each certify the one before it (signatures checked: parsing checks
// none), a self-signed certificate whose signature is not its own, and a
// certificate valid only from later than m.Now plus ClockSkew (unless
// exported: m.Export). Who signed
// a certificate the vault issued is the vault's to prove (see the
// renewals service's material), before the material reaches here.
func (m Material) check() (checked, error) {
	refuse := func(format string, a ...any) (checked, error) {
		not := errMaterial
		if m.Export {
			not = errMaterialExport
		}
		return checked{}, fmt.Errorf("version %d of %s %w: %s", m.Version, m.CertificateARN, not, fmt.Sprintf(format, a...))
	}
	certs, chain, err := m.parse()
	if err != nil {
		return checked{}, err
	}
	if len(certs) != 1 {
		return refuse("its certificate PEM holds %d certificates, not one", len(certs))
	}
	leaf := certs[0]
	if m.Key == nil {
		return refuse("it has no key")
	}
	pub, err := x509.MarshalPKIXPublicKey(m.Key.Public())
	if err != nil || !bytes.Equal(pub, leaf.RawSubjectPublicKeyInfo) {
		return refuse("its certificate's public key is not the one of its sealed key")
	}
	if err := x509util.CheckChainOrder(leaf, chain); err != nil {
		return refuse("its chain does not certify it (%v)", err)
	}
	if len(chain) == 0 && bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
		if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
			return refuse("it names itself its issuer, and its signature is not its own (%v)", err)
		}
	}
	now := m.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !m.Export && leaf.NotBefore.After(now.Add(ClockSkew)) {
		return refuse("its certificate is valid only from %s, later than this host's clock allows (%s)",
			leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	sum := sha256.Sum256(leaf.Raw)
	return checked{
		certPEM:  pemio.EncodeCertificatesPEM(leaf),
		chainPEM: pemio.EncodeCertificatesPEM(chain...),
		id: Identity{Version: m.Version, Fingerprint: hex.EncodeToString(sum[:]),
			Serial: x509util.FormatSerial(leaf.SerialNumber), NotBefore: leaf.NotBefore.UTC()},
		leaf: leaf,
	}, nil
}

// Identify checks m as Install does before writing anything, and returns
// which certificate it is. Its error says what is wrong with the version
// (its certificate, its chain, its key), naming neither the key nor
// anything the store's bytes could make it print beyond a parse error.
func (m Material) Identify() (Identity, error) {
	in, _, err := m.IdentifyLeaf()
	return in, err
}

// IdentifyLeaf is Identify with the certificate it checked, for a caller
// that proves more of it (who signed it) without parsing it again.
func (m Material) IdentifyLeaf() (Identity, *x509.Certificate, error) {
	c, err := m.check()
	return c.id, c.leaf, err
}

// parse parses m's certificate PEM and chain; what does not parse is
// refused as damaged (IsDamagedMaterial).
func (m Material) parse() (certs, chain []*x509.Certificate, err error) {
	damaged := func(what string, err error) error {
		not := errMaterial
		if m.Export {
			not = errMaterialExport
		}
		return damagedError{fmt.Errorf("version %d of %s %w: its %s does not parse (%v)", m.Version, m.CertificateARN, not, what, err)}
	}
	if certs, err = pemio.ParseCertificatesPEM(m.CertificatePEM); err != nil {
		return nil, nil, damaged("certificate", err)
	}
	if len(bytes.TrimSpace(m.ChainPEM)) > 0 {
		if chain, err = pemio.ParseCertificatesPEM(m.ChainPEM); err != nil {
			return nil, nil, damaged("chain", err)
		}
	}
	return certs, chain, nil
}

// CheckParses refuses, as check does, m's certificate or chain when it
// does not parse (IsDamagedMaterial), and checks nothing else: for what
// hands out the PEM without a key.
func (m Material) CheckParses() error {
	_, _, err := m.parse()
	return err
}

// IsDamagedMaterial reports whether err is Identify's (or Install's)
// refusal of material whose certificate or chain does not parse.
func IsDamagedMaterial(err error) bool { return errors.Is(err, errDamaged) }

// IsRefusedMaterial reports whether err is Identify's (or Install's)
// refusal of the material itself.
func IsRefusedMaterial(err error) bool {
	return errors.Is(err, errMaterial) || errors.Is(err, errMaterialExport)
}

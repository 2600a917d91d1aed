package inventory

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/x509util"
)

// RawMaterial is what the user gave to import: PEM bytes and the names of
// the files they came from (for messages).
type RawMaterial struct {
	CertificatePEM, PrivateKeyPEM, ChainPEM    []byte
	CertificateFile, PrivateKeyFile, ChainFile string
	// Bundle is a single PEM holding certificate, chain and key.
	Bundle     []byte
	BundleFile string
	// Passphrase decrypts an encrypted private key; nil when none was given.
	Passphrase []byte
}

// Material is parsed, checked import material.
type Material struct {
	Leaf       *x509.Certificate
	Chain      []*x509.Certificate
	Key        crypto.Signer
	KeyPEMSize int
	// LeafFile names the file the certificate came from, for the
	// messages of the rules it breaks ("" when it was not a file).
	LeafFile string
}

// invalid wraps a parse or rule error as invalid input (exit 4).
func invalid(err error) error {
	var ce *errs.Error
	if errors.As(err, &ce) {
		return err
	}
	return &errs.Error{Exit: errs.ExitInvalid, Err: err}
}

// sameKey reports whether the PEM keys a and b (encrypted under pass, or
// not) are one key: both parse and their public keys are equal.
func sameKey(a, b, pass []byte) bool {
	ka, err := pemio.ParsePrivateKeyPEM(a, pass)
	if err != nil {
		return false
	}
	kb, err := pemio.ParsePrivateKeyPEM(b, pass)
	return err == nil && x509util.PublicKeysEqual(ka.Public(), kb.Public())
}

// ParseMaterial parses and checks import material by ACM's rules at now.
func ParseMaterial(raw RawMaterial, now time.Time) (*Material, error) {
	m := &Material{LeafFile: orName(raw.CertificateFile, raw.BundleFile)}
	chainFile := orName(raw.ChainFile, m.LeafFile) // a chain not given apart is in the leaf's file
	var keyPEM []byte
	if raw.Bundle != nil {
		b, err := pemio.SplitBundle(raw.Bundle)
		if err != nil {
			return nil, invalid(fileErr(raw.BundleFile, err))
		}
		if b.KeyPEM == nil && raw.PrivateKeyPEM == nil {
			return nil, invalid(fmt.Errorf("%s: the bundle holds no private key (give --private-key)", raw.BundleFile))
		}
		if b.KeyPEM != nil && raw.PrivateKeyPEM != nil && !sameKey(b.KeyPEM, raw.PrivateKeyPEM, raw.Passphrase) {
			// Which of the two is meant is a guess: --private-key used
			// to win unsaid (tester). The same key given twice is the
			// one key (review: a script that always passes it).
			return nil, invalid(fmt.Errorf("%s: the bundle holds a private key, and --private-key gives another: give the key once (a bundle without its key, or no --private-key)", raw.BundleFile))
		}
		m.Leaf, m.Chain, keyPEM = b.Leaf, b.Chain, b.KeyPEM
		if raw.PrivateKeyPEM != nil {
			keyPEM = raw.PrivateKeyPEM
		}
	} else {
		certs, err := pemio.ParseCertificatesPEM(raw.CertificatePEM)
		if err != nil {
			return nil, invalid(fileErr(raw.CertificateFile, err))
		}
		// An empty chain file is no chain: export writes one (chain.pem)
		// for a certificate that has none, and it must import back
		// (tester).
		chainGiven := len(bytes.TrimSpace(raw.ChainPEM)) > 0
		if len(certs) > 1 && chainGiven {
			return nil, invalid(fmt.Errorf("%s: holds %d certificates and --certificate-chain was given too; give only the end-entity certificate with --certificate", raw.CertificateFile, len(certs)))
		}
		// A certificate file holding the full chain (leaf first) is split.
		m.Leaf, m.Chain = certs[0], certs[1:]
		if chainGiven {
			m.Chain, err = pemio.ParseCertificatesPEM(raw.ChainPEM)
			if err != nil {
				return nil, invalid(fileErr(raw.ChainFile, fmt.Errorf("certificate chain: %w", err)))
			}
		}
		keyPEM = raw.PrivateKeyPEM
	}
	if len(keyPEM) == 0 {
		return nil, invalid(fmt.Errorf("%s: empty file: no private key", orName(raw.PrivateKeyFile, "private key")))
	}
	key, size, err := pemio.ParsePrivateKeyPEMSized(keyPEM, raw.Passphrase)
	m.KeyPEMSize = size
	if err != nil {
		return nil, invalid(fileErr(orName(raw.PrivateKeyFile, raw.BundleFile), err))
	}
	m.Key = key
	if err := x509util.CheckImport(m.Leaf, m.Key, m.KeyPEMSize, m.Chain, now); err != nil {
		return nil, invalid(ruleFileErr(err, m.LeafFile, orName(raw.PrivateKeyFile, raw.BundleFile), chainFile))
	}
	return m, nil
}

// ruleFileErr prefixes a broken import rule with the file it is about —
// the certificate's, the key's or the chain's — so that a user who gave
// three files, or a sync of a directory, knows which one to look at.
func ruleFileErr(err error, certFile, keyFile, chainFile string) error {
	var re *x509util.RuleError
	if !errors.As(err, &re) {
		return err
	}
	name := certFile
	switch re.Rule {
	case x509util.RuleKeyTooLarge, x509util.RuleKeyAlgorithm, x509util.RuleKeyMismatch:
		name = keyFile
	case x509util.RuleChainHasLeaf, x509util.RuleChainOrder:
		name = chainFile
	}
	if name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

func orName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fileErr prefixes err with the file name unless pemio already did.
func fileErr(name string, err error) error {
	var pe *pemio.Error
	if errors.As(err, &pe) && pe.File == "" && name != "" {
		cp := *pe
		cp.File = name
		return &cp
	}
	return err
}

// KeyRef names the sealed private key of a certificate version.
func KeyRef(certID string, version int) string {
	return fmt.Sprintf("certificate/%s/v%d/key", certID, version)
}

// fillFromLeaf sets the X.509-derived fields of c from leaf.
func fillFromLeaf(c *localstore.Certificate, leaf *x509.Certificate) error {
	alg, err := x509util.KeyAlgorithmOf(leaf.PublicKey)
	if err != nil {
		return invalid(err)
	}
	c.DomainName, c.SubjectAlternativeNames = x509util.CertificateNames(leaf)
	c.KeyAlgorithm = alg
	c.SignatureAlgorithm = x509util.SignatureAlgorithmName(leaf.SignatureAlgorithm)
	c.Serial = x509util.FormatSerial(leaf.SerialNumber)
	c.Subject = x509util.Subject(leaf)
	c.Issuer = x509util.Issuer(leaf)
	c.NotBefore = leaf.NotBefore.UTC()
	c.NotAfter = leaf.NotAfter.UTC()
	c.KeyUsages = x509util.KeyUsageNames(leaf.KeyUsage)
	c.ExtendedKeyUsages = nil
	for _, e := range x509util.ExtKeyUsages(leaf) {
		c.ExtendedKeyUsages = append(c.ExtendedKeyUsages, localstore.EKU{Name: e.Name, OID: e.OID})
	}
	return nil
}

// NewVersion builds the version record of leaf and its chain in PEM
// (pemio.EncodeCertificatesPEM).
func NewVersion(number int, leaf *x509.Certificate, chainPEM []byte, keyRef string) *localstore.CertificateVersion {
	return &localstore.CertificateVersion{
		Number:         number,
		Serial:         x509util.FormatSerial(leaf.SerialNumber),
		NotBefore:      leaf.NotBefore.UTC(),
		NotAfter:       leaf.NotAfter.UTC(),
		CertificatePEM: pemio.EncodeCertificatesPEM(leaf),
		ChainPEM:       chainPEM,
		KeyRef:         keyRef,
	}
}

// NewImported builds the record of an imported certificate (not stored).
func NewImported(m *Material, tags []localstore.Tag, now time.Time) (*localstore.Certificate, error) {
	c := &localstore.Certificate{
		ID:                 uuid.NewString(),
		Status:             StatusIssued,
		Type:               TypeImported,
		KeyPairOrigin:      OriginImported,
		CreatedAt:          now,
		UpdatedAt:          now,
		ImportedAt:         now,
		RenewalEligibility: Ineligible,
		Tags:               tags,
		Version:            1,
	}
	if err := fillFromLeaf(c, m.Leaf); err != nil {
		return nil, err
	}
	return c, nil
}

// StoreImported writes an imported certificate, its first version and its
// sealed key in tx.
func StoreImported(tx localstore.Tx, v *localstore.Vault, c *localstore.Certificate, m *Material, now time.Time) error {
	ref := KeyRef(c.ID, c.Version)
	if err := v.SealKey(tx, ref, m.Key); err != nil {
		return err
	}
	ver := NewVersion(c.Version, m.Leaf, pemio.EncodeCertificatesPEM(m.Chain...), ref)
	ver.ImportedAt = now
	if err := tx.PutVersion(c.ID, ver); err != nil {
		return err
	}
	return tx.PutCertificate(c)
}

// Reimport replaces the certificate id with new material, keeping its ARN,
// tags and history, by ACM's reimport rules. changed is false when the
// material is the certificate already current (nothing is written).
func Reimport(tx localstore.Tx, v *localstore.Vault, id string, m *Material, now time.Time) (c *localstore.Certificate, changed bool, err error) {
	c, err = tx.GetCertificate(id)
	if err != nil {
		return nil, false, err
	}
	if c.Type != TypeImported {
		return nil, false, errs.Refusedf("certificate %s is %s, not IMPORTED: only imported certificates can be reimported", id, c.Type)
	}
	cur, err := tx.GetVersion(id, c.Version)
	if err != nil {
		return nil, false, err
	}
	old, err := pemio.ParseCertificatesPEM(cur.CertificatePEM)
	if err != nil || len(old) == 0 {
		return nil, false, fmt.Errorf("%w: current version of %s is unreadable", localstore.ErrCorrupt, id)
	}
	if err := x509util.CheckReimport(old[0], m.Leaf); err != nil {
		err = ruleFileErr(err, m.LeafFile, "", "")
		var re *x509util.RuleError
		if errors.As(err, &re) && re.Rule == x509util.RuleReimportNoName {
			return nil, false, invalid(err)
		}
		return nil, false, &errs.Error{Exit: errs.ExitRefused, Err: err}
	}
	if bytes.Equal(old[0].Raw, m.Leaf.Raw) {
		// The same certificate again: nothing changes, as in ACM.
		return c, false, nil
	}
	c.Version++
	c.UpdatedAt = now
	c.ImportedAt = now
	c.Status = StatusIssued
	c.RevokedAt, c.RevocationReason = time.Time{}, ""
	if err := fillFromLeaf(c, m.Leaf); err != nil {
		return nil, false, err
	}
	ref := KeyRef(c.ID, c.Version)
	if err := v.SealKey(tx, ref, m.Key); err != nil {
		return nil, false, err
	}
	ver := NewVersion(c.Version, m.Leaf, pemio.EncodeCertificatesPEM(m.Chain...), ref)
	ver.ImportedAt = now
	if err := tx.PutVersion(c.ID, ver); err != nil {
		return nil, false, err
	}
	return c, true, tx.PutCertificate(c)
}

package authorities

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// CertificateArn is AWS Private CA's ARN of the certificate CA caID issued
// with serial: <ca-arn>/certificate/<serial in hex>.
func (s *Service) CertificateArn(caID string, serial *big.Int) string {
	return s.core.Names.CAARN(caID) + "/certificate/" + hex.EncodeToString(serial.Bytes())
}

// serialOfArn reads the serial of a certificate ARN of the CA caID.
func (s *Service) serialOfArn(caID, certArn string) (string, error) {
	caArn, hexSerial, ok := strings.Cut(certArn, "/certificate/")
	if !ok || hexSerial == "" {
		return "", errs.Invalidf("%q is not a certificate ARN of a certificate authority (<ca-arn>/certificate/<serial>)", certArn)
	}
	// The CA part is an ARN like any other: of this vault's region and
	// account (else not found, as everywhere), in either case.
	ca, err := s.core.Names.IDOf(arn.CertificateAuthority, "certificate authority", caArn)
	if err != nil {
		return "", err
	}
	if !ca.FullARN || !ca.Exact || ca.ID != strings.ToLower(caID) {
		return "", errs.Invalidf("certificate %s was not issued by certificate authority %s", certArn, s.core.Names.CAARN(caID))
	}
	b, err := hex.DecodeString(hexSerial)
	if err != nil || len(b) == 0 {
		return "", errs.Invalidf("certificate ARN %s: the serial %q is not hexadecimal", certArn, hexSerial)
	}
	return x509util.FormatSerial(new(big.Int).SetBytes(b)), nil
}

// CertificateRef names a certificate a CA issued: by its ARN or by its
// serial (one of them).
type CertificateRef struct {
	CertificateArn string
	Serial         string
}

// serial is the certificate's serial in the vault's form, and how
// messages name it: as the user wrote it (x509util.SerialLabel).
func (s *Service) serial(caID string, ref CertificateRef) (serial, label string, err error) {
	if ref.CertificateArn != "" {
		serial, err = s.serialOfArn(caID, ref.CertificateArn)
		return serial, serial, err
	}
	n, err := x509util.ParseSerial(ref.Serial)
	if err != nil {
		return "", "", errs.Invalidf("%v", err)
	}
	return x509util.FormatSerial(n), x509util.SerialLabel(ref.Serial, n), nil
}

// CertificatePEM is a certificate and its chain as PEM (AWS Private CA's
// GetCertificate and GetCertificateAuthorityCertificate outputs).
type CertificatePEM struct {
	Certificate      string `json:"Certificate"`
	CertificateChain string `json:"CertificateChain"`
}

// GetCertificate returns a certificate the CA named by caRef issued
// (GetCertificate): exit 3 when it issued none with that serial.
func (s *Service) GetCertificate(ctx context.Context, caRef string, ref CertificateRef) (*CertificatePEM, error) {
	var out *CertificatePEM
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		r, err := authority.Find(tx, s.core.Names, caRef)
		if err != nil {
			return err
		}
		serial := ref.Serial // GetIssued reads it, and names it as given
		if ref.CertificateArn != "" {
			if serial, err = s.serialOfArn(r.ID, ref.CertificateArn); err != nil {
				return err
			}
		}
		is, err := authority.GetIssued(tx, r, serial)
		if err != nil {
			return err
		}
		out = &CertificatePEM{Certificate: string(pemio.EncodeCertificatesPEM(is.Certificate))}
		if is.Certificate.CheckSignatureFrom(is.Certificate) == nil && string(is.Certificate.RawIssuer) == string(is.Certificate.RawSubject) {
			return nil // a root's own certificate has no chain
		}
		out.CertificateChain = r.CertificatePEM + r.ChainPEM
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetCACertificate returns the certificate of the CA named by ref and its
// chain up to the root (GetCertificateAuthorityCertificate).
func (s *Service) GetCACertificate(ctx context.Context, ref string) (*CertificatePEM, error) {
	r, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if r.CertificatePEM == "" {
		return nil, errs.Refusedf("certificate authority %s is %s: it has no certificate yet", r.ID, r.Status).WithCode(authority.ReasonInvalidState).
			WithHint("sign its CSR (certctl ca csr %s) and activate it with certctl ca import-certificate", r.ID)
	}
	return &CertificatePEM{Certificate: r.CertificatePEM, CertificateChain: r.ChainPEM}, nil
}

// RevokeCertificate revokes a certificate the CA named by caRef issued
// (AWS Private CA's RevokeCertificate): its CRL and OCSP responder see it
// at once. When the certificate is the current version of one in the
// inventory, that certificate becomes REVOKED through the inventory's own
// revocation (and its Certificate Revoked event). Exit 3 for a serial the
// CA never issued, 5 for one already revoked. It returns the certificate's
// ARN and the notices for stderr: where an inventory certificate is
// still deployed (inventory.StillDeployed), and why no CRL or OCSP answer
// will carry the revocation when the CA is deleted
// (authority.Record.Unpublished).
func (s *Service) RevokeCertificate(ctx context.Context, caRef string, ref CertificateRef, reason string) (certArn string, notices []string, err error) {
	code, ok := casign.ReasonCode(reason)
	if !ok {
		return "", nil, &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--revocation-reason", reason, casign.ReasonNames())}
	}
	_, err = s.change(ctx, "RevokeCertificate", caRef, func(op *service.Op, r *authority.Record) error {
		notices = nil
		op.Param("RevocationReason", reason)
		serial, label, err := s.serial(r.ID, ref)
		if err != nil {
			op.Param("CertificateSerial", ref.Serial+ref.CertificateArn)
			return err
		}
		op.Param("CertificateSerial", serial)
		n, _ := x509util.ParseSerial(serial)
		certArn = s.CertificateArn(r.ID, n)
		op.Resource(certArn)
		rec, err := op.Tx.GetSerial(r.ID, serial)
		if err != nil {
			if errors.Is(err, localstore.ErrNotFound) {
				return errs.NotFoundf("certificate authority %s issued no certificate with serial %s", r.ID, label)
			}
			return err
		}
		if !rec.RevokedAt.IsZero() {
			return errs.Refusedf("the certificate with serial %s is already revoked (%s, %s)",
				label, casign.ReasonName(rec.Reason), timeutil.RFC3339(rec.RevokedAt))
		}
		if selfSigned(rec.DER) {
			// As AWS Private CA: a relying party trusts a root by
			// its certificate, not by the root's own CRL, which would
			// list the root in itself while it kept signing.
			return errs.Refusedf("the certificate with serial %s is the CA's own self-signed certificate, which its own CRL cannot revoke", label).
				WithHint("to stop the CA, disable it (certctl ca update %s --status DISABLED) or delete it; relying parties must remove it from their trust stores", r.ID)
		}
		c, current := issuedTo(op.Tx, r.ID, rec)
		if c != nil {
			op.Resource(s.core.Names.CertificateARN(c.ID))
		}
		if u := r.Unpublished(op.Now); u != "" {
			notices = append(notices, certArn+": "+u)
		}
		if current {
			if d := inventory.StillDeployed(c); d != "" {
				notices = append(notices, s.core.Names.CertificateARN(c.ID)+" is "+d)
			}
			return op.Revoke(c, reason, code, true)
		}
		if err := authority.Revoke(op.Tx, r.ID, serial, op.Now, code); err != nil {
			return err
		}
		if c != nil {
			// An earlier version of an inventory certificate: told by
			// its event (tester: nothing was).
			return op.RevokedEarlier(c, r.ID, serial, reason)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return certArn, notices, nil
}

// selfSigned reports whether der is a self-signed CA certificate (a root's
// own, recorded among the serials it issued).
func selfSigned(der []byte) bool {
	c, err := x509.ParseCertificate(der)
	return err == nil && c.IsCA && bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// issuedTo is the inventory certificate the serial rec of caID was issued
// to (nil when none: a certificate of ca issue, or one deleted), and
// whether rec is its current version rather than an earlier one.
func issuedTo(tx localstore.Tx, caID string, rec *localstore.Serial) (*localstore.Certificate, bool) {
	if rec.CertID == "" {
		return nil, false
	}
	c, err := tx.GetCertificate(rec.CertID)
	if err != nil || c.CertificateAuthorityID != caID {
		return nil, false
	}
	return c, c.Serial == rec.Serial
}

// AuditReportEntry is one certificate of AWS Private CA's audit report.
type AuditReportEntry struct {
	AwsAccountID     string `json:"awsAccountId"`
	CertificateArn   string `json:"certificateArn"`
	Serial           string `json:"serial"`
	Subject          string `json:"subject"`
	NotBefore        string `json:"notBefore"`
	NotAfter         string `json:"notAfter"`
	IssuedAt         string `json:"issuedAt"`
	RevokedAt        string `json:"revokedAt,omitempty"`
	RevocationReason string `json:"revocationReason,omitempty"`
	TemplateArn      string `json:"templateArn,omitempty"`
}

// AuditReportColumns are the report's fields in order (the CSV header).
var AuditReportColumns = []string{"awsAccountId", "certificateArn", "serial", "subject", "notBefore", "notAfter",
	"issuedAt", "revokedAt", "revocationReason", "templateArn"}

// Row is e's fields in AuditReportColumns' order.
func (e *AuditReportEntry) Row() []string {
	return []string{e.AwsAccountID, e.CertificateArn, e.Serial, e.Subject, e.NotBefore, e.NotAfter,
		e.IssuedAt, e.RevokedAt, e.RevocationReason, e.TemplateArn}
}

// AuditReport lists every certificate the CA named by ref issued — by `ca
// issue`, `request`, renewals and ACME alike — oldest first, with its
// revocation state (CreateCertificateAuthorityAuditReport's content). It
// reads the serials table only: no certificate is parsed.
func (s *Service) AuditReport(ctx context.Context, ref string) ([]AuditReportEntry, error) {
	var out []AuditReportEntry
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		r, err := authority.Find(tx, s.core.Names, ref)
		if err != nil {
			return err
		}
		list, err := tx.ListIssued(r.ID)
		if err != nil {
			return err
		}
		prefix := s.core.Names.CAARN(r.ID) + "/certificate/"
		// Subordinates created with --parent before their template was
		// recorded: their template follows from their path length.
		var children map[string]string
		for i := range list {
			if list[i].Template == "" && !list[i].NotAfter.IsZero() {
				if children, err = authority.ChildTemplates(tx, r.ID); err != nil {
					return err
				}
				break
			}
		}
		out = make([]AuditReportEntry, 0, len(list))
		for i := range list {
			is := &list[i]
			if is.NotAfter.IsZero() {
				continue // reserved before certificates were recorded, or never signed
			}
			e := AuditReportEntry{
				AwsAccountID:   s.core.Names.Account,
				CertificateArn: prefix + strings.ReplaceAll(is.Serial, ":", ""),
				Serial:         is.Serial,
				Subject:        is.Subject,
				NotBefore:      timeutil.RFC3339(is.NotBefore),
				NotAfter:       timeutil.RFC3339(is.NotAfter),
				IssuedAt:       timeutil.RFC3339(is.IssuedAt),
				TemplateArn:    authority.TemplateArn(is.Template),
			}
			if is.Template == "" {
				e.TemplateArn = authority.TemplateArn(children[is.Serial])
			}
			if !is.RevokedAt.IsZero() {
				e.RevokedAt, e.RevocationReason = timeutil.RFC3339(is.RevokedAt), casign.ReasonName(is.Reason)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ImportRequest is what `ca import` takes: the CA's certificate, key and
// chain as read from the user's files, and the new CA's tags.
type ImportRequest struct {
	Material inventory.RawMaterial
	Tags     []string
	// KeyStorage PKCS11: the CA's key is the key pair labelled KeyLabel
	// already in the token (Material has no private key).
	KeyStorage string
	KeyLabel   string
}

// Import brings an existing root or subordinate CA into the vault
// (ImportCertificateAuthority) and returns its ARN, with a notice when its
// certificate cannot sign CRLs. The material is checked by the import
// rules (key match, chain order, validity) and must be a CA certificate
// (exit 4 otherwise).
func (s *Service) Import(ctx context.Context, req ImportRequest) (*CAChange, error) {
	switch req.KeyStorage {
	case "", hsm.StorageVault:
	case hsm.StoragePKCS11:
		return s.importToken(ctx, req)
	default:
		return nil, errs.UsageErrorf("key storage %q (want VAULT or PKCS11)", req.KeyStorage)
	}
	var arn, notice string
	err := s.core.Change(ctx, "ImportCertificateAuthority", func(op *service.Op) error {
		tags, err := importParams(op, req)
		if err != nil {
			return err
		}
		m, err := inventory.ParseMaterial(req.Material, op.Now)
		if err != nil {
			return err
		}
		r, err := s.core.Authority.Import(op.Tx, m, tags)
		if err != nil {
			return err
		}
		arn, notice = s.core.Names.CAARN(r.ID), r.CRLNotice()
		op.Resource(arn, s.core.Names.CAARN(r.ParentID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CAChange{Arn: arn, Notices: []string{notice}}, nil
}

// importParams records the files and tags of an ImportCertificateAuthority
// and returns its tags, parsed and checked.
func importParams(op *service.Op, req ImportRequest) ([]localstore.Tag, error) {
	for _, p := range []struct{ name, file string }{
		{"Certificate", req.Material.CertificateFile}, {"CertificateChain", req.Material.ChainFile},
	} {
		if p.file != "" {
			op.Param(p.name, p.file)
		}
	}
	tags, err := inventory.ParseTags(req.Tags)
	if err != nil {
		return nil, err
	}
	if tags, err = inventory.MergeTags(nil, tags); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		op.Param("Tags", tags)
	}
	return tags, nil
}

// importToken brings in a CA whose key is already in the token, labelled
// req.KeyLabel: the token is opened before the change (exit 6 leaves
// nothing behind); a key that is not there (exit 3) or is not the
// certificate's (exit 4) is refused and recorded.
func (s *Service) importToken(ctx context.Context, req ImportRequest) (*CAChange, error) {
	if req.KeyLabel == "" {
		return nil, errs.UsageErrorf("--key-storage PKCS11 needs --pkcs11-key-label: the label of the CA's key in the token")
	}
	if len(req.Material.PrivateKeyPEM) > 0 {
		return nil, errs.UsageErrorf("a CA whose key is in the token takes no private key file")
	}
	if s.set.Token == nil {
		return nil, hsm.ErrUnsupported()
	}
	tok, err := s.set.Token()
	if err != nil {
		return nil, err
	}
	var arn, notice string
	err = s.core.Change(ctx, "ImportCertificateAuthority", func(op *service.Op) error {
		op.Param("KeyStorage", hsm.StoragePKCS11)
		op.Param("KeyLabel", req.KeyLabel)
		tags, err := importParams(op, req)
		if err != nil {
			return err
		}
		certs, err := pemio.ParseCertificatesPEM(req.Material.CertificatePEM)
		if err != nil {
			return errs.Invalidf("%s: %v", req.Material.CertificateFile, err)
		}
		chain := certs[1:]
		if len(req.Material.ChainPEM) > 0 {
			if chain, err = pemio.ParseCertificatesPEM(req.Material.ChainPEM); err != nil {
				return errs.Invalidf("%s: %v", req.Material.ChainFile, err)
			}
		}
		key, id, err := tok.Find(req.KeyLabel, nil)
		if err != nil {
			return err
		}
		r, created, err := s.core.Authority.ImportCA(op.Tx, authority.ImportCARequest{Certificate: certs[0], Chain: chain, Key: key,
			Tags: tags, KeyStorage: hsm.StoragePKCS11, KeyLabel: req.KeyLabel, KeyID: id})
		if err != nil {
			return err
		}
		if !created {
			return errs.Refusedf("this CA is already in the vault: certificate authority %s", r.ID)
		}
		arn, notice = s.core.Names.CAARN(r.ID), r.CRLNotice()
		op.Resource(arn, s.core.Names.CAARN(r.ParentID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CAChange{Arn: arn, Notices: []string{notice}}, nil
}

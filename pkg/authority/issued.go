package authority

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// AWS Private CA's names of the templates certctl's issuance paths use
// when they record what they issued.
const (
	TemplateNameEndEntity           = "EndEntityCertificate"
	TemplateNameEndEntityServerAuth = "EndEntityServerAuthCertificate"
	TemplateNameSubordinateCA0      = "SubordinateCACertificate_PathLen0"
	TemplateNameRootCA              = "RootCACertificate"
)

// TemplateArn is AWS Private CA's ARN of the template named name ("" for
// none).
func TemplateArn(name string) string {
	if name == "" {
		return ""
	}
	return "arn:aws:acm-pca:::template/" + name + "/V1"
}

// pcaTemplateName is the AWS Private CA name of a `ca issue` template
// (certctl's short aliases included).
func pcaTemplateName(t string) string {
	switch t {
	case casign.TemplateEndEntity:
		return TemplateNameEndEntity
	case casign.TemplateSubordinateCA:
		return TemplateNameSubordinateCA0
	case casign.TemplateRootCA:
		return TemplateNameRootCA
	}
	if name, ok := strings.CutPrefix(t, "arn:aws:acm-pca:::template/"); ok {
		return strings.TrimSuffix(name, "/V1")
	}
	return t
}

// SubordinateTemplateName is the AWS Private CA template of a subordinate
// CA certificate with path length constraint pathLen:
// SubordinateCACertificate_PathLen0..3; "" for none (-1) or a longer one,
// which no AWS Private CA template makes.
func SubordinateTemplateName(pathLen int) string {
	for _, n := range SubordinateTemplates {
		if _, l := casign.IsCATemplate(n); l == pathLen {
			return n
		}
	}
	return ""
}

// ChildTemplates maps the serial (x509util.FormatSerial) of the current
// certificate of each subordinate CA of the vault that the CA caID signed
// to its AWS Private CA template (SubordinateTemplateName of its path
// length): what a CA created with --parent before the template was
// recorded for it was issued with. CAs whose certificate matches no
// template are left out.
func ChildTemplates(tx localstore.Tx, caID string) (map[string]string, error) {
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range all {
		if r.ParentID != caID {
			continue
		}
		c, err := r.Certificate()
		if err != nil || c == nil || !c.BasicConstraintsValid || !c.IsCA {
			continue
		}
		pathLen := -1
		if c.MaxPathLen > 0 || c.MaxPathLenZero {
			pathLen = c.MaxPathLen
		}
		if name := SubordinateTemplateName(pathLen); name != "" {
			out[x509util.FormatSerial(c.SerialNumber)] = name
		}
	}
	return out, nil
}

// leafTemplateName is the template an IssueLeaf certificate matches.
func leafTemplateName(p LeafParams) string {
	if p.ClientAuth {
		return TemplateNameEndEntity // serverAuth and clientAuth
	}
	return TemplateNameEndEntityServerAuth
}

// Requester names an audit actor as an issued certificate records who
// asked for it: TYPE:id@host.
func Requester(a audit.Actor) string {
	s := a.Type + ":" + a.ID
	if a.Host != "" {
		s += "@" + a.Host
	}
	return s
}

// recordIssued keeps cert with the serial issuerID reserved for it, in
// the transaction that signed it: every certificate a CA of the vault
// signs passes through here (IssueLeaf, IssueCSR, Create).
func recordIssued(tx localstore.Tx, issuerID string, cert *x509.Certificate, template, requester string) error {
	return tx.RecordIssued(&localstore.Serial{
		Issuer:    issuerID,
		Serial:    x509util.FormatSerial(cert.SerialNumber),
		DER:       cert.Raw,
		Subject:   x509util.Subject(cert),
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		Template:  template,
		Requester: requester,
	})
}

// IssuedCertificate is a certificate a CA issued, as the vault keeps it.
type IssuedCertificate struct {
	localstore.Serial
	Certificate *x509.Certificate
}

// GetIssued reads the certificate r issued with serial (any form
// x509util.ParseSerial takes; messages name it as given). Not found (exit
// 3) when r never issued it, or issued it before certctl recorded issued
// certificates.
func GetIssued(tx localstore.Tx, r *Record, serial string) (*IssuedCertificate, error) {
	n, err := x509util.ParseSerial(serial)
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	s, err := tx.GetSerial(r.ID, x509util.FormatSerial(n))
	if errors.Is(err, localstore.ErrNotFound) || (err == nil && len(s.DER) == 0) {
		return nil, errs.NotFoundf("certificate authority %s has no certificate with serial %s", r.ID, x509util.SerialLabel(serial, n))
	}
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(s.DER)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %s of CA %s: %v", localstore.ErrCorrupt, s.Serial, r.ID, err)
	}
	return &IssuedCertificate{Serial: *s, Certificate: cert}, nil
}

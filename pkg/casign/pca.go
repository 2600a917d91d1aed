package casign

import (
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/x509util"
	stepx509 "go.step.sm/crypto/x509util"
)

// AWS Private CA certificate templates (IssueCertificate's TemplateArn,
// arn:aws:acm-pca:::template/<Name>/V1).
const (
	PCAEndEntity             = "EndEntityCertificate"
	PCAEndEntityClientAuth   = "EndEntityClientAuthCertificate"
	PCAEndEntityServerAuth   = "EndEntityServerAuthCertificate"
	PCACodeSigning           = "CodeSigningCertificate"
	PCAOCSPSigning           = "OCSPSigningCertificate"
	PCASubordinateCAPathLen0 = "SubordinateCACertificate_PathLen0"
	PCASubordinateCAPathLen1 = "SubordinateCACertificate_PathLen1"
	PCASubordinateCAPathLen2 = "SubordinateCACertificate_PathLen2"
	PCASubordinateCAPathLen3 = "SubordinateCACertificate_PathLen3"
	PCARootCA                = "RootCACertificate"
	PCACSRPassthrough        = "EndEntityCertificate_CSRPassthrough"
	PCABlankAPIPassthrough   = "BlankEndEntityCertificate_APIPassthrough"
)

// TemplateNames are the template names `ca issue --template` takes: AWS
// Private CA's, then certctl's short aliases. Treat as read-only.
var TemplateNames = []string{
	PCAEndEntity, PCAEndEntityClientAuth, PCAEndEntityServerAuth, PCACodeSigning, PCAOCSPSigning,
	PCASubordinateCAPathLen0, PCASubordinateCAPathLen1, PCASubordinateCAPathLen2, PCASubordinateCAPathLen3,
	PCARootCA, PCACSRPassthrough, PCABlankAPIPassthrough,
	TemplateEndEntity, TemplateSubordinateCA, TemplateRootCA,
}

var templateAliases = map[string]string{
	TemplateEndEntity:     PCAEndEntity,
	TemplateSubordinateCA: PCASubordinateCAPathLen0,
	TemplateRootCA:        PCARootCA,
}

// san kinds a profile may carry.
const (
	sanDNS = 1 << iota
	sanIP
	sanEmail
	sanURI
	sanAll = sanDNS | sanIP | sanEmail | sanURI
)

// profile is one template's definition (AWS Private CA's "template
// definitions" page).
type profile struct {
	// ku returns the key usage names (stepx509) for a key; nil: none.
	ku          func(pub any) []string
	eku         []string
	ekuCritical bool
	ca          bool
	pathLen     int
	sans        int  // san kinds carried from the request
	anyCN       bool // a CN that is not a DNS name or IP is accepted
	copyCSR     bool // CSRPassthrough: other requested extensions are copied
	passthrough bool // APIPassthrough
}

func digitalSignature(any) []string { return []string{stepx509.KeyUsageDigitalSignature} }

// serverKU is digitalSignature, plus keyEncipherment for RSA keys (RSA key
// transport); ECDSA keys must not assert keyEncipherment (RFC 8813).
func serverKU(pub any) []string {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return []string{stepx509.KeyUsageDigitalSignature, stepx509.KeyUsageKeyEncipherment}
	}
	return digitalSignature(pub)
}

func caKU(any) []string {
	return []string{stepx509.KeyUsageDigitalSignature, stepx509.KeyUsageCertSign, stepx509.KeyUsageCRLSign}
}

func subordinate(pathLen int) profile {
	return profile{ku: caKU, ca: true, pathLen: pathLen, sans: sanAll, anyCN: true}
}

var profiles = map[string]profile{
	PCAEndEntity:             {ku: serverKU, eku: []string{stepx509.ExtKeyUsageServerAuth, stepx509.ExtKeyUsageClientAuth}, pathLen: -1, sans: sanDNS | sanIP},
	PCAEndEntityServerAuth:   {ku: serverKU, eku: []string{stepx509.ExtKeyUsageServerAuth}, pathLen: -1, sans: sanDNS | sanIP},
	PCAEndEntityClientAuth:   {ku: digitalSignature, eku: []string{stepx509.ExtKeyUsageClientAuth}, pathLen: -1, sans: sanAll, anyCN: true},
	PCACodeSigning:           {ku: digitalSignature, eku: []string{stepx509.ExtKeyUsageCodeSigning}, ekuCritical: true, pathLen: -1, sans: sanAll, anyCN: true},
	PCAOCSPSigning:           {ku: digitalSignature, eku: []string{stepx509.ExtKeyUsageOCSPSigning}, ekuCritical: true, pathLen: -1, sans: sanAll, anyCN: true},
	PCASubordinateCAPathLen0: subordinate(0),
	PCASubordinateCAPathLen1: subordinate(1),
	PCASubordinateCAPathLen2: subordinate(2),
	PCASubordinateCAPathLen3: subordinate(3),
	PCARootCA:                {ku: caKU, ca: true, pathLen: -1, sans: sanAll, anyCN: true},
	PCACSRPassthrough:        {ku: serverKU, eku: []string{stepx509.ExtKeyUsageServerAuth, stepx509.ExtKeyUsageClientAuth}, pathLen: -1, sans: sanAll, anyCN: true, copyCSR: true},
	PCABlankAPIPassthrough:   {pathLen: -1, sans: sanAll, anyCN: true, passthrough: true},
}

// TemplateARN is the AWS Private CA ARN of template name (canonical).
func TemplateARN(name string) string { return "arn:aws:acm-pca:::template/" + name + "/V1" }

// CanonicalTemplate resolves a template given by AWS Private CA name,
// certctl alias (EndEntity, SubordinateCA, RootCA) or template ARN
// (arn:aws:acm-pca:::template/<Name>/V1) to its AWS Private CA name. The
// version may follow a name as in the AWS documentation
// (EndEntityCertificate/V1), and is read in either case (V1 is the only
// one). An AWS Private CA template certctl does not implement is refused
// naming it as such (see unsupportedTemplate).
func CanonicalTemplate(name string) (string, error) {
	n := name
	if strings.HasPrefix(n, "arn:") {
		parts := strings.Split(n, ":")
		if len(parts) != 6 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "acm-pca" {
			return "", fmt.Errorf("%q is not a template ARN (arn:aws:acm-pca:::template/<Name>/V1)", truncate(name))
		}
		res, ok := strings.CutPrefix(parts[5], "template/")
		base, ver, ok2 := strings.Cut(res, "/")
		if !ok || !ok2 || !strings.EqualFold(ver, "V1") {
			return "", fmt.Errorf("%q is not a template ARN (arn:aws:acm-pca:::template/<Name>/V1)", truncate(name))
		}
		if _, ok := profiles[base]; !ok {
			if err := unsupportedTemplate(base); err != nil {
				return "", err
			}
			return "", fmt.Errorf("unknown certificate template %q%s", truncate(base), didYouMean(base, pcaTemplateNames()))
		}
		return base, nil
	}
	if base, ver, ok := strings.Cut(n, "/"); ok && strings.EqualFold(ver, "V1") {
		n = base
	}
	if a, ok := templateAliases[n]; ok {
		return a, nil
	}
	if _, ok := profiles[n]; ok {
		return n, nil
	}
	if err := unsupportedTemplate(n); err != nil {
		return "", err
	}
	return "", fmt.Errorf("unknown certificate template %q%s", truncate(name), didYouMean(n, TemplateNames))
}

// unsupportedTemplate is the refusal of an AWS Private CA template that
// certctl does not implement, saying why and what to use; nil for a name
// that is not one. AWS Private CA's other templates are its base templates
// with a suffix: _APIPassthrough (the template, plus the request's
// ApiPassthrough where the template defines nothing), _APICSRPassthrough
// (that, plus the CSR's extensions), _CSRPassthrough, and the Blank… ones
// that define only basicConstraints. certctl's base templates apply no API
// passthrough — --api-passthrough goes with
// BlankEndEntityCertificate_APIPassthrough alone — so none of those is the
// same as a template certctl has.
func unsupportedTemplate(name string) error {
	stem, kind := name, ""
	for _, suffix := range []string{"_APICSRPassthrough", "_APIPassthrough", "_CSRPassthrough"} {
		if s, ok := strings.CutSuffix(name, suffix); ok {
			stem, kind = s, suffix
			break
		}
	}
	if kind == "" || !pcaStem(stem) {
		return nil
	}
	var why string
	switch {
	case kind == "_APICSRPassthrough":
		why = "certctl does not copy a CSR's extensions under an API passthrough (use " + PCACSRPassthrough + " or " + PCABlankAPIPassthrough + ")"
	case strings.HasPrefix(stem, "Blank"):
		why = "certctl's one blank template is " + PCABlankAPIPassthrough
	case kind == "_APIPassthrough":
		why = fmt.Sprintf("certctl's %s applies no API passthrough (use %s, or %s to give extensions with --api-passthrough)", stem, stem, PCABlankAPIPassthrough)
	default:
		why = "certctl copies a CSR's extensions with " + PCACSRPassthrough + " only"
	}
	return fmt.Errorf("certificate template %s is AWS Private CA's and is not supported: %s", truncate(name), why)
}

// pcaStem reports whether stem is an AWS Private CA base template name,
// or one of its Blank… templates without their suffix.
func pcaStem(stem string) bool {
	if _, ok := profiles[stem]; ok {
		return true
	}
	switch stem {
	case "BlankEndEntityCertificate", "BlankEndEntityCertificate_CriticalBasicConstraints", "BlankRootCACertificate":
		return true
	}
	for _, p := range []string{"BlankSubordinateCACertificate_PathLen", "BlankRootCACertificate_PathLen"} {
		if n, ok := strings.CutPrefix(stem, p); ok && len(n) == 1 && n[0] >= '0' && n[0] <= '3' {
			return true
		}
	}
	return false
}

// pcaTemplateNames are the AWS Private CA names of TemplateNames (what a
// template ARN may name), without certctl's aliases.
func pcaTemplateNames() []string {
	var out []string
	for _, n := range TemplateNames {
		if _, ok := profiles[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// didYouMean is ": did you mean X?" when name is X of names in another
// case (template names are exact, as AWS Private CA's are), else "".
func didYouMean(name string, names []string) string {
	if s := enum.Suggest(name, names); s != "" {
		return ": did you mean " + s + "?"
	}
	return ""
}

// IsCATemplate reports whether the (canonical) template makes a CA
// certificate, and its path length (-1: unconstrained).
func IsCATemplate(name string) (isCA bool, pathLen int) {
	p := profiles[name]
	return p.ca, p.pathLen
}

// Issue describes a certificate to build from a CSR.
type Issue struct {
	CSR      *x509.CertificateRequest
	Template string // any name CanonicalTemplate accepts
	Serial   *big.Int
	Validity Validity
	// Passthrough is BlankEndEntityCertificate_APIPassthrough's ApiPassthrough.
	Passthrough *APIPassthrough
	// Verified says the CSR came from ParseCSR, which checked its
	// signature; Build checks it otherwise.
	Verified bool
}

// NameError is a request item a template cannot carry (exit 4 upstream).
type NameError struct{ Problem string }

func (e *NameError) Error() string { return e.Problem }

// Build returns the certificate template for in: AWS Private CA's template
// definition applied to the CSR with go.step.sm/crypto/x509util. The CSR's
// subject, and its DNS, IP, email and URI names, are carried when the
// template carries them; a name the template cannot carry is refused with a
// *NameError naming it, never dropped. So is any other extension the CSR
// asks for that the certificate does not carry (see checkCSRExtensions),
// except under EndEntityCertificate_CSRPassthrough, which copies them.
func Build(in Issue) (*x509.Certificate, error) {
	csr := in.CSR
	if csr == nil {
		return nil, errors.New("nil certificate signing request")
	}
	name, err := CanonicalTemplate(in.Template)
	if err != nil {
		return nil, err
	}
	p := profiles[name]
	if err := checkSerial(in.Serial); err != nil {
		return nil, err
	}
	if !in.Verified {
		// The request may not have come through ParseCSR.
		if err := csr.CheckSignature(); err != nil {
			return nil, &CSRError{Problem: ErrCSRSignature.Error(), Err: errors.Join(ErrCSRSignature, err)}
		}
		if err := checkPublicKey(csr.PublicKey); err != nil {
			return nil, &CSRError{Problem: "unsupported key", Err: err}
		}
	}
	if err := ValidateSubject(csr.Subject); err != nil {
		return nil, &CSRError{Problem: err.Error()} // "subject CN is longer than 64 characters"
	}
	if in.Passthrough != nil && !p.passthrough {
		return nil, &NameError{Problem: fmt.Sprintf("template %s takes no API passthrough (use %s)", name, PCABlankAPIPassthrough)}
	}
	if err := checkOtherSANs(csr.Extensions); err != nil {
		return nil, err
	}

	subject, rawSubject := csr.Subject, csr.RawSubject
	names := requestNames{dns: csr.DNSNames, emails: csr.EmailAddresses, uris: csr.URIs}
	names.ips = append(names.ips, csr.IPAddresses...)
	if in.Passthrough != nil {
		if s := in.Passthrough.Subject; s != nil {
			if subject, err = s.name(); err != nil {
				return nil, err
			}
			rawSubject = nil
			if err := ValidateSubject(subject); err != nil {
				return nil, &NameError{Problem: "API passthrough subject: " + err.Error()}
			}
		}
		if ps := in.Passthrough.Extensions; ps != nil && ps.SubjectAlternativeNames != nil {
			if names, err = ps.names(); err != nil {
				return nil, err
			}
		}
	}
	cn := subject.CommonName
	cnIsHost := cn != "" && (net.ParseIP(cn) != nil || checkDNSSyntax(cn) == nil)
	if cnIsHost && net.ParseIP(cn) == nil {
		// A CN that reads as a host name is one under every template:
		// an "xn--" label in it that is no valid IDN is refused, not
		// taken for a person's name and left out of the SAN (review).
		if err := dnsname.CheckIDN(cn); err != nil {
			return nil, &NameError{Problem: "the subject CN: " + err.Error()}
		}
	}
	if cn != "" && !cnIsHost && !p.anyCN && !p.ca {
		return nil, &NameError{Problem: fmt.Sprintf("the subject CN %q is not a DNS name or IP address, and template %s carries only those (use %s for a person or a workload)", truncate(cn), name, PCAEndEntityClientAuth)}
	}
	if p.ca && cn == "" && len(subject.Organization) == 0 && len(subject.OrganizationalUnit) == 0 {
		return nil, &CSRError{Problem: "a CA certificate needs a subject with CN, O or OU"}
	}
	if cnIsHost && (!p.anyCN || p.copyCSR) {
		// The server templates — EndEntity and CSRPassthrough, which
		// is EndEntity and the CSR's other extensions — name the host
		// in the SAN as well: clients (Go, browsers) read no CN.
		if ip := net.ParseIP(cn); ip != nil {
			names.ips = append([]net.IP{ip}, names.ips...)
		} else {
			names.dns = append([]string{cn}, names.dns...)
		}
	}
	sans, err := names.sans(p.sans, name)
	if err != nil {
		return nil, err
	}
	if !p.ca && len(sans) == 0 {
		if !p.anyCN {
			return nil, &CSRError{Problem: "no DNS name or IP address in the CN or the subject alternative names"}
		}
		if emptyName(subject, rawSubject) {
			return nil, &CSRError{Problem: "neither a subject nor a subject alternative name"}
		}
	}

	// The certificate is assembled as a go.step.sm/crypto/x509util
	// certificate (what its JSON templates produce), built directly: the
	// text template engine would cost more than the signature.
	c := &stepx509.Certificate{
		SANs:               sans,
		PublicKey:          csr.PublicKey,
		PublicKeyAlgorithm: csr.PublicKeyAlgorithm,
		BasicConstraints:   &stepx509.BasicConstraints{IsCA: p.ca, MaxPathLen: p.pathLen},
	}
	if p.ku != nil {
		c.KeyUsage = keyUsage(p.ku(csr.PublicKey))
	}
	if len(p.eku) > 0 {
		if p.ekuCritical {
			ext, err := ekuExtension(p.eku)
			if err != nil {
				return nil, err
			}
			c.Extensions = append(c.Extensions, ext)
		} else {
			c.ExtKeyUsage = extKeyUsage(p.eku)
		}
	}
	if p.copyCSR {
		for _, e := range csr.Extensions {
			if !managedExtension(e.Id) {
				c.Extensions = append(c.Extensions, stepx509.Extension{ID: stepx509.ObjectIdentifier(e.Id), Critical: e.Critical, Value: e.Value})
			}
		}
	}
	if in.Passthrough != nil && in.Passthrough.Extensions != nil {
		ku, eku, unknown, more, err := in.Passthrough.Extensions.extensions()
		if err != nil {
			return nil, err
		}
		if err := in.Passthrough.Extensions.KeyUsage.checkKey(csr.PublicKey); err != nil {
			return nil, err
		}
		if len(ku) > 0 {
			c.KeyUsage = keyUsage(ku)
		}
		c.ExtKeyUsage = append(c.ExtKeyUsage, extKeyUsage(eku)...)
		for _, u := range unknown {
			oid, err := parseOID(u)
			if err != nil {
				return nil, &NameError{Problem: "API passthrough: " + err.Error()}
			}
			c.UnknownExtKeyUsage = append(c.UnknownExtKeyUsage, oid)
		}
		c.Extensions = append(c.Extensions, more...)
	}
	t := c.GetCertificate()
	t.Subject = subject
	// The CSR's subject is carried as it was encoded, every attribute
	// included (crypto/x509 would drop the ones pkix.Name has no field for).
	t.RawSubject = rawSubject
	t.SerialNumber = in.Serial
	t.NotBefore = in.Validity.NotBefore
	t.NotAfter = in.Validity.NotAfter
	if p.ca && p.pathLen == 0 {
		t.MaxPathLenZero = true
	}
	if err := checkCSRExtensions(csr, t, name, p); err != nil {
		return nil, err
	}
	if err := checkSubjectEmails(t, sans, name, p); err != nil {
		return nil, err
	}
	return t, nil
}

// checkSubjectEmails refuses a subject whose emailAddress attribute the
// subject alternative names do not carry too (RFC 5280 4.1.2.6: an
// address in the subject must be in the SAN; zlint's
// e_subj_email_not_in_san, which SPEC's lint run counts: tester, every
// template signed /CN=host/emailAddress=ops@… with the address in the
// subject alone). Refused and named, never dropped or moved.
func checkSubjectEmails(t *x509.Certificate, sans []stepx509.SubjectAlternativeName, tmpl string, p profile) error {
	_, emails, err := subjectNames(t)
	if err != nil {
		return &CSRError{Problem: "the subject: " + err.Error()}
	}
	for _, e := range emails {
		if slices.ContainsFunc(sans, func(s stepx509.SubjectAlternativeName) bool { return s.Type == stepx509.EmailType && s.Value == e }) {
			continue
		}
		if i := slices.IndexFunc(sans, func(s stepx509.SubjectAlternativeName) bool {
			return s.Type == stepx509.EmailType && strings.EqualFold(s.Value, e)
		}); i >= 0 {
			// Compared as zlint compares them (review: "add it there"
			// for an address there in another case).
			return &NameError{Problem: fmt.Sprintf("the subject's emailAddress %q is in the subject alternative names spelled %q: give it one spelling in both",
				truncate(e), truncate(sans[i].Value))}
		}
		if p.sans&sanEmail == 0 {
			return &NameError{Problem: fmt.Sprintf("the subject's emailAddress %q is in no subject alternative name, and template %s carries none: leave it out of the subject (or use %s)",
				truncate(e), tmpl, PCAEndEntityClientAuth)}
		}
		return &NameError{Problem: fmt.Sprintf("the subject's emailAddress %q is in no subject alternative name, where RFC 5280 wants it: add it there (openssl req -addext subjectAltName=email:ADDRESS) or leave it out of the subject",
			truncate(e))}
	}
	return nil
}

var kuBits = map[string]x509.KeyUsage{
	stepx509.KeyUsageDigitalSignature:  x509.KeyUsageDigitalSignature,
	stepx509.KeyUsageContentCommitment: x509.KeyUsageContentCommitment,
	stepx509.KeyUsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
	stepx509.KeyUsageDataEncipherment:  x509.KeyUsageDataEncipherment,
	stepx509.KeyUsageKeyAgreement:      x509.KeyUsageKeyAgreement,
	stepx509.KeyUsageCertSign:          x509.KeyUsageCertSign,
	stepx509.KeyUsageCRLSign:           x509.KeyUsageCRLSign,
	stepx509.KeyUsageEncipherOnly:      x509.KeyUsageEncipherOnly,
	stepx509.KeyUsageDecipherOnly:      x509.KeyUsageDecipherOnly,
}

func keyUsage(names []string) stepx509.KeyUsage {
	var ku x509.KeyUsage
	for _, n := range names {
		ku |= kuBits[n]
	}
	return stepx509.KeyUsage(ku)
}

// ekus are the extended key usage purposes a template can grant, by
// go.step.sm's name: Go's value and the OID, in one table.
var ekus = map[string]struct {
	usage x509.ExtKeyUsage
	oid   asn1.ObjectIdentifier
}{
	stepx509.ExtKeyUsageServerAuth:      {x509.ExtKeyUsageServerAuth, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}},
	stepx509.ExtKeyUsageClientAuth:      {x509.ExtKeyUsageClientAuth, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}},
	stepx509.ExtKeyUsageCodeSigning:     {x509.ExtKeyUsageCodeSigning, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}},
	stepx509.ExtKeyUsageEmailProtection: {x509.ExtKeyUsageEmailProtection, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}},
	stepx509.ExtKeyUsageTimeStamping:    {x509.ExtKeyUsageTimeStamping, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}},
	stepx509.ExtKeyUsageOCSPSigning:     {x509.ExtKeyUsageOCSPSigning, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}},
}

func extKeyUsage(names []string) stepx509.ExtKeyUsage {
	out := make(stepx509.ExtKeyUsage, 0, len(names))
	for _, n := range names {
		out = append(out, ekus[n].usage)
	}
	return out
}

var (
	oidSAN  = x509util.OIDSubjectAltName
	oidEKU  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKU   = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBC   = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSKI  = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAKI  = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRL  = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidAIA  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidNC   = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidPol  = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidCPS  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
	oidIDP  = asn1.ObjectIdentifier{2, 5, 29, 28}
	managed = []asn1.ObjectIdentifier{oidSAN, oidEKU, oidKU, oidBC, oidSKI, oidAKI, oidCRL, oidAIA, oidNC}
)

// managedExtension reports an extension certctl sets itself.
func managedExtension(id asn1.ObjectIdentifier) bool {
	for _, m := range managed {
		if id.Equal(m) {
			return true
		}
	}
	return false
}

// ekuExtension is a critical extended key usage extension.
func ekuExtension(names []string) (stepx509.Extension, error) {
	oids := make([]asn1.ObjectIdentifier, 0, len(names))
	for _, n := range names {
		oids = append(oids, ekus[n].oid)
	}
	v, err := asn1.Marshal(oids)
	if err != nil {
		return stepx509.Extension{}, err
	}
	return stepx509.Extension{ID: stepx509.ObjectIdentifier(oidEKU), Critical: true, Value: v}, nil
}

// checkOtherSANs refuses subject alternative names of a kind certctl does
// not carry (otherName, directoryName, registeredID, …), naming the kind:
// crypto/x509 parses only DNS, email, IP and URI names and would drop the
// others silently.
func checkOtherSANs(exts []pkix.Extension) error {
	for _, e := range exts {
		if !e.Id.Equal(oidSAN) {
			continue
		}
		names, err := x509util.ParseSubjectAltName(e.Value)
		if err != nil {
			return &CSRError{Problem: "malformed subject alternative name extension"}
		}
		for _, n := range names {
			switch n.Tag {
			case x509util.GeneralNameRFC822, x509util.GeneralNameDNS, x509util.GeneralNameURI, x509util.GeneralNameIP:
			default:
				return &NameError{Problem: fmt.Sprintf("the CSR's %s subject alternative name cannot be carried (only DNS, IP, email and URI names)", n.Kind())}
			}
		}
	}
	return nil
}

// requestNames are the names a certificate is asked to carry.
type requestNames struct {
	dns    []string
	ips    []net.IP
	emails []string
	uris   []*url.URL
}

// sans checks the names against the kinds a template carries and returns
// them as stepx509 SANs, duplicates removed.
func (n requestNames) sans(kinds int, tmpl string) ([]stepx509.SubjectAlternativeName, error) {
	refuse := func(kind, v string) error {
		return &NameError{Problem: fmt.Sprintf("template %s cannot carry the %s subject alternative name %q (use %s or %s)",
			tmpl, kind, truncate(v), PCAEndEntityClientAuth, PCACSRPassthrough)}
	}
	var out []stepx509.SubjectAlternativeName
	seen := map[string]bool{}
	add := func(typ, v string) {
		if k := typ + ":" + strings.ToLower(v); !seen[k] {
			seen[k] = true
			out = append(out, stepx509.SubjectAlternativeName{Type: typ, Value: v})
		}
	}
	if len(n.dns) > 0 {
		if kinds&sanDNS == 0 {
			return nil, refuse("DNS", n.dns[0])
		}
		for _, d := range n.dns {
			if net.ParseIP(d) != nil {
				return nil, &CSRError{Problem: fmt.Sprintf("the IP address %q is given as a DNS name", truncate(d))}
			}
			if err := checkDNSName(d); err != nil {
				return nil, &CSRError{Problem: "names", Err: err}
			}
			add(stepx509.DNSType, d)
		}
	}
	for _, ip := range n.ips {
		if kinds&sanIP == 0 {
			return nil, refuse("IP", ip.String())
		}
		add(stepx509.IPType, ip.String())
	}
	for _, e := range n.emails {
		if kinds&sanEmail == 0 {
			return nil, refuse("email", e)
		}
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || a.Name != "" {
			return nil, &CSRError{Problem: fmt.Sprintf("email address %q is not a plain mailbox", truncate(e))}
		}
		add(stepx509.EmailType, e)
	}
	for _, u := range n.uris {
		if kinds&sanURI == 0 {
			return nil, refuse("URI", u.String())
		}
		if !u.IsAbs() || (u.Host == "" && u.Opaque == "") {
			return nil, &CSRError{Problem: fmt.Sprintf("URI %q is not an absolute URI with a host", truncate(u.String()))}
		}
		if !uriHostOK(u) {
			return nil, &NameError{Problem: fmt.Sprintf("the URI subject alternative name %q: its host %q must be a fully qualified domain name or an IP address (RFC 5280 4.2.1.6)", truncate(u.String()), truncate(u.Host))}
		}
		add(stepx509.URIType, u.String())
	}
	return out, nil
}

// emptyName reports a subject without any attribute.
func emptyName(n pkix.Name, raw []byte) bool {
	if len(raw) > 2 {
		return false
	}
	return n.CommonName == "" && n.SerialNumber == "" && len(n.Country) == 0 && len(n.Organization) == 0 &&
		len(n.OrganizationalUnit) == 0 && len(n.Locality) == 0 && len(n.Province) == 0 &&
		len(n.StreetAddress) == 0 && len(n.PostalCode) == 0 && len(n.ExtraNames) == 0 && len(n.Names) == 0
}

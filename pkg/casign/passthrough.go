package casign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	stepx509 "go.step.sm/crypto/x509util"

	"github.com/certctl/certctl/pkg/jsonarg"
)

// APIPassthrough is AWS Private CA's ApiPassthrough: extensions and a
// subject given with the request instead of in the CSR
// (BlankEndEntityCertificate_APIPassthrough).
type APIPassthrough struct {
	Extensions *PassthroughExtensions `json:"Extensions,omitempty"`
	Subject    *PassthroughSubject    `json:"Subject,omitempty"`
}

// PassthroughExtensions is ApiPassthrough's Extensions.
type PassthroughExtensions struct {
	KeyUsage                *PassthroughKeyUsage `json:"KeyUsage,omitempty"`
	ExtendedKeyUsage        []PassthroughEKU     `json:"ExtendedKeyUsage,omitempty"`
	SubjectAlternativeNames []PassthroughSAN     `json:"SubjectAlternativeNames,omitempty"`
	CustomExtensions        []CustomExtension    `json:"CustomExtensions,omitempty"`
	CertificatePolicies     []CertificatePolicy  `json:"CertificatePolicies,omitempty"`
}

// PassthroughKeyUsage is PCA's KeyUsage.
type PassthroughKeyUsage struct {
	DigitalSignature bool `json:"DigitalSignature,omitempty"`
	NonRepudiation   bool `json:"NonRepudiation,omitempty"`
	KeyEncipherment  bool `json:"KeyEncipherment,omitempty"`
	DataEncipherment bool `json:"DataEncipherment,omitempty"`
	KeyAgreement     bool `json:"KeyAgreement,omitempty"`
	KeyCertSign      bool `json:"KeyCertSign,omitempty"`
	CRLSign          bool `json:"CRLSign,omitempty"`
	EncipherOnly     bool `json:"EncipherOnly,omitempty"`
	DecipherOnly     bool `json:"DecipherOnly,omitempty"`
}

// checkKey refuses key usages the subject's key pub cannot have (nil k
// passes): an RSA key neither agrees keys nor enciphers or deciphers only
// (RFC 3279 2.3.1), an EC key enciphers no keys or data (RFC 8813 3),
// an Ed25519 or Ed448 key only signs (RFC 8410 5). Relying parties and
// linters (zlint's e_rsa_allowed_ku_ee, e_ecdsa_allowed_ku) refuse such
// certificates.
func (k *PassthroughKeyUsage) checkKey(pub crypto.PublicKey) error {
	if k == nil {
		return nil
	}
	var bad []string
	add := func(on bool, name string) {
		if on {
			bad = append(bad, name)
		}
	}
	var kind string
	switch pub.(type) {
	case *rsa.PublicKey:
		kind = "an RSA key (RFC 3279)"
		add(k.KeyAgreement, "KeyAgreement")
		add(k.EncipherOnly, "EncipherOnly")
		add(k.DecipherOnly, "DecipherOnly")
	case *ecdsa.PublicKey:
		kind = "an EC key (RFC 8813)"
		add(k.KeyEncipherment, "KeyEncipherment")
		add(k.DataEncipherment, "DataEncipherment")
	case ed25519.PublicKey:
		kind = "an Ed25519 key (RFC 8410)"
		add(k.KeyEncipherment, "KeyEncipherment")
		add(k.DataEncipherment, "DataEncipherment")
		add(k.KeyAgreement, "KeyAgreement")
		add(k.EncipherOnly, "EncipherOnly")
		add(k.DecipherOnly, "DecipherOnly")
	}
	if len(bad) > 0 {
		return &NameError{Problem: fmt.Sprintf("API passthrough: KeyUsage %s is not allowed for %s", strings.Join(bad, ", "), kind)}
	}
	return nil
}

// PassthroughEKU is PCA's ExtendedKeyUsage.
type PassthroughEKU struct {
	ExtendedKeyUsageType             string `json:"ExtendedKeyUsageType,omitempty"`
	ExtendedKeyUsageObjectIdentifier string `json:"ExtendedKeyUsageObjectIdentifier,omitempty"`
}

// PassthroughSAN is PCA's GeneralName (the kinds certctl carries).
type PassthroughSAN struct {
	DnsName                   string          `json:"DnsName,omitempty"`
	IpAddress                 string          `json:"IpAddress,omitempty"`
	Rfc822Name                string          `json:"Rfc822Name,omitempty"`
	UniformResourceIdentifier string          `json:"UniformResourceIdentifier,omitempty"`
	DirectoryName             json.RawMessage `json:"DirectoryName,omitempty"`
	OtherName                 json.RawMessage `json:"OtherName,omitempty"`
	RegisteredId              string          `json:"RegisteredId,omitempty"`
	EdiPartyName              json.RawMessage `json:"EdiPartyName,omitempty"`
}

// CustomExtension is PCA's CustomExtension: Value is the base64 DER value.
type CustomExtension struct {
	ObjectIdentifier string `json:"ObjectIdentifier"`
	Value            string `json:"Value"`
	Critical         bool   `json:"Critical,omitempty"`
}

// CertificatePolicy is PCA's PolicyInformation.
type CertificatePolicy struct {
	CertPolicyId     string            `json:"CertPolicyId"`
	PolicyQualifiers []PolicyQualifier `json:"PolicyQualifiers,omitempty"`
}

// PolicyQualifier is PCA's PolicyQualifierInfo (CPS only).
type PolicyQualifier struct {
	PolicyQualifierId string `json:"PolicyQualifierId"`
	Qualifier         struct {
		CpsUri string `json:"CpsUri"`
	} `json:"Qualifier"`
}

// PassthroughSubject is PCA's ASN1Subject.
type PassthroughSubject struct {
	Country                    string            `json:"Country,omitempty"`
	Organization               string            `json:"Organization,omitempty"`
	OrganizationalUnit         string            `json:"OrganizationalUnit,omitempty"`
	DistinguishedNameQualifier string            `json:"DistinguishedNameQualifier,omitempty"`
	State                      string            `json:"State,omitempty"`
	CommonName                 string            `json:"CommonName,omitempty"`
	SerialNumber               string            `json:"SerialNumber,omitempty"`
	Locality                   string            `json:"Locality,omitempty"`
	Title                      string            `json:"Title,omitempty"`
	Surname                    string            `json:"Surname,omitempty"`
	GivenName                  string            `json:"GivenName,omitempty"`
	Initials                   string            `json:"Initials,omitempty"`
	Pseudonym                  string            `json:"Pseudonym,omitempty"`
	GenerationQualifier        string            `json:"GenerationQualifier,omitempty"`
	CustomAttributes           []CustomAttribute `json:"CustomAttributes,omitempty"`
}

// CustomAttribute is PCA's CustomAttribute.
type CustomAttribute struct {
	ObjectIdentifier string `json:"ObjectIdentifier"`
	Value            string `json:"Value"`
}

// ParseAPIPassthrough reads PCA's ApiPassthrough JSON; unknown fields are
// refused by name.
func ParseAPIPassthrough(data []byte) (*APIPassthrough, error) {
	var p APIPassthrough
	if err := jsonarg.Decode(data, &p); err != nil {
		return nil, &NameError{Problem: "API passthrough: " + err.Error()}
	}
	return &p, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 64 {
		return nil, fmt.Errorf("%q is not an object identifier", truncate(s))
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (p != "0" && strings.HasPrefix(p, "0")) {
			return nil, fmt.Errorf("%q is not an object identifier", truncate(s))
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("%q is not an object identifier", truncate(s))
	}
	return oid, nil
}

var subjectOIDs = []struct {
	oid asn1.ObjectIdentifier
	get func(*PassthroughSubject) string
}{
	{asn1.ObjectIdentifier{2, 5, 4, 46}, func(s *PassthroughSubject) string { return s.DistinguishedNameQualifier }},
	{asn1.ObjectIdentifier{2, 5, 4, 12}, func(s *PassthroughSubject) string { return s.Title }},
	{asn1.ObjectIdentifier{2, 5, 4, 4}, func(s *PassthroughSubject) string { return s.Surname }},
	{asn1.ObjectIdentifier{2, 5, 4, 42}, func(s *PassthroughSubject) string { return s.GivenName }},
	{asn1.ObjectIdentifier{2, 5, 4, 43}, func(s *PassthroughSubject) string { return s.Initials }},
	{asn1.ObjectIdentifier{2, 5, 4, 65}, func(s *PassthroughSubject) string { return s.Pseudonym }},
	{asn1.ObjectIdentifier{2, 5, 4, 44}, func(s *PassthroughSubject) string { return s.GenerationQualifier }},
}

// name is the subject as a pkix.Name.
func (s *PassthroughSubject) name() (pkix.Name, error) {
	n := pkix.Name{CommonName: s.CommonName, SerialNumber: s.SerialNumber}
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	add(&n.Country, s.Country)
	add(&n.Organization, s.Organization)
	add(&n.OrganizationalUnit, s.OrganizationalUnit)
	add(&n.Province, s.State)
	add(&n.Locality, s.Locality)
	for _, a := range subjectOIDs {
		if v := a.get(s); v != "" {
			if len(v) > 64 {
				return n, &NameError{Problem: fmt.Sprintf("API passthrough subject attribute %s is longer than 64 characters", a.oid)}
			}
			n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: a.oid, Value: v})
		}
	}
	for _, a := range s.CustomAttributes {
		oid, err := parseOID(a.ObjectIdentifier)
		if err != nil || a.Value == "" {
			return n, &NameError{Problem: fmt.Sprintf("API passthrough subject custom attribute %q: an OID and a value are needed", truncate(a.ObjectIdentifier))}
		}
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oid, Value: a.Value})
	}
	return n, nil
}

// names are the SubjectAlternativeNames as request names.
func (e *PassthroughExtensions) names() (requestNames, error) {
	var n requestNames
	for i, s := range e.SubjectAlternativeNames {
		set := 0
		switch {
		case len(s.DirectoryName) > 0:
			return n, &NameError{Problem: "API passthrough: a DirectoryName subject alternative name cannot be carried (DnsName, IpAddress, Rfc822Name, UniformResourceIdentifier only)"}
		case len(s.OtherName) > 0:
			return n, &NameError{Problem: "API passthrough: an OtherName subject alternative name cannot be carried (DnsName, IpAddress, Rfc822Name, UniformResourceIdentifier only)"}
		case len(s.EdiPartyName) > 0:
			return n, &NameError{Problem: "API passthrough: an EdiPartyName subject alternative name cannot be carried (DnsName, IpAddress, Rfc822Name, UniformResourceIdentifier only)"}
		case s.RegisteredId != "":
			return n, &NameError{Problem: "API passthrough: a RegisteredId subject alternative name cannot be carried (DnsName, IpAddress, Rfc822Name, UniformResourceIdentifier only)"}
		}
		if s.DnsName != "" {
			set++
			n.dns = append(n.dns, s.DnsName)
		}
		if s.IpAddress != "" {
			set++
			ip := net.ParseIP(s.IpAddress)
			if ip == nil {
				return n, &NameError{Problem: fmt.Sprintf("API passthrough: IpAddress %q is not an IP address", truncate(s.IpAddress))}
			}
			n.ips = append(n.ips, ip)
		}
		if s.Rfc822Name != "" {
			set++
			n.emails = append(n.emails, s.Rfc822Name)
		}
		if s.UniformResourceIdentifier != "" {
			set++
			u, err := url.Parse(s.UniformResourceIdentifier)
			if err != nil {
				return n, &NameError{Problem: fmt.Sprintf("API passthrough: URI %q: %v", truncate(s.UniformResourceIdentifier), err)}
			}
			n.uris = append(n.uris, u)
		}
		if set != 1 {
			return n, &NameError{Problem: fmt.Sprintf("API passthrough: SubjectAlternativeNames[%d] must hold exactly one name", i)}
		}
	}
	return n, nil
}

var pcaEKUs = map[string]any{
	"SERVER_AUTH":              stepx509.ExtKeyUsageServerAuth,
	"CLIENT_AUTH":              stepx509.ExtKeyUsageClientAuth,
	"CODE_SIGNING":             stepx509.ExtKeyUsageCodeSigning,
	"EMAIL_PROTECTION":         stepx509.ExtKeyUsageEmailProtection,
	"TIME_STAMPING":            stepx509.ExtKeyUsageTimeStamping,
	"OCSP_SIGNING":             stepx509.ExtKeyUsageOCSPSigning,
	"SMART_CARD_LOGIN":         "1.3.6.1.4.1.311.20.2.2",
	"DOCUMENT_SIGNING":         "1.3.6.1.5.5.7.3.36",
	"CERTIFICATE_TRANSPARENCY": "1.3.6.1.4.1.11129.2.4.4",
}

// extensions turns the passthrough extensions into stepx509 key usages,
// extended key usages (named and by OID) and further extensions.
func (e *PassthroughExtensions) extensions() (ku, eku, unknown []string, exts []stepx509.Extension, err error) {
	if k := e.KeyUsage; k != nil {
		for _, u := range []struct {
			on   bool
			name string
		}{
			{k.DigitalSignature, stepx509.KeyUsageDigitalSignature},
			{k.NonRepudiation, stepx509.KeyUsageContentCommitment},
			{k.KeyEncipherment, stepx509.KeyUsageKeyEncipherment},
			{k.DataEncipherment, stepx509.KeyUsageDataEncipherment},
			{k.KeyAgreement, stepx509.KeyUsageKeyAgreement},
			{k.KeyCertSign, stepx509.KeyUsageCertSign},
			{k.CRLSign, stepx509.KeyUsageCRLSign},
			{k.EncipherOnly, stepx509.KeyUsageEncipherOnly},
			{k.DecipherOnly, stepx509.KeyUsageDecipherOnly},
		} {
			if u.on {
				ku = append(ku, u.name)
			}
		}
		if k.KeyCertSign || k.CRLSign {
			return nil, nil, nil, nil, &NameError{Problem: "API passthrough: KeyCertSign and CRLSign make no sense in an end-entity certificate (CA:FALSE)"}
		}
		if (k.EncipherOnly || k.DecipherOnly) && !k.KeyAgreement {
			return nil, nil, nil, nil, &NameError{Problem: "API passthrough: EncipherOnly and DecipherOnly need KeyAgreement"}
		}
	}
	for _, x := range e.ExtendedKeyUsage {
		switch {
		case x.ExtendedKeyUsageType != "" && x.ExtendedKeyUsageObjectIdentifier != "":
			return nil, nil, nil, nil, &NameError{Problem: "API passthrough: an ExtendedKeyUsage has either ExtendedKeyUsageType or ExtendedKeyUsageObjectIdentifier"}
		case x.ExtendedKeyUsageType != "":
			v, ok := pcaEKUs[x.ExtendedKeyUsageType]
			if !ok {
				types := make([]string, 0, len(pcaEKUs))
				for k := range pcaEKUs {
					types = append(types, k)
				}
				sort.Strings(types)
				return nil, nil, nil, nil, &NameError{Problem: fmt.Sprintf("API passthrough: unknown ExtendedKeyUsageType %q%s", truncate(x.ExtendedKeyUsageType), didYouMean(x.ExtendedKeyUsageType, types))}
			}
			s := v.(string)
			if strings.Contains(s, ".") {
				unknown = append(unknown, s)
			} else {
				eku = append(eku, s)
			}
		default:
			if _, err := parseOID(x.ExtendedKeyUsageObjectIdentifier); err != nil {
				return nil, nil, nil, nil, &NameError{Problem: "API passthrough: ExtendedKeyUsageObjectIdentifier: " + err.Error()}
			}
			unknown = append(unknown, x.ExtendedKeyUsageObjectIdentifier)
		}
	}
	// A usage named twice is one usage (tester: signed in twice), as a
	// name given twice is one name.
	eku, unknown = firstOfEach(eku), firstOfEach(unknown)
	for _, c := range e.CustomExtensions {
		oid, err := parseOID(c.ObjectIdentifier)
		if err != nil {
			return nil, nil, nil, nil, &NameError{Problem: "API passthrough: CustomExtensions: " + err.Error()}
		}
		if managedExtension(oid) || oid.Equal(oidPol) {
			return nil, nil, nil, nil, &NameError{Problem: fmt.Sprintf("API passthrough: custom extension %s is one certctl sets itself (use the named field)", oid)}
		}
		v, err := base64.StdEncoding.DecodeString(c.Value)
		if err != nil || len(v) == 0 {
			return nil, nil, nil, nil, &NameError{Problem: fmt.Sprintf("API passthrough: custom extension %s: Value must be base64 DER", oid)}
		}
		var raw asn1.RawValue
		if rest, err := asn1.Unmarshal(v, &raw); err != nil || len(rest) > 0 {
			return nil, nil, nil, nil, &NameError{Problem: fmt.Sprintf("API passthrough: custom extension %s: Value is not one DER value", oid)}
		}
		exts = append(exts, stepx509.Extension{ID: stepx509.ObjectIdentifier(oid), Critical: c.Critical, Value: v})
	}
	if len(e.CertificatePolicies) > 0 {
		ext, err := policiesExtension(e.CertificatePolicies)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		exts = append(exts, ext)
	}
	return ku, eku, unknown, exts, nil
}

type policyInformation struct {
	Policy     asn1.ObjectIdentifier
	Qualifiers []policyQualifierInfo `asn1:"optional,omitempty"`
}

type policyQualifierInfo struct {
	ID        asn1.ObjectIdentifier
	Qualifier string `asn1:"ia5"`
}

// policiesExtension is a non-critical certificatePolicies extension.
func policiesExtension(ps []CertificatePolicy) (stepx509.Extension, error) {
	infos := make([]policyInformation, 0, len(ps))
	seen := map[string]bool{}
	for _, p := range ps {
		oid, err := parseOID(p.CertPolicyId)
		if err != nil {
			return stepx509.Extension{}, &NameError{Problem: "API passthrough: CertPolicyId: " + err.Error()}
		}
		// RFC 5280 4.2.1.4: a policy appears once (tester: refused
		// without naming it, as "invalid certificate policies").
		if seen[oid.String()] {
			return stepx509.Extension{}, &NameError{Problem: fmt.Sprintf("API passthrough: CertificatePolicies names the policy %s twice", oid)}
		}
		seen[oid.String()] = true
		info := policyInformation{Policy: oid}
		for _, q := range p.PolicyQualifiers {
			if q.PolicyQualifierId != "CPS" {
				return stepx509.Extension{}, &NameError{Problem: fmt.Sprintf("API passthrough: PolicyQualifierId %q (only CPS)", truncate(q.PolicyQualifierId))}
			}
			u, err := url.Parse(q.Qualifier.CpsUri)
			if err != nil || !u.IsAbs() || !isASCII(q.Qualifier.CpsUri) {
				return stepx509.Extension{}, &NameError{Problem: fmt.Sprintf("API passthrough: CpsUri %q is not an absolute URI", truncate(q.Qualifier.CpsUri))}
			}
			info.Qualifiers = append(info.Qualifiers, policyQualifierInfo{ID: oidCPS, Qualifier: q.Qualifier.CpsUri})
		}
		infos = append(infos, info)
	}
	v, err := asn1.Marshal(infos)
	if err != nil {
		return stepx509.Extension{}, err
	}
	return stepx509.Extension{ID: stepx509.ObjectIdentifier(oidPol), Value: v}, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// firstOfEach is ss with each value kept at its first place only.
func firstOfEach(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

package x509util

import (
	"crypto/x509"
	"slices"
)

// SignatureAlgorithmName returns the signature algorithm in ACM's spelling,
// e.g. "SHA256WITHRSA", "SHA384WITHECDSA", "SHA256WITHRSAPSS". Unknown
// algorithms render as "UNKNOWN".
func SignatureAlgorithmName(alg x509.SignatureAlgorithm) string {
	switch alg {
	case x509.MD2WithRSA:
		return "MD2WITHRSA"
	case x509.MD5WithRSA:
		return "MD5WITHRSA"
	case x509.SHA1WithRSA:
		return "SHA1WITHRSA"
	case x509.SHA256WithRSA:
		return "SHA256WITHRSA"
	case x509.SHA384WithRSA:
		return "SHA384WITHRSA"
	case x509.SHA512WithRSA:
		return "SHA512WITHRSA"
	case x509.DSAWithSHA1:
		return "SHA1WITHDSA"
	case x509.DSAWithSHA256:
		return "SHA256WITHDSA"
	case x509.ECDSAWithSHA1:
		return "SHA1WITHECDSA"
	case x509.ECDSAWithSHA256:
		return "SHA256WITHECDSA"
	case x509.ECDSAWithSHA384:
		return "SHA384WITHECDSA"
	case x509.ECDSAWithSHA512:
		return "SHA512WITHECDSA"
	case x509.SHA256WithRSAPSS:
		return "SHA256WITHRSAPSS"
	case x509.SHA384WithRSAPSS:
		return "SHA384WITHRSAPSS"
	case x509.SHA512WithRSAPSS:
		return "SHA512WITHRSAPSS"
	case x509.PureEd25519:
		return "ED25519"
	default:
		return "UNKNOWN"
	}
}

// Key usage names as ACM spells them.
const (
	KeyUsageDigitalSignature = "DIGITAL_SIGNATURE"
	KeyUsageNonRepudiation   = "NON_REPUDIATION"
	KeyUsageKeyEncipherment  = "KEY_ENCIPHERMENT"
	KeyUsageDataEncipherment = "DATA_ENCIPHERMENT"
	KeyUsageKeyAgreement     = "KEY_AGREEMENT"
	KeyUsageCertSign         = "CERTIFICATE_SIGNING"
	KeyUsageCRLSign          = "CRL_SIGNING"
	KeyUsageEncipherOnly     = "ENCIPHER_ONLY"
	KeyUsageDecipherOnly     = "DECIPHER_ONLY"
)

// keyUsageBits lists the key usage bits in bit order with their names.
var keyUsageBits = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, KeyUsageDigitalSignature},
	{x509.KeyUsageContentCommitment, KeyUsageNonRepudiation},
	{x509.KeyUsageKeyEncipherment, KeyUsageKeyEncipherment},
	{x509.KeyUsageDataEncipherment, KeyUsageDataEncipherment},
	{x509.KeyUsageKeyAgreement, KeyUsageKeyAgreement},
	{x509.KeyUsageCertSign, KeyUsageCertSign},
	{x509.KeyUsageCRLSign, KeyUsageCRLSign},
	{x509.KeyUsageEncipherOnly, KeyUsageEncipherOnly},
	{x509.KeyUsageDecipherOnly, KeyUsageDecipherOnly},
}

// AllKeyUsageNames lists every key usage name, in bit order. Treat as
// read-only.
var AllKeyUsageNames = func() []string {
	names := make([]string, len(keyUsageBits))
	for i, k := range keyUsageBits {
		names[i] = k.name
	}
	return names
}()

// KeyUsageNames returns the ACM names of the bits set in ku, in bit order.
// It returns an empty (non-nil) slice when no bit is set.
func KeyUsageNames(ku x509.KeyUsage) []string {
	names := []string{}
	for _, k := range keyUsageBits {
		if ku&k.bit != 0 {
			names = append(names, k.name)
		}
	}
	return names
}

// EKU is an extended key usage as ACM reports it: a name and its OID.
type EKU struct {
	Name string
	OID  string
}

// Extended key usage names as ACM spells them. EKUNone names the absence
// of the extension in search filters; EKUCustom is any OID without a name.
const (
	EKUServerAuth      = "TLS_WEB_SERVER_AUTHENTICATION"
	EKUClientAuth      = "TLS_WEB_CLIENT_AUTHENTICATION"
	EKUCodeSigning     = "CODE_SIGNING"
	EKUEmailProtection = "EMAIL_PROTECTION"
	EKUTimeStamping    = "TIME_STAMPING"
	EKUOCSPSigning     = "OCSP_SIGNING"
	EKUIPSecEndSystem  = "IPSEC_END_SYSTEM"
	EKUIPSecTunnel     = "IPSEC_TUNNEL"
	EKUIPSecUser       = "IPSEC_USER"
	EKUAny             = "ANY"
	EKUNone            = "NONE"
	EKUCustom          = "CUSTOM"
)

// AllExtKeyUsageNames lists every extended key usage name ACM uses. Treat
// as read-only.
var AllExtKeyUsageNames = []string{
	EKUServerAuth, EKUClientAuth, EKUCodeSigning, EKUEmailProtection, EKUTimeStamping,
	EKUOCSPSigning, EKUIPSecEndSystem, EKUIPSecTunnel, EKUIPSecUser, EKUAny, EKUNone, EKUCustom,
}

// knownEKUs maps Go's extended key usages to ACM names and OIDs. Go's
// other values (Microsoft and Netscape ones) are CUSTOM with their OID.
var knownEKUs = map[x509.ExtKeyUsage]EKU{
	x509.ExtKeyUsageServerAuth:                     {EKUServerAuth, "1.3.6.1.5.5.7.3.1"},
	x509.ExtKeyUsageClientAuth:                     {EKUClientAuth, "1.3.6.1.5.5.7.3.2"},
	x509.ExtKeyUsageCodeSigning:                    {EKUCodeSigning, "1.3.6.1.5.5.7.3.3"},
	x509.ExtKeyUsageEmailProtection:                {EKUEmailProtection, "1.3.6.1.5.5.7.3.4"},
	x509.ExtKeyUsageIPSECEndSystem:                 {EKUIPSecEndSystem, "1.3.6.1.5.5.7.3.5"},
	x509.ExtKeyUsageIPSECTunnel:                    {EKUIPSecTunnel, "1.3.6.1.5.5.7.3.6"},
	x509.ExtKeyUsageIPSECUser:                      {EKUIPSecUser, "1.3.6.1.5.5.7.3.7"},
	x509.ExtKeyUsageTimeStamping:                   {EKUTimeStamping, "1.3.6.1.5.5.7.3.8"},
	x509.ExtKeyUsageOCSPSigning:                    {EKUOCSPSigning, "1.3.6.1.5.5.7.3.9"},
	x509.ExtKeyUsageAny:                            {EKUAny, "2.5.29.37.0"},
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     {EKUCustom, "1.3.6.1.4.1.311.10.3.3"},
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      {EKUCustom, "2.16.840.1.113730.4.1"},
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: {EKUCustom, "1.3.6.1.4.1.311.2.1.22"},
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     {EKUCustom, "1.3.6.1.4.1.311.61.1.1"},
}

// ExtKeyUsages returns the certificate's extended key usages with ACM names:
// the usages Go recognises in certificate order, then the unrecognised OIDs
// as CUSTOM. It returns an empty (non-nil) slice when the certificate has no
// Extended Key Usage extension.
func ExtKeyUsages(c *x509.Certificate) []EKU {
	ekus := []EKU{}
	if c == nil {
		return ekus
	}
	for _, u := range c.ExtKeyUsage {
		if e, ok := knownEKUs[u]; ok {
			ekus = append(ekus, e)
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		ekus = append(ekus, EKU{Name: EKUCustom, OID: oid.String()})
	}
	return ekus
}

// IsKeyUsageName reports whether name is an ACM key usage name.
func IsKeyUsageName(name string) bool { return slices.Contains(AllKeyUsageNames, name) }

// IsExtKeyUsageName reports whether name is an ACM extended key usage name.
func IsExtKeyUsageName(name string) bool { return slices.Contains(AllExtKeyUsageNames, name) }

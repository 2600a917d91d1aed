package casign

import (
	"strings"
	"testing"
)

// Template names take the version as AWS writes it, in either case, after
// a name or in an ARN; AWS Private CA's templates certctl does not
// implement are refused as such, saying what to use.
func TestTemplateNameForms(t *testing.T) {
	for in, want := range map[string]string{
		"EndEntityCertificate/V1":                                PCAEndEntity,
		"EndEntityCertificate/v1":                                PCAEndEntity,
		"arn:aws:acm-pca:::template/EndEntityCertificate/V1":     PCAEndEntity,
		"arn:aws:acm-pca:::template/EndEntityCertificate/v1":     PCAEndEntity,
		"SubordinateCACertificate_PathLen2/V1":                   PCASubordinateCAPathLen2,
		"BlankEndEntityCertificate_APIPassthrough/V1":            PCABlankAPIPassthrough,
		"arn:aws-us-gov:acm-pca:::template/RootCACertificate/v1": PCARootCA,
		"EndEntity/V1": PCAEndEntity,
	} {
		if got, err := CanonicalTemplate(in); err != nil || got != want {
			t.Errorf("CanonicalTemplate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"EndEntityCertificate/V2":                                           "unknown certificate template",
		"arn:aws:acm-pca:::template/EndEntityCertificate/V2":                "is not a template ARN",
		"EndEntityCertificate_APIPassthrough":                               "EndEntityCertificate_APIPassthrough is AWS Private CA's and is not supported: certctl's EndEntityCertificate applies no API passthrough",
		"arn:aws:acm-pca:::template/EndEntityCertificate_APIPassthrough/V1": "EndEntityCertificate_APIPassthrough is AWS Private CA's and is not supported",
		"SubordinateCACertificate_PathLen0_APIPassthrough/V1":               "SubordinateCACertificate_PathLen0_APIPassthrough is AWS Private CA's and is not supported",
		"BlankRootCACertificate_APIPassthrough":                             "is not supported: certctl's one blank template is BlankEndEntityCertificate_APIPassthrough",
		"BlankSubordinateCACertificate_PathLen1_APIPassthrough":             "is not supported: certctl's one blank template",
		"EndEntityCertificate_APICSRPassthrough":                            "certctl does not copy a CSR's extensions under an API passthrough",
		"CodeSigningCertificate_CSRPassthrough":                             "certctl copies a CSR's extensions with EndEntityCertificate_CSRPassthrough only",
		"Foo_APIPassthrough":                                                `unknown certificate template "Foo_APIPassthrough"`,
	} {
		_, err := CanonicalTemplate(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CanonicalTemplate(%q): %v, want %q", in, err, want)
		}
	}
}

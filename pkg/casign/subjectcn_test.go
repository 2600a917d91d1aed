package casign

import (
	"crypto/x509/pkix"
	"strings"
	"testing"
)

// TestSubjectCommonName: the CN a certificate would carry, whichever
// field of pkix.Name holds it; two CNs or an empty one refused (tester).
func TestSubjectCommonName(t *testing.T) {
	cn := func(v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oidCommonName, Value: v}
	}
	for _, tc := range []struct {
		name    string
		n       pkix.Name
		want    string
		wantErr string
	}{
		{"none", pkix.Name{Organization: []string{"Acme"}}, "", ""},
		{"field", pkix.Name{CommonName: "a.example.test"}, "a.example.test", ""},
		// A parsed subject keeps the last CN in CommonName.
		{"parsed two", pkix.Name{CommonName: "b.test", Names: []pkix.AttributeTypeAndValue{cn("a.test"), cn("b.test")}}, "", `subject has 2 CNs ("a.test", "b.test")`},
		{"parsed empty", pkix.Name{Names: []pkix.AttributeTypeAndValue{cn("")}}, "", "subject CN is empty"},
		{"parsed not a string", pkix.Name{Names: []pkix.AttributeTypeAndValue{cn(42)}}, "", "not a character string"},
		// ExtraNames replace CommonName when the name is marshalled.
		{"extra", pkix.Name{CommonName: "x.test", ExtraNames: []pkix.AttributeTypeAndValue{cn("y.test")}}, "y.test", ""},
		{"extra two", pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{cn("y.test"), cn("z.test")}}, "", "2 CNs"},
	} {
		got, err := SubjectCommonName(tc.n)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %q, %v; want an error saying %s", tc.name, got, err, tc.wantErr)
			}
			if err2 := ValidateSubject(tc.n); err2 == nil {
				t.Errorf("%s: ValidateSubject accepted it", tc.name)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

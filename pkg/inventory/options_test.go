package inventory

import (
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	exp, ct, err := ParseOptions("Export=ENABLED, CertificateTransparencyLoggingPreference=DISABLED")
	if err != nil || exp != "ENABLED" || ct != "DISABLED" {
		t.Fatalf("got %q %q %v", exp, ct, err)
	}
	// Keys and values are exact, as in the AWS CLI: a wrong case is
	// refused naming the one meant.
	for _, bad := range []string{"Export", "Export=MAYBE", "Bogus=ENABLED", "Export=ENABLED,", "=ENABLED",
		"Export=enabled", "export=ENABLED", "CertificateTransparencyLoggingPreference=Disabled"} {
		if _, _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%q) accepted", bad)
		}
	}
	for bad, meant := range map[string]string{"Export=enabled": "did you mean ENABLED?", "export=ENABLED": "did you mean Export?"} {
		if _, _, err := ParseOptions(bad); err == nil || !strings.Contains(err.Error(), meant) {
			t.Errorf("ParseOptions(%q): %v, want %q", bad, err, meant)
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("Export=ENABLED,CertificateTransparencyLoggingPreference=DISABLED")
	f.Add("Export=disabled")
	f.Fuzz(func(t *testing.T, s string) {
		exp, ct, err := ParseOptions(s)
		if err != nil {
			return
		}
		for _, v := range []string{exp, ct} {
			if v != "" && v != "ENABLED" && v != "DISABLED" {
				t.Fatalf("%q gave value %q", s, v)
			}
		}
	})
}

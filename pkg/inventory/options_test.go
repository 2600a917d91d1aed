package inventory

import "testing"

func TestParseOptions(t *testing.T) {
	exp, ct, err := ParseOptions("Export=ENABLED,CertificateTransparencyLoggingPreference=disabled")
	if err != nil || exp != "ENABLED" || ct != "DISABLED" {
		t.Fatalf("got %q %q %v", exp, ct, err)
	}
	for _, bad := range []string{"Export", "Export=MAYBE", "Bogus=ENABLED", "Export=ENABLED,", "=ENABLED"} {
		if _, _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%q) accepted", bad)
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

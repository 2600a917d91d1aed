package updateoptions

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestUpdateOptionsFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdUpdateOptions, "3f2a1b9c", "--options", "Export=DISABLED,CertificateTransparencyLoggingPreference=ENABLED")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "3f2a1b9c" || o.Export != "DISABLED" || o.CTLogging != "ENABLED" {
		t.Errorf("options %+v", o)
	}
	if o.Printer == nil || o.Certificates == nil {
		t.Errorf("dependencies not set: %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdUpdateOptions, "--certificate-arn", "arn:certctl:acm:local:000000000000:certificate/x",
		"--options", "CertificateTransparencyLoggingPreference=DISABLED")
	if err != nil || o.ID != "arn:certctl:acm:local:000000000000:certificate/x" || o.Export != "" || o.CTLogging != "DISABLED" {
		t.Errorf("--certificate-arn, CT only: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"3f2a1b9c"},                                             // --options is required
		{"--options", "Export=DISABLED"},                         // no certificate
		{"3f2a1b9c", "--options", "Export=MAYBE"},                // bad value
		{"3f2a1b9c", "--options", "Bogus=ENABLED"},               // unknown key
		{"3f2a1b9c", "--options", "Export=disabled"},             // values are exact
		{"3f2a1b9c", "--options", "export=DISABLED"},             // keys too
		{"3f2a1b9c", "4e5f6a7b", "--options", "Export=DISABLED"}, // two certificates
	} {
		if _, err := flagtest.Parse(t, NewCmdUpdateOptions, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

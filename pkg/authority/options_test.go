package authority

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

// TestRevocationConfigurationMessages: a malformed --revocation-
// configuration is refused (exit 4) saying what was wanted where, not
// with encoding/json's Go type names, and a CNAME given as a URL is
// refused as one.
func TestRevocationConfigurationMessages(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[]`, "want a JSON object, not a list"},
		{`null`, ""}, // an empty configuration
		{`"x"`, "want a JSON object, not a string"},
		{`{"CrlConfiguration":{"Enabled":"yes"}}`, "CrlConfiguration.Enabled: want true or false, not a string"},
		{`{"CrlConfiguration":{"ExpirationInDays":"7"}}`, "CrlConfiguration.ExpirationInDays: want a number, not a string"},
		{`{"CrlConfiguration":[]}`, "CrlConfiguration: want an object, not a list"},
		{`{"CrlConfiguration":{"Enabled":true,"CustomCname":"http://crl.example.test"}}`, "want a host name without scheme or path"},
		{`{"CrlConfiguration":{"Enabled":true,"CustomCname":"crl.example.test/x"}}`, "want a host name without scheme or path"},
		// An explicit 0 is out of range like -1, not the default.
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":0}}`, "ExpirationInDays 0 (want 1 to 5000)"},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":-1}}`, "ExpirationInDays -1 (want 1 to 5000)"},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":5001}}`, "ExpirationInDays 5001 (want 1 to 5000)"},
		{`{"CrlConfiguration":{"Enabled":true}}`, ""},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":null}}`, ""},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":1}}`, ""},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":5000}}`, ""},
	} {
		_, err := ParseRevocationConfiguration([]byte(c.in))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
			}
			continue
		}
		if err == nil || errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "struct") {
			t.Errorf("%s: %v, want exit 4 saying %q", c.in, err, c.want)
		}
	}
}

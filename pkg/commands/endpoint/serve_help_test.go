package endpoint

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/cmdutil"
)

// TestServeHelpNamesChallengeSettings: whoever runs `endpoint serve` for a
// CHALLENGE endpoint learns from its help where the checks reach.
func TestServeHelpNamesChallengeSettings(t *testing.T) {
	long := NewCmdServe(&cmdutil.Factory{}, nil).Long
	for _, want := range []string{"http-01", "tls-alpn-01", "validation.http_port", "validation.tls_alpn_port",
		"validation.resolvers", "validation.caa_identities"} {
		if !strings.Contains(long, want) {
			t.Errorf("endpoint serve --help does not mention %s", want)
		}
	}
}

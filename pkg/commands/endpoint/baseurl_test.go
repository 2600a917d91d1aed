package endpoint_test

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestServeRefusesBaseURLFirst: endpoint serve with an endpoint.base_url it
// cannot serve (not https://) exits 4 before it binds or issues anything:
// no serving certificate is issued and recorded at each restart (final
// review). Other commands load the same setting without a word.
func TestServeRefusesBaseURLFirst(t *testing.T) {
	e := clitest.New(t)
	e.RequestPrivate("before.internal")
	e.Vars["CERTCTL_ENDPOINT_BASE_URL"] = "http://acme.internal"
	before := e.MustRun("audit", "list", "-o", "json").Stdout
	r := e.Run("endpoint", "serve", "--listen", "127.0.0.1:0")
	if r.Code != errs.ExitInvalid || !strings.Contains(r.Stderr, "endpoint.base_url") {
		t.Fatalf("serve with an http base URL: %v", r)
	}
	if after := e.MustRun("audit", "list", "-o", "json").Stdout; after != before {
		t.Errorf("the refused serve changed the audit log:\n%s", after)
	}
	e.MustRun("list")
}

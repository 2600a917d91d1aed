package acmeserver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
)

// TestEventHookReceivesACMEEvents: the hooks.event command gets the events
// the server records — issuance and revocation — as JSON on stdin.
func TestEventHookReceivesACMEEvents(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	log := filepath.Join(t.TempDir(), "events.log")
	f.srv.core.EventHook = "cat >> " + log
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	certKey := newKey(t)
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, certKey, "lab.test"), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeCert(ctx, nil, ders[0], acme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(log)
		s := string(data)
		if strings.Contains(s, `"detail-type":"Certificate Available"`) && strings.Contains(s, `"Action":"ISSUANCE"`) &&
			strings.Contains(s, `"detail-type":"Certificate Revoked"`) && strings.Contains(s, `"RevocationReason":"KEY_COMPROMISE"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook received:\n%s", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

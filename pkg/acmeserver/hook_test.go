package acmeserver

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestEventHookReceivesACMEEvents: the hooks.event command gets the events
// the server records — issuance and revocation — as JSON on stdin.
func TestEventHookReceivesACMEEvents(t *testing.T) {
	f, log := hookFixture(t)
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

// TestEarlierVersionRevokedIsTold: revoking an earlier version of an
// ACME certificate (the same names ordered again: version 2 of the same
// ARN) emits its Certificate Revoked event, naming that version's serial
// (CurrentVersion false) — the record and current version stay ISSUED
// (tester: the hook heard nothing of a key-compromise revocation).
func TestEarlierVersionRevokedIsTold(t *testing.T) {
	f, log := hookFixture(t)
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	var first []byte
	for i := 0; i < 2; i++ {
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("lab.test"))
		if err != nil {
			t.Fatal(err)
		}
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "lab.test"), true)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ders[0]
		}
	}
	cert, err := x509.ParseCertificate(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeCert(ctx, nil, first, acme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	want := `"SerialNumber":"` + x509util.FormatSerial(cert.SerialNumber) + `"`
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(log)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, `"detail-type":"Certificate Revoked"`) && strings.Contains(line, want) &&
				strings.Contains(line, `"CurrentVersion":false`) && strings.Contains(line, `"RevocationReason":"KEY_COMPROMISE"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Certificate Revoked event with %s; hook received:\n%s", want, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hookFixture is a server whose hooks.event command appends each event to
// the file log names.
func hookFixture(t *testing.T) (f *fixture, log string) {
	t.Helper()
	f = newFixture(t, acmestate.ContactNotRequired)
	log = filepath.Join(t.TempDir(), "events.log")
	f.srv.core.EventHook = "cat >> " + log
	return f, log
}

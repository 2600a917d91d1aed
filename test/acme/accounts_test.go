package acme

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// acmeClient is an x/crypto/acme client of s's directory, trusting s's
// roots, registered with the credential kid/mac; it returns the account ID.
func (s *server) acmeClient(t *testing.T, kid, mac string) (*acme.Client, string) {
	t.Helper()
	pem, err := os.ReadFile(s.roots)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := &acme.Client{Key: key, DirectoryURL: s.dir,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
	m, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Register(context.Background(), &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: m}}, acme.AcceptTOS)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return c, a.URI[strings.LastIndexByte(a.URI, '/')+1:]
}

type accountList struct {
	AcmeAccounts []struct {
		AccountId, Status, EabKeyId string
		Contact                     []string
		Orders                      int
	}
}

func (s *server) accounts(t *testing.T) map[string]string {
	t.Helper()
	var l accountList
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "endpoint", "account", "list", s.id), &l); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range l.AcmeAccounts {
		out[a.AccountId] = a.Status
	}
	return out
}

func unauthorized(err error) bool {
	var ae *acme.Error
	return errors.As(err, &ae) && ae.ProblemType == "urn:ietf:params:acme:error:unauthorized"
}

// TestAccountCutOff: through the CLI, against a running `endpoint serve`:
// `endpoint account deactivate` and `endpoint eab revoke
// --deactivate-accounts` cut accounts off at their next request, and
// `endpoint account list` shows them deactivated.
func TestAccountCutOff(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	var eab struct {
		ExternalAccountBinding struct{ KeyId, MacKey string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "endpoint", "eab", "create", s.id), &eab); err != nil {
		t.Fatal(err)
	}
	a, ida := s.acmeClient(t, eab.ExternalAccountBinding.KeyId, eab.ExternalAccountBinding.MacKey)
	b, idb := s.acmeClient(t, s.kid, s.mac) // the reusable credential of startServer
	c, idc := s.acmeClient(t, s.kid, s.mac)
	for _, cl := range []*acme.Client{a, b, c} {
		if _, err := cl.AuthorizeOrder(ctx, acme.DomainIDs("x.lab.test")); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.accounts(t); len(got) != 3 || got[ida] != "VALID" || got[idb] != "VALID" || got[idc] != "VALID" {
		t.Fatalf("accounts before: %v", got)
	}

	out := s.certctl(t, "-o", "json", "endpoint", "account", "deactivate", s.id, ida)
	if !strings.Contains(string(out), `"DEACTIVATED"`) {
		t.Errorf("deactivate printed %s", out)
	}
	if _, err := a.AuthorizeOrder(ctx, acme.DomainIDs("x.lab.test")); !unauthorized(err) {
		t.Errorf("deactivated account's order: %v, want unauthorized", err)
	}
	if _, err := b.AuthorizeOrder(ctx, acme.DomainIDs("x.lab.test")); err != nil {
		t.Errorf("other account after a deactivation: %v", err)
	}

	s.certctl(t, "endpoint", "eab", "revoke", s.id, s.kid, "--deactivate-accounts")
	for _, cl := range []*acme.Client{b, c} {
		if _, err := cl.AuthorizeOrder(ctx, acme.DomainIDs("x.lab.test")); !unauthorized(err) {
			t.Errorf("order of an account of the revoked credential: %v, want unauthorized", err)
		}
	}
	if got := s.accounts(t); got[ida] != "DEACTIVATED" || got[idb] != "DEACTIVATED" || got[idc] != "DEACTIVATED" {
		t.Errorf("accounts after: %v", got)
	}
	var audit struct {
		AuditEvents []struct{ EventName, Outcome string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "audit", "list", "--event-name", "DeactivateAcmeAccount"), &audit); err != nil {
		t.Fatal(err)
	}
	if len(audit.AuditEvents) != 1 || audit.AuditEvents[0].Outcome != "SUCCESS" {
		t.Errorf("DeactivateAcmeAccount records: %+v", audit.AuditEvents)
	}
}

// serveAnother starts one more `endpoint serve` on s's vault with extra
// environment and returns the address it listens on.
func (s *server) serveAnother(t *testing.T, env ...string) string {
	t.Helper()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, harness.Bin, "endpoint", "serve", "--listen", addr)
	cmd.Env = childEnv(append([]string{"CERTCTL_VAULT=" + s.vault, "HOME=" + harness.Home, "XDG_CONFIG_HOME=" + harness.Home}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.HasPrefix(sc.Text(), "Serving ACME endpoints") {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("endpoint serve did not start")
	}
	return addr
}

// TestOrdersRateLimitAcrossServers: acme.orders_per_hour (from the
// environment here) is counted in the vault: orders an account made at one
// `endpoint serve` count at another on the same vault, which refuses the
// one beyond its limit with rateLimited and a Retry-After.
func TestOrdersRateLimitAcrossServers(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	first := s.dir[len("https://") : len(s.dir)-len("/"+s.id+"/directory")]
	second := s.serveAnother(t, "CERTCTL_ACME_ORDERS_PER_HOUR=2", "CERTCTL_ENDPOINT_BASE_URL=https://"+first)
	a, _ := s.acmeClient(t, s.kid, s.mac)
	for range 2 {
		if _, err := a.AuthorizeOrder(ctx, acme.DomainIDs("x.lab.test")); err != nil {
			t.Fatal(err)
		}
	}
	// The same account through the second server (same URLs, as behind a
	// balancer): the client dials the second server's address.
	tr := a.HTTPClient.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, second)
	}
	var status int
	var retryAfter string
	b := &acme.Client{Key: a.Key, KID: a.KID, DirectoryURL: s.dir, HTTPClient: &http.Client{Transport: tr},
		RetryBackoff: func(n int, r *http.Request, resp *http.Response) time.Duration {
			if resp != nil {
				status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			}
			return -1 // no retry: report what the server answered
		}}
	if _, err := b.AuthorizeOrder(ctx, acme.DomainIDs("x.lab.test")); err == nil {
		t.Fatal("3rd order in the hour at the second server was admitted")
	}
	if secs, err := strconv.Atoi(retryAfter); status != http.StatusTooManyRequests || err != nil || secs < 3500 || secs > 3600 {
		t.Errorf("3rd order: status %d, Retry-After %q; want 429 and about an hour", status, retryAfter)
	}
}

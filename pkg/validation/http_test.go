package validation

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// startWeb starts a loopback web server and makes the fixture fetch
// RedirectFrom URLs on its port; names resolve to 127.0.0.1 through the
// test DNS server.
func (f *fixture) startWeb(h http.Handler, names ...string) *httptest.Server {
	srv := httptest.NewServer(h)
	f.t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	f.svc.Settings.HTTPPort, _ = strconv.Atoi(port)
	for _, n := range names {
		f.dns.Add(f.t, n+". 300 IN A 127.0.0.1")
	}
	return srv
}

// TestHTTPValidation: the site redirects RedirectFrom to RedirectTo, served
// by HTTPHandler (what `validate serve-http` runs); the name validates and
// the certificate is issued. The file stays served while the certificate is
// ISSUED, for its renewal's Recheck (as ACM keeps a RedirectTo in place),
// and no longer once it is revoked.
func TestHTTPValidation(t *testing.T) {
	f := newFixture(t)
	files := httptest.NewServer(HTTPHandler(f.svc.Vault.Store, f.clk.Now))
	t.Cleanup(files.Close)
	f.svc.Settings.HTTPBaseURL = files.URL + "/pki"
	// The customer's site: every pki-validation file redirects to the base URL.
	f.startWeb(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, wellKnownPath) || r.Host != "web.example.test" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, f.svc.Settings.HTTPBaseURL+"/"+path.Base(r.URL.Path), http.StatusMovedPermanently)
	}), "web.example.test")
	c, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"web.example.test"})
	v := c.Validations[0]
	if !strings.HasPrefix(v.RedirectFrom, "http://web.example.test/.well-known/pki-validation/") || !strings.HasSuffix(v.RedirectFrom, ".txt") ||
		v.RedirectTo != f.svc.Settings.HTTPBaseURL+"/"+path.Base(v.RedirectFrom) {
		t.Fatalf("redirect %s → %s", v.RedirectFrom, v.RedirectTo)
	}
	out := f.advance(c.ID)
	if out.Certificate.Status != inventory.StatusIssued {
		t.Fatalf("status %s %+v", out.Certificate.Status, out.Checks)
	}
	status := func() int {
		t.Helper()
		resp, err := http.Get(v.RedirectTo)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Issued, the file is still served, and the renewal's recheck passes.
	if code := status(); code != http.StatusOK {
		t.Errorf("not served after issuance: %d", code)
	}
	checks, err := f.svc.Recheck(context.Background(), f.get(c.ID))
	if err != nil || len(checks) != 1 || checks[0].Status != StatusSuccess {
		t.Fatalf("recheck: %v %+v", err, checks)
	}
	// Expired by the clock, before any pass marks it EXPIRED, it is no
	// longer served (tester: it was until then).
	issuedAt := f.clk.t
	f.clk.t = f.get(c.ID).NotAfter
	if code := status(); code != http.StatusNotFound {
		t.Errorf("served once expired: %d", code)
	}
	f.clk.t = issuedAt
	if code := status(); code != http.StatusOK {
		t.Errorf("not served before NotAfter: %d", code)
	}
	// Revoked, it is no longer served.
	f.setStatus(c.ID, inventory.StatusRevoked)
	if code := status(); code != http.StatusNotFound {
		t.Errorf("served after revocation: %d", code)
	}
}

func TestHTTPChecksFailCleanly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		detail  string
	}{
		{"mismatched content", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("something else\n")) },
			"content does not match"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) },
			"more than 10 redirects"},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("x", MaxHTTPBody+1)))
		}, "larger than 64 KiB"},
		{"not found", http.NotFound, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.svc.Settings.HTTPBaseURL = "http://files.example.test"
			f.startWeb(tc.handler, "web.example.test")
			c, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"web.example.test"})
			start := time.Now()
			out := f.advance(c.ID)
			if out.Certificate.Status != inventory.StatusPendingValidation || statuses(out.Certificate)["web.example.test"] != StatusPending {
				t.Fatalf("status %s", out.Certificate.Status)
			}
			if !strings.Contains(out.Checks[0].Detail, tc.detail) {
				t.Errorf("detail %q, want %q", out.Checks[0].Detail, tc.detail)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestHTTPRequestRules(t *testing.T) {
	f := newFixture(t)
	req := Request{Method: MethodHTTP, Names: []string{"web.example.test"}}
	if _, err := f.svc.CheckRequest(req); exitOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "http_base_url") {
		t.Errorf("no base URL: %v", err)
	}
	f.svc.Settings.HTTPBaseURL = "http://files.example.test"
	req.Names = append(req.Names, "*.web.example.test")
	if _, err := f.svc.CheckRequest(req); exitOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "wildcard") {
		t.Errorf("wildcard: %v", err)
	}
}

// TestHTTPHandlerServesPendingOnly checks the serve-http handler directly.
func TestHTTPHandlerServesPendingOnly(t *testing.T) {
	f := newFixture(t)
	f.svc.Settings.HTTPBaseURL = "http://files.example.test/base/"
	c, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"web.example.test"})
	h := HTTPHandler(f.svc.Vault.Store, f.clk.Now)
	get := func(p string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil).WithContext(context.Background()))
		return rec.Code, rec.Body.String()
	}
	to := c.Validations[0].RedirectTo
	if !strings.HasPrefix(to, "http://files.example.test/base/") {
		t.Fatalf("RedirectTo %s", to)
	}
	code, body := get(strings.TrimPrefix(to, "http://files.example.test"))
	if code != 200 || body != c.Extra[httpContentKey("web.example.test")] || len(body) != 64 {
		t.Errorf("%d %q", code, body)
	}
	if code, _ := get("/base/00000000000000000000000000000000.txt"); code != 404 {
		t.Errorf("unknown file: %d", code)
	}
	if code, _ := get("/../etc/passwd"); code != 404 {
		t.Errorf("traversal: %d", code)
	}
}

// setStatus sets the status of certificate id, as revoke does.
func (f *fixture) setStatus(id, status string) {
	f.t.Helper()
	if err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		c.Status = status
		return tx.PutCertificate(c)
	}); err != nil {
		f.t.Fatal(err)
	}
}

// TestHTTPHandlerReadsTheIndexOnce: serve-http finds a file's certificate
// through an index read once, not by reading every ISSUED-type
// certificate at each GET (review: a `renew --due` over n HTTP certificates
// GETs n files, n² record reads). The index is read again only for a file
// it lacks and only once something was recorded since (a guess costs no
// scan); what it names is checked on the certificate as it is now (a
// certificate revoked since is not served).
func TestHTTPHandlerReadsTheIndexOnce(t *testing.T) {
	f := newFixture(t)
	f.svc.Settings.HTTPBaseURL = "http://files.example.test/base"
	c1, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"one.example.test"})
	c2, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"two.example.test"})
	files := &httpFiles{st: f.svc.Vault.Store, now: f.clk.Now}
	get := func(c *localstore.Certificate) string {
		t.Helper()
		got, err := files.content(context.Background(), path.Base(c.Validations[0].RedirectTo))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := func(c *localstore.Certificate) string { return c.Extra[httpContentKey(c.DomainName)] }
	for range 3 {
		if get(c1) != want(c1) || get(c2) != want(c2) {
			t.Fatal("a pending validation's file is not served")
		}
	}
	if got, _ := files.content(context.Background(), "00000000000000000000000000000000.txt"); got != "" {
		t.Fatalf("a guess is served %q", got)
	}
	if n := files.scans.Load(); n != 1 {
		t.Fatalf("%d reads of the index for 7 GETs with nothing recorded between, want 1", n)
	}
	// A request made since (recorded: the audit log grows) is found, at
	// the cost of one more read.
	c3, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"three.example.test"})
	if get(c3) != "" || files.scans.Load() != 1 {
		t.Fatalf("a file was found though nothing was recorded (%d reads)", files.scans.Load())
	}
	if err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.AppendAudit(localstore.AuditRow{Seq: 1, Time: f.clk.Now(), Data: []byte("{}"), MAC: []byte("mac")})
	}); err != nil {
		t.Fatal(err)
	}
	if get(c3) != want(c3) || get(c1) != want(c1) || files.scans.Load() != 2 {
		t.Fatalf("after a recorded change: %d reads of the index, want 2", files.scans.Load())
	}
	// An ACME certificate (ISSUED-type too, keyed by its client) is not
	// read into the index, whatever it holds (review: each read of the
	// index grew with an endpoint's issued list).
	c4, _ := f.request(MethodHTTP, x509util.ECPrime256v1, []string{"four.example.test"})
	if err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(c4.ID)
		if err != nil {
			return err
		}
		c.KeyPairOrigin = inventory.OriginACME
		if err := tx.PutCertificate(c); err != nil {
			return err
		}
		return tx.AppendAudit(localstore.AuditRow{Seq: 2, Time: f.clk.Now(), Data: []byte("{}"), MAC: []byte("mac")})
	}); err != nil {
		t.Fatal(err)
	}
	if got := get(c4); got != "" {
		t.Fatalf("an ACME certificate's file is served %q", got)
	}
	// Nor is it in the index the miss read again (the read's Origins
	// filter; servedContent would refuse it anyway, so only the index
	// shows what was read: review).
	files.mu.Lock()
	_, indexed := files.ids[path.Base(c4.Validations[0].RedirectTo)]
	_, others := files.ids[path.Base(c3.Validations[0].RedirectTo)]
	files.mu.Unlock()
	if indexed || !others {
		t.Fatalf("the index read after the ACME certificate holds it: %v (and c3: %v)", indexed, others)
	}
	// Revoked since the index was read: not served, from the certificate
	// as it is now.
	f.setStatus(c2.ID, inventory.StatusRevoked)
	if got := get(c2); got != "" {
		t.Fatalf("a revoked certificate's file is served %q", got)
	}
}

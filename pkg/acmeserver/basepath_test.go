package acmeserver

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
)

// TestBasePathServed: with endpoint.base_url https://host/acme, the URLs
// handed out are under /acme, and a proxy may pass them on as they are
// (tester: 404) or strip the path; a whole order runs through the first.
func TestBasePathServed(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ts := httptest.NewUnstartedServer(nil)
	base := "https://" + ts.Listener.Addr().String() + "/acme"
	var logs syncBuffer
	ts.Config.Handler = New(Config{Core: f.core, BaseURL: base, Validity: 90 * 24 * time.Hour, MaxBody: 16 << 10, Logger: log.New(&logs, "", 0)})
	ts.TLS = f.ts.TLS
	ts.StartTLS()
	t.Cleanup(ts.Close)

	for _, dir := range []string{base + "/" + f.ep.ID + "/directory", ts.URL + "/" + f.ep.ID + "/directory"} {
		resp, err := f.http.Get(dir)
		if err != nil {
			t.Fatal(err)
		}
		body := new(strings.Builder)
		_, _ = io.Copy(body, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), `"newOrder":"`+base+"/"+f.ep.ID+`/new-order"`) {
			t.Errorf("GET %s: %d %s; want the directory, its URLs under %s", dir, resp.StatusCode, body, base)
		}
	}
	key := newKey(t)
	c := &acme.Client{Key: key, DirectoryURL: base + "/" + f.ep.ID + "/directory", HTTPClient: f.http, UserAgent: "certctl-test"}
	kid, mac := f.eab(false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS); err != nil {
		t.Fatalf("register under the base path: %v", err)
	}
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test"))
	if err != nil {
		t.Fatalf("order: %v", err)
	}
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "www.lab.test"), true)
	if err != nil || len(ders) == 0 {
		t.Fatalf("finalize under the base path: %v", err)
	}
	// Logged as the client asked (second tester: the base path was
	// taken off the logged path).
	if l := logs.String(); !strings.Contains(l, "path=/acme/"+f.ep.ID+"/directory ") || !strings.Contains(l, "path=/"+f.ep.ID+"/directory ") {
		t.Errorf("the log does not show the paths as asked:\n%s", l)
	}
}

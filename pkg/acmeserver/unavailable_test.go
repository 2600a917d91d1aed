package acmeserver

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestStoreUnavailable: while the store does not answer, every ACME URL of
// an endpoint answers 503 serverInternal with Retry-After (as /healthz
// says 503), not the 404 "no such ACME endpoint" that tells a client its
// directory URL is wrong, nor a bare 500.
//
// Also when the vault's log or database file is removed under the server
// (tester: it went on answering 200 to /healthz, and committed
// certificates into a removed log).
func TestStoreUnavailable(t *testing.T) {
	for name, lose := range map[string]func(f *fixture){
		"store closed":     func(f *fixture) { f.v.Store.Close() },
		"log removed":      func(f *fixture) { removeVaultFile(f, localstore.DatabaseFile+"-wal") },
		"database removed": func(f *fixture) { removeVaultFile(f, localstore.DatabaseFile) },
	} {
		t.Run(name, func(t *testing.T) { storeUnavailable(t, lose) })
	}
}

func removeVaultFile(f *fixture, name string) {
	f.t.Helper()
	if err := os.Remove(filepath.Join(f.v.Dir, name)); err != nil {
		f.t.Fatal(err)
	}
}

func storeUnavailable(t *testing.T, lose func(f *fixture)) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	orderURL, o := f.rawOrder(key, kid, "www.lab.test")
	nonce := f.nonce()
	lose(f)

	do := func(method, url string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		if body != nil {
			req.Header.Set("Content-Type", "application/jose+json")
		}
		resp, err := f.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, data
	}
	jws := func(url string, payload []byte) []byte {
		return signES256(t, key, map[string]any{"alg": "ES256", "nonce": nonce, "url": url, "kid": kid}, payload)
	}
	newKeyJWS := signES256(t, key, map[string]any{"alg": "ES256", "nonce": nonce, "url": f.url("/new-account"), "jwk": jwkOf(t, key)}, []byte(`{}`))
	cases := []struct {
		name, method, url string
		body              []byte
	}{
		{"directory", http.MethodGet, f.dirURL(), nil},
		{"newNonce", http.MethodGet, f.url("/new-nonce"), nil},
		{"newAccount", http.MethodPost, f.url("/new-account"), newKeyJWS},
		{"newOrder", http.MethodPost, f.url("/new-order"), jws(f.url("/new-order"), []byte(`{"identifiers":[{"type":"dns","value":"www.lab.test"}]}`))},
		{"order", http.MethodPost, orderURL, jws(orderURL, nil)},
		{"finalize", http.MethodPost, o.Finalize, jws(o.Finalize, f.finalizeBody("www.lab.test"))},
		{"renewalInfo", http.MethodGet, f.url("/renewal-info/AQ.AQ"), nil},
		{"an endpoint the server cannot look up", http.MethodGet, f.ts.URL + "/00000000-0000-0000-0000-000000000000/directory", nil},
	}
	if resp, _ := do(http.MethodGet, f.ts.URL+"/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz: status %d, want 503", resp.StatusCode)
	}
	for _, c := range cases {
		resp, body := do(c.method, c.url, c.body)
		if c.method == http.MethodGet && c.name == "newNonce" {
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%s: status %d, want 503", c.name, resp.StatusCode)
			}
			continue
		}
		var p Problem
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s: %d, not a problem: %s", c.name, resp.StatusCode, body)
			continue
		}
		if resp.StatusCode != http.StatusServiceUnavailable || p.Type != errServerInternal || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(p.Detail, "store") {
			t.Errorf("%s: %d %s %q, Retry-After %q; want 503 serverInternal saying the store is unavailable, with Retry-After",
				c.name, resp.StatusCode, p.Type, p.Detail, resp.Header.Get("Retry-After"))
		}
	}
}

// TestUnknownEndpointIs404: with the store answering, an endpoint that
// does not exist is still 404.
func TestUnknownEndpointIs404(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	resp, err := f.http.Get(f.ts.URL + "/00000000-0000-0000-0000-000000000000/directory")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantProblem(t, "unknown endpoint", resp, body, errMalformed, http.StatusNotFound)
}

// TestNewAccountRefusalActor: a refused newAccount is recorded as made by
// the key that asked ("jwk:<thumbprint>", as a revocation by a
// certificate's key is), not by an account ID minted for it that never
// exists, so that attempts of one key correlate; the account made at last
// is recorded as made by itself.
func TestNewAccountRefusalActor(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	tp, err := thumbprint(&jose.JSONWebKey{Key: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	noEAB, _ := json.Marshal(map[string]any{"termsOfServiceAgreed": true})
	for range 2 {
		resp, body := f.signed(f.url("/new-account"), key, "", noEAB, nil)
		wantProblem(t, "newAccount without EAB", resp, body, errExternalAccountRequired, http.StatusBadRequest)
	}
	kid := f.rawAccount(key)
	acctID := kid[strings.LastIndexByte(kid, '/')+1:]
	var recs []*audit.Record
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.EventName == "NewAccount" {
			got = append(got, r.Outcome+" "+r.Actor.ID)
		}
	}
	want := []string{"FAILURE jwk:" + tp, "FAILURE jwk:" + tp, "SUCCESS " + acctID}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("NewAccount records %v, want %v", got, want)
	}
}

// TestKidUnderAnotherBaseURL: an account URL stored by a client before
// endpoint.base_url changed is still refused (accountDoesNotExist), and
// the problem says it is not under this server's base URL.
func TestKidUnderAnotherBaseURL(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	old := "https://acme.old.test" + strings.TrimPrefix(kid, f.ts.URL)
	payload := []byte(`{"identifiers":[{"type":"dns","value":"www.lab.test"}]}`)
	resp, body := f.signed(f.url("/new-order"), key, old, payload, nil)
	wantProblem(t, "kid under the old base URL", resp, body, errAccountDoesNotExist, http.StatusBadRequest)
	var p Problem
	_ = json.Unmarshal(body, &p)
	if !strings.Contains(p.Detail, "not under this server's base URL "+f.ts.URL+" (endpoint.base_url)") || !strings.Contains(p.Detail, old) {
		t.Errorf("detail %q does not say the kid is not under the base URL", p.Detail)
	}
	// Under this base URL but of another endpoint: as before.
	other := f.ts.URL + "/00000000-0000-0000-0000-000000000000/acct/x"
	resp, body = f.signed(f.url("/new-order"), key, other, payload, nil)
	wantProblem(t, "kid of another endpoint", resp, body, errAccountDoesNotExist, http.StatusBadRequest)
	if _ = json.Unmarshal(body, &p); p.Detail != "kid is not an account of this endpoint" {
		t.Errorf("kid of another endpoint: detail %q", p.Detail)
	}
}

// TestEABStoreFailure: a credential the store cannot read back (here its
// record damaged) is the server's failure, not an "unknown external
// account binding key ID" that tells the client its credential is wrong
// (final review: no test reached GetEAB with another error than not
// found).
func TestEABStoreFailure(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	kid, mac := f.eab(false, nil)
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutObject(&localstore.Object{Kind: acmestate.KindEAB, ID: kid, Data: []byte("{damaged")})
	}); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	resp, body := f.signed(f.url("/new-account"), key, "", f.newAccountBody(kid, mac, key), nil)
	if resp.StatusCode < 500 || strings.Contains(string(body), "unknown external account binding") {
		t.Fatalf("newAccount with a credential the store cannot read: %d %s, want a server failure", resp.StatusCode, body)
	}
}

// TestStoreWriteLocked: while another process holds the store's write
// lock (reads still answer, as /healthz does), a POST answers 503
// serverInternal with Retry-After within StoreWait — not a 500 after 30 s,
// past lego's own timeout (tester) — and succeeds once the lock is gone;
// on SQLite (another connection's EXCLUSIVE transaction) and PostgreSQL
// (another session's lock of the write_lock table).
func TestStoreWriteLocked(t *testing.T) {
	old := StoreWait
	StoreWait = 500 * time.Millisecond
	t.Cleanup(func() { StoreWait = old })
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var f *fixture
			var lock func() (release func())
			if kind == "postgres" {
				u := pgtest.FreshSchema(t)
				f = newFixtureOn(t, localstore.Options{StoreURL: u}, acmestate.ContactNotRequired)
				lock = func() func() {
					conn, err := pgx.Connect(context.Background(), u)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := conn.Exec(context.Background(), "BEGIN; LOCK TABLE write_lock IN ACCESS EXCLUSIVE MODE"); err != nil {
						t.Fatal(err)
					}
					return func() { conn.Close(context.Background()) }
				}
			} else {
				f = newFixture(t, acmestate.ContactNotRequired)
				lock = func() func() {
					db, err := sql.Open("sqlite", filepath.Join(f.v.Dir, localstore.DatabaseFile))
					if err != nil {
						t.Fatal(err)
					}
					conn, err := db.Conn(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
						t.Fatal(err)
					}
					return func() { conn.Close(); db.Close() }
				}
			}
			key := newKey(t)
			kid := f.rawAccount(key)
			release := lock()
			payload := []byte(`{"identifiers":[{"type":"dns","value":"www.lab.test"}]}`)
			start := time.Now()
			resp, body := f.signed(f.url("/new-order"), key, kid, payload, nil)
			took := time.Since(start)
			var p Problem
			_ = json.Unmarshal(body, &p)
			if resp.StatusCode != http.StatusServiceUnavailable || p.Type != errServerInternal || resp.Header.Get("Retry-After") == "" {
				t.Errorf("newOrder while the store is locked: %d %s, Retry-After %q; want 503 serverInternal with Retry-After",
					resp.StatusCode, body, resp.Header.Get("Retry-After"))
			}
			if took >= 2*StoreWait {
				t.Errorf("the answer took %v, want about StoreWait (%v): one wait for the whole request", took, StoreWait)
			}
			release()
			resp, body = f.signed(f.url("/new-order"), key, kid, payload, nil)
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("newOrder once the lock is gone: %d %s", resp.StatusCode, body)
			}
		})
	}
}

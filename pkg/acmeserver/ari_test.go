package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// orderWith creates an order for names with extra newOrder fields
// (profile, replaces) and returns the raw answer.
func (f *fixture) orderWith(key *ecdsa.PrivateKey, kid string, extra map[string]any, names ...string) (*http.Response, []byte) {
	f.t.Helper()
	ids := make([]acmestate.Identifier, len(names))
	for i, n := range names {
		ids[i] = acmestate.Identifier{Type: "dns", Value: n}
	}
	payload := map[string]any{"identifiers": ids}
	for k, v := range extra {
		payload[k] = v
	}
	b, _ := json.Marshal(payload)
	return f.signed(f.url("/new-order"), key, kid, b, nil)
}

// obtain orders names with extra fields, finalizes the order and returns
// the order object and the leaf certificate downloaded.
func (f *fixture) obtain(key *ecdsa.PrivateKey, kid string, extra map[string]any, names ...string) (orderJSON, *x509.Certificate) {
	f.t.Helper()
	resp, body := f.orderWith(key, kid, extra, names...)
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("newOrder %v: %d %s", extra, resp.StatusCode, body)
	}
	var o orderJSON
	if err := json.Unmarshal(body, &o); err != nil {
		f.t.Fatal(err)
	}
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody(names...), nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("finalize: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &o); err != nil || o.Certificate == "" {
		f.t.Fatalf("finalized order: %v %s", err, body)
	}
	resp, body = f.signed(o.Certificate, key, kid, nil, nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	b, _ := pem.Decode(body)
	if b == nil {
		f.t.Fatalf("download: no PEM: %s", body)
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		f.t.Fatal(err)
	}
	return o, leaf
}

// renewalInfo GETs the renewalInfo of certID.
func (f *fixture) renewalInfo(certID string) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := f.http.Get(f.url("/renewal-info/" + certID))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, buf
}

// window fetches and decodes the suggested window of cert, checking the
// Retry-After header.
func (f *fixture) window(cert *x509.Certificate) (start, end time.Time) {
	f.t.Helper()
	resp, body := f.renewalInfo(acmestate.CertIDOf(cert).String())
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("renewalInfo: %d %s", resp.StatusCode, body)
	}
	// As long as renewalInfoRetry says for the certificate's life: the
	// handler uses it, not a constant (tester: six hours for minutes).
	want := int(renewalInfoRetry(cert.NotAfter.Sub(cert.NotBefore)) / time.Second)
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra != want {
		f.t.Errorf("renewalInfo Retry-After = %q, want %d", resp.Header.Get("Retry-After"), want)
	}
	var ri struct {
		SuggestedWindow struct{ Start, End string }
	}
	if err := json.Unmarshal(body, &ri); err != nil {
		f.t.Fatal(err)
	}
	var err1, err2 error
	start, err1 = time.Parse(time.RFC3339, ri.SuggestedWindow.Start)
	end, err2 = time.Parse(time.RFC3339, ri.SuggestedWindow.End)
	if err1 != nil || err2 != nil {
		f.t.Fatalf("window %s", body)
	}
	return start, end
}

func TestDirectoryRenewalInfoAndProfiles(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	resp, err := f.http.Get(f.dirURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		RenewalInfo string `json:"renewalInfo"`
		Meta        struct {
			Profiles map[string]string `json:"profiles"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.RenewalInfo != f.url("/renewal-info") {
		t.Errorf("renewalInfo = %q", d.RenewalInfo)
	}
	for _, p := range []string{"classic", "tlsserver", "shortlived"} {
		if d.Meta.Profiles[p] == "" {
			t.Errorf("meta.profiles has no description of %s: %v", p, d.Meta.Profiles)
		}
	}
	defaultOf := func(profiles map[string]string) []string {
		var out []string
		for name, desc := range profiles {
			if strings.Contains(strings.ToLower(desc), "default") {
				out = append(out, name)
			}
		}
		return out
	}
	if got := defaultOf(d.Meta.Profiles); !slices.Equal(got, []string{"classic"}) {
		t.Errorf("profiles described as the default: %v, want classic only: %v", got, d.Meta.Profiles)
	}

	// The endpoint's --default-profile is the one described as the default.
	f.editEndpoint(func(ep *acmestate.Endpoint) error { ep.DefaultProfile = "shortlived"; return nil })
	resp2, err := f.http.Get(f.dirURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if err := json.NewDecoder(resp2.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if got := defaultOf(d.Meta.Profiles); !slices.Equal(got, []string{"shortlived"}) {
		t.Errorf("with --default-profile shortlived, profiles described as the default: %v: %v", got, d.Meta.Profiles)
	}
}

// TestRenewalInfo: RFC 9773 on raw JWS — the window of an issued
// certificate lies in the last third of its lifetime with a Retry-After;
// an order that replaces it makes the new certificate the next version
// of the same ARN (history kept) and has a window of its own; an
// administrator's window is returned once set; a revoked certificate's
// window lies in the past; malformed and unknown certIDs are refused.
func TestRenewalInfo(t *testing.T) {
	testRenewalInfo(t, newFixture(t, acmestate.ContactNotRequired))
}

// TestRenewalInfoPostgres: the same on PostgreSQL, where windows and
// replacements are the same store objects.
func TestRenewalInfoPostgres(t *testing.T) {
	testRenewalInfo(t, newFixtureOn(t, localstore.Options{StoreURL: pgtest.FreshSchema(t)}, acmestate.ContactNotRequired))
}

func testRenewalInfo(t *testing.T, f *fixture) {
	ctx := context.Background()
	key := newKey(t)
	kid := f.rawAccount(key)
	_, leaf := f.obtain(key, kid, nil, "www.lab.test")

	start, end := f.window(leaf)
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	lastThird := leaf.NotAfter.Add(-life / 3)
	if start.Before(lastThird.Add(-time.Second)) || !end.After(start) || end.After(leaf.NotAfter) {
		t.Errorf("window %s – %s is not inside the last third (%s – %s)", start, end, lastThird, leaf.NotAfter)
	}

	// Malformed and unknown certIDs.
	certID := acmestate.CertIDOf(leaf)
	for _, bad := range []string{"nodot", "a.b.c", "!!!.AQ", certID.String() + "=", "AQ.gA"} {
		resp, body := f.renewalInfo(bad)
		wantProblem(t, "certID "+bad, resp, body, errMalformed, http.StatusBadRequest)
	}
	unknown := acmestate.CertID{AKI: leaf.AuthorityKeyId, Serial: big.NewInt(0x0a0b0c)}
	resp, body := f.renewalInfo(unknown.String())
	wantProblem(t, "unknown serial", resp, body, errMalformed, http.StatusNotFound)
	otherCA := acmestate.CertID{AKI: []byte("not a CA of the vault"), Serial: leaf.SerialNumber}
	resp, body = f.renewalInfo(otherCA.String())
	wantProblem(t, "unknown key identifier", resp, body, errMalformed, http.StatusNotFound)

	// replaces: another account may not; a malformed one is malformed.
	other := newKey(t)
	okid := f.rawAccount(other)
	resp, body = f.orderWith(other, okid, map[string]any{"replaces": certID.String()}, "www.lab.test")
	wantProblem(t, "replaces another account's certificate", resp, body, errUnauthorized, http.StatusForbidden)
	resp, body = f.orderWith(key, kid, map[string]any{"replaces": "garbage"}, "www.lab.test")
	wantProblem(t, "replaces garbage", resp, body, errMalformed, http.StatusBadRequest)
	resp, body = f.orderWith(key, kid, map[string]any{"replaces": unknown.String()}, "www.lab.test")
	wantProblem(t, "replaces an unknown certificate", resp, body, errMalformed, http.StatusBadRequest)

	resp, body = f.orderWith(key, kid, map[string]any{"replaces": certID.String()}, "other.lab.test")
	wantProblem(t, "replaces with no shared name", resp, body, errMalformed, http.StatusBadRequest)
	// A pending replacement blocks another until it becomes invalid.
	resp, body = f.orderWith(key, kid, map[string]any{"replaces": certID.String()}, "www.lab.test")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first replacing order: %d %s", resp.StatusCode, body)
	}
	resp, body = f.orderWith(key, kid, map[string]any{"replaces": certID.String()}, "www.lab.test")
	wantProblem(t, "a second replacing order", resp, body, errAlreadyReplaced, http.StatusConflict)
	f.clk.Add(OrderLifetime + time.Minute) // the pending one expires: invalid
	// An order replacing it, with other names and key algorithm: the same
	// ARN, two versions.
	o2, leaf2 := f.obtain(key, kid, map[string]any{"replaces": certID.String()}, "www.lab.test", "api.lab.test")
	if o2.Replaces != certID.String() {
		t.Errorf("order replaces = %q, want %q", o2.Replaces, certID.String())
	}
	// RFC 9773 5: replaced once only.
	resp, body = f.orderWith(key, kid, map[string]any{"replaces": certID.String()}, "www.lab.test")
	wantProblem(t, "replaces a replaced certificate", resp, body, errAlreadyReplaced, http.StatusConflict)
	var first, second *localstore.Certificate
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{})
		if err != nil {
			return err
		}
		if len(certs) != 1 {
			t.Fatalf("inventory holds %d certificates, want the replaced one only", len(certs))
		}
		first = certs[0]
		vs, err := tx.ListVersions(first.ID)
		if err != nil {
			return err
		}
		if len(vs) != 2 || vs[0].Serial != x509util.FormatSerial(leaf.SerialNumber) && vs[1].Serial != x509util.FormatSerial(leaf.SerialNumber) {
			t.Errorf("versions of %s: %d, want the replaced and the new one", first.ID, len(vs))
		}
		second = first
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if second.Serial != x509util.FormatSerial(leaf2.SerialNumber) || second.Version != 2 {
		t.Errorf("current version %d serial %s, want 2 and %s", second.Version, second.Serial, x509util.FormatSerial(leaf2.SerialNumber))
	}
	// The replaced version still has its renewal information.
	f.window(leaf)

	// An administrator's window for the new certificate.
	setStart, setEnd := f.clk.Now().Add(time.Hour), f.clk.Now().Add(3*time.Hour)
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		return acmestate.PutRenewalWindow(tx, &acmestate.RenewalWindow{EndpointID: f.ep.ID, Serial: x509util.FormatSerial(leaf2.SerialNumber),
			Start: setStart, End: setEnd, SetAt: f.clk.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if s, e := f.window(leaf2); !s.Equal(setStart) || !e.Equal(setEnd) {
		t.Errorf("after renewal-window set: %s – %s, want %s – %s", s, e, setStart, setEnd)
	}
	// A window for --all covers certificates issued before it was set,
	// not those issued after.
	f.clk.Add(time.Minute)
	allStart, allEnd := f.clk.Now().Add(-time.Hour), f.clk.Now().Add(time.Hour)
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		return acmestate.PutRenewalWindow(tx, &acmestate.RenewalWindow{EndpointID: f.ep.ID, Start: allStart, End: allEnd, SetAt: f.clk.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if s, e := f.window(leaf); !s.Equal(allStart) || !e.Equal(allEnd) {
		t.Errorf("--all window of the first certificate: %s – %s, want %s – %s", s, e, allStart, allEnd)
	}
	f.clk.Add(time.Minute)
	_, leaf3 := f.obtain(key, kid, nil, "later.lab.test")
	if s, _ := f.window(leaf3); !s.After(f.clk.Now().Add(24 * time.Hour)) {
		t.Errorf("a certificate issued after the --all window got %s", s)
	}

	// Revoked: the window lies in the past.
	rresp, rbody := f.signed(f.url("/revoke-cert"), key, kid, []byte(`{"certificate":"`+b64(leaf2.Raw)+`"}`), nil)
	if rresp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", rresp.StatusCode, rbody)
	}
	if s, e := f.window(leaf2); !e.Before(f.clk.Now()) || !s.Before(e) {
		t.Errorf("revoked certificate's window %s – %s is not in the past (now %s)", s, e, f.clk.Now())
	}
}

// TestProfiles: newOrder's profile, shown by the order; shortlived lasts
// at most 7 days and tlsserver has no clientAuth, classic has both; an
// unknown profile is invalidProfile; the endpoint's default profile
// applies when the order names none.
func TestProfiles(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	resp, body := f.orderWith(key, kid, map[string]any{"profile": "longlived"}, "p.lab.test")
	wantProblem(t, "unknown profile", resp, body, errInvalidProfile, http.StatusBadRequest)

	o, classic := f.obtain(key, kid, nil, "c.lab.test")
	if o.Profile != "classic" || !slices.Contains(classic.ExtKeyUsage, x509.ExtKeyUsageClientAuth) ||
		!slices.Contains(classic.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("classic: profile %q EKU %v", o.Profile, classic.ExtKeyUsage)
	}
	o, tlsserver := f.obtain(key, kid, map[string]any{"profile": "tlsserver"}, "t.lab.test")
	if o.Profile != "tlsserver" || !slices.Equal(tlsserver.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("tlsserver: profile %q EKU %v", o.Profile, tlsserver.ExtKeyUsage)
	}
	o, short := f.obtain(key, kid, map[string]any{"profile": "shortlived"}, "s.lab.test")
	if o.Profile != "shortlived" || short.NotAfter.Sub(short.NotBefore) > 7*24*time.Hour {
		t.Errorf("shortlived: profile %q lasts %s", o.Profile, short.NotAfter.Sub(short.NotBefore))
	}
	// The endpoint's default.
	f.editEndpoint(func(ep *acmestate.Endpoint) error { ep.DefaultProfile = "shortlived"; return nil })
	o, def := f.obtain(key, kid, nil, "d.lab.test")
	if o.Profile != "shortlived" || def.NotAfter.Sub(def.NotBefore) > 7*24*time.Hour {
		t.Errorf("default shortlived: profile %q lasts %s", o.Profile, def.NotAfter.Sub(def.NotBefore))
	}
}

// TestVaultCA: an endpoint on a CA of the vault issues from it (the
// certificate is PRIVATE, recorded under that CA) and refuses to finalize
// once the CA is disabled.
func TestVaultCA(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	var ca *authority.Record
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		ca, err = f.svc.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Lab Root", Organization: "Lab"}, Validity: 5 * 365 * 24 * time.Hour})
		if err != nil {
			return err
		}
		ep, err := acmestate.Get(tx, f.ep.ID)
		if err != nil {
			return err
		}
		ep.CertificateAuthorityID = ca.ID
		return acmestate.Put(tx, ep)
	}); err != nil {
		t.Fatal(err)
	}
	caCert, err := ca.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	kid := f.rawAccount(key)
	_, leaf := f.obtain(key, kid, nil, "v.lab.test")
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "v.lab.test"}); err != nil {
		t.Errorf("does not verify against the endpoint's CA: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: f.roots, DNSName: "v.lab.test", CurrentTime: f.clk.Now()}); err == nil {
		// f.roots is the trust bundle, which holds every ACTIVE root of
		// the vault made before it: this CA was made after it.
		t.Errorf("verifies against the public-style roots")
	}
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{})
		if err != nil {
			return err
		}
		if len(certs) != 1 || certs[0].CertificateAuthorityID != ca.ID || certs[0].Type != inventory.TypePrivate {
			t.Errorf("inventory: %+v", certs)
		}
		issued, err := tx.ListIssued(ca.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(issued, func(s localstore.Serial) bool {
			return s.Serial == x509util.FormatSerial(leaf.SerialNumber) && s.CertID == certs[0].ID
		}) {
			t.Errorf("the CA's issued certificates do not list the leaf: %+v", issued)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// ARI works for a certificate of the vault CA too.
	f.window(leaf)

	// A disabled CA: finalize is refused, nothing issued.
	f.setCAStatus(ca.ID, authority.StatusDisabled)
	_, o := f.rawOrder(key, kid, "w.lab.test")
	resp, body := f.signed(o.Finalize, key, kid, f.finalizeBody("w.lab.test"), nil)
	// 403, not a 5xx that clients would retry: see TestCARefusals.
	wantProblem(t, "finalize on a disabled CA", resp, body, errServerInternal, http.StatusForbidden)
}

// TestRenewalInfoMethods: renewalInfo is read by a plain GET (RFC 9773
// 4.2); a POST (as drafts before the RFC had clients send) is 405 with
// Allow: GET, not the 404 of an unknown resource.
func TestRenewalInfoMethods(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		f.wantNotAllowed(m, f.url("/renewal-info/AQ.AQ"), "GET, HEAD")
	}
}

// wantNotAllowed checks that method on url answers 405 with Allow: allow.
func (f *fixture) wantNotAllowed(method, url, allow string) {
	f.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
		f.t.Errorf("%s %s: %d, Allow %q; want 405 and %q", method, url, resp.StatusCode, resp.Header.Get("Allow"), allow)
	}
}

// TestRenewalInfoRetryFollowsLifetime: Retry-After is six hours for a
// certificate of months, an eighth of the life of a short one, and never
// under a minute (tester: six hours for a certificate of minutes).
func TestRenewalInfoRetryFollowsLifetime(t *testing.T) {
	for _, tc := range []struct{ life, want time.Duration }{
		{90 * 24 * time.Hour, 6 * time.Hour},
		{48 * time.Hour, 6 * time.Hour},
		{8 * time.Hour, time.Hour},
		{4 * time.Minute, time.Minute},
	} {
		if got := renewalInfoRetry(tc.life); got != tc.want {
			t.Errorf("renewalInfoRetry(%v) = %v, want %v", tc.life, got, tc.want)
		}
	}
}

// TestRenewalInfoRetryOfShortLived: the renewal information of a
// certificate of eight hours says to ask again within its life (one hour),
// not in six hours (tester).
func TestRenewalInfoRetryOfShortLived(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	f.srv.cfg.Validity = 8 * time.Hour
	key := newKey(t)
	kid := f.rawAccount(key)
	_, leaf := f.obtain(key, kid, nil, "brief.lab.test")
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 9*time.Hour {
		t.Fatalf("the leaf lasts %v, want about 8 hours", life)
	}
	f.window(leaf) // checks Retry-After against the leaf's life
}

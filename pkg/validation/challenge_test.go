package validation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// challengeFixture is a checker whose resolver is a test DNS server in
// which every name of the test resolves to 127.0.0.1.
type challengeFixture struct {
	t   *testing.T
	dns *validationtest.DNSServer
	c   *ChallengeChecker
	acc *acme.Client // computes key authorizations independently
}

func newChallengeFixture(t *testing.T, names ...string) *challengeFixture {
	t.Helper()
	d := validationtest.StartDNS(t)
	for _, n := range names {
		d.Add(t, n+". 60 IN A 127.0.0.1")
	}
	r, err := NewResolver([]string{d.Addr})
	if err != nil {
		t.Fatal(err)
	}
	r.Timeout = 2 * time.Second
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &challengeFixture{t: t, dns: d, acc: &acme.Client{Key: key},
		c: &ChallengeChecker{Resolver: r, CAAIdentities: []string{"certctl.local"}, Timeout: 3 * time.Second}}
}

// keyAuth is the key authorization of token as golang.org/x/crypto/acme
// computes it.
func (f *challengeFixture) keyAuth(token string) string {
	v, err := f.acc.HTTP01ChallengeResponse(token)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// serveHTTP serves body at the http-01 path of token on a loopback port
// and points the checker at it.
func (f *challengeFixture) serveHTTP(token, body string) {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/acme-challenge/"+token, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) })
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	f.t.Cleanup(func() { srv.Close() })
	f.c.HTTPPort = ln.Addr().(*net.TCPAddr).Port
}

// serveTLS answers TLS connections on a loopback port with cert (ALPN
// protos offered as given) and points the checker at it.
func (f *challengeFixture) serveTLS(cert tls.Certificate, protos ...string) {
	f.t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos})
	if err != nil {
		f.t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	f.t.Cleanup(func() { ln.Close() })
	f.c.TLSALPNPort = ln.Addr().(*net.TCPAddr).Port
}

// unusedPort is a loopback port nothing listens on.
func unusedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func wantFailure(t *testing.T, name string, got *ChallengeFailure, problem string) {
	t.Helper()
	if problem == "" {
		if got != nil {
			t.Errorf("%s: failed: %v", name, got)
		}
		return
	}
	if got == nil || got.Problem != problem {
		t.Errorf("%s: got %v, want problem %s", name, got, problem)
	}
}

func TestHTTP01(t *testing.T) {
	ctx := context.Background()
	f := newChallengeFixture(t, "web.lab.test")
	ka := f.keyAuth("tok1")
	f.serveHTTP("tok1", ka+"\r\n") // trailing white space is ignored
	wantFailure(t, "right key authorization", f.c.Check(ctx, ChallengeHTTP01, "web.lab.test", false, "tok1", ka), "")
	wantFailure(t, "another account's key authorization", f.c.Check(ctx, ChallengeHTTP01, "web.lab.test", false, "tok1", "tok1.other"), ProblemUnauthorized)
	wantFailure(t, "404", f.c.Check(ctx, ChallengeHTTP01, "web.lab.test", false, "tok2", f.keyAuth("tok2")), ProblemUnauthorized)
	wantFailure(t, "no address", f.c.Check(ctx, ChallengeHTTP01, "nowhere.lab.test", false, "tok1", ka), ProblemDNS)
	f.c.HTTPPort = unusedPort(t)
	got := f.c.Check(ctx, ChallengeHTTP01, "web.lab.test", false, "tok1", ka)
	wantFailure(t, "unanswered port", got, ProblemConnection)
	// The message names the port asked (validation.http_port), not
	// HTTP's own (tester).
	if want := fmt.Sprintf("GET http://web.lab.test:%d/.well-known/acme-challenge/tok1: ", f.c.HTTPPort); got == nil || !strings.HasPrefix(got.Detail, want) {
		t.Errorf("unanswered port: %v, want it to begin %q", got, want)
	}
}

func TestDNS01(t *testing.T) {
	ctx := context.Background()
	f := newChallengeFixture(t)
	ka := f.keyAuth("tok")
	want, err := f.acc.DNS01ChallengeRecord("tok")
	if err != nil || want != DNS01Value(ka) {
		t.Fatalf("DNS01Value %q, x/crypto/acme %q (%v)", DNS01Value(ka), want, err)
	}
	wantFailure(t, "no record", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), ProblemUnauthorized)
	f.dns.Add(t, `_acme-challenge.dns.lab.test. 60 IN TXT "not-it"`)
	wantFailure(t, "wrong record", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), ProblemUnauthorized)
	f.dns.Add(t, `_acme-challenge.dns.lab.test. 60 IN TXT "`+want+`"`)
	wantFailure(t, "right record among others", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), "")
	// A wildcard is proved at its base name; CAA issuewild applies to it.
	wantFailure(t, "wildcard", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", true, "tok", ka), "")
	f.dns.Add(t, `lab.test. 60 IN CAA 0 issuewild "other-ca.example"`)
	wantFailure(t, "issuewild naming another CA", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", true, "tok", ka), ProblemCAA)
	wantFailure(t, "issuewild does not bind the base name", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), "")
	f.dns.Add(t, `dns.lab.test. 60 IN CAA 0 issue "other-ca.example"`)
	wantFailure(t, "CAA naming another CA", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), ProblemCAA)
	f.dns.Add(t, `dns.lab.test. 60 IN CAA 0 issue "certctl.local"`)
	wantFailure(t, "CAA naming this CA too", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), "")
	// A wildcard is never checked over HTTP or TLS.
	wantFailure(t, "wildcard over http-01", f.c.Check(ctx, ChallengeHTTP01, "dns.lab.test", true, "tok", ka), ProblemMalformed)
	// No resolver answers: a dns problem.
	f.c.Resolver = &Resolver{Servers: []string{"127.0.0.1:" + strconv.Itoa(unusedPort(t))}, Timeout: 300 * time.Millisecond}
	wantFailure(t, "resolver down", f.c.Check(ctx, ChallengeDNS01, "dns.lab.test", false, "tok", ka), ProblemDNS)
}

// alpnCert makes a self-signed tls-alpn-01 certificate for names whose
// acmeIdentifier extension holds value (critical as given).
func alpnCert(t *testing.T, names []string, value []byte, critical bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acme"}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if value != nil {
		ev, err := asn1.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: OIDACMEIdentifier, Critical: critical, Value: ev}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSALPN01(t *testing.T) {
	ctx := context.Background()
	f := newChallengeFixture(t, "tls.lab.test")
	ka := f.keyAuth("tok")
	// The certificate golang.org/x/crypto/acme makes passes.
	good, err := f.acc.TLSALPN01ChallengeCert("tok", "tls.lab.test")
	if err != nil {
		t.Fatal(err)
	}
	f.serveTLS(good, ALPNProto)
	wantFailure(t, "x/crypto/acme certificate", f.c.Check(ctx, ChallengeTLSALPN01, "tls.lab.test", false, "tok", ka), "")
	wantFailure(t, "another key authorization", f.c.Check(ctx, ChallengeTLSALPN01, "tls.lab.test", false, "tok", "tok.other"), ProblemUnauthorized)

	sum := sha256.Sum256([]byte(ka))
	for _, tc := range []struct {
		name    string
		cert    tls.Certificate
		protos  []string
		problem string
	}{
		{"not critical", alpnCert(t, []string{"tls.lab.test"}, sum[:], false), []string{ALPNProto}, ProblemIncorrectResponse},
		{"no extension", alpnCert(t, []string{"tls.lab.test"}, nil, true), []string{ALPNProto}, ProblemIncorrectResponse},
		{"another name too", alpnCert(t, []string{"tls.lab.test", "x.lab.test"}, sum[:], true), []string{ALPNProto}, ProblemIncorrectResponse},
		{"another name", alpnCert(t, []string{"x.lab.test"}, sum[:], true), []string{ALPNProto}, ProblemIncorrectResponse},
		{"ALPN not negotiated", alpnCert(t, []string{"tls.lab.test"}, sum[:], true), []string{"h2"}, ProblemTLS},
		{"hand-made and right", alpnCert(t, []string{"tls.lab.test"}, sum[:], true), []string{ALPNProto}, ""},
	} {
		f.serveTLS(tc.cert, tc.protos...)
		wantFailure(t, tc.name, f.c.Check(ctx, ChallengeTLSALPN01, "tls.lab.test", false, "tok", ka), tc.problem)
	}
	f.c.TLSALPNPort = unusedPort(t)
	got := f.c.Check(ctx, ChallengeTLSALPN01, "tls.lab.test", false, "tok", ka)
	wantFailure(t, "unanswered port", got, ProblemConnection)
	if got != nil && !strings.Contains(got.Detail, "tls.lab.test") {
		t.Errorf("detail %q does not name the host", got.Detail)
	}
}

// TestHTTP01Redirects: http-01 follows redirects to http and https on
// ports 80 and 443 only (port 80 of the validated name being
// validation.http_port), as RFC 8555 section 8.3 and Let's Encrypt do, so
// that a client cannot point certctl's requests at any port of any host.
func TestHTTP01Redirects(t *testing.T) {
	ctx := context.Background()
	f := newChallengeFixture(t, "web.lab.test", "other.lab.test")
	ka := f.keyAuth("tok")
	// A server on another port that answers with the key authorization.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	side := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(ka)) })}
	go func() { _ = side.Serve(ln) }()
	t.Cleanup(func() { side.Close() })
	sidePort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	// The validated name's server (on validation.http_port) redirects.
	target := ""
	main, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			_, _ = w.Write([]byte(ka))
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
	})}
	go func() { _ = srv.Serve(main) }()
	t.Cleanup(func() { srv.Close() })
	f.c.HTTPPort = main.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		target, problem string
	}{
		{"/moved", ""},
		{"http://web.lab.test/moved", ""},
		{"http://web.lab.test:80/moved", ""},
		{"http://other.lab.test:" + sidePort + "/", ProblemConnection},
		{"http://127.0.0.1:" + sidePort + "/", ProblemConnection},
		{"https://other.lab.test:" + sidePort + "/", ProblemConnection},
		{"ftp://other.lab.test/", ProblemConnection},
	} {
		target = tc.target
		wantFailure(t, "redirect to "+tc.target, f.c.Check(ctx, ChallengeHTTP01, "web.lab.test", false, "tok", ka), tc.problem)
	}
}

// alpnCertSAN makes a self-signed tls-alpn-01 certificate whose
// subjectAltName holds names (raw GeneralNames, whatever their kind) and
// whose acmeIdentifier extension is right for keyAuth.
func alpnCertSAN(t *testing.T, keyAuth string, names ...asn1.RawValue) tls.Certificate {
	t.Helper()
	sum := sha256.Sum256([]byte(keyAuth))
	ev, err := asn1.Marshal(sum[:])
	if err != nil {
		t.Fatal(err)
	}
	san, err := asn1.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acme"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}, {Id: OIDACMEIdentifier, Critical: true, Value: ev}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSALPN01OnlyTheName: the subjectAltName of a tls-alpn-01
// certificate holds the dNSName validated "and no other entries" (RFC 8737
// section 3), of any kind: the names crypto/x509 does not parse
// (otherName, directoryName, registeredID) count too.
func TestTLSALPN01OnlyTheName(t *testing.T) {
	ctx := context.Background()
	f := newChallengeFixture(t, "tls.lab.test")
	ka := f.keyAuth("tok")
	dnsName := func(n string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(n)}
	}
	dirName, err := asn1.Marshal(pkix.Name{CommonName: "tls.lab.test"}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	upn, err := asn1.Marshal(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"tag:0,explicit"`
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}, asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("admin@lab.test")}})
	if err != nil {
		t.Fatal(err)
	}
	// otherName is [0] IMPLICIT of that SEQUENCE: its contents, retagged.
	otherName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: upn[2:]}
	for _, tc := range []struct {
		name    string
		names   []asn1.RawValue
		problem string
	}{
		{"the name", []asn1.RawValue{dnsName("tls.lab.test")}, ""},
		{"the name in another case", []asn1.RawValue{dnsName("TLS.lab.test")}, ""},
		{"a registeredID too", []asn1.RawValue{dnsName("tls.lab.test"), {Class: asn1.ClassContextSpecific, Tag: 8, Bytes: []byte{0x2a, 0x03}}}, ProblemIncorrectResponse},
		{"a directoryName too", []asn1.RawValue{dnsName("tls.lab.test"), {Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dirName}}, ProblemIncorrectResponse},
		{"an otherName too", []asn1.RawValue{otherName, dnsName("tls.lab.test")}, ProblemIncorrectResponse},
		{"an IP address too", []asn1.RawValue{dnsName("tls.lab.test"), {Class: asn1.ClassContextSpecific, Tag: 7, Bytes: []byte{127, 0, 0, 1}}}, ProblemIncorrectResponse},
		{"the name twice", []asn1.RawValue{dnsName("tls.lab.test"), dnsName("tls.lab.test")}, ProblemIncorrectResponse},
		{"a registeredID only", []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 8, Bytes: []byte{0x2a, 0x03}}}, ProblemIncorrectResponse},
		// crypto/x509 reads a dNSName only primitive; a constructed [2]
		// holding the name is dropped, not the name.
		{"a constructed dNSName", []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: []byte("tls.lab.test")}}, ProblemIncorrectResponse},
	} {
		cert := alpnCertSAN(t, ka, tc.names...)
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := checkALPNCertificate(leaf, "tls.lab.test", ka)
		wantFailure(t, tc.name, got, tc.problem)
		if got != nil && !strings.Contains(got.Detail, "tls.lab.test") {
			t.Errorf("%s: detail %q does not name the name", tc.name, got.Detail)
		}
	}
	// Through a real handshake too.
	f.serveTLS(alpnCertSAN(t, ka, dnsName("tls.lab.test"), asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 8, Bytes: []byte{0x2a, 0x03}}), ALPNProto)
	got := f.c.Check(ctx, ChallengeTLSALPN01, "tls.lab.test", false, "tok", ka)
	wantFailure(t, "served with a registeredID too", got, ProblemIncorrectResponse)
	if got != nil && !strings.Contains(got.Detail, "registeredID") {
		t.Errorf("detail %q does not name the other entry", got.Detail)
	}
}

package validation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/x509util"
)

// ACME challenge types this package checks (RFC 8555 section 8, RFC 8737).
const (
	ChallengeHTTP01    = "http-01"
	ChallengeDNS01     = "dns-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// Problem types of a failed challenge: the RFC 8555 section 6.7 error
// types, without their urn:ietf:params:acme:error: prefix.
const (
	// ProblemUnauthorized: the response was found but is not the key
	// authorization (or its digest) of this challenge and account, or
	// nothing was published where it should be (no TXT record, an HTTP
	// answer other than 200).
	ProblemUnauthorized = "unauthorized"
	// ProblemConnection: the name's address did not answer on the port.
	ProblemConnection = "connection"
	// ProblemDNS: a DNS lookup failed (no address, SERVFAIL, timeout).
	ProblemDNS = "dns"
	// ProblemCAA: a CAA record forbids this CA to issue for the name.
	ProblemCAA = "caa"
	// ProblemIncorrectResponse: the response does not have the shape the
	// challenge requires (a tls-alpn-01 certificate without the critical
	// acmeIdentifier extension or with other names, an oversized body).
	ProblemIncorrectResponse = "incorrectResponse"
	// ProblemTLS: the TLS handshake failed or did not negotiate acme-tls/1.
	ProblemTLS = "tls"
	// ProblemMalformed: the challenge cannot be checked as asked.
	ProblemMalformed = "malformed"
)

// ChallengeFailure is why a challenge failed: its ACME problem type and a
// detail for the client.
type ChallengeFailure struct {
	Problem string
	Detail  string
}

func (f *ChallengeFailure) Error() string { return f.Problem + ": " + f.Detail }

// ALPNProto is the ALPN protocol of tls-alpn-01 (RFC 8737 section 6.2).
const ALPNProto = "acme-tls/1"

// OIDACMEIdentifier is the acmeIdentifier certificate extension of
// tls-alpn-01 (RFC 8737 section 6.1).
var OIDACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// KeyAuthorization is token.thumbprint (RFC 8555 section 8.1), thumbprint
// being the base64url SHA-256 JWK thumbprint of the account key.
func KeyAuthorization(token, thumbprint string) string { return token + "." + thumbprint }

// DNS01Value is the TXT value of a dns-01 challenge: the base64url SHA-256
// digest of the key authorization (RFC 8555 section 8.4).
func DNS01Value(keyAuth string) string {
	sum := sha256.Sum256([]byte(keyAuth))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ChallengeChecker checks ACME challenges for real: http-01 over HTTP on
// HTTPPort, tls-alpn-01 over TLS on TLSALPNPort, dns-01 through the
// resolvers, each name's address resolved through the resolvers too, and
// CAA (RFC 8659) before any of them.
type ChallengeChecker struct {
	Resolver *Resolver
	// HTTPPort is validation.http_port (0: 80).
	HTTPPort int
	// TLSALPNPort is validation.tls_alpn_port (0: 443).
	TLSALPNPort int
	// CAAIdentities are validation.caa_identities.
	CAAIdentities []string
	// Timeout bounds the connection of one check (0: HTTPTimeout).
	Timeout time.Duration
	// Logf, when set, is told of what the client is not (HTTPChecker.Logf).
	Logf func(format string, a ...any)
}

func (c *ChallengeChecker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return HTTPTimeout
}

// Check checks the challenge typ for name (the base name; wildcard when
// the identifier is *.name) with the key authorization keyAuth: first CAA
// for the name as identified, then the challenge. nil means it passed.
func (c *ChallengeChecker) Check(ctx context.Context, typ, name string, wildcard bool, token, keyAuth string) *ChallengeFailure {
	name = dnsname.Normalize(strings.TrimSuffix(name, "."))
	caaName := name
	if wildcard {
		caaName = "*." + name
	}
	if f := c.checkCAA(ctx, caaName); f != nil {
		return f
	}
	switch typ {
	case ChallengeHTTP01:
		if wildcard {
			return &ChallengeFailure{ProblemMalformed, "a wildcard name is validated by dns-01 only"}
		}
		return c.CheckHTTP01(ctx, name, token, keyAuth)
	case ChallengeDNS01:
		return c.CheckDNS01(ctx, name, keyAuth)
	case ChallengeTLSALPN01:
		if wildcard {
			return &ChallengeFailure{ProblemMalformed, "a wildcard name is validated by dns-01 only"}
		}
		return c.CheckTLSALPN01(ctx, name, keyAuth)
	}
	return &ChallengeFailure{ProblemMalformed, fmt.Sprintf("unknown challenge type %q", typ)}
}

func (c *ChallengeChecker) checkCAA(ctx context.Context, name string) *ChallengeFailure {
	ok, why, err := c.Resolver.CheckCAA(ctx, name, c.CAAIdentities)
	if err != nil {
		return &ChallengeFailure{ProblemDNS, fmt.Sprintf("CAA lookup for %s: %v", name, err)}
	}
	if !ok {
		return &ChallengeFailure{ProblemCAA, why}
	}
	return nil
}

// CheckHTTP01 fetches http://name/.well-known/acme-challenge/token (on
// HTTPPort) and compares the body, trailing white space ignored, with the
// key authorization (RFC 8555 section 8.3).
func (c *ChallengeChecker) CheckHTTP01(ctx context.Context, name, token, keyAuth string) *ChallengeFailure {
	h := &HTTPChecker{Resolver: c.Resolver, Port: c.HTTPPort, Timeout: c.timeout(), StandardPortsOnly: true, Logf: c.Logf}
	u := "http://" + name + "/.well-known/acme-challenge/" + token
	// Messages name the port asked, when it is not HTTP's own
	// (validation.http_port): the request itself names the host alone,
	// as RFC 8555 asks (tester: "GET http://x/…: dial tcp …:5002").
	shown := u
	if c.HTTPPort != 0 && c.HTTPPort != 80 {
		shown = "http://" + net.JoinHostPort(name, strconv.Itoa(c.HTTPPort)) + "/.well-known/acme-challenge/" + token
	}
	body, f := h.Fetch(ctx, name, u)
	if f != nil {
		f.Detail = strings.Replace(f.Detail, "GET "+u, "GET "+shown, 1)
		return f
	}
	got := strings.TrimRight(string(body), " \t\r\n")
	if got != keyAuth {
		if strings.HasPrefix(got, token+".") {
			return &ChallengeFailure{ProblemUnauthorized, fmt.Sprintf("GET %s: the key authorization is for another account key", shown)}
		}
		return &ChallengeFailure{ProblemUnauthorized, fmt.Sprintf("GET %s: the body is not the key authorization of this challenge", shown)}
	}
	return nil
}

// dns01Label is the label a dns-01 record is published under, before the
// name (RFC 8555 section 8.4).
const dns01Label = "_acme-challenge."

// DNS01Fits reports whether name's dns-01 record, _acme-challenge.<name>,
// is a name DNS can hold (at most 253 octets): a longer one can never be
// published or looked up, so dns-01 is not offered for it.
func DNS01Fits(name string) bool {
	return len(dns01Label)+len(name) <= dnsname.MaxNameLength
}

// CheckDNS01 looks up TXT _acme-challenge.name through the resolvers
// (following CNAMEs) for the digest of the key authorization (RFC 8555
// section 8.4).
func (c *ChallengeChecker) CheckDNS01(ctx context.Context, name, keyAuth string) *ChallengeFailure {
	fqdn := dns01Label + name
	rrs, err := c.Resolver.lookup(ctx, fqdn, dns.TypeTXT)
	if err != nil {
		return &ChallengeFailure{ProblemDNS, fmt.Sprintf("TXT %s: %v", fqdn, err)}
	}
	if len(rrs) == 0 {
		return &ChallengeFailure{ProblemUnauthorized, fmt.Sprintf("no TXT record at %s", fqdn)}
	}
	want := DNS01Value(keyAuth)
	for _, rr := range rrs {
		if txt, ok := rr.(*dns.TXT); ok && strings.Join(txt.Txt, "") == want {
			return nil
		}
	}
	return &ChallengeFailure{ProblemUnauthorized, fmt.Sprintf("no TXT record at %s holds the digest of this challenge's key authorization", fqdn)}
}

// CheckTLSALPN01 connects to name on TLSALPNPort offering only acme-tls/1
// with name as SNI and checks the certificate presented (RFC 8737 section
// 3): acme-tls/1 negotiated, one SAN, the dNSName name, and a critical
// acmeIdentifier extension holding the SHA-256 digest of the key
// authorization.
func (c *ChallengeChecker) CheckTLSALPN01(ctx context.Context, name, keyAuth string) *ChallengeFailure {
	port := c.TLSALPNPort
	if port <= 0 {
		port = 443
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	ips, err := c.Resolver.LookupIP(ctx, name)
	if err != nil {
		return &ChallengeFailure{ProblemDNS, fmt.Sprintf("%s: %v", name, err)}
	}
	addr := ""
	var conn net.Conn
	var lastErr error
	d := &net.Dialer{}
	for _, ip := range ips {
		addr = net.JoinHostPort(ip.String(), strconv.Itoa(port))
		if conn, lastErr = d.DialContext(ctx, "tcp", addr); lastErr == nil {
			break
		}
	}
	if conn == nil {
		return &ChallengeFailure{ProblemConnection, fmt.Sprintf("%s (%s): %v", name, addr, lastErr)}
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{
		ServerName: name, NextProtos: []string{ALPNProto}, MinVersion: tls.VersionTLS12,
		// The certificate is self-signed by design: it is checked below,
		// for what RFC 8737 requires, not against roots.
		InsecureSkipVerify: true, //nolint:gosec
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return &ChallengeFailure{ProblemConnection, fmt.Sprintf("%s (%s): TLS handshake: %v", name, addr, err)}
		}
		return &ChallengeFailure{ProblemTLS, fmt.Sprintf("%s (%s): TLS handshake: %v", name, addr, err)}
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol != ALPNProto {
		return &ChallengeFailure{ProblemTLS, fmt.Sprintf("%s (%s) did not negotiate the ALPN protocol %s", name, addr, ALPNProto)}
	}
	if len(st.PeerCertificates) == 0 {
		return &ChallengeFailure{ProblemTLS, fmt.Sprintf("%s (%s) presented no certificate", name, addr)}
	}
	return checkALPNCertificate(st.PeerCertificates[0], name, keyAuth)
}

// checkALPNCertificate checks a tls-alpn-01 certificate (RFC 8737 section
// 3).
func checkALPNCertificate(cert *x509.Certificate, name, keyAuth string) *ChallengeFailure {
	if f := checkALPNSubjectAltName(cert, name); f != nil {
		return f
	}
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(OIDACMEIdentifier) {
			continue
		}
		if !ext.Critical {
			return &ChallengeFailure{ProblemIncorrectResponse, "the acmeIdentifier extension of the tls-alpn-01 certificate is not critical"}
		}
		digest, ok := parseACMEIdentifier(ext.Value)
		if !ok {
			return &ChallengeFailure{ProblemIncorrectResponse, "the acmeIdentifier extension of the tls-alpn-01 certificate is not a SHA-256 digest"}
		}
		want := sha256.Sum256([]byte(keyAuth))
		if !bytes.Equal(digest, want[:]) {
			return &ChallengeFailure{ProblemUnauthorized, "the acmeIdentifier extension of the tls-alpn-01 certificate is not the digest of this challenge's key authorization"}
		}
		return nil
	}
	return &ChallengeFailure{ProblemIncorrectResponse, "the tls-alpn-01 certificate has no acmeIdentifier extension"}
}

// checkALPNSubjectAltName checks that the subjectAltName of a tls-alpn-01
// certificate holds the dNSName name "and no other entries" (RFC 8737
// section 3). The extension itself is read: crypto/x509 drops the names it
// does not know (otherName, directoryName, registeredID, ...), which would
// pass unseen.
func checkALPNSubjectAltName(cert *x509.Certificate, name string) *ChallengeFailure {
	fail := func(has string) *ChallengeFailure {
		return &ChallengeFailure{ProblemIncorrectResponse, fmt.Sprintf("the tls-alpn-01 certificate must carry exactly one name, the dNSName %s (it has %s)", name, has)}
	}
	var sans []pkix.Extension
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(x509util.OIDSubjectAltName) {
			sans = append(sans, ext)
		}
	}
	if len(sans) != 1 {
		return fail(fmt.Sprintf("%d subjectAltName extensions", len(sans)))
	}
	gns, err := x509util.ParseSubjectAltName(sans[0].Value)
	if err != nil {
		return fail(err.Error())
	}
	var has []string
	for _, g := range gns {
		if g.Tag == x509util.GeneralNameDNS {
			has = append(has, fmt.Sprintf("dNSName %q", g.Value))
		} else {
			has = append(has, g.Kind())
		}
	}
	if len(gns) != 1 || gns[0].Tag != x509util.GeneralNameDNS || !strings.EqualFold(string(gns[0].Value), name) {
		return fail(strings.Join(has, ", "))
	}
	return nil
}

// parseACMEIdentifier parses the value of an acmeIdentifier extension: a
// DER OCTET STRING of a SHA-256 digest (RFC 8737 section 3), nothing after
// it.
func parseACMEIdentifier(value []byte) ([]byte, bool) {
	var digest []byte
	rest, err := asn1.Unmarshal(value, &digest)
	if err != nil || len(rest) > 0 || len(digest) != sha256.Size {
		return nil, false
	}
	return digest, true
}

package acme

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// testDNS is the DNS server on loopback that certctl's
// validation.resolvers point to in the challenge tests: every name under
// chal.test has the address 127.0.0.1, and the TXT records under it are
// the lines of the file named after the record's FQDN in txtDir (which a
// client's DNS hook writes).
type testDNS struct {
	*validationtest.DNSServer
	txtDir string
}

func startTestDNS(t *testing.T) *testDNS {
	t.Helper()
	d := &testDNS{DNSServer: validationtest.StartDNS(t), txtDir: t.TempDir()}
	d.SetFallback(func(q dns.Question) []dns.RR {
		name := strings.ToLower(q.Name)
		if !strings.HasSuffix(name, ".chal.test.") && name != "chal.test." {
			return nil
		}
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: 1}
		switch q.Qtype {
		case dns.TypeA:
			if !strings.HasPrefix(name, "_acme-challenge.") {
				return []dns.RR{&dns.A{Hdr: hdr, A: net.IPv4(127, 0, 0, 1)}}
			}
		case dns.TypeTXT:
			data, err := os.ReadFile(filepath.Join(d.txtDir, strings.TrimSuffix(name, ".")))
			if err != nil {
				return nil
			}
			var out []dns.RR
			for _, l := range strings.Fields(string(data)) {
				out = append(out, &dns.TXT{Hdr: hdr, Txt: []string{l}})
			}
			return out
		case dns.TypeSOA:
			if name == "chal.test." {
				return []dns.RR{&dns.SOA{Hdr: hdr, Ns: "ns.chal.test.", Mbox: "hostmaster.chal.test.", Serial: 1,
					Refresh: 60, Retry: 60, Expire: 60, Minttl: 1}}
			}
		}
		return nil
	})
	return d
}

// startChallengeServer runs `endpoint serve` over a CHALLENGE endpoint
// (lab.test pre-approved, nothing under chal.test) whose checks resolve
// names through the test's DNS server, with the extra settings given
// (CERTCTL_VALIDATION_HTTP_PORT=…).
func startChallengeServer(t *testing.T, d *testDNS, extra ...string) *server {
	t.Helper()
	tmp := t.TempDir()
	s := &server{vault: filepath.Join(tmp, "vault"), roots: filepath.Join(tmp, "roots.pem")}
	s.setup(t, "--authorization-behavior", "CHALLENGE")
	var desc struct {
		AcmeEndpoint struct{ ChallengeTypes []string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "endpoint", "describe", s.id), &desc); err != nil ||
		strings.Join(desc.AcmeEndpoint.ChallengeTypes, ",") != "http-01,dns-01,tls-alpn-01" {
		t.Fatalf("endpoint challenge types %v (%v)", desc.AcmeEndpoint.ChallengeTypes, err)
	}
	addr := freePort(t)
	s.serve(t, addr, append([]string{"CERTCTL_VALIDATION_RESOLVERS=" + d.Addr}, extra...)...)
	s.dir = "https://" + addr + "/" + s.id + "/directory"
	return s
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestLegoHTTP01: lego proves a name that is not pre-approved with its own
// http-01 server on a loopback port, which certctl fetches on
// validation.http_port after resolving the name through validation.resolvers.
func TestLegoHTTP01(t *testing.T) {
	legoLoopback(t, "http.chal.test", "CERTCTL_VALIDATION_HTTP_PORT", "http")
}

// TestLegoTLSALPN01: lego proves a name with tls-alpn-01 on a loopback
// port (validation.tls_alpn_port).
func TestLegoTLSALPN01(t *testing.T) {
	legoLoopback(t, "tls.chal.test", "CERTCTL_VALIDATION_TLS_ALPN_PORT", "tls")
}

// legoLoopback has lego prove name with its own challenge server (lego's
// --http or --tls, as method says) on a loopback port, the port certctl is
// told to reach by the variable portVar.
func legoLoopback(t *testing.T, name, portVar, method string) {
	t.Helper()
	bin := testbin.Tool(t, "lego")
	d := startTestDNS(t)
	listen := freePort(t)
	s := startChallengeServer(t, d, portVar+"="+portOf(listen))
	dir := t.TempDir()
	run(t, dir, []string{"LEGO_CA_CERTIFICATES=" + s.roots}, bin, "--server", s.dir, "--eab", "--kid", s.kid,
		"--hmac="+s.mac, "--email", "ops@lab.test", "--accept-tos", "--path", dir, "--domains", name,
		"--"+method, "--"+method+".port", listen, "run")
	s.checkCert(t, dir+"/certificates/"+name+".crt", name)
}

// TestLegoDNS01: lego's exec provider hands each TXT value to the test's
// DNS server (a file it serves), for a name and its wildcard; certctl
// looks the records up through validation.resolvers.
func TestLegoDNS01(t *testing.T) {
	bin := testbin.Tool(t, "lego")
	d := startTestDNS(t)
	s := startChallengeServer(t, d)
	dir := t.TempDir()
	hook := filepath.Join(dir, "dns-hook.sh")
	// exec provider: `hook present|cleanup FQDN VALUE`.
	script := `#!/bin/sh
f="$TXT_DIR/${2%.}"
case "$1" in
present) echo "$3" >> "$f" ;;
cleanup) rm -f "$f" ;;
esac
`
	if err := os.WriteFile(hook, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, dir, []string{"LEGO_CA_CERTIFICATES=" + s.roots, "EXEC_PATH=" + hook, "TXT_DIR=" + d.txtDir,
		"EXEC_POLLING_INTERVAL=1", "EXEC_PROPAGATION_TIMEOUT=30", "EXEC_SEQUENCE_INTERVAL=1"}, bin, "--server", s.dir, "--eab", "--kid", s.kid,
		"--hmac="+s.mac, "--email", "ops@lab.test", "--accept-tos", "--path", dir,
		"--domains", "dns.chal.test", "--domains", "*.dns.chal.test",
		"--dns", "exec", "--dns.resolvers", d.Addr, "--dns.disable-cp", "run")
	s.checkCert(t, dir+"/certificates/dns.chal.test.crt", "dns.chal.test")
	data, err := os.ReadFile(dir + "/certificates/dns.chal.test.crt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil || leaf.VerifyHostname("any.dns.chal.test") != nil {
		t.Errorf("the certificate does not cover *.dns.chal.test: %v %v", leaf.DNSNames, err)
	}
}

// TestCertbotStandaloneHTTP01: certbot's standalone authenticator answers
// http-01 on a loopback port.
func TestCertbotStandaloneHTTP01(t *testing.T) {
	bin := testbin.Tool(t, "certbot")
	d := startTestDNS(t)
	listen := freePort(t)
	s := startChallengeServer(t, d, "CERTCTL_VALIDATION_HTTP_PORT="+portOf(listen))
	dir := t.TempDir()
	run(t, dir, []string{"REQUESTS_CA_BUNDLE=" + s.roots}, bin, "certonly", "--server", s.dir,
		"--eab-kid", s.kid, "--eab-hmac-key="+s.mac, "--standalone", "--preferred-challenges", "http",
		"--http-01-port", portOf(listen), "--http-01-address", "127.0.0.1", "-d", "certbot.chal.test",
		"--config-dir", dir+"/c", "--work-dir", dir+"/w", "--logs-dir", dir+"/l",
		"--non-interactive", "--agree-tos", "--register-unsafely-without-email")
	s.checkCert(t, dir+"/c/live/certbot.chal.test/fullchain.pem", "certbot.chal.test")
}

// TestChallengeCAAThroughServe: through `endpoint serve`, a CAA record
// naming another CA than validation.caa_identities makes a correct dns-01
// challenge, its authorization and its order invalid with a caa problem;
// one naming this CA lets the next order through.
func TestChallengeCAAThroughServe(t *testing.T) {
	d := startTestDNS(t)
	s := startChallengeServer(t, d, "CERTCTL_VALIDATION_CAA_IDENTITIES=ca.chal.test")
	c, _ := s.acmeClient(t, s.kid, s.mac)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.Add(t, `caa.chal.test. 60 IN CAA 0 issue "letsencrypt.org"`)
	order := func(name string) (*acme.Order, *acme.Challenge, *acme.Error) {
		t.Helper()
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
		if err != nil {
			t.Fatal(err)
		}
		z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
		if err != nil {
			t.Fatal(err)
		}
		var ch *acme.Challenge
		for _, x := range z.Challenges {
			if x.Type == "dns-01" {
				ch = x
			}
		}
		if ch == nil {
			t.Fatalf("no dns-01 challenge for %s", name)
		}
		rec, _ := c.DNS01ChallengeRecord(ch.Token)
		d.Add(t, "_acme-challenge."+name+`. 60 IN TXT "`+rec+`"`)
		got, err := c.Accept(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		var ae *acme.Error
		errors.As(got.Error, &ae)
		if o, err = c.GetOrder(ctx, o.URI); err != nil {
			t.Fatal(err)
		}
		return o, got, ae
	}
	o, ch, ae := order("caa.chal.test")
	if ch.Status != acme.StatusInvalid || ae == nil || ae.ProblemType != "urn:ietf:params:acme:error:caa" || o.Status != acme.StatusInvalid {
		t.Errorf("CAA naming another CA: challenge %s (%v), order %s; want both invalid with caa", ch.Status, ae, o.Status)
	}
	d.Add(t, `ok.chal.test. 60 IN CAA 0 issue "ca.chal.test"`)
	if o, ch, ae = order("ok.chal.test"); ch.Status != acme.StatusValid || o.Status != acme.StatusReady {
		t.Errorf("CAA naming this CA: challenge %s (%v), order %s; want valid and ready", ch.Status, ae, o.Status)
	}
}

package acme

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/zlinttest"
	"github.com/certctl/certctl/pkg/acmestate"
)

// certbotObtain runs certbot certonly for name against s in dir d (one
// account, re-used between calls) and returns the live directory.
func certbotObtain(t *testing.T, bin string, s *server, d, name string) string {
	t.Helper()
	run(t, d, []string{"REQUESTS_CA_BUNDLE=" + s.roots}, bin, "certonly", "--server", s.dir,
		"--eab-kid", s.kid, "--eab-hmac-key="+s.mac, "--manual", "--manual-auth-hook", "/bin/true",
		"--preferred-challenges", "dns", "-d", name, "--config-dir", d+"/c", "--work-dir", d+"/w",
		"--logs-dir", d+"/l", "--non-interactive", "--agree-tos", "--register-unsafely-without-email")
	return d + "/c/live/" + name
}

// openssl runs openssl with args and returns its combined output and
// whether it succeeded.
func openssl(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(testbin.Tool(t, "openssl"), args...).CombinedOutput()
	return string(out), err == nil
}

var opensslDate = regexp.MustCompile(`Not (Before|After) *: *(.+ GMT)`)

// opensslText is `openssl x509 -text` of file: its validity and whether it
// carries the clientAuth extended key usage.
func opensslText(t *testing.T, file string) (lifetime time.Duration, clientAuth, serverAuth bool) {
	t.Helper()
	out, ok := openssl(t, "x509", "-in", file, "-noout", "-text")
	if !ok {
		t.Fatalf("openssl x509 -text %s: %s", file, out)
	}
	var nb, na time.Time
	for _, m := range opensslDate.FindAllStringSubmatch(out, -1) {
		tm, err := time.Parse("Jan _2 15:04:05 2006 MST", strings.Join(strings.Fields(m[2]), " "))
		if err != nil {
			// openssl pads the day with a space: "Dec  3" → "Dec 3".
			tm, err = time.Parse("Jan 2 15:04:05 2006 MST", strings.Join(strings.Fields(m[2]), " "))
		}
		if err != nil {
			t.Fatalf("openssl date %q: %v", m[2], err)
		}
		if m[1] == "Before" {
			nb = tm
		} else {
			na = tm
		}
	}
	if nb.IsZero() || na.IsZero() {
		t.Fatalf("no validity in openssl's text:\n%s", out)
	}
	return na.Sub(nb), strings.Contains(out, "TLS Web Client Authentication"), strings.Contains(out, "TLS Web Server Authentication")
}

func readLeaf(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", file)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCertbotVaultCAProfilesAndARI: an endpoint moved onto a CA made with
// `ca create` gives certbot a certificate that openssl verifies against
// that CA's root and not against the public-style roots; the endpoint's
// default profile shapes what certbot gets (shortlived ≤ 7 days and
// tlsserver without clientAuth, read with `openssl x509 -text`); the
// served renewalInfo answers for certbot's certificate and returns the
// window `endpoint renewal-window set` stored from another process.
func TestCertbotVaultCAProfilesAndARI(t *testing.T) {
	bin := testbin.Tool(t, "certbot")
	testbin.Tool(t, "openssl")
	s := startServer(t) // s.roots: the trust bundle before the CA exists
	d := t.TempDir()

	var ca struct{ CertificateAuthorityArn string }
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1",
		"--subject", "CN=Interop Private Root,O=certctl tests"), &ca); err != nil {
		t.Fatal(err)
	}
	caRoot := d + "/ca-root.pem"
	if err := os.WriteFile(caRoot, s.certctl(t, "ca", "get-certificate-authority-certificate", ca.CertificateAuthorityArn), 0o600); err != nil {
		t.Fatal(err)
	}
	var desc struct {
		AcmeEndpoint struct {
			CertificateAuthority struct {
				PrivateCertificateAuthority *struct{ CertificateAuthorityArn string }
			}
			DefaultProfile string
		}
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "endpoint", "update", s.id, "--certificate-authority-arn", ca.CertificateAuthorityArn), &desc); err != nil {
		t.Fatal(err)
	}
	if p := desc.AcmeEndpoint.CertificateAuthority.PrivateCertificateAuthority; p == nil || p.CertificateAuthorityArn != ca.CertificateAuthorityArn ||
		desc.AcmeEndpoint.DefaultProfile != "classic" {
		t.Fatalf("endpoint update: %+v", desc)
	}

	var issued []string // every certificate certbot got, for zlint
	live := certbotObtain(t, bin, s, d, "private.lab.test")
	issued = append(issued, live+"/cert.pem")
	if out, ok := openssl(t, "verify", "-CAfile", caRoot, "-untrusted", live+"/chain.pem", live+"/cert.pem"); !ok {
		t.Errorf("openssl verify against the endpoint's CA root: %s", out)
	}
	if out, ok := openssl(t, "verify", "-CAfile", s.roots, "-untrusted", live+"/chain.pem", live+"/cert.pem"); ok {
		t.Errorf("openssl verify against the public-style roots succeeded: %s", out)
	}
	if _, clientAuth, serverAuth := opensslText(t, live+"/cert.pem"); !clientAuth || !serverAuth {
		t.Errorf("classic: clientAuth %v serverAuth %v, want both", clientAuth, serverAuth)
	}

	// Profiles, chosen by the endpoint's default (certbot 2 cannot name one).
	s.certctl(t, "endpoint", "update", s.id, "--default-profile", "shortlived")
	live = certbotObtain(t, bin, s, d, "short.lab.test")
	issued = append(issued, live+"/cert.pem")
	if life, _, _ := opensslText(t, live+"/cert.pem"); life > 7*24*time.Hour || life <= 0 {
		t.Errorf("shortlived lasts %s", life)
	}
	s.certctl(t, "endpoint", "update", s.id, "--default-profile", "tlsserver")
	live = certbotObtain(t, bin, s, d, "server.lab.test")
	issued = append(issued, live+"/cert.pem")
	if life, clientAuth, serverAuth := opensslText(t, live+"/cert.pem"); clientAuth || !serverAuth || life < 30*24*time.Hour {
		t.Errorf("tlsserver: clientAuth %v serverAuth %v lifetime %s", clientAuth, serverAuth, life)
	}

	// Each profile's certificate passes zlint (SPEC: every certificate
	// certctl issues).
	t.Run("zlint", func(t *testing.T) {
		linter, err := zlinttest.New(testbin.Tool(t, "zlint"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range issued {
			findings, passed, err := linter.Lint(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range findings {
				t.Errorf("%s: %s = %s %s", f, x.Lint, x.Result, x.Details)
			}
			if passed == 0 {
				t.Errorf("%s: no lint passed", f)
			}
		}
	})

	// Renewal information of certbot's certificate, served by one process
	// and set by another through the vault.
	leaf := readLeaf(t, live+"/cert.pem")
	rootsPEM, _ := os.ReadFile(s.roots)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootsPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	var dir struct{ RenewalInfo string }
	getJSON(t, hc, s.dir, &dir)
	if dir.RenewalInfo == "" {
		t.Fatal("directory has no renewalInfo")
	}
	certID := acmestate.CertIDOf(leaf).String()
	var ri struct{ SuggestedWindow struct{ Start, End string } }
	getJSON(t, hc, dir.RenewalInfo+"/"+certID, &ri)
	start, _ := time.Parse(time.RFC3339, ri.SuggestedWindow.Start)
	if life := leaf.NotAfter.Sub(leaf.NotBefore); start.Before(leaf.NotAfter.Add(-life / 3).Add(-time.Second)) {
		t.Errorf("window starts %s, before the last third of %s – %s", start, leaf.NotBefore, leaf.NotAfter)
	}
	ws, we := time.Now().UTC().Add(time.Hour).Truncate(time.Second), time.Now().UTC().Add(5*time.Hour).Truncate(time.Second)
	s.certctl(t, "endpoint", "renewal-window", "set", s.id, "--serial", hex.EncodeToString(leaf.SerialNumber.Bytes()),
		"--start", ws.Format(time.RFC3339), "--end", we.Format(time.RFC3339))
	getJSON(t, hc, dir.RenewalInfo+"/"+certID, &ri)
	if ri.SuggestedWindow.Start != ws.Format(time.RFC3339) || ri.SuggestedWindow.End != we.Format(time.RFC3339) {
		t.Errorf("after renewal-window set: %+v, want %s – %s", ri.SuggestedWindow, ws, we)
	}
}

func getJSON(t *testing.T, hc *http.Client, url string, v any) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") == "" && strings.Contains(url, "/renewal-info/") {
		t.Errorf("GET %s: no Retry-After", url)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

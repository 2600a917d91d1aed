// Package acme holds interoperability tests of `certctl endpoint serve`
// with stock ACME clients: certbot, lego, uacme and dehydrated. TestMain
// builds the certctl binary; the server runs as a child on 127.0.0.1 and
// every client enrols with external account binding, trusting
// `certctl ca trust-bundle`. A client that is not installed skips its test
// unless CERTCTL_REQUIRE_INTEROP=1, where it fails.
package acme

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
)

var harness *testbin.Harness

// TestMain builds the binary; CERTCTL_BIN runs a prebuilt one instead.
func TestMain(m *testing.M) {
	os.Exit(testbin.MainWith(m, "certctl-acme-interop-", testbin.BuildOptions{Prebuilt: true}, &harness))
}

// childEnv is the environment of every command the tests run, certctl and
// the clients alike: the caller's, without its CERTCTL_* variables (a
// CERTCTL_CONFIG, CERTCTL_STORE or CERTCTL_REGION of the caller would point
// the tests' vault elsewhere), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CERTCTL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// server is a running `endpoint serve` with one endpoint.
type server struct {
	vault, dir, kid, mac, roots, id string
	// env is added to the environment of certctl (the store of a cluster).
	env []string
}

func (s *server) certctl(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(harness.Bin, args...)
	cmd.Env = childEnv(append([]string{"CERTCTL_VAULT=" + s.vault, "HOME=" + harness.Home, "XDG_CONFIG_HOME=" + harness.Home}, s.env...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("certctl %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServer(t *testing.T) *server {
	t.Helper()
	tmp := t.TempDir()
	s := &server{vault: filepath.Join(tmp, "vault"), roots: filepath.Join(tmp, "roots.pem")}
	s.setup(t)
	addr := freePort(t)
	s.serve(t, addr)
	s.dir = "https://" + addr + "/" + s.id + "/directory"
	return s
}

// setup creates the endpoint of s with lab.test pre-validated, a reusable
// EAB credential, and writes the trust bundle. The endpoint is
// PRE_APPROVED unless args say otherwise (--authorization-behavior …).
func (s *server) setup(t *testing.T, args ...string) {
	t.Helper()
	if len(args) == 0 {
		args = []string{"--authorization-behavior", "PRE_APPROVED"}
	}
	var created struct{ AcmeEndpointArn string }
	if err := json.Unmarshal(s.certctl(t, append([]string{"-o", "json", "endpoint", "create",
		"--contact", "NOT_REQUIRED", "--certificate-tags", "client=interop"}, args...)...), &created); err != nil {
		t.Fatal(err)
	}
	s.id = created.AcmeEndpointArn[strings.LastIndexByte(created.AcmeEndpointArn, '/')+1:]
	s.certctl(t, "endpoint", "domain", "add", s.id, "lab.test", "--pre-validated")
	var eab struct {
		ExternalAccountBinding struct{ KeyId, MacKey string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "endpoint", "eab", "create", s.id, "--reusable"), &eab); err != nil {
		t.Fatal(err)
	}
	s.kid, s.mac = eab.ExternalAccountBinding.KeyId, eab.ExternalAccountBinding.MacKey
	if err := os.WriteFile(s.roots, s.certctl(t, "ca", "trust-bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serve starts `endpoint serve` on addr over s's vault, with the extra
// environment, and returns the process once it serves. Its stderr goes to
// log (when not nil).
func (s *server) serve(t *testing.T, addr string, extra ...string) *exec.Cmd {
	return s.serveLog(t, addr, nil, extra...)
}

func (s *server) serveLog(t *testing.T, addr string, logw *lineCounter, extra ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, harness.Bin, "endpoint", "serve", "--listen", addr)
	cmd.Env = childEnv(append(append([]string{"CERTCTL_VAULT=" + s.vault, "HOME=" + harness.Home, "XDG_CONFIG_HOME=" + harness.Home}, s.env...), extra...)...)
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
			logw.add(sc.Text())
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("endpoint serve did not start")
	}
	return cmd
}

// checkCert verifies a PEM chain file for name against the trust bundle
// and that the inventory recorded it with KeyPairOrigin ACME.
func (s *server) checkCert(t *testing.T, file, name string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("%s holds no certificate", file)
	}
	roots := x509.NewCertPool()
	rp, _ := os.ReadFile(s.roots)
	roots.AppendCertsFromPEM(rp)
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name}); err != nil {
		t.Fatalf("%s does not verify for %s: %v", file, name, err)
	}
	var list struct {
		CertificateSummaryList []struct{ DomainName, KeyPairOrigin string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "list", "--certificate-key-pair-origins", "ACME"), &list); err != nil {
		t.Fatal(err)
	}
	for _, c := range list.CertificateSummaryList {
		if c.DomainName == name && c.KeyPairOrigin == "ACME" {
			return
		}
	}
	t.Fatalf("inventory has no ACME certificate for %s", name)
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func TestCertbot(t *testing.T) {
	bin := testbin.Tool(t, "certbot")
	s := startServer(t)
	d := t.TempDir()
	// Pre-approved names need no challenge: the manual authenticator's
	// hook is never run, but certbot requires one in non-interactive mode.
	run(t, d, []string{"REQUESTS_CA_BUNDLE=" + s.roots}, bin, "certonly", "--server", s.dir,
		"--eab-kid", s.kid, "--eab-hmac-key="+s.mac, "--manual", "--manual-auth-hook", "/bin/true",
		"--preferred-challenges", "dns", "-d", "certbot.lab.test", "--config-dir", d+"/c", "--work-dir", d+"/w",
		"--logs-dir", d+"/l", "--non-interactive", "--agree-tos", "--register-unsafely-without-email")
	s.checkCert(t, d+"/c/live/certbot.lab.test/fullchain.pem", "certbot.lab.test")
	// Renewal through the same account updates the same certificate.
	run(t, d, []string{"REQUESTS_CA_BUNDLE=" + s.roots}, bin, "renew", "--force-renewal", "--no-random-sleep-on-renew", "--config-dir", d+"/c",
		"--work-dir", d+"/w", "--logs-dir", d+"/l", "--non-interactive")
	var list struct{ CertificateSummaryList []struct{ DomainName string } }
	_ = json.Unmarshal(s.certctl(t, "-o", "json", "list", "--certificate-key-pair-origins", "ACME"), &list)
	if len(list.CertificateSummaryList) != 1 {
		t.Errorf("after renewal the inventory has %d ACME certificates, want 1", len(list.CertificateSummaryList))
	}
}

func TestLego(t *testing.T) {
	bin := testbin.Tool(t, "lego")
	s := startServer(t)
	d := t.TempDir()
	run(t, d, []string{"LEGO_CA_CERTIFICATES=" + s.roots}, bin, "--server", s.dir, "--eab", "--kid", s.kid,
		"--hmac="+s.mac, "--email", "ops@lab.test", "--accept-tos", "--path", d, "--domains", "lego.lab.test",
		"--http", "--http.port", freePort(t), "run")
	s.checkCert(t, d+"/certificates/lego.lab.test.crt", "lego.lab.test")
}

func TestUacme(t *testing.T) {
	bin := testbin.Tool(t, "uacme")
	unshare := testbin.Tool(t, "unshare")
	s := startServer(t)
	d := t.TempDir()
	// uacme trusts the system store only (libcurl reads neither
	// CURL_CA_BUNDLE nor SSL_CERT_FILE): install the roots in it as the
	// README says (update-ca-certificates), in a private mount namespace
	// over copies of the store's directories. Where that tool is missing,
	// bind-mount the roots over the system bundle instead.
	install := fmt.Sprintf("mount --bind %s /etc/ssl/certs/ca-certificates.crt", s.roots)
	if _, err := exec.LookPath("update-ca-certificates"); err == nil {
		install = fmt.Sprintf("mkdir -p %[1]s/certs %[1]s/local %[1]s/hooks && cp -a /etc/ssl/certs/. %[1]s/certs/ && "+
			"mount --bind %[1]s/certs /etc/ssl/certs && mount --bind %[1]s/local /usr/local/share/ca-certificates && "+
			"{ ! test -d /etc/ca-certificates/update.d || mount --bind %[1]s/hooks /etc/ca-certificates/update.d; } && "+
			"cp %[2]s /usr/local/share/ca-certificates/certctl-vault.crt && update-ca-certificates >/dev/null 2>&1", d+"/store", s.roots)
	}
	script := fmt.Sprintf("%s && %s -y -c %s/conf -a %s -e %s:%s new ops@lab.test && %s -y -c %s/conf -a %s -h /bin/true issue uacme.lab.test",
		install, bin, d, s.dir, s.kid, s.mac, bin, d, s.dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-m", "sh", "-c", script)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "Operation not permitted") && os.Getenv("CERTCTL_REQUIRE_INTEROP") != "1" {
			t.Skipf("unshare -m not permitted here: %s", out)
		}
		t.Fatalf("uacme: %v\n%s", err, out)
	}
	s.checkCert(t, d+"/conf/uacme.lab.test/cert.pem", "uacme.lab.test")
}

func TestDehydrated(t *testing.T) {
	bin := testbin.Tool(t, "dehydrated")
	s := startServer(t)
	d := t.TempDir()
	hook := filepath.Join(d, "hook.sh")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nexit 0\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("CA=%q\nCHALLENGETYPE=\"dns-01\"\nHOOK=%q\nBASEDIR=%q\nEAB_KID=%q\nEAB_HMAC_KEY=%q\nCONTACT_EMAIL=\"ops@lab.test\"\n",
		s.dir, hook, d, s.kid, s.mac)
	if err := os.WriteFile(filepath.Join(d, "config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CURL_CA_BUNDLE=" + s.roots}
	run(t, d, env, bin, "-f", filepath.Join(d, "config"), "--register", "--accept-terms")
	run(t, d, env, bin, "-f", filepath.Join(d, "config"), "-c", "-d", "dehydrated.lab.test")
	s.checkCert(t, filepath.Join(d, "certs", "dehydrated.lab.test", "fullchain.pem"), "dehydrated.lab.test")
}

// TestCallerEnvironmentIgnored: the CERTCTL_* variables of whoever runs the
// tests reach neither certctl nor the ACME clients: a caller's
// CERTCTL_CONFIG, CERTCTL_STORE or CERTCTL_REGION must not point the
// tests' vault elsewhere.
func TestCallerEnvironmentIgnored(t *testing.T) {
	t.Setenv("CERTCTL_CONFIG", filepath.Join(t.TempDir(), "missing.yaml"))
	t.Setenv("CERTCTL_REGION", "leaked-region")
	s := startServer(t)
	var list struct {
		AcmeEndpoints []struct{ AcmeEndpointArn string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "endpoint", "list"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.AcmeEndpoints) != 1 || !strings.HasPrefix(list.AcmeEndpoints[0].AcmeEndpointArn, "arn:certctl:acm:local:") {
		t.Errorf("endpoints %+v: the caller's CERTCTL_REGION reached certctl", list.AcmeEndpoints)
	}
	run(t, t.TempDir(), []string{"EXTRA=1"}, "sh", "-c", `test "$EXTRA" = 1 && ! env | grep '^CERTCTL_'`)
}

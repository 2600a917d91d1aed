package acme

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
)

// importResult is `import --from-dir -o json`.
type importResult struct {
	Results []struct {
		File, Status, CertificateArn, CertificateAuthorityArn, Error string
	}
	Imported, Reimported, Skipped, Failed int
}

// certctlIn runs certctl on vault and decodes its JSON output into v.
func certctlIn(t *testing.T, vault string, v any, args ...string) {
	t.Helper()
	cmd := exec.Command(harness.Bin, append([]string{"--vault", vault, "-o", "json"}, args...)...)
	cmd.Env = childEnv("HOME="+harness.Home, "XDG_CONFIG_HOME="+harness.Home)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("certctl %v: %v\n%s\n%s", args, err, out, stderr)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("certctl %v: %v\n%s", args, err, out)
		}
	}
}

// lego's .lego directory, made by the real lego against `endpoint serve`,
// imports into another vault from its certificates/ layout (the issuer
// file as the chain), is skipped when unchanged, and after `lego renew` is
// reimported under the same ARN as a second version.
func TestLegoImportFromDir(t *testing.T) {
	bin := testbin.Tool(t, "lego")
	s := startServer(t)
	d := t.TempDir()
	lego := filepath.Join(d, ".lego")
	common := []string{"--server", s.dir, "--eab", "--kid", s.kid, "--hmac=" + s.mac, "--email", "ops@lab.test", "--accept-tos",
		"--path", lego, "--domains", "sync.lab.test", "--http", "--http.port", freePort(t)}
	env := []string{"LEGO_CA_CERTIFICATES=" + s.roots}
	run(t, d, env, bin, append(common, "run")...)

	vault := filepath.Join(t.TempDir(), "vault")
	var res importResult
	certctlIn(t, vault, &res, "import", "--from-dir", lego)
	if res.Imported != 1 || res.Failed != 0 || len(res.Results) != 1 || res.Results[0].File != filepath.Join(lego, "certificates", "sync.lab.test.crt") {
		t.Fatalf("first import: %+v", res)
	}
	arn := res.Results[0].CertificateArn
	var desc struct {
		Certificate struct {
			DomainName string
			Type       string
			Versions   []struct{ VersionNumber int }
		}
	}
	certctlIn(t, vault, &desc, "describe", arn, "--versions")
	if desc.Certificate.DomainName != "sync.lab.test" || desc.Certificate.Type != "IMPORTED" || len(desc.Certificate.Versions) != 1 {
		t.Fatalf("imported: %+v", desc)
	}
	var material struct{ Certificate, CertificateChain string }
	certctlIn(t, vault, &material, "describe", arn, "--pem")
	if n := countCerts(material.CertificateChain); n < 1 {
		t.Errorf("the imported certificate has no chain: %q", material.CertificateChain)
	}

	certctlIn(t, vault, &res, "import", "--from-dir", lego)
	if res.Skipped != 1 || res.Imported+res.Reimported+res.Failed != 0 || res.Results[0].CertificateArn != arn {
		t.Fatalf("second import (unchanged): %+v", res)
	}

	run(t, d, env, bin, append(common, "renew", "--days", "10000", "--no-random-sleep")...)
	certctlIn(t, vault, &res, "import", "--from-dir", lego)
	if res.Reimported != 1 || res.Imported+res.Skipped+res.Failed != 0 || res.Results[0].CertificateArn != arn {
		t.Fatalf("after lego renew: %+v", res)
	}
	certctlIn(t, vault, &desc, "describe", arn, "--versions")
	if len(desc.Certificate.Versions) != 2 {
		t.Errorf("after lego renew: %d versions, want 2", len(desc.Certificate.Versions))
	}
}

// mkcert's CAROOT, made by the real mkcert, becomes an ACTIVE root CA of
// the vault (not an IMPORTED certificate), issues certificates that verify
// against mkcert's rootCA.pem, and is skipped on the next run; the leaf
// mkcert made imports as name.pem beside name-key.pem.
func TestMkcertCAROOT(t *testing.T) {
	bin := testbin.Tool(t, "mkcert")
	d := t.TempDir()
	caroot := filepath.Join(d, "caroot")
	leaves := filepath.Join(d, "leaves")
	if err := os.MkdirAll(leaves, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, leaves, []string{"CAROOT=" + caroot, "HOME=" + d}, bin, "mk.lab.test", "*.mk.lab.test")
	for _, f := range []string{"rootCA.pem", "rootCA-key.pem"} {
		if _, err := os.Stat(filepath.Join(caroot, f)); err != nil {
			t.Fatalf("mkcert made no %s: %v", f, err)
		}
	}

	vault := filepath.Join(t.TempDir(), "vault")
	var res importResult
	certctlIn(t, vault, &res, "import", "--from-dir", caroot)
	if res.Imported != 1 || len(res.Results) != 1 || res.Results[0].CertificateAuthorityArn == "" || res.Results[0].CertificateArn != "" {
		t.Fatalf("CAROOT import: %+v", res)
	}
	caARN := res.Results[0].CertificateAuthorityArn
	var ca struct {
		CertificateAuthority struct {
			Type, Status                      string
			CertificateAuthorityConfiguration struct{ KeyAlgorithm string }
		}
	}
	certctlIn(t, vault, &ca, "ca", "describe", caARN)
	if c := ca.CertificateAuthority; c.Type != "ROOT" || c.Status != "ACTIVE" {
		t.Fatalf("the mkcert root in the vault: %+v", c)
	}
	var list struct{ CertificateSummaryList []struct{ DomainName string } }
	certctlIn(t, vault, &list, "list")
	if len(list.CertificateSummaryList) != 0 {
		t.Errorf("the CA was imported as a certificate too: %+v", list)
	}

	var req struct{ CertificateArn string }
	certctlIn(t, vault, &req, "request", "--domain-name", "svc.mk.lab.test", "--certificate-authority-arn", caARN)
	var exp struct{ Certificate, CertificateChain string }
	certctlIn(t, vault, &exp, "export", req.CertificateArn, "--no-private-key")
	rootPEM, err := os.ReadFile(filepath.Join(caroot, "rootCA.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	leaf := firstCert(t, exp.Certificate)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "svc.mk.lab.test"}); err != nil {
		t.Errorf("a certificate of the imported mkcert CA does not verify against rootCA.pem: %v", err)
	}

	certctlIn(t, vault, &res, "import", "--from-dir", caroot)
	if res.Skipped != 1 || res.Imported != 0 || res.Results[0].CertificateAuthorityArn != caARN {
		t.Errorf("CAROOT again: %+v", res)
	}
	certctlIn(t, vault, &res, "import", "--from-dir", leaves)
	if res.Imported != 1 || res.Failed != 0 {
		t.Fatalf("mkcert's leaf: %+v", res)
	}
}

func countCerts(s string) int {
	n := 0
	rest := []byte(s)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return n
		}
		n++
	}
}

func firstCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM certificate in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

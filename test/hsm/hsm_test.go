//go:build pkcs11

package hsm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/zlinttest"
)

// caDesc is what ca describe says of a CA's key storage.
type caDesc struct {
	CertificateAuthority struct {
		Arn, Status, KeyStorage, KeyLabel string
	}
}

func (v *vault) describeCA(t *testing.T, arn string) caDesc {
	t.Helper()
	var d caDesc
	if err := json.Unmarshal(v.OK(t, "ca", "describe", arn, "-o", "json"), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// caCert writes the CA's certificate to dir/name and returns its path.
func (v *vault) caCert(t *testing.T, dir, name, arn string) string {
	t.Helper()
	var res struct{ Certificate string }
	if err := json.Unmarshal(v.OK(t, "ca", "get-certificate-authority-certificate", arn, "-o", "json"), &res); err != nil || res.Certificate == "" {
		t.Fatalf("get-certificate-authority-certificate %s: %v", arn, err)
	}
	return testbin.WriteFile(t, dir, name, []byte(res.Certificate))
}

// leaf is an issued certificate written out: the certificate, its chain.
type leaf struct{ name, cert, chain, serial string }

// requestLeaf issues a PRIVATE certificate from ca through `request`.
func (v *vault) requestLeaf(t *testing.T, dir, name, ca string) (leaf, string) {
	t.Helper()
	return v.requestLeafPEM(t, dir, name, v.ARN(t, "request", "--domain-name", name, "--certificate-authority-arn", ca))
}

// requestLeafPEM writes the current version of the certificate arn to
// dir as name.
func (v *vault) requestLeafPEM(t *testing.T, dir, name, arn string) (leaf, string) {
	t.Helper()
	var res struct{ Certificate, CertificateChain string }
	if err := json.Unmarshal(v.OK(t, "describe", arn, "--pem", "-o", "json"), &res); err != nil || res.Certificate == "" {
		t.Fatalf("describe --pem %s: %v", arn, err)
	}
	var d struct{ Certificate struct{ Serial string } }
	if err := json.Unmarshal(v.OK(t, "describe", arn, "-o", "json"), &d); err != nil {
		t.Fatal(err)
	}
	return leaf{name: name, cert: testbin.WriteFile(t, dir, name+".pem", []byte(res.Certificate)),
		chain: testbin.WriteFile(t, dir, name+"-chain.pem", []byte(res.CertificateChain)), serial: d.Certificate.Serial}, arn
}

// csr writes a P-256 CSR for name to dir.
func csr(t *testing.T, dir, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return testbin.WriteFile(t, dir, name+".csr", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// caIssue issues a certificate from ca through `ca issue`.
func (v *vault) caIssue(t *testing.T, dir, name, ca string) leaf {
	t.Helper()
	var res struct{ CertificateArn, Certificate, CertificateChain string }
	out := v.OK(t, "ca", "issue", ca, "--csr", csr(t, dir, name), "--template", "EndEntityServerAuthCertificate", "--validity", "30d", "-o", "json")
	if err := json.Unmarshal(out, &res); err != nil || res.Certificate == "" {
		t.Fatalf("ca issue: %v\n%s", err, out)
	}
	return leaf{name: name, cert: testbin.WriteFile(t, dir, name+".pem", []byte(res.Certificate)),
		chain: testbin.WriteFile(t, dir, name+"-chain.pem", []byte(res.CertificateChain))}
}

// verify checks the leaf with openssl against the root (its chain
// untrusted).
func verify(t *testing.T, root string, l leaf) {
	t.Helper()
	args := []string{"verify", "-CAfile", root}
	if data, _ := os.ReadFile(l.chain); len(strings.TrimSpace(string(data))) > 0 {
		args = append(args, "-untrusted", l.chain)
	}
	if out := openssl(t, append(args, l.cert)...); !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify %s: %s", l.name, out)
	}
}

// TestTokenHierarchy: a root and a subordinate whose keys are generated in
// the token issue through request and ca issue; openssl verifies every
// chain, the CRLs and an OCSP response the token keys signed; zlint finds
// nothing; pkcs11-tool shows the keys sensitive and never extractable; no
// key material and no PIN is in the vault or in anything printed.
func TestTokenHierarchy(t *testing.T) {
	tok := newToken(t, "certctl hierarchy")
	linter, err := zlinttest.New(testbin.Tool(t, "zlint"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := newVault(t, tok.env()...)

	rootArn := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_secp384r1",
		"--subject", "CN=Token Root CA,O=certctl test", "--key-storage", "PKCS11", "--pkcs11-key-label", "Token Root key")
	subArn := v.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--key-algorithm", "RSA_2048",
		"--subject", "CN=Token Issuing CA,O=certctl test", "--parent", rootArn, "--key-storage", "PKCS11")
	vaultArn := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Vault Root")
	subLabel := "certctl-ca-" + testbin.IDOf(subArn)
	for arn, label := range map[string]string{rootArn: "Token Root key", subArn: subLabel} {
		d := v.describeCA(t, arn)
		if d.CertificateAuthority.KeyStorage != "PKCS11" || d.CertificateAuthority.KeyLabel != label || d.CertificateAuthority.Status != "ACTIVE" {
			t.Errorf("describe %s: %+v, want ACTIVE PKCS11 %q", arn, d.CertificateAuthority, label)
		}
	}
	if d := v.describeCA(t, vaultArn); d.CertificateAuthority.KeyStorage != "VAULT" || d.CertificateAuthority.KeyLabel != "" {
		t.Errorf("vault CA: %+v", d.CertificateAuthority)
	}
	rootPEM := v.caCert(t, dir, "root.pem", rootArn)
	subPEM := v.caCert(t, dir, "sub.pem", subArn)
	verify(t, rootPEM, leaf{name: "sub", cert: subPEM, chain: testbin.WriteFile(t, dir, "empty.pem", nil)})

	// Leaves from both, through request and ca issue.
	subLeaf, subLeafArn := v.requestLeaf(t, dir, "app.hsm.test", subArn)
	rootLeaf, _ := v.requestLeaf(t, dir, "root-app.hsm.test", rootArn)
	issued := v.caIssue(t, dir, "issued.hsm.test", subArn)
	rootIssued := v.caIssue(t, dir, "root-issued.hsm.test", rootArn)
	for _, l := range []leaf{subLeaf, rootLeaf, issued, rootIssued} {
		verify(t, rootPEM, l)
	}

	// An externally signed subordinate whose key is made in the token:
	// its CSR is signed there, the certificate the root signed for it
	// activates it, and it issues.
	extArn := v.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--external", "--key-algorithm", "EC_prime256v1",
		"--subject", "CN=Token External CA,O=certctl test", "--key-storage", "PKCS11")
	extCSR := testbin.WriteFile(t, dir, "ext.csr", v.OK(t, "ca", "csr", extArn))
	if out := openssl(t, "req", "-in", extCSR, "-noout", "-verify"); !strings.Contains(out, "verif") || strings.Contains(out, "fail") {
		t.Errorf("the external CA's CSR: %s", out)
	}
	var extCert struct{ Certificate string }
	if err := json.Unmarshal(v.OK(t, "ca", "issue", rootArn, "--csr", extCSR, "--template", "SubordinateCACertificate_PathLen0",
		"--validity", "3y", "-o", "json"), &extCert); err != nil {
		t.Fatal(err)
	}
	v.OK(t, "ca", "import-certificate", extArn, "--certificate", testbin.WriteFile(t, dir, "ext.pem", []byte(extCert.Certificate)),
		"--certificate-chain", rootPEM)
	if d := v.describeCA(t, extArn); d.CertificateAuthority.Status != "ACTIVE" || d.CertificateAuthority.KeyStorage != "PKCS11" {
		t.Errorf("external CA: %+v", d.CertificateAuthority)
	}
	extLeaf, _ := v.requestLeaf(t, dir, "ext-app.hsm.test", extArn)
	verify(t, rootPEM, extLeaf)

	// Renewal re-signs with the token key: a PRIVATE certificate that was
	// exported (its key to a file, never printed) renews under its ARN.
	renewed, renewArn := v.requestLeaf(t, dir, "renew.hsm.test", subArn)
	v.OK(t, "export", renewArn, "--passphrase-file", testbin.WriteFile(t, dir, "pass", []byte("change-me\n")), "--out-dir", filepath.Join(dir, "export"))
	v.OK(t, "renew", renewArn)
	again, _ := v.requestLeafPEM(t, dir, "renewed.hsm.test", renewArn)
	if again.serial == renewed.serial {
		t.Errorf("renew kept serial %s", again.serial)
	}
	verify(t, rootPEM, again)

	// Revocation: the CRL and the OCSP response are the token keys'.
	v.OK(t, "revoke", subLeafArn, "--revocation-reason", "KEY_COMPROMISE")
	subCRL := testbin.WriteFile(t, dir, "sub.crl", v.OK(t, "ca", "crl", subArn))
	rootCRL := testbin.WriteFile(t, dir, "root.crl", v.OK(t, "ca", "crl", rootArn))
	if out := openssl(t, "crl", "-in", subCRL, "-CAfile", subPEM, "-noout"); !strings.Contains(out, "verify OK") {
		t.Errorf("sub CRL: %s", out)
	}
	if out := openssl(t, "crl", "-in", rootCRL, "-CAfile", rootPEM, "-noout"); !strings.Contains(out, "verify OK") {
		t.Errorf("root CRL: %s", out)
	}
	serialHex := strings.ToUpper(strings.ReplaceAll(subLeaf.serial, ":", ""))
	if out := openssl(t, "crl", "-in", subCRL, "-noout", "-text"); !strings.Contains(out, serialHex) {
		t.Errorf("the sub CRL does not list %s:\n%s", serialHex, out)
	}
	// A CRL that another key signed fails the same check: the check is real.
	if out, err := execOut(testbin.Tool(t, "openssl"), "crl", "-in", subCRL, "-CAfile", rootPEM, "-noout"); err == nil && strings.Contains(out, "verify OK") {
		t.Errorf("the sub CRL verified against the root: %s", out)
	}

	addr := v.StartServe(t, regexp.MustCompile(`http://(\S+)`), "ca", "serve", "--listen", "127.0.0.1:0")[1]
	for _, c := range []struct {
		l      leaf
		status string
	}{{subLeaf, ": revoked"}, {issued, ": good"}} {
		out := openssl(t, "ocsp", "-issuer", subPEM, "-cert", c.l.cert, "-url", "http://"+addr+"/ocsp", "-VAfile", subPEM)
		if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, c.status) {
			t.Errorf("OCSP for %s: want verified and %q:\n%s", c.l.name, c.status, out)
		}
	}
	out := openssl(t, "ocsp", "-issuer", rootPEM, "-cert", subPEM, "-url", "http://"+addr+"/ocsp", "-VAfile", rootPEM)
	if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, ": good") {
		t.Errorf("OCSP for the sub CA: %s", out)
	}

	// zlint: every certificate and CRL the token keys signed.
	for _, p := range []string{rootPEM, subPEM, subLeaf.cert, rootLeaf.cert, issued.cert, rootIssued.cert, subCRL, rootCRL,
		filepath.Join(dir, "ext.pem"), extLeaf.cert, again.cert} {
		findings, passed, err := linter.Lint(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			t.Errorf("%s: %s = %s %s", filepath.Base(p), f.Lint, f.Result, f.Details)
		}
		if passed == 0 {
			t.Errorf("%s: no lint passed", filepath.Base(p))
		}
	}

	// The token's private keys: sensitive, never extractable, signing only.
	keys := tok.privateKeys(t)
	for _, label := range []string{"Token Root key", subLabel, "certctl-ca-" + testbin.IDOf(extArn)} {
		blk, ok := keys[label]
		if !ok {
			t.Fatalf("pkcs11-tool lists no private key %q: %v", label, keys)
		}
		access := regexp.MustCompile(`(?m)^\s*Access:\s*(.*)$`).FindStringSubmatch(blk)
		usage := regexp.MustCompile(`(?m)^\s*Usage:\s*(.*)$`).FindStringSubmatch(blk)
		if access == nil || !strings.Contains(access[1], "always sensitive") || !strings.Contains(access[1], "never extractable") {
			t.Errorf("key %q: access %q, want always sensitive and never extractable", label, access)
		}
		if usage == nil || strings.TrimSpace(usage[1]) != "sign" {
			t.Errorf("key %q: usage %q, want sign only", label, usage)
		}
	}
	if len(keys) != 3 {
		t.Errorf("the token holds %d private keys, want the 3 CA keys: %v", len(keys), keys)
	}

	// Nothing of the token keys in the vault: no sealed key for those CAs
	// (there is one for the VAULT CA: the query is right), their records
	// name the key by label and CKA_ID only.
	for _, arn := range []string{rootArn, subArn, extArn} {
		if n := v.sql(t, "SELECT count(*) FROM secrets WHERE ref LIKE 'ca/"+testbin.IDOf(arn)+"%'"); n != "0" {
			t.Errorf("%s sealed keys for the token CA %s", n, arn)
		}
		rec := v.sql(t, "SELECT data FROM objects WHERE kind='ca' AND id='"+testbin.IDOf(arn)+"'")
		if !strings.Contains(rec, `"keyStorage":"PKCS11"`) || !strings.Contains(rec, `"keyRef":""`) || !strings.Contains(rec, `"keyId":"`) {
			t.Errorf("record of %s: %s", arn, rec)
		}
	}
	if n := v.sql(t, "SELECT count(*) FROM secrets WHERE ref LIKE 'ca/"+testbin.IDOf(vaultArn)+"%'"); n != "1" {
		t.Errorf("the VAULT CA has %s sealed keys, want 1", n)
	}
	// Every command's output, and the audit and event logs, carry no
	// private key and never the PIN; nor does any file of the vault.
	v.OK(t, "audit", "list", "-o", "json")
	v.OK(t, "events", "-o", "json")
	v.OK(t, "ca", "list", "-o", "json")
	v.OK(t, "vault", "verify")
	printed := string(v.Printed())
	for _, bad := range []string{"PRIVATE KEY", tok.PIN} {
		if strings.Contains(printed, bad) {
			t.Errorf("a command printed %q", bad)
		}
	}
	scanVault(t, v.Dir, tok.PIN)
}

// scanVault fails when a file of the vault holds the PIN or a PEM private
// key.
func scanVault(t *testing.T, dir, pin string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, bad := range []string{pin, "PRIVATE KEY"} {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s holds %q", p, bad)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("scanning %s: %v (%d files)", dir, err, n)
	}
}

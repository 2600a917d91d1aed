//go:build pkcs11

package hsm

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"

	"github.com/certctl/certctl/internal/testbin"
)

// TestTokenUnavailable: a wrong PIN, a module that is not there and a
// token that was removed each make every command that needs the token key
// exit 6 with a message naming the setting to fix, and leave the vault
// exactly as it was (no certificate, serial, CA, event or audit record)
// and the token's keys as they were.
func TestTokenUnavailable(t *testing.T) {
	tok := newToken(t, "certctl failures")
	dir := t.TempDir()
	v := newVault(t, tok.env()...)
	root := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Token Root", "--key-storage", "PKCS11")
	before, _ := v.requestLeaf(t, dir, "before.hsm.test", root)
	vaultRoot := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Vault Root")
	vaultLeaf, _ := v.requestLeaf(t, dir, "vault.hsm.test", vaultRoot)
	leafCSR := csr(t, dir, "after.hsm.test")

	// A CA whose key was made in the token but that is not created (its
	// parent does not exist) takes its key out of the token again.
	keys := tok.privateKeys(t)
	if r := v.Run("ca", "create", "--type", "SUBORDINATE", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Orphan",
		"--parent", "00000000-0000-4000-8000-000000000000", "--key-storage", "PKCS11"); r.Code != 3 {
		t.Fatalf("want exit 3: %v", r)
	}
	if got := tok.privateKeys(t); !reflect.DeepEqual(got, keys) {
		t.Errorf("a CA that was not created left a key in the token: %v", got)
	}

	badPIN := testbin.WriteFile(t, dir, "bad.pin", []byte("not-the-pin\n"))
	commands := [][]string{
		{"request", "--domain-name", "after.hsm.test", "--certificate-authority-arn", root},
		{"ca", "issue", root, "--csr", leafCSR, "--validity", "30d"},
		{"ca", "crl", root},
		{"ca", "create", "--type", "SUBORDINATE", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Sub", "--parent", root},
		{"ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Another", "--key-storage", "PKCS11"},
		{"ca", "import", "--certificate", v.caCert(t, dir, "root.pem", root), "--key-storage", "PKCS11", "--pkcs11-key-label", "certctl-ca-" + testbin.IDOf(root)},
	}
	check := func(name, setting string, env []string) {
		t.Helper()
		before := v.dump(t)
		for _, args := range commands {
			r := v.RunEnv(env, args...)
			if r.Code != 6 || !strings.Contains(string(r.Stderr), setting) {
				t.Errorf("%s: want exit 6 naming %s: %v", name, setting, r)
			}
			if strings.Contains(string(r.Stderr)+string(r.Stdout), tok.PIN) {
				t.Errorf("%s: the PIN was printed: %v", name, r)
			}
			if len(r.Stdout) != 0 {
				t.Errorf("%s: printed on stdout: %v", name, r)
			}
		}
		if after := v.dump(t); after != before {
			t.Errorf("%s: the vault changed:\n%s", name, diffLines(before, after))
		}
	}
	check("wrong PIN", "pkcs11.pin_file", []string{"CERTCTL_PKCS11_PIN_FILE=" + badPIN})
	// ca serve with the wrong PIN: the token CA's OCSP requests fail and
	// the server says why, naming the setting; the vault CA's are answered.
	rootPEM, vaultPEM := v.caCert(t, dir, "root.pem", root), v.caCert(t, dir, "vault-root.pem", vaultRoot)
	m, logs := v.Serve(t, []string{"CERTCTL_PKCS11_PIN_FILE=" + badPIN}, regexp.MustCompile(`http://(\S+)`), "ca", "serve", "--listen", "127.0.0.1:0")
	url := "http://" + m[1] + "/ocsp"
	if out := openssl(t, "ocsp", "-issuer", vaultPEM, "-cert", vaultLeaf.cert, "-url", url, "-VAfile", vaultPEM); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, ": good") {
		t.Errorf("OCSP of the vault CA with a wrong PIN: %s", out)
	}
	// tryLater: the token may come back (RFC 6960; it was internalError).
	if out, _ := execOut(testbin.Tool(t, "openssl"), "ocsp", "-issuer", rootPEM, "-cert", before.cert, "-url", url, "-VAfile", rootPEM); !strings.Contains(out, "trylater") {
		t.Errorf("OCSP of the token CA with a wrong PIN: %s", out)
	}
	if l := logs(); !strings.Contains(l, "pkcs11.pin_file") || strings.Contains(l, tok.PIN) {
		t.Errorf("ca serve with a wrong PIN logged:\n%s", l)
	}
	check("no PIN file", "pkcs11.pin_file", []string{"CERTCTL_PKCS11_PIN_FILE=" + dir + "/absent.pin"})
	check("missing module", "pkcs11.module", []string{"CERTCTL_PKCS11_MODULE=" + dir + "/libabsent-pkcs11.so"})
	check("not a module", "pkcs11.module", []string{"CERTCTL_PKCS11_MODULE=" + badPIN})
	check("another token", "pkcs11.token_label", []string{"CERTCTL_PKCS11_TOKEN_LABEL=no such token"})
	if got := tok.privateKeys(t); !reflect.DeepEqual(got, keys) {
		t.Errorf("the token's keys changed: %v", got)
	}
	// The correct settings still work (a wrong PIN did not lock the token).
	v.ARN(t, "request", "--domain-name", "still.hsm.test", "--certificate-authority-arn", root)
	tok.remove(t)
	check("removed token", "pkcs11.token_label", nil)
}

// diffLines shows the lines of after that are not in before, and the
// reverse.
func diffLines(before, after string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	b, a := in(before), in(after)
	var out []string
	for l := range a {
		if !b[l] {
			out = append(out, "+ "+l)
		}
	}
	for l := range b {
		if !a[l] {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTokenImport: `ca import --key-storage PKCS11 --pkcs11-key-label L`
// adopts a key pair made in the token by another tool (pkcs11-tool) for a
// root whose certificate it signed; the CA issues, openssl verifies. A
// certificate of another key, and a label the token does not hold, are
// refused and leave nothing behind.
func TestTokenImport(t *testing.T) {
	tok := newToken(t, "certctl import")
	dir := t.TempDir()
	gen := exec.Command(testbin.Tool(t, "pkcs11-tool"), "--module", tok.Module, "--token-label", tok.Label, "--login", "--pin", tok.PIN,
		"--keypairgen", "--key-type", "EC:prime256v1", "--label", "adopted root", "--id", "a1b2", "--usage-sign")
	gen.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("pkcs11-tool --keypairgen: %v\n%s", err, out)
	}
	// The root certificate, self-signed in the token by the adopted key.
	t.Setenv("SOFTHSM2_CONF", tok.Conf)
	ctx, err := crypto11.Configure(&crypto11.Config{Path: tok.Module, TokenLabel: tok.Label, Pin: tok.PIN})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ctx.FindKeyPair(nil, []byte("adopted root"))
	if err != nil || key == nil {
		t.Fatalf("find the key: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x5eed), Subject: pkix.Name{CommonName: "Adopted Root", Organization: []string{"certctl test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3, 4}}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	rootPEM := testbin.WriteFile(t, dir, "root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))

	v := newVault(t, tok.env()...)
	other := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Other Root")
	otherPEM := v.caCert(t, dir, "other.pem", other)
	before := v.dump(t)
	if r := v.Run("ca", "import", "--certificate", otherPEM, "--key-storage", "PKCS11", "--pkcs11-key-label", "adopted root"); r.Code != 4 {
		t.Errorf("a certificate of another key: want exit 4: %v", r)
	}
	if r := v.Run("ca", "import", "--certificate", rootPEM, "--key-storage", "PKCS11", "--pkcs11-key-label", "no such key"); r.Code != 3 || !strings.Contains(string(r.Stderr), "no such key") {
		t.Errorf("an absent label: want exit 3 naming it: %v", r)
	}
	if n := v.sql(t, "SELECT count(*) FROM objects WHERE kind='ca'"); n != "1" {
		t.Errorf("refused imports left CAs behind: %s CAs\n%s", n, diffLines(before, v.dump(t)))
	}

	arn := v.ARN(t, "ca", "import", "--certificate", rootPEM, "--key-storage", "PKCS11", "--pkcs11-key-label", "adopted root")
	d := v.describeCA(t, arn)
	if d.CertificateAuthority.KeyStorage != "PKCS11" || d.CertificateAuthority.KeyLabel != "adopted root" || d.CertificateAuthority.Status != "ACTIVE" {
		t.Errorf("describe: %+v", d.CertificateAuthority)
	}
	if n := v.sql(t, "SELECT count(*) FROM secrets WHERE ref LIKE 'ca/"+testbin.IDOf(arn)+"%'"); n != "0" {
		t.Errorf("the adopted CA has %s sealed keys", n)
	}
	if rec := v.sql(t, "SELECT data FROM objects WHERE kind='ca' AND id='"+testbin.IDOf(arn)+"'"); !strings.Contains(rec, `"keyId":"a1b2"`) {
		t.Errorf("record: %s", rec)
	}
	l, _ := v.requestLeaf(t, dir, "adopted.hsm.test", arn)
	verify(t, rootPEM, l)
	crl := testbin.WriteFile(t, dir, "adopted.crl", v.OK(t, "ca", "crl", arn))
	if out := openssl(t, "crl", "-in", crl, "-CAfile", rootPEM, "-noout"); !strings.Contains(out, "verify OK") {
		t.Errorf("CRL: %s", out)
	}
	if r := v.Run("ca", "import", "--certificate", rootPEM, "--key-storage", "PKCS11", "--pkcs11-key-label", "adopted root"); r.Code != 5 {
		t.Errorf("the same CA again: want exit 5: %v", r)
	}
	scanVault(t, v.Dir, tok.PIN)
}

// TestTokenLabelTwice: a label that two tokens of the module carry is
// refused (exit 6, naming both serial numbers) before a PIN is tried or a
// key made: crypto11 took the first token, whichever it was (tester: a
// wrong-PIN attempt spent on the other token, a new CA key made in it).
func TestTokenLabelTwice(t *testing.T) {
	tok := newToken(t, "certctl twice")
	v := newVault(t, tok.env()...)
	root := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Twice Root", "--key-storage", "PKCS11")
	if out, err := tok.Command("--init-token", "--free", "--label", tok.Label, "--so-pin", "so-other-pin", "--pin", "other-pin").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"request", "--domain-name", "twice.hsm.test", "--certificate-authority-arn", root},
		{"ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Second", "--key-storage", "PKCS11"},
	} {
		r := v.Run(args...)
		if r.Code != 6 || !strings.Contains(string(r.Stderr), `2 tokens of the PKCS#11 module are labelled "certctl twice"`) {
			t.Errorf("%s with two tokens labelled alike: %v", args[0], r)
		}
	}
}

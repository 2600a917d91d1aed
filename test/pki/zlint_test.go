package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"sync"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/zlinttest"
)

// artifact is one PEM certificate or CRL the binary produced.
type artifact struct {
	name string
	pem  []byte
}

// splitPEM returns every PEM block of data as its own PEM document.
func splitPEM(t *testing.T, name string, data []byte) []artifact {
	t.Helper()
	var out []artifact
	for i := 0; ; i++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		out = append(out, artifact{name: name + "-" + string(rune('0'+i)), pem: pem.EncodeToMemory(b)})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no PEM", name)
	}
	return out
}

// caFalseCSR is a CSR for cn that asks for basicConstraints CA:FALSE, as
// the EndEntity template grants (one asking for CA:TRUE is refused).
func caFalseCSR(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	val, _ := asn1.Marshal(struct {
		IsCA bool `asn1:"optional"`
	}{false})
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:         pkix.Name{CommonName: cn, Organization: []string{"Acme"}},
		DNSNames:        []string{cn, "alt." + cn},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: val}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// produceArtifacts drives the binary through every kind of certificate and
// CRL it issues and returns them: the default hierarchy and a leaf of each
// request key algorithm (with ca.base_url set, so with CRL DP and AIA
// OCSP, and without), user-made hierarchies with RSA 4096, P-384 and RSA
// 2048 CA keys, an externally signed subordinate, `ca issue` EndEntity and
// SubordinateCA certificates, and CRLs (empty and with entries of several
// reasons).
func produceArtifacts(t *testing.T) []artifact {
	dir := t.TempDir()
	plain := newVault(t)
	// The same vault with ca.base_url: certificates carry revocation URLs.
	urls := &vault{&testbin.Vault{H: harness, Dir: plain.Dir, Env: []string{"CERTCTL_CA_BASE_URL=http://pki.internal:8080"}}}

	var out []artifact
	add := func(name string, data []byte) { out = append(out, splitPEM(t, name, data)...) }
	leafAndChain := func(name, arn string) {
		cert, chain := plain.pemOf(t, arn)
		add(name, []byte(cert))
		add(name+"-chain", []byte(chain))
	}

	for _, alg := range []string{"RSA_2048", "EC_prime256v1", "EC_secp384r1"} {
		leafAndChain("default-leaf-"+alg, plain.ARN(t, "request", "--domain-name", "app.internal",
			"--subject-alternative-names", "www.app.internal,*.svc.app.internal", "--certificate-authority-arn", "default", "--key-algorithm", alg))
		leafAndChain("default-urlleaf-"+alg, urls.ARN(t, "request", "--domain-name", "url.internal",
			"--certificate-authority-arn", "default", "--key-algorithm", alg))
	}
	add("trust-bundle", plain.OK(t, "ca", "trust-bundle"))

	// User-made hierarchies; the subordinates are created with ca.base_url
	// set, so they carry the parent's revocation URLs.
	for _, h := range []struct{ rootAlg, subAlg string }{{"RSA_4096", "EC_secp384r1"}, {"EC_secp384r1", "RSA_2048"}} {
		root := plain.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", h.rootAlg,
			"--subject", "CN=Lint Root "+h.rootAlg+",O=Acme,OU=PKI,C=DE")
		sub := urls.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--key-algorithm", h.subAlg,
			"--subject", "CN=Lint Sub "+h.subAlg+",O=Acme", "--parent", root)
		leaf := urls.ARN(t, "request", "--domain-name", "svc.example.test", "--certificate-authority-arn", sub,
			"--key-algorithm", "EC_prime256v1")
		leafAndChain("user-"+h.rootAlg+"-"+h.subAlg+"-leaf", leaf)
		other := plain.ARN(t, "request", "--domain-name", "gone.example.test", "--certificate-authority-arn", sub)
		plain.OK(t, "revoke", other, "--revocation-reason", "SUPERSEDED")
		add("user-"+h.subAlg+"-crl", plain.OK(t, "ca", "crl", sub))
		add("user-"+h.rootAlg+"-root-crl", plain.OK(t, "ca", "crl", root))

		csr := testbin.WriteFile(t, dir, "ca-false-"+h.rootAlg+".csr", caFalseCSR(t, "csr.example.test"))
		add("issue-EndEntity-"+h.subAlg, urls.OK(t, "ca", "issue", sub, "--csr", csr, "--template", "EndEntity", "--validity", "90d"))
	}
	add("trust-bundle-user", plain.OK(t, "ca", "trust-bundle"))

	// An externally signed subordinate: CSR from the vault, signed with the
	// SubordinateCA template by another CA of the vault, imported.
	signer := plain.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Lint Signer")
	ext := plain.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--external", "--key-algorithm", "EC_prime256v1",
		"--subject", "CN=Lint External,O=Acme")
	csr := testbin.WriteFile(t, dir, "ext.csr", plain.OK(t, "ca", "csr", ext))
	var issued struct{ Certificate, CertificateChain string }
	if err := json.Unmarshal(plain.OK(t, "ca", "issue", signer, "--csr", csr, "--template", "SubordinateCA", "--validity", "3y", "-o", "json"), &issued); err != nil {
		t.Fatal(err)
	}
	add("issue-SubordinateCA", []byte(issued.Certificate))
	plain.OK(t, "ca", "import-certificate", ext, "--certificate", testbin.WriteFile(t, dir, "ext.pem", []byte(issued.Certificate)),
		"--certificate-chain", testbin.WriteFile(t, dir, "ext-chain.pem", []byte(issued.CertificateChain)))
	leafAndChain("external-leaf", urls.ARN(t, "request", "--domain-name", "ext.example.test", "--certificate-authority-arn", ext))

	// CRLs of the default issuing CA: empty, then with entries.
	add("default-crl-empty", plain.OK(t, "ca", "crl", "default"))
	for i, reason := range []string{"KEY_COMPROMISE", "UNSPECIFIED", "CESSATION_OF_OPERATION"} {
		arn := plain.ARN(t, "request", "--domain-name", "rev.internal", "--certificate-authority-arn", "default")
		plain.OK(t, "revoke", arn, "--revocation-reason", reason)
		_ = i
	}
	add("default-crl-revoked", plain.OK(t, "ca", "crl", "default"))
	return out
}

// TestZlintArtifacts lints everything the binary issued and fails on any
// error- or fatal-level finding of the SPEC's lint sources.
func TestZlintArtifacts(t *testing.T) {
	linter, err := zlinttest.New(testbin.Tool(t, "zlint"))
	if err != nil {
		t.Fatal(err)
	}
	arts := produceArtifacts(t)
	kinds := map[string]int{}
	dir := t.TempDir()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	var mu sync.Mutex
	for _, a := range arts {
		b, _ := pem.Decode(a.pem)
		kinds[b.Type]++
		path := testbin.WriteFile(t, dir, a.name+".pem", a.pem)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			findings, passed, err := linter.Lint(path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			for _, f := range findings {
				t.Errorf("%s: %s = %s %s", filepath.Base(path), f.Lint, f.Result, f.Details)
			}
			if passed == 0 {
				t.Errorf("%s: no lint of the SPEC's sources passed; is the source filter right?", a.name)
			}
		}()
	}
	wg.Wait()
	// Roots, subordinates, leaves and CRLs all went through.
	if kinds["CERTIFICATE"] < 20 || kinds["X509 CRL"] < 6 {
		t.Fatalf("linted %v, fewer artifacts than produced kinds", kinds)
	}
	t.Logf("linted %v", kinds)
}

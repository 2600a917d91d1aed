package casign

import (
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/zlinttest"
)

// artifact is one certificate or CRL to lint.
type artifact struct {
	name string
	typ  string // PEM type: CERTIFICATE or X509 CRL
	der  []byte
}

// lintArtifacts produces every kind of certificate and CRL the package
// issues: for each CA key algorithm a root, a subordinate, a leaf of each
// leaf algorithm (with and without revocation URLs, with an IP SAN and a
// wildcard), CSR-issued EndEntity, SubordinateCA and RootCA certificates,
// and CRLs (empty and with entries).
func lintArtifacts(t *testing.T) []artifact {
	var out []artifact
	add := func(name, typ string, der []byte) { out = append(out, artifact{name, typ, der}) }
	for _, caAlg := range caAlgorithms {
		h := newHierarchy(t, caAlg)
		add(caAlg+"-root", "CERTIFICATE", h.root.Raw)
		add(caAlg+"-sub", "CERTIFICATE", h.sub.Raw)
		for _, leafAlg := range leafAlgorithms {
			leaf, _ := issueLeaf(t, h, leafAlg, "www.example.test", "*.example.test", "192.0.2.1")
			add(caAlg+"-leaf-"+leafAlg, "CERTIFICATE", leaf.Raw)

			key := cachedKey(t, leafAlg, "leaf")
			tmpl, err := LeafTemplate(LeafRequest{Names: []string{"plain.example.test"}, PublicKey: key.Public(),
				Serial: mustSerial(t), Validity: Validity{testNow, testNow.AddDate(0, 0, 395)}})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Sign(tmpl, h.sub, key.Public(), h.subKey)
			if err != nil {
				t.Fatal(err)
			}
			add(caAlg+"-plainleaf-"+leafAlg, "CERTIFICATE", plain.Raw)

			csrKey := cachedKey(t, leafAlg, "csr")
			subject := pkix.Name{CommonName: "csr.example.test", Organization: []string{"Acme"}, Country: []string{"DE"}}
			leafCSR, err := ParseCSR(makeCSR(t, csrKey, subject, []string{"alt.example.test"}))
			if err != nil {
				t.Fatal(err)
			}
			caCSR, err := ParseCSR(makeCSR(t, csrKey, subject, []string{"alt.example.test"}, caTrueExtension(t)))
			if err != nil {
				t.Fatal(err)
			}
			for _, tmplName := range []string{TemplateEndEntity, TemplateSubordinateCA, TemplateRootCA} {
				csr := caCSR
				if tmplName == TemplateEndEntity {
					csr = leafCSR
				}
				tmpl, err := CSRTemplate(csr, tmplName, mustSerial(t), Validity{testNow, testNow.AddDate(1, 0, 0)})
				if err != nil {
					t.Fatal(err)
				}
				issuer, issuerKey := h.sub, h.subKey
				switch tmplName {
				case TemplateSubordinateCA:
					issuer, issuerKey = h.root, h.rootKey
				case TemplateRootCA:
					issuer, issuerKey = nil, csrKey
				}
				c, err := Sign(tmpl, issuer, tmpl.PublicKey, issuerKey)
				if err != nil {
					t.Fatalf("%s %s: %v", caAlg, tmplName, err)
				}
				add(caAlg+"-csr-"+tmplName+"-"+leafAlg, "CERTIFICATE", c.Raw)
			}
		}
		for i, entries := range [][]Revoked{nil, testRevoked()} {
			crl, err := CreateCRL(h.sub, h.subKey, entries, big.NewInt(int64(i+1)), testNow, testNow.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			add(caAlg+"-crl-"+itoa(int64(i)), "X509 CRL", crl)
		}
	}
	return out
}

// TestZlint lints every artifact with zlint and fails on any error- or
// fatal-level finding of the SPEC's lint sources.
func TestZlint(t *testing.T) {
	linter, err := zlinttest.New(interopTool(t, "zlint"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, a := range lintArtifacts(t) {
		path := writePEM(t, dir, a.name+".pem", a.typ, a.der)
		findings, passed, err := linter.Lint(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			t.Errorf("%s: %s = %s %s", filepath.Base(path), f.Lint, f.Result, f.Details)
		}
		if passed == 0 {
			t.Errorf("%s: no lint of the SPEC's sources passed; is the source filter right?", a.name)
		}
	}
}

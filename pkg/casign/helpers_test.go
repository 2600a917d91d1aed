package casign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// CA key algorithms of the SPEC and the leaf key algorithms of `request`.
var (
	caAlgorithms   = []string{"RSA_2048", "RSA_4096", "EC_prime256v1", "EC_secp384r1"}
	leafAlgorithms = []string{"RSA_2048", "EC_prime256v1", "EC_secp384r1"}
)

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]crypto.Signer{}
)

// cachedKey returns a key of algorithm alg, the same one for the same
// (alg, slot) within a test binary run: RSA 4096 generation is slow.
func cachedKey(t testing.TB, alg, slot string) crypto.Signer {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[alg+"/"+slot]; ok {
		return k
	}
	k := newKey(t, alg)
	keyCache[alg+"/"+slot] = k
	return k
}

func newKey(t testing.TB, alg string) crypto.Signer {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case "RSA_2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "RSA_4096":
		k, err = rsa.GenerateKey(rand.Reader, 4096)
	case "EC_prime256v1":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EC_secp384r1":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		t.Fatalf("unknown key algorithm %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSerial(t testing.TB) *big.Int {
	t.Helper()
	s, err := NewSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hierarchy is a root CA, a subordinate CA under it, and their keys.
type hierarchy struct {
	root, sub       *x509.Certificate
	rootKey, subKey crypto.Signer
}

const testBaseURL = "http://pki.example.test"

func newHierarchy(t testing.TB, alg string) hierarchy {
	t.Helper()
	return newHierarchyAt(t, alg, testNow)
}

// newHierarchyAt builds a hierarchy valid around now.
func newHierarchyAt(t testing.TB, alg string, now time.Time) hierarchy {
	t.Helper()
	rootKey := cachedKey(t, alg, "root")
	subKey := cachedKey(t, alg, "sub")
	rootTmpl := RootTemplate(pkix.Name{CommonName: "certctl test root " + alg, Organization: []string{"certctl"}, Country: []string{"FR"}},
		rootKey.Public(), mustSerial(t), Validity{now.Add(-time.Hour), now.AddDate(10, 0, 0)})
	root, err := Sign(rootTmpl, nil, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatalf("root %s: %v", alg, err)
	}
	subTmpl := SubordinateTemplate(pkix.Name{CommonName: "certctl test sub " + alg, Organization: []string{"certctl"}},
		subKey.Public(), mustSerial(t), Validity{now.Add(-time.Hour), now.AddDate(5, 0, 0)}, 0)
	sub, err := Sign(subTmpl, root, subKey.Public(), rootKey)
	if err != nil {
		t.Fatalf("sub %s: %v", alg, err)
	}
	return hierarchy{root: root, sub: sub, rootKey: rootKey, subKey: subKey}
}

// issueLeaf issues a leaf under h.sub for a fresh key of algorithm alg.
func issueLeaf(t testing.TB, h hierarchy, alg string, names ...string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	return issueLeafAt(t, h, alg, testNow, names...)
}

// issueLeafAt issues a leaf valid around now.
func issueLeafAt(t testing.TB, h hierarchy, alg string, now time.Time, names ...string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := cachedKey(t, alg, "leaf")
	tmpl, err := LeafTemplate(LeafRequest{
		Names:      names,
		PublicKey:  key.Public(),
		Serial:     mustSerial(t),
		Validity:   Validity{now.Add(-time.Minute), now.AddDate(0, 0, 395)},
		ClientAuth: true,
		CRLURL:     testBaseURL + "/crl/sub.crl",
		OCSPURL:    testBaseURL + "/ocsp",
	})
	if err != nil {
		t.Fatalf("leaf template %s: %v", alg, err)
	}
	leaf, err := Sign(tmpl, h.sub, key.Public(), h.subKey)
	if err != nil {
		t.Fatalf("leaf %s: %v", alg, err)
	}
	return leaf, key
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// interopTool returns the path of an external tool, skipping the test when
// it is missing unless CERTCTL_REQUIRE_INTEROP=1.
func interopTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s not on PATH and CERTCTL_REQUIRE_INTEROP=1", name)
		}
		t.Skipf("%s not on PATH", name)
	}
	return p
}

// run runs a command and returns its combined output, failing the test when
// it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
)

// TestDiscoverPairs: the common layouts pair a certificate with its key in
// any directory, by name or, where the names do not say, by content; a
// certificate with no key found is an item that fails, naming the key
// files looked for, also when it is a CA certificate that is the chain of
// nothing beside it (tester: each of these imported nothing, exit 0).
func TestDiscoverPairs(t *testing.T) {
	now := time.Now()
	// Self-signed and CA:TRUE, as openssl req -x509 makes it.
	self := testpki.SelfSignedServer("self.example.test", now)
	cert, key := testpki.CertPEM(self.Cert), testpki.KeyPEM(self.Key)
	for _, tc := range []struct {
		files         map[string][]byte
		cert, keyFile string // "" keyFile: the certificate fails
		err           string
	}{
		{map[string][]byte{"cert.pem": cert, "key.pem": key}, "cert.pem", "key.pem", ""},
		{map[string][]byte{"cert.crt": cert, "key.key": key}, "cert.crt", "key.key", ""},
		{map[string][]byte{"fullchain.pem": cert, "privkey.pem": key}, "fullchain.pem", "privkey.pem", ""},
		// fullchain.pem is cert.pem with its chain: one certificate.
		{map[string][]byte{"cert.pem": cert, "fullchain.pem": cert, "key.pem": key}, "cert.pem", "key.pem", ""},
		// So are cert.crt and fullchain.crt (review: fullchain.crt FAILED).
		{map[string][]byte{"cert.crt": cert, "fullchain.crt": cert, "key.pem": key}, "cert.crt", "key.pem", ""},
		{map[string][]byte{"cert.cer": cert, "fullchain.cer": cert, "key.pem": key}, "cert.cer", "key.pem", ""},
		{map[string][]byte{"foo.crt": cert, "foo.pem": key}, "foo.crt", "foo.pem", ""},
		{map[string][]byte{"foo.pem": cert, "foo.crt": key}, "foo.pem", "foo.crt", ""},
		{map[string][]byte{"a.der": cert, "a.key": key}, "a.der", "a.key", ""},
		{map[string][]byte{"a.der": self.Cert.Raw, "a.key": key}, "a.der", "a.key", ""},
		{map[string][]byte{"lone.crt": cert, "README": []byte("hello\n")}, "lone.crt", "",
			"looked for lone.key, lone-key.pem, lone.key.pem, or a lone.* file holding a PRIVATE KEY block"},
		{map[string][]byte{"cert.pem": cert}, "cert.pem", "",
			"looked for cert.key, cert-key.pem, cert.key.pem, key.pem, key.key, privkey.pem, or a cert.* file"},
	} {
		dir := t.TempDir()
		for n, data := range tc.files {
			if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var label []string
		for n := range tc.files {
			label = append(label, n)
		}
		sort.Strings(label)
		items, _, err := discover(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].File != filepath.Join(dir, tc.cert) {
			t.Errorf("%v: items %+v, want one for %s", label, items, tc.cert)
			continue
		}
		it := items[0]
		if tc.keyFile != "" && (it.KeyFile != filepath.Join(dir, tc.keyFile) || it.Err != "") {
			t.Errorf("%v: %+v, want the key %s", label, it, tc.keyFile)
		}
		if tc.keyFile == "" && (it.KeyFile != "" || !strings.Contains(it.Err, tc.err)) {
			t.Errorf("%v: %+v, want an error with %q", label, it, tc.err)
		}
	}
}

// TestDiscoverChainStillAChain: a CA certificate without a key that
// certifies a certificate beside it is its chain, not a failure; one beside
// a certificate whose key is missing is not reported a second time.
func TestDiscoverChainStillAChain(t *testing.T) {
	now := time.Now()
	root := testpki.NewRoot("Pair Root", now)
	leaf, leafKey := root.Leaf(testpki.LeafOptions{Names: []string{"pair.example.test"}})
	for _, withKey := range []bool{true, false} {
		dir := t.TempDir()
		files := map[string][]byte{"ca.crt": testpki.CertPEM(root.Cert), "site.crt": testpki.CertPEM(leaf)}
		if withKey {
			files["site.key"] = testpki.KeyPEM(leafKey)
		}
		for n, data := range files {
			if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		items, _, err := discover(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || filepath.Base(items[0].File) != "site.crt" {
			t.Fatalf("key %v: items %+v, want site.crt alone", withKey, items)
		}
		if withKey && items[0].ChainFile != filepath.Join(dir, "ca.crt") {
			t.Errorf("chain %q, want ca.crt", items[0].ChainFile)
		}
	}
}

// TestDiscoverTrustAnchorsPassedOver: a root beside a certificate whose
// file holds its intermediate, and a client CA that certifies nothing
// there, are no failure (review: each made every sync exit 7); only a
// self-signed server certificate without its key is reported.
func TestDiscoverTrustAnchorsPassedOver(t *testing.T) {
	now := time.Now()
	root := testpki.NewRoot("Anchor Root", now)
	sub := root.Sub("Anchor Intermediate")
	leaf, leafKey := sub.Leaf(testpki.LeafOptions{Names: []string{"app.example.test"}})
	client := testpki.NewRoot("Client CA", now)
	// kubeadm's CA: a DNS name in its SAN, and keyCertSign.
	kube := testpki.NewRoot("kubernetes", now)
	dir := t.TempDir()
	for n, data := range map[string][]byte{
		"app.crt":       append(testpki.CertPEM(leaf), testpki.CertPEM(sub.Cert)...),
		"app.key":       testpki.KeyPEM(leafKey),
		"root.crt":      testpki.CertPEM(root.Cert),
		"client-ca.crt": testpki.CertPEM(client.Cert),
		"kube-ca.crt":   testpki.CertPEM(kube.Cert),
	} {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	items, notices, err := discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || filepath.Base(items[0].File) != "app.crt" || items[0].Err != "" {
		t.Fatalf("items %+v, want app.crt alone", items)
	}
	// The ones passed over are said: the client CA and kubeadm's (the
	// root is app.crt's chain).
	if len(notices) != 2 || !strings.Contains(strings.Join(notices, "\n"), "client-ca.crt: a CA certificate without its key that certifies no certificate beside it (a trust anchor?): passed over") {
		t.Errorf("notices %q", notices)
	}
}

// TestDiscoverSANlessSelfSignedFails: a self-signed certificate without a
// SAN or a key usage (openssl req -x509 -subj /CN=host) whose key is not
// found is FAILED, not passed over as a trust anchor (review: it was
// dropped without a word, exit 0).
func TestDiscoverSANlessSelfSignedFails(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "host.example.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "server.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	items, _, err := discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Err == "" {
		t.Fatalf("items %+v, want server.crt FAILED", items)
	}
}

// TestDiscoverOtherFullchainReported: a fullchain.pem that is another
// certificate than cert.pem beside it is not taken for cert.pem with its
// chain: with no key of its own it is reported (review: dropped, exit 0).
func TestDiscoverOtherFullchainReported(t *testing.T) {
	now := time.Now()
	a := testpki.SelfSignedServer("a.example.test", now)
	b := testpki.SelfSignedServer("b.example.test", now)
	dir := t.TempDir()
	for n, data := range map[string][]byte{"cert.pem": testpki.CertPEM(a.Cert), "key.pem": testpki.KeyPEM(a.Key), "fullchain.pem": testpki.CertPEM(b.Cert)} {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	items, _, err := discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || filepath.Base(items[1].File) != "fullchain.pem" || items[1].Err == "" {
		t.Fatalf("items %+v, want cert.pem imported and fullchain.pem FAILED", items)
	}
	// Its reason says whose the key beside it is, not only that none was
	// found (tester: "no private key found" with the key there).
	if want := "key.pem beside it is cert.pem's key"; !strings.Contains(items[1].Err, want) {
		t.Fatalf("fullchain.pem's reason %q, want %q", items[1].Err, want)
	}
}

// TestDiscoverMismatchedLineageSaysWhoseKey: certbot's live/ directory
// whose cert.pem and fullchain.pem are different leaves of one CA (a
// rolled-back symlink) reports fullchain.pem with whose key privkey.pem
// is, not only "no private key found" (tester).
func TestDiscoverMismatchedLineageSaysWhoseKey(t *testing.T) {
	now := time.Now()
	ca := testpki.NewRoot("Lineage CA", now)
	a, ak := ca.Leaf(testpki.LeafOptions{Names: []string{"a.example.test"}})
	b, _ := ca.Leaf(testpki.LeafOptions{Names: []string{"a.example.test"}})
	items := discoverLineage(t, testpki.CertPEM(a), testpki.KeyPEM(ak), testpki.CertPEM(b, ca.Cert), testpki.CertPEM(ca.Cert))
	var full *item
	for i := range items {
		if filepath.Base(items[i].File) == "fullchain.pem" {
			full = &items[i]
		}
	}
	if full == nil || !strings.Contains(full.Err, "privkey.pem beside it is cert.pem's key") {
		t.Fatalf("items %+v, want fullchain.pem FAILED naming privkey.pem as cert.pem's key", items)
	}
}

// TestDiscoverKeyGoesWithItsCertificate: beside privkey.pem, a cert.pem
// and a fullchain.pem of different certificates: the key is paired with
// the one it is the key of — here fullchain.pem — and the other is told
// whose the key is; a key that is neither's says nothing of whose it is
// (tester: fullchain.pem's own key went to cert.pem, both failed, and the
// message said it was cert.pem's).
func TestDiscoverKeyGoesWithItsCertificate(t *testing.T) {
	now := time.Now()
	ca := testpki.NewRoot("Lineage CA", now)
	a, _ := ca.Leaf(testpki.LeafOptions{Names: []string{"a.example.test"}})
	b, bk := ca.Leaf(testpki.LeafOptions{Names: []string{"b.example.test"}})
	for _, c := range []struct {
		key       []byte
		fullchain bool   // fullchain.pem paired with privkey.pem
		told      string // in cert.pem's reason
	}{
		{testpki.KeyPEM(bk), true, "privkey.pem beside it is fullchain.pem's key"},
		{testpki.KeyPEM(testpki.ECKey()), false, ""},
	} {
		items := discoverLineage(t, testpki.CertPEM(a), c.key, testpki.CertPEM(b, ca.Cert), testpki.CertPEM(ca.Cert))
		got := map[string]item{}
		for _, it := range items {
			got[filepath.Base(it.File)] = it
		}
		paired := got["fullchain.pem"]
		if c.fullchain != (filepath.Base(paired.KeyFile) == "privkey.pem") {
			t.Errorf("fullchain paired with %q, want privkey.pem %v: %+v", paired.KeyFile, c.fullchain, items)
		}
		if c.told != "" && !strings.Contains(got["cert.pem"].Err, c.told) {
			t.Errorf("cert.pem's reason %q, want %q", got["cert.pem"].Err, c.told)
		}
		for _, it := range items {
			if c.told == "" && strings.Contains(it.Err, "'s key") {
				t.Errorf("%s: a key neither's is said to be someone's: %q", it.File, it.Err)
			}
		}
	}
}

// discoverLineage discovers a directory of certbot's layout holding cert,
// key, fullchain and chain.
func discoverLineage(t *testing.T, cert, key, fullchain, chain []byte) []item {
	t.Helper()
	dir := t.TempDir()
	for n, data := range map[string][]byte{"cert.pem": cert, "privkey.pem": key, "fullchain.pem": fullchain, "chain.pem": chain} {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	items, _, err := discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

package vault

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/localstore"
)

// needle is a recognisable piece of a private key.
type needle struct {
	what string
	b    []byte
}

// keyNeedles lists what must never be found outside the key file: the PEM
// body (whole and line by line), the DER of the file and of every standard
// encoding, and the leading bytes of the private numbers in raw, hex,
// base64url (JWK) and decimal forms.
func keyNeedles(name string, k crypto.Signer, pemData []byte) []needle {
	var out []needle
	add := func(what string, b []byte) { out = append(out, needle{name + ": " + what, b}) }
	blk, _ := pem.Decode(pemData)
	add("file DER", blk.Bytes)
	var body []byte
	for _, line := range strings.Split(string(pemData), "\n") {
		if strings.HasPrefix(line, "-----") || line == "" {
			continue
		}
		body = append(body, line...)
		if len(line) >= 16 {
			add("PEM line "+line[:8]+"…", []byte(line))
		}
	}
	add("PEM body", body)
	add("PKCS#8 DER", testpki.Must(x509.MarshalPKCS8PrivateKey(k)))
	secret := func(what string, n *big.Int, size int) {
		raw := n.FillBytes(make([]byte, size))
		if len(raw) > 32 {
			raw = raw[:32]
		}
		add(what+" (raw)", raw)
		add(what+" (hex)", []byte(hex.EncodeToString(raw)))
		add(what+" (HEX)", []byte(strings.ToUpper(hex.EncodeToString(raw))))
		add(what+" (base64url)", []byte(base64.RawURLEncoding.EncodeToString(raw[:30])))
		add(what+" (base64)", []byte(base64.StdEncoding.EncodeToString(raw[:30])))
		add(what+" (decimal)", []byte(n.String()[:40]))
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		add("SEC1 DER", testpki.Must(x509.MarshalECPrivateKey(k)))
		secret("private scalar", k.D, (k.Curve.Params().BitSize+7)/8)
	case *rsa.PrivateKey:
		add("PKCS#1 DER", x509.MarshalPKCS1PrivateKey(k))
		secret("D", k.D, k.Size())
		secret("P", k.Primes[0], (k.Primes[0].BitLen()+7)/8)
		secret("Q", k.Primes[1], (k.Primes[1].BitLen()+7)/8)
	default:
		panic(fmt.Sprintf("unexpected key %T", k))
	}
	return out
}

// findNeedles reports which needles data contains.
func findNeedles(data []byte, needles []needle) []string {
	var found []string
	for _, n := range needles {
		if bytes.Contains(data, n.b) {
			found = append(found, n.what)
		}
	}
	return found
}

// TestKeysAtRest imports EC and RSA keys in several encodings through the
// binary, then checks that no file of the vault (database, WAL, shared
// memory, master key; before and after a checkpoint) and no command's
// output holds any recognisable piece of a private key.
func TestKeysAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	fx := filepath.Join(dir, "fx")
	if err := os.MkdirAll(fx, 0o700); err != nil {
		t.Fatal(err)
	}
	root := testpki.NewRoot("Keys Root", time.Now())
	sub := root.Sub("Keys Intermediate")
	p384 := testpki.Must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	rsaA, rsaB := testpki.RSAKey(2048), testpki.RSAKey(2048)
	type material struct {
		name   string
		key    crypto.Signer
		keyPEM []byte
	}
	keys := []material{
		{"p256-pkcs8", testpki.ECKey(), nil},
		{"p384-sec1", p384, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: testpki.Must(x509.MarshalECPrivateKey(p384))})},
		{"rsa-pkcs8", rsaA, nil},
		{"rsa-pkcs1", rsaB, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaB.(*rsa.PrivateKey))})},
	}
	var needles []needle
	var domains []string
	write := func(name string, data []byte) string {
		p := filepath.Join(fx, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i := range keys {
		m := &keys[i]
		if m.keyPEM == nil {
			m.keyPEM = testpki.KeyPEM(m.key)
		}
		domain := m.name + ".keys.example.test"
		domains = append(domains, domain)
		leaf, _ := sub.Leaf(testpki.LeafOptions{Names: []string{domain}, Key: m.key,
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment})
		write(m.name+".crt", testpki.CertPEM(leaf))
		write(m.name+".key", m.keyPEM)
		needles = append(needles, keyNeedles(m.name, m.key, m.keyPEM)...)
	}
	write("chain.pem", testpki.CertPEM(sub.Cert, root.Cert))
	// A key that matches no certificate: its import fails, and the error must
	// not quote it.
	stray := testpki.ECKey()
	write("stray.key", testpki.KeyPEM(stray))
	needles = append(needles, keyNeedles("stray", stray, testpki.KeyPEM(stray))...)

	// The needles do find the keys they come from.
	for _, m := range keys {
		if found := findNeedles(m.keyPEM, needles); len(found) < 3 {
			t.Fatalf("self-test: only %d needles found in %s's own PEM", len(found), m.name)
		}
		der := testpki.Must(x509.MarshalPKCS8PrivateKey(m.key))
		// At least the PKCS#8 DER itself and the raw private number.
		if found := findNeedles(der, needles); len(found) < 2 || !strings.Contains(strings.Join(found, ";"), "(raw)") {
			t.Fatalf("self-test: only %d needles found in %s's PKCS#8 DER", len(found), m.name)
		}
	}

	// A handle held open keeps the -wal and -shm files after each child exits.
	if err := os.MkdirAll(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	keep, err := localstore.OpenSQLite(context.Background(), filepath.Join(vault, localstore.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	if err := keep.Check(context.Background()); err != nil {
		t.Fatal(err)
	}

	var outputs []testbin.Result
	var arns []string
	for _, m := range keys {
		r := run(vault, "import", "--certificate", filepath.Join(fx, m.name+".crt"),
			"--private-key", filepath.Join(fx, m.name+".key"), "--certificate-chain", filepath.Join(fx, "chain.pem"), "-o", "json")
		outputs = append(outputs, r)
		if r.Code != 0 {
			t.Fatalf("import %s: %v", m.name, r)
		}
		arns = append(arns, parseARN(r.Stdout))
	}
	mismatch := run(vault, "import", "--certificate", filepath.Join(fx, keys[0].name+".crt"),
		"--private-key", filepath.Join(fx, "stray.key"), "-o", "json")
	if mismatch.Code != 4 {
		t.Errorf("import with a mismatched key: %v; want exit 4", mismatch)
	}
	outputs = append(outputs, mismatch,
		run(vault, "import", "--certificate", filepath.Join(fx, keys[2].name+".crt"), "--private-key", filepath.Join(fx, "stray.key")),
		run(vault, "list", "-o", "json"), run(vault, "list", "-o", "text"), run(vault, "list", "-o", "yaml"))
	var pemOut []byte
	for _, arn := range arns {
		for _, args := range [][]string{{"describe", arn}, {"describe", arn, "--versions"}, {"describe", arn, "-o", "text"}} {
			r := run(vault, args...)
			if r.Code != 0 {
				t.Errorf("%v", r)
			}
			outputs = append(outputs, r)
		}
		r := run(vault, "describe", arn, "--pem")
		if r.Code != 0 {
			t.Errorf("%v", r)
		}
		pemOut = append(pemOut, r.Stdout...)
		outputs = append(outputs, r)
	}
	for _, r := range outputs {
		for _, stream := range [][]byte{r.Stdout, r.Stderr} {
			if found := findNeedles(stream, needles); len(found) > 0 {
				t.Errorf("output of certctl %s holds key material: %s", strings.Join(r.Args, " "), strings.Join(found, "; "))
			}
		}
	}
	// The outputs were read: describe --pem printed the certificates.
	if !bytes.Contains(pemOut, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("describe --pem printed no certificate: %q", pemOut)
	}

	scan := func(stage string, wantWAL bool) {
		t.Helper()
		entries, err := os.ReadDir(vault)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		sawWAL := false
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(vault, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if e.Name() == localstore.DatabaseFile+"-wal" && len(data) > 0 {
				sawWAL = true
			}
			if found := findNeedles(data, needles); len(found) > 0 {
				t.Errorf("%s: %s holds key material: %s", stage, e.Name(), strings.Join(found, "; "))
			}
			all = append(all, data...)
		}
		if wantWAL && !sawWAL {
			t.Errorf("%s: no WAL content to examine", stage)
		}
		// What was stored is readable here: the domain names are in the files.
		for _, d := range domains {
			if !bytes.Contains(all, []byte(d)) {
				t.Errorf("%s: %s not found in the vault files: the scan reads the wrong data", stage, d)
			}
		}
	}
	scan("before checkpoint", true)
	if _, err := keep.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	scan("after checkpoint", false)
	if err := keep.Close(); err != nil {
		t.Fatal(err)
	}
	scan("after close", false)
}

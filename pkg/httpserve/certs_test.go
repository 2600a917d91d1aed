package httpserve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// selfSigned is a certificate with serial n valid from nb for 30 days.
func selfSigned(t *testing.T, n int64, nb time.Time) (*tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: "serve.test"},
		DNSNames: []string{"serve.test"}, NotBefore: nb, NotAfter: nb.Add(30 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func serial(c *tls.Certificate) int64 { return c.Leaf.SerialNumber.Int64() }

// TestCertsRenewsMadeCertificate: a certificate the server made is made
// again at two thirds of its lifetime, not before; a failure keeps the one
// in use and is tried again after CertCheckInterval, not at every
// handshake (tester: a 30-day certificate served until it expired).
func TestCertsRenewsMadeCertificate(t *testing.T) {
	now := t0
	made, fail := 0, false
	var logged []string
	c := &Certs{Renew: true, Now: func() time.Time { return now },
		Logf: func(f string, a ...any) { logged = append(logged, f) },
		Load: func() (*tls.Certificate, error) {
			if fail {
				return nil, errors.New("store busy")
			}
			made++
			cert, _, _ := selfSigned(t, int64(made), now)
			return cert, nil
		}}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(19 * 24 * time.Hour)
	if got, _ := c.GetCertificate(nil); serial(got) != 1 {
		t.Fatalf("at 19 of 30 days: serial %d, want the first", serial(got))
	}
	now = t0.Add(20*24*time.Hour + time.Hour)
	fail = true
	if got := c.Current(); serial(got) != 1 || len(logged) != 1 {
		t.Fatalf("a failed renewal: serial %d, %d log lines; want the first kept, logged", serial(got), len(logged))
	}
	fail = false
	now = now.Add(CertCheckInterval / 2)
	if got := c.Current(); serial(got) != 1 || made != 1 {
		t.Fatalf("tried again within %s of a failure (%d made)", CertCheckInterval, made)
	}
	now = now.Add(CertCheckInterval)
	if got := c.Current(); serial(got) != 2 || made != 2 {
		t.Fatalf("after the retry interval: serial %d (%d made), want a new one", serial(got), made)
	}
	now = now.Add(2 * CertCheckInterval)
	if got := c.Current(); serial(got) != 2 || made != 2 {
		t.Fatalf("the new certificate replaced at once: serial %d (%d made)", serial(got), made)
	}
}

// TestCertsReloadsChangedFiles: a certificate read from files is read
// again when a file changes (looked at every CertCheckInterval), not
// otherwise; files that do not load keep the one in use.
func TestCertsReloadsChangedFiles(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func(n int64, mtime time.Time) {
		_, c, k := selfSigned(t, n, t0)
		for p, b := range map[string][]byte{cf: c, kf: k} {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(1, t0)
	now := t0
	reads := 0
	c := &Certs{Files: []string{cf, kf}, Now: func() time.Time { return now },
		Load: func() (*tls.Certificate, error) {
			reads++
			cert, err := tls.LoadX509KeyPair(cf, kf)
			return &cert, err
		}}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * CertCheckInterval)
	if got := c.Current(); serial(got) != 1 || reads != 1 {
		t.Fatalf("unchanged files read again (%d reads)", reads)
	}
	write(2, t0.Add(time.Hour))
	if got := c.Current(); serial(got) != 1 {
		t.Fatalf("files looked at again within %s", CertCheckInterval)
	}
	now = now.Add(CertCheckInterval)
	if got := c.Current(); serial(got) != 2 {
		t.Fatalf("changed files: serial %d, want the new certificate", serial(got))
	}
	if err := os.WriteFile(kf, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(CertCheckInterval)
	if got := c.Current(); serial(got) != 2 {
		t.Fatalf("a broken key file: serial %d, want the one in use kept", serial(got))
	}
}

// TestCertsServeWhileLoading: while one handshake waits for a new
// certificate (the store slow to issue it), the others get the one in
// use at once (second tester: every handshake waited on the store).
func TestCertsServeWhileLoading(t *testing.T) {
	now := t0
	release := make(chan struct{})
	made := 0
	c := &Certs{Renew: true, Now: func() time.Time { return now }, Load: func() (*tls.Certificate, error) {
		made++
		if made > 1 {
			<-release
		}
		cert, _, _ := selfSigned(t, int64(made), now)
		return cert, nil
	}}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(25 * 24 * time.Hour)
	done := make(chan *tls.Certificate)
	go func() { done <- c.Current() }()
	// The loader is waiting in Load (made is 2) before the second look.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.mu.Lock()
		loading := c.loading
		c.mu.Unlock()
		if loading {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewal did not start")
		}
		time.Sleep(time.Millisecond)
	}
	got := make(chan *tls.Certificate, 1)
	go func() { got <- c.Current() }()
	select {
	case cert := <-got:
		if serial(cert) != 1 {
			t.Errorf("a handshake during the renewal got serial %d, want the one in use", serial(cert))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a handshake waited for the renewal")
	}
	close(release)
	if cert := <-done; serial(cert) != 2 {
		t.Errorf("the renewing handshake got serial %d, want the new one", serial(cert))
	}
}

// TestRenewAtFar: a lifetime beyond time.Duration's 292 years (a
// certificate valid until 9999) is renewed two thirds of the way, not at
// once: its doubled duration overflowed to a time before NotBefore.
func TestRenewAtFar(t *testing.T) {
	nb := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: nb, NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	if at := renewAt(leaf); !at.After(nb.Add(100 * 365 * 24 * time.Hour)) {
		t.Errorf("renewAt %v, want near two thirds of 292 years after %v", at, nb)
	}
	leaf.NotAfter = nb.Add(90 * 24 * time.Hour)
	if at, want := renewAt(leaf), nb.Add(60*24*time.Hour); !at.Equal(want) {
		t.Errorf("renewAt %v, want %v", at, want)
	}
}

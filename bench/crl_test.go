package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// crlFixture is a vault whose default private issuing CA revoked
// BENCH_CRL_N (default 100,000) serials, seeded once per test binary, and
// those entries as Go's x509.CreateRevocationList takes them.
type crlFixture struct {
	dir     string // the vault directory (closed: certctl opens it itself)
	issuer  *x509.Certificate
	entries []x509.RevocationListEntry
}

var (
	crlOnce sync.Once
	crlFix  crlFixture
	crlErr  error
)

func crlVault(b *testing.B) *crlFixture {
	b.Helper()
	n := envInt("BENCH_CRL_N", 100000)
	crlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "certctl-bench-crl-")
		if err != nil {
			crlErr = err
			return
		}
		crlFix.dir = filepath.Join(dir, "vault")
		crlErr = seedCRLVault(b, crlFix.dir, n)
	})
	if crlErr != nil {
		b.Fatal(crlErr)
	}
	return &crlFix
}

// seedCRLVault creates the vault with its default CA and n revoked serials,
// then reads the entries back (the bare Go benchmark signs these).
func seedCRLVault(b *testing.B, dir string, n int) error {
	ctx := context.Background()
	v, err := localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		return err
	}
	defer v.Close()
	_, rec := defaultCA(b, v)
	seedRevoked(b, v, rec.ID, n)
	return v.Store.View(ctx, func(tx localstore.Tx) error {
		r, err := authority.Get(tx, rec.ID)
		if err != nil {
			return err
		}
		if crlFix.issuer, err = r.Certificate(); err != nil {
			return err
		}
		revoked, err := tx.ListRevoked(rec.ID)
		if err != nil {
			return err
		}
		crlFix.entries = make([]x509.RevocationListEntry, len(revoked))
		for i, s := range revoked {
			serial, err := x509util.ParseSerial(s.Serial)
			if err != nil {
				return err
			}
			crlFix.entries[i] = x509.RevocationListEntry{SerialNumber: serial,
				RevocationTime: s.RevokedAt.UTC().Truncate(time.Second), ReasonCode: s.Reason}
		}
		return nil
	})
}

// bareCRL is Go's bare x509.CreateRevocationList over the fixture's entries,
// signed with a P-256 key as the default issuing CA's (the issuer
// certificate is the CA's own, so the CRL has its issuer name and AKI; the
// stdlib does not ask that the key match it).
func bareCRL(b *testing.B, fx *crlFixture, key *ecdsa.PrivateKey) []byte {
	now := time.Now().UTC().Truncate(time.Second)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm:        x509.ECDSAWithSHA256,
		RevokedCertificateEntries: fx.entries,
		Number:                    big.NewInt(now.UnixNano()),
		ThisUpdate:                now,
		NextUpdate:                now.Add(authority.CRLValidity),
	}, fx.issuer, key)
	if err != nil {
		b.Fatal(err)
	}
	return der
}

// BenchmarkCRLBare is the peer of `ca crl`: Go's bare
// x509.CreateRevocationList over the same BENCH_CRL_N entries (reason
// codes as certctl writes them; certctl writes no invalidity dates).
func BenchmarkCRLBare(b *testing.B) {
	fx := crlVault(b)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		bareCRL(b, fx, key)
	}
}

// BenchmarkCRLCommand is `certctl ca crl default` in-process over the same
// vault (open, read the revoked serials, build, sign, store the CRL number
// and the audit record, PEM), the whole-process figure without exec.
func BenchmarkCRLCommand(b *testing.B) {
	fx := crlVault(b)
	b.ReportAllocs()
	for b.Loop() {
		runCLI(b, fx.dir, "ca", "crl", "default")
	}
}

// BenchmarkCRLVsBare alternates the two above, one of each per iteration so
// that a busy machine slows both alike, and reports each one's time and
// their ratio (the aim: certctl ≤ 1.2× bare Go).
func BenchmarkCRLVsBare(b *testing.B) {
	fx := crlVault(b)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var bare, cli time.Duration
	var bareLen, cliLen int
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		bareLen = len(bareCRL(b, fx, key))
		t1 := time.Now()
		cliLen = runCLI(b, fx.dir, "ca", "crl", "default", "--der")
		t2 := time.Now()
		bare += t1.Sub(t0)
		cli += t2.Sub(t1)
	}
	if d := cliLen - bareLen; d < -16 || d > 16 { // ECDSA signatures vary by a few bytes
		b.Fatalf("certctl's CRL is %d bytes, bare Go's %d: not the same entries", cliLen, bareLen)
	}
	n := float64(b.N)
	b.ReportMetric(float64(bare)/1e6/n, "bare-ms/op")
	b.ReportMetric(float64(cli)/1e6/n, "certctl-ms/op")
	b.ReportMetric(float64(cli)/float64(bare), "ratio")
}

// BenchmarkCRLServe is a CRL GET of the responder (ca serve, endpoint
// serve) over the same vault, the lookup alone (no HTTP): "signed" is the
// first GET after a change — every revoked serial read, the CRL signed —
// and "served-again" every later one while nothing the CRL shows has
// changed (authority.Lookup keeps the CRL it signed).
func BenchmarkCRLServe(b *testing.B) {
	fx := crlVault(b)
	ctx := context.Background()
	v, err := localstore.Open(ctx, fx.dir, localstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	svc, rec := defaultCA(b, v)
	view := func(fn func(localstore.Tx) error) error { return v.Store.View(ctx, fn) }
	n := envInt("BENCH_CRL_N", 100000)
	get := func(b *testing.B, l *authority.Lookup) {
		der, err := l.CRL(rec.ID)
		if err != nil {
			b.Fatal(err)
		}
		if len(der) < 30*n {
			b.Fatalf("CRL of %d bytes for %d revoked serials", len(der), n)
		}
	}
	b.Run("signed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get(b, svc.NewLookup(view, nil, nil))
		}
	})
	b.Run("served-again", func(b *testing.B) {
		l := svc.NewLookup(view, nil, nil)
		get(b, l)
		b.ReportAllocs()
		for b.Loop() {
			get(b, l)
		}
	})
}

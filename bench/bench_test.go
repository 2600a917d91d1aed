package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// envInt reads a size from the environment, so run.sh (or a person) can
// scale a benchmark without editing it.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// runCLI runs certctl in-process against vault and fails b on a non-zero
// exit, returning stdout's length.
func runCLI(b testing.TB, vault string, args ...string) int {
	b.Helper()
	var n counter
	cliTo(b, vault, &n, args...)
	return int(n)
}

// cliTo runs certctl in-process against vault with its stdout going to
// w, and fails b on a non-zero exit.
func cliTo(b testing.TB, vault string, w io.Writer, args ...string) {
	b.Helper()
	ios, _, _, errOut := iostreams.Test()
	ios.Out = w
	f := cmdutil.New(ios, "bench")
	f.Getenv = func(k string) string {
		if k == "CERTCTL_VAULT" {
			return vault
		}
		return ""
	}
	if code := app.Run(context.Background(), f, args); code != 0 {
		b.Fatalf("certctl %v: exit %d: %s", args, code, errOut)
	}
}

// counter is a writer that only counts what it is given.
type counter int

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// openVault opens (creating) a vault in a new temporary directory.
func openVault(b testing.TB) *localstore.Vault {
	b.Helper()
	v, err := localstore.Open(context.Background(), filepath.Join(b.TempDir(), "vault"), localstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return v
}

// defaultCA creates the vault's default private CA hierarchy (a P-384
// root and a P-256 issuing CA, as `request --certificate-authority-arn
// default` does) and returns the service and the issuing CA.
func defaultCA(b testing.TB, v *localstore.Vault) (*authority.Service, *authority.Record) {
	b.Helper()
	svc := authority.New(v, func() time.Time { return time.Now().UTC() }, "")
	var rec *authority.Record
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) (err error) {
		rec, err = svc.EnsureDefault(tx)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return svc, rec
}

// BenchmarkVersionInProcess is the in-process part of `certctl --version`:
// building the command tree and running it (process start-up and package
// initialisation are not included; run.sh measures the whole process).
func BenchmarkVersionInProcess(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if n := runCLI(b, b.TempDir(), "--version"); n == 0 {
			b.Fatal("no version printed")
		}
	}
}

var (
	importFixturesOnce sync.Once
	importFixturesDir  string
	importFixturesErr  error
)

// importFixtures writes BENCH_IMPORT_N (default 2000) certificate/key pairs
// once per test binary.
func importFixtures(b *testing.B) (string, int) {
	n := envInt("BENCH_IMPORT_N", 2000)
	importFixturesOnce.Do(func() {
		importFixturesDir, importFixturesErr = os.MkdirTemp("", "certctl-bench-import-")
		if importFixturesErr == nil {
			importFixturesErr = testpki.WriteMany(importFixturesDir, n, time.Now())
		}
	})
	if importFixturesErr != nil {
		b.Fatal(importFixturesErr)
	}
	return importFixturesDir, n
}

func TestMain(m *testing.M) {
	code := m.Run()
	if importFixturesDir != "" {
		os.RemoveAll(importFixturesDir)
	}
	if crlFix.dir != "" {
		os.RemoveAll(filepath.Dir(crlFix.dir))
	}
	os.Exit(code)
}

// BenchmarkImportDir runs `certctl import --from-dir` in-process over
// BENCH_IMPORT_N files into a new vault each time, and reports certs/s.
func BenchmarkImportDir(b *testing.B) {
	b.ReportAllocs()
	dir, n := importFixtures(b)
	i := 0
	for b.Loop() {
		i++
		runCLI(b, filepath.Join(b.TempDir(), "vault"+strconv.Itoa(i)), "import", "--from-dir", dir, "-o", "json")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkIssueRawCrypto is the floor of issuance: a P-256 key and a leaf
// certificate signed by a P-256 CA, nothing stored.
func BenchmarkIssueRawCrypto(b *testing.B) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		serial, err := casign.NewSerial(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial, Subject: pkix.Name{CommonName: "leaf.example.test"},
			DNSNames:  []string{"leaf.example.test"},
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(12 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpu0, 1)
}

// issueOne does what `certctl request --certificate-authority-arn default
// --key-algorithm EC_prime256v1` does once the CA is resolved: a key, the
// signed leaf with its serial reserved, the sealed key, the version and the
// record, committed in one vault transaction.
func issueOne(ctx context.Context, v *localstore.Vault, svc *authority.Service, rec *authority.Record, i int) error {
	key, err := x509util.GenerateKey(x509util.ECPrime256v1)
	if err != nil {
		return err
	}
	now := svc.Now()
	return v.Store.Update(ctx, func(tx localstore.Tx) error {
		id := uuid.NewString()
		issued, err := svc.IssueLeaf(tx, rec, authority.LeafParams{
			CertID: id, Names: []string{fmt.Sprintf("host%07d.bench.example.test", i)},
			PublicKey: key.Public(), Validity: 30 * 24 * time.Hour, ClientAuth: true,
		})
		if err != nil {
			return err
		}
		c := inventory.NewIssuedRecord(id, inventory.TypePrivate, rec.ID, nil, "ENABLED", "DISABLED", now)
		return inventory.StoreIssued(tx, v, c, issued.Certificate, issued.ChainPEM, key, now)
	})
}

// BenchmarkIssueDurable is in-process issuance, one durable vault
// transaction (synchronous=FULL commit) per certificate, as `request` does.
func BenchmarkIssueDurable(b *testing.B) {
	b.ReportAllocs()
	v := openVault(b)
	svc, rec := defaultCA(b, v)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if err := issueOne(ctx, v, svc, rec, i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkIssueBatched is the same issuance with 100 certificates a
// transaction: the commit's fsync is shared, so this is the CPU cost of the
// issuance path itself (what a long-running issuer could reach with group
// commit).
func BenchmarkIssueBatched(b *testing.B) {
	const per = 100
	v := openVault(b)
	svc, rec := defaultCA(b, v)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		keys := make([]crypto.Signer, per)
		for j := range keys {
			k, err := x509util.GenerateKey(x509util.ECPrime256v1)
			if err != nil {
				b.Fatal(err)
			}
			keys[j] = k
		}
		now := svc.Now()
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			for _, key := range keys {
				i++
				id := uuid.NewString()
				issued, err := svc.IssueLeaf(tx, rec, authority.LeafParams{
					CertID: id, Names: []string{fmt.Sprintf("host%07d.bench.example.test", i)},
					PublicKey: key.Public(), Validity: 30 * 24 * time.Hour, ClientAuth: true,
				})
				if err != nil {
					return err
				}
				c := inventory.NewIssuedRecord(id, inventory.TypePrivate, rec.ID, nil, "ENABLED", "DISABLED", now)
				if err := inventory.StoreIssued(tx, v, c, issued.Certificate, issued.ChainPEM, key, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(per*float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkRequestInProcess runs `certctl request --certificate-authority-arn
// default --key-algorithm EC_prime256v1` in-process (command tree, config,
// vault open and close included; process start-up not).
func BenchmarkRequestInProcess(b *testing.B) {
	b.ReportAllocs()
	vault := filepath.Join(b.TempDir(), "vault")
	runCLI(b, vault, "request", "--domain-name", "warm.example.test", "--certificate-authority-arn", "default", "--key-algorithm", "EC_prime256v1")
	for b.Loop() {
		runCLI(b, vault, "request", "--domain-name", "app.example.test", "--certificate-authority-arn", "default", "--key-algorithm", "EC_prime256v1")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// seedRevoked records n revoked serials of issuer (internal/seed).
func seedRevoked(b testing.TB, v *localstore.Vault, issuer string, n int) {
	b.Helper()
	if err := seed.Revoked(context.Background(), v, issuer, n, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCRL signs a CRL of BENCH_CRL_N (default 100,000) revoked serials
// as `certctl ca crl` does (read the revoked serials, sign, store the new
// CRL number), and checks the entry count once.
func BenchmarkCRL(b *testing.B) {
	n := envInt("BENCH_CRL_N", 100000)
	v := openVault(b)
	svc, rec := defaultCA(b, v)
	seedRevoked(b, v, rec.ID, n)
	ctx := context.Background()
	var der []byte
	b.ReportAllocs()
	for b.Loop() {
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			r, err := authority.Get(tx, rec.ID)
			if err != nil {
				return err
			}
			der, err = svc.CRL(tx, r)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		b.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != n {
		b.Fatalf("CRL has %d entries, want %d", len(crl.RevokedCertificateEntries), n)
	}
	b.ReportMetric(float64(len(der)), "crl-bytes")
}

// seedIssued records n certificates issued by issuer, one in ten revoked
// (internal/seed).
func seedIssued(b testing.TB, v *localstore.Vault, issuer string, n int) {
	b.Helper()
	if err := seed.Issued(context.Background(), v, issuer, n, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAuditReport is `certctl ca audit-report default` (JSON, then
// CSV) in-process over BENCH_AUDIT_N (default 100,000) issued certificates:
// read the serials table, format, write to stdout.
func BenchmarkAuditReport(b *testing.B) {
	n := envInt("BENCH_AUDIT_N", 100000)
	v := openVault(b)
	_, rec := defaultCA(b, v)
	seedIssued(b, v, rec.ID, n)
	dir := v.Dir
	v.Close()
	for _, format := range []string{"JSON", "CSV"} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				size = runCLI(b, dir, "ca", "audit-report", "default", "--format", format)
			}
			if size < n*100 {
				b.Fatalf("a report of %d bytes for %d certificates", size, n)
			}
			b.ReportMetric(float64(size), "report-bytes")
		})
	}
}

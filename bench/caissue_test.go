package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/timeutil"
)

// benchCSR is a P-256 CSR of a workload: a DNS and a spiffe URI name.
func benchCSR(b *testing.B) []byte {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse("spiffe://bench.example.test/ns/a/sa/b")
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "svc.bench.example.test"}, DNSNames: []string{"svc.bench.example.test"}, URIs: []*url.URL{u},
	}, key)
	if err != nil {
		b.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// BenchmarkCaIssueSignOnly is the floor of `ca issue`: the CSR's key (parsed
// once, outside the loop) certified by a P-256 CA with crypto/x509 alone —
// a serial, a template and the signature; nothing checked, nothing stored.
func BenchmarkCaIssueSignOnly(b *testing.B) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: casignSerial(b), Subject: pkix.Name{CommonName: "Bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	blk, _ := pem.Decode(benchCSR(b))
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tmpl := &x509.Certificate{
			SerialNumber: casignSerial(b), Subject: csr.Subject, DNSNames: csr.DNSNames, URIs: csr.URIs,
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(12 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, csr.PublicKey, caKey); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

func casignSerial(b *testing.B) *big.Int {
	s, err := casign.NewSerial(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCaIssue is `ca issue` in-process once the command has read the
// CSR: the authorities service parses the CSR and checks its signature,
// resolves the CA, applies EndEntityClientAuthCertificate (stepx509
// template, every SAN checked, name constraints), reserves the serial,
// signs and records the change (audit record) in one durable vault
// transaction.
func BenchmarkCaIssue(b *testing.B) {
	v := openVault(b)
	now := func() time.Time { return time.Now().UTC() }
	core := &service.Core{
		Vault: v, Now: now,
		Names:     inventory.Names{Region: "local", Account: "000000000000"},
		Authority: authority.New(v, now, "http://pki.bench.example.test"),
		Actor:     audit.Actor{Type: audit.ActorUser, ID: "bench", Host: "bench"},
	}
	svc := authorities.New(core, authorities.Settings{})
	ctx := context.Background()
	ca, err := svc.Create(ctx, authorities.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Bench Issue CA"}})
	if err != nil {
		b.Fatal(err)
	}
	req := authorities.IssueRequest{CSR: benchCSR(b), Template: casign.PCAEndEntityClientAuth, Validity: timeutil.Validity{Duration: 12 * time.Hour}}
	for b.Loop() {
		if _, err := svc.Issue(ctx, ca, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkCaIssueBatched is BenchmarkCaIssue with 100 requests a
// transaction (authorities.IssueBatch): each still parsed, checked, signed
// and recorded with its own audit record, the commit's fsync shared — the
// CPU cost of the `ca issue` path.
func BenchmarkCaIssueBatched(b *testing.B) {
	const per = 100
	v := openVault(b)
	now := func() time.Time { return time.Now().UTC() }
	core := &service.Core{
		Vault: v, Now: now,
		Names:     inventory.Names{Region: "local", Account: "000000000000"},
		Authority: authority.New(v, now, "http://pki.bench.example.test"),
		Actor:     audit.Actor{Type: audit.ActorUser, ID: "bench", Host: "bench"},
	}
	svc := authorities.New(core, authorities.Settings{})
	ctx := context.Background()
	ca, err := svc.Create(ctx, authorities.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Bench Batch CA"}})
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]authorities.IssueRequest, per)
	csr := benchCSR(b)
	for i := range reqs {
		reqs[i] = authorities.IssueRequest{CSR: csr, Template: casign.PCAEndEntityClientAuth, Validity: timeutil.Validity{Duration: 12 * time.Hour}}
	}
	for b.Loop() {
		_, errs := svc.IssueBatch(ctx, ca, reqs)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(per*float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

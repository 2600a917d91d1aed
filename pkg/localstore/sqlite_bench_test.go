package localstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// benchCertificate is a record shaped like one `certctl import` writes for
// a P-256 leaf (about 770 bytes of JSON), made unique by i.
func benchCertificate(i int, now time.Time) *localstore.Certificate {
	name := fmt.Sprintf("host%06d.bulk.example.test", i)
	at := now.Add(time.Duration(i) * time.Microsecond)
	return &localstore.Certificate{
		ID:                      fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
		DomainName:              name,
		SubjectAlternativeNames: []string{name},
		Status:                  "ISSUED",
		Type:                    "IMPORTED",
		KeyPairOrigin:           "IMPORTED",
		KeyAlgorithm:            "EC_prime256v1",
		SignatureAlgorithm:      "SHA256WITHECDSA",
		Serial:                  fmt.Sprintf("42:d3:c7:b2:c9:65:aa:a8:33:e0:d3:37:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff),
		Subject:                 "CN=" + name,
		Issuer:                  "CN=Bulk Intermediate,O=certctl tests",
		NotBefore:               now.Add(-time.Hour).Truncate(time.Second),
		NotAfter:                now.Add(time.Duration(1+i%365) * 24 * time.Hour).Truncate(time.Second),
		CreatedAt:               at,
		UpdatedAt:               at,
		ImportedAt:              at,
		KeyUsages:               []string{"DIGITAL_SIGNATURE"},
		ExtendedKeyUsages:       []localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1"}},
		RenewalEligibility:      "INELIGIBLE",
		Version:                 1,
	}
}

// benchStore opens a store in a temporary directory holding n records,
// written in transactions of 5000.
func benchStore(b *testing.B, n int) *localstore.SQLite {
	b.Helper()
	s, err := localstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), localstore.DatabaseFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	now := time.Now().UTC()
	for start := 0; start < n; start += 5000 {
		err := s.Update(context.Background(), func(tx localstore.Tx) error {
			for i := start; i < min(start+5000, n); i++ {
				if err := tx.PutCertificate(benchCertificate(i, now)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkListCertificates reads every record, newest first (what `list`
// asks the store for), and reports rows/s.
func BenchmarkListCertificates(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			f := localstore.CertificateFilter{Origins: []string{"VAULT", "IMPORTED"}, Descending: true}
			for b.Loop() {
				err := s.View(context.Background(), func(tx localstore.Tx) error {
					certs, err := tx.ListCertificates(f)
					if err == nil && len(certs) != n {
						err = fmt.Errorf("listed %d, want %d", len(certs), n)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkListCertificatesPage reads the first page of 100 of 100,000
// records (`list --max-items 100`).
func BenchmarkListCertificatesPage(b *testing.B) {
	s := benchStore(b, 100000)
	f := localstore.CertificateFilter{Origins: []string{"VAULT", "IMPORTED"}, Descending: true, Limit: 101}
	for b.Loop() {
		err := s.View(context.Background(), func(tx localstore.Tx) error {
			certs, err := tx.ListCertificates(f)
			if err == nil && len(certs) != 101 {
				err = fmt.Errorf("listed %d, want 101", len(certs))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListCertificatesExpiring reads the records of 100,000 that
// expire within 30 days (`list --expiring-within 30d`), about 8%.
func BenchmarkListCertificatesExpiring(b *testing.B) {
	s := benchStore(b, 100000)
	f := localstore.CertificateFilter{Origins: []string{"VAULT", "IMPORTED"}, Descending: true,
		NotAfterBefore: time.Now().Add(30 * 24 * time.Hour)}
	for b.Loop() {
		err := s.View(context.Background(), func(tx localstore.Tx) error {
			certs, err := tx.ListCertificates(f)
			if err == nil && (len(certs) < 7000 || len(certs) > 9000) {
				err = fmt.Errorf("listed %d, want about 8200", len(certs))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutCertificateBatch inserts records in durable transactions of
// 500 (the importer's batch) and reports certs/s.
func BenchmarkPutCertificateBatch(b *testing.B) {
	s := benchStore(b, 0)
	now := time.Now().UTC()
	i := 0
	for b.Loop() {
		err := s.Update(context.Background(), func(tx localstore.Tx) error {
			for range 500 {
				i++
				if err := tx.PutCertificate(benchCertificate(i, now)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(500*float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkListRevoked reads 100,000 revoked serials of one issuer (what a
// CRL of that size reads).
func BenchmarkListRevoked(b *testing.B) {
	const n = 100000
	s := benchStore(b, 0)
	now := time.Now().UTC()
	err := s.Update(context.Background(), func(tx localstore.Tx) error {
		for i := 0; i < n; i++ {
			serial := fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
			at := now.Add(time.Duration(i) * time.Second)
			if err := tx.ReserveSerial("ca", serial, "", at); err != nil {
				return err
			}
			if err := tx.RevokeSerial("ca", serial, at, i%6); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// ListRevoked reads the whole records; EachRevocation, what a CRL
	// reads, the covering index serials_crl.
	list := map[string]func(tx localstore.Tx) (int, error){
		"ListRevoked": func(tx localstore.Tx) (int, error) { r, err := tx.ListRevoked("ca"); return len(r), err },
		"EachRevocation": func(tx localstore.Tx) (int, error) {
			n := 0
			err := tx.EachRevocation("ca", func([]byte, time.Time, int) error { n++; return nil })
			return n, err
		},
	}
	for _, name := range []string{"ListRevoked", "EachRevocation"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := s.View(context.Background(), func(tx localstore.Tx) error {
					got, err := list[name](tx)
					if err == nil && got != n {
						err = fmt.Errorf("listed %d, want %d", got, n)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

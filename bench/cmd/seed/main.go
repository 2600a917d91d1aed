// Command seed fills a vault quickly for the benchmarks of bench/run.sh.
//
// It writes inventory records straight through pkg/localstore (as the
// importer's StoreImported does: a sealed key, a version and the record) in
// large transactions, instead of parsing N files through `certctl import`.
// Every record shares one leaf certificate, chain and key (generated once);
// what list reads and sorts on differs per record: ID, domain name, SANs,
// CreatedAt (one microsecond apart) and NotAfter (1 to 365 days from now).
//
// With -revoked N it also creates the vault's default private CA (as
// `certctl request --certificate-authority-arn default` does) and records N
// issued-then-revoked serials of its issuing CA, for `certctl ca crl default`.
//
// With -issued N it records N certificates issued by the default private
// issuing CA, as every issuance does (a reserved serial and the recorded
// certificate: one shared DER, distinct serials, subjects and times; one
// in ten revoked), for `certctl ca audit-report default`.
package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// batch is how many records one transaction writes.
const batch = 5000

func main() {
	dir := flag.String("vault", "", "vault `directory` (created if missing)")
	certs := flag.Int("certs", 0, "write `N` imported-certificate records")
	revoked := flag.Int("revoked", 0, "record `N` revoked serials of the default private issuing CA")
	issued := flag.Int("issued", 0, "record `N` certificates issued by the default private issuing CA")
	store := flag.String("store", "", "store `URL` (as certctl --store: postgres://… for PostgreSQL; default the vault's SQLite file)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "seed: -vault is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *dir, *store, *certs, *revoked, *issued, time.Now().UTC()); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, store string, certs, revoked, issued int, now time.Time) error {
	v, err := localstore.Open(ctx, dir, localstore.Options{StoreURL: store})
	if err != nil {
		return err
	}
	defer v.Close()
	if certs > 0 {
		if err := seedCertificates(ctx, v, certs, now); err != nil {
			return err
		}
	}
	if revoked > 0 {
		if err := seedRevoked(ctx, v, revoked, now); err != nil {
			return err
		}
	}
	if issued > 0 {
		if err := seedIssued(ctx, v, issued, now); err != nil {
			return err
		}
	}
	return nil
}

// defaultIssuer creates the default private CA if needed and returns its
// issuing CA's ID.
func defaultIssuer(ctx context.Context, v *localstore.Vault, now time.Time) (string, error) {
	svc := authority.New(v, func() time.Time { return now }, "")
	var issuer string
	err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		r, err := svc.EnsureDefault(tx)
		if err == nil {
			issuer = r.ID
		}
		return err
	})
	return issuer, err
}

// seedIssued records n certificates issued by the default private
// issuing CA, one in ten revoked.
func seedIssued(ctx context.Context, v *localstore.Vault, n int, now time.Time) error {
	issuer, err := defaultIssuer(ctx, v, now)
	if err != nil {
		return err
	}
	root := testpki.NewRoot("Seed Root", now)
	leaf, _ := root.Sub("Seed Intermediate").Leaf(testpki.LeafOptions{Names: []string{"seed.issued.example.test"}, NotAfter: now.Add(365 * 24 * time.Hour)})
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			for i := start; i < end; i++ {
				serial, err := casign.NewSerial(rand.Reader)
				if err != nil {
					return err
				}
				s := x509util.FormatSerial(serial)
				at := now.Add(-time.Duration(n-i) * time.Second)
				if err := tx.ReserveSerial(issuer, s, "", at); err != nil {
					return err
				}
				if err := tx.RecordIssued(&localstore.Serial{Issuer: issuer, Serial: s, DER: leaf.Raw,
					Subject: fmt.Sprintf("CN=host%06d.issued.example.test", i), NotBefore: at.Add(-time.Minute).Truncate(time.Second),
					NotAfter: at.Add(395 * 24 * time.Hour).Truncate(time.Second), Template: authority.TemplateNameEndEntity,
					Requester: "USER:seed"}); err != nil {
					return err
				}
				if i%10 == 0 {
					if err := tx.RevokeSerial(issuer, s, at.Add(time.Minute), 4); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seedCertificates writes n imported-certificate records.
func seedCertificates(ctx context.Context, v *localstore.Vault, n int, now time.Time) error {
	root := testpki.NewRoot("Seed Root", now)
	sub := root.Sub("Seed Intermediate")
	leaf, key := sub.Leaf(testpki.LeafOptions{Names: []string{"seed.bulk.example.test"}, NotAfter: now.Add(365 * 24 * time.Hour)})
	m := &inventory.Material{Leaf: leaf, Chain: []*x509.Certificate{sub.Cert}, Key: key}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			for i := start; i < end; i++ {
				at := now.Add(time.Duration(i) * time.Microsecond)
				c, err := inventory.NewImported(m, nil, at)
				if err != nil {
					return err
				}
				name := fmt.Sprintf("host%06d.bulk.example.test", i)
				c.DomainName, c.SubjectAlternativeNames = name, []string{name}
				c.NotAfter = now.Add(time.Duration(1+i%365) * 24 * time.Hour).Truncate(time.Second)
				if err := inventory.StoreImported(tx, v, c, m, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seedRevoked creates the default private CA if needed and records n
// revoked serials of its issuing CA, with varied reasons and times.
func seedRevoked(ctx context.Context, v *localstore.Vault, n int, now time.Time) error {
	issuer, err := defaultIssuer(ctx, v, now)
	if err != nil {
		return err
	}
	// Reasons of RFC 5280 that a leaf may carry (not 7, unused, nor 8).
	reasons := []int{0, 1, 3, 4, 5, 9}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			for i := start; i < end; i++ {
				serial, err := casign.NewSerial(rand.Reader)
				if err != nil {
					return err
				}
				s := x509util.FormatSerial(serial)
				at := now.Add(-time.Duration(n-i) * time.Second)
				if err := tx.ReserveSerial(issuer, s, "", at); err != nil {
					return err
				}
				if err := tx.RevokeSerial(issuer, s, at, reasons[i%len(reasons)]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Command seed fills a vault quickly for the benchmarks of bench/run.sh.
//
// It writes inventory records as the importer's StoreImported does (a
// sealed key, a version and the record), through a localstore.RowBuffer:
// the store's own rows, written table by table in large transactions (COPY
// on PostgreSQL), instead of parsing N files through `certctl import`; on
// PostgreSQL it then runs VACUUM ANALYZE, as autovacuum would later.
// Every record shares one leaf certificate, chain and key (generated once);
// what list reads and sorts on differs per record: ID (random UUIDs, handed
// out in ascending order), domain name, SANs, CreatedAt (one microsecond
// apart) and NotAfter (1 to 365 days from now).
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
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
)

func main() {
	dir := flag.String("vault", "", "vault `directory` (created if missing)")
	certs := flag.Int("certs", 0, "write `N` imported-certificate records")
	asIs := flag.Bool("as-is", false, "make each -certs record say what its (shared) certificate says, as vault verify wants (default: distinct names and expiries, for list)")
	revoked := flag.Int("revoked", 0, "record `N` revoked serials of the default private issuing CA")
	issued := flag.Int("issued", 0, "record `N` certificates issued by the default private issuing CA")
	store := flag.String("store", "", "store `URL` (as certctl --store: postgres://… for PostgreSQL; default the vault's SQLite file)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "seed: -vault is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *dir, *store, *certs, *asIs, *revoked, *issued, time.Now().UTC()); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, store string, certs int, asIs bool, revoked, issued int, now time.Time) error {
	v, err := localstore.Open(ctx, dir, localstore.Options{StoreURL: store})
	if err != nil {
		return err
	}
	defer v.Close()
	if certs > 0 {
		fill := seed.Imported
		if asIs {
			fill = seed.ImportedAsIs
		}
		if err := fill(ctx, v, certs, now); err != nil {
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
	if localstore.IsPostgresURL(store) {
		return seed.VacuumAnalyze(ctx, store)
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
	return seed.Issued(ctx, v, issuer, n, now)
}

// seedRevoked creates the default private CA if needed and records n
// revoked serials of its issuing CA, with varied reasons and times.
func seedRevoked(ctx context.Context, v *localstore.Vault, n int, now time.Time) error {
	issuer, err := defaultIssuer(ctx, v, now)
	if err != nil {
		return err
	}
	return seed.Revoked(ctx, v, issuer, n, now)
}

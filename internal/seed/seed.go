// Package seed writes many records straight through pkg/localstore, for
// benchmarks (bench/) and the bench/cmd/seed tool: imported certificates,
// issued certificates and revoked serials, Batch to a transaction.
package seed

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// Batch is how many records one transaction of Issued or Revoked writes.
const Batch = 5000

// ImportBatch is how many records one transaction of Imported writes.
const ImportBatch = 20000

// Issued records n certificates issued by issuer (one shared DER;
// distinct serials, subjects and times), one in ten revoked, as every
// issuance records them.
func Issued(ctx context.Context, v *localstore.Vault, issuer string, n int, now time.Time) error {
	root := testpki.NewRoot("Seed Root", now)
	leaf, _ := root.Sub("Seed Intermediate").Leaf(testpki.LeafOptions{Names: []string{"seed.issued.example.test"}, NotAfter: now.Add(365 * 24 * time.Hour)})
	return serials(ctx, v, issuer, n, now, func(tx localstore.Tx, i int, s string, at time.Time) error {
		if err := tx.RecordIssued(&localstore.Serial{Issuer: issuer, Serial: s, DER: leaf.Raw,
			Subject: fmt.Sprintf("CN=host%06d.issued.example.test", i), NotBefore: at.Add(-time.Minute).Truncate(time.Second),
			NotAfter: at.Add(395 * 24 * time.Hour).Truncate(time.Second), Template: authority.TemplateNameEndEntity,
			Requester: "USER:seed"}); err != nil {
			return err
		}
		if i%10 == 0 {
			return tx.RevokeSerial(issuer, s, at.Add(time.Minute), 4)
		}
		return nil
	})
}

// serials reserves n fresh serials of issuer, Batch to a transaction, the
// i-th dated n-i seconds before now, and runs fn on each.
func serials(ctx context.Context, v *localstore.Vault, issuer string, n int, now time.Time,
	fn func(tx localstore.Tx, i int, serial string, at time.Time) error) error {
	for start := 0; start < n; start += Batch {
		end := min(start+Batch, n)
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
				if err := fn(tx, i, s, at); err != nil {
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

// Imported writes n imported-certificate records (one shared leaf, chain
// and key; distinct IDs, names, creation times and NotAfter), each as
// inventory.StoreImported writes it, through a localstore.RowBuffer: the
// store's own rows, written table by table in batches (COPY on
// PostgreSQL) instead of three statements a record. The IDs are random
// UUIDs handed out in ascending order, like the creation times, so that
// every index grows at its end instead of at random places (a million
// records then take about a minute instead of a quarter of an hour).
func Imported(ctx context.Context, v *localstore.Vault, n int, now time.Time) error {
	return imported(ctx, v, n, now, false)
}

// ImportedAsIs is Imported with every record saying what its certificate
// says — the shared leaf's names and expiry — so that `vault verify` finds
// nothing wrong with them (bench/vault.sh); Imported's records differ in
// name and expiry for list to sort on, which verify reports as records
// changed outside certctl.
func ImportedAsIs(ctx context.Context, v *localstore.Vault, n int, now time.Time) error {
	return imported(ctx, v, n, now, true)
}

func imported(ctx context.Context, v *localstore.Vault, n int, now time.Time, asIs bool) error {
	root := testpki.NewRoot("Seed Root", now)
	sub := root.Sub("Seed Intermediate")
	leaf, key := sub.Leaf(testpki.LeafOptions{Names: []string{"seed.bulk.example.test"}, NotAfter: now.Add(365 * 24 * time.Hour)})
	m := &inventory.Material{Leaf: leaf, Chain: []*x509.Certificate{sub.Cert}, Key: key}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	slices.Sort(ids)
	for start := 0; start < n; start += ImportBatch {
		end := min(start+ImportBatch, n)
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			buf, err := localstore.NewRowBuffer(tx)
			if err != nil {
				return err
			}
			for i := start; i < end; i++ {
				at := now.Add(time.Duration(i) * time.Microsecond)
				c, err := inventory.NewImported(m, nil, at)
				if err != nil {
					return err
				}
				c.ID = ids[i]
				if !asIs {
					name := fmt.Sprintf("host%06d.bulk.example.test", i)
					c.DomainName, c.SubjectAlternativeNames = name, []string{name}
					c.NotAfter = now.Add(time.Duration(1+i%365) * 24 * time.Hour).Truncate(time.Second)
				}
				if err := inventory.StoreImported(buf, v, c, m, at); err != nil {
					return err
				}
			}
			return buf.Flush()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Revoked records n revoked serials of issuer, with varied reasons and
// times.
func Revoked(ctx context.Context, v *localstore.Vault, issuer string, n int, now time.Time) error {
	// Reasons of RFC 5280 that a leaf may carry (not 7, unused, nor 8).
	reasons := []int{0, 1, 3, 4, 5, 9}
	return serials(ctx, v, issuer, n, now, func(tx localstore.Tx, i int, s string, at time.Time) error {
		return tx.RevokeSerial(issuer, s, at, reasons[i%len(reasons)])
	})
}

// VacuumAnalyze does at once, in the PostgreSQL store at url, what
// autovacuum does some time after a bulk write: statistics for the
// planner, and a visibility map that marks the freshly written pages
// all-visible, so that a list reads its covering index alone (an
// index-only scan visits the table for each row of a page not marked
// all-visible, and the planner, knowing it, sorts the table instead).
func VacuumAnalyze(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) certificates, serials"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	return nil
}

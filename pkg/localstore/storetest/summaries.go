package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// summaryOf is c with only what ListCertificateSummaries returns:
// localstore.SummaryFields, Tags and UpdatedAt.
func summaryOf(c *localstore.Certificate) localstore.Certificate {
	return localstore.Certificate{
		ID: c.ID, DomainName: c.DomainName, SubjectAlternativeNames: c.SubjectAlternativeNames,
		Status: c.Status, Type: c.Type, KeyPairOrigin: c.KeyPairOrigin, KeyAlgorithm: c.KeyAlgorithm,
		ExportOption: c.ExportOption, RenewalEligibility: c.RenewalEligibility, Exported: c.Exported,
		InUseBy: c.InUseBy, KeyUsages: c.KeyUsages, ExtendedKeyUsages: c.ExtendedKeyUsages,
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), CreatedAt: c.CreatedAt.UTC(),
		IssuedAt: c.IssuedAt.UTC(), ImportedAt: c.ImportedAt.UTC(), RevokedAt: c.RevokedAt.UTC(),
		Tags: c.Tags, UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// summaryFixture is listFixture with every summary field varied: names,
// usages, tags, times (one far past 2262, beyond Unix nanoseconds) and
// strings that are not ASCII.
func summaryFixture() []*localstore.Certificate {
	all := listFixture()
	for i, c := range all {
		c.SubjectAlternativeNames = []string{c.DomainName, fmt.Sprintf("alt%d.example.test", i)}[:1+i%2]
		if i%4 == 1 {
			c.KeyUsages = []string{"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"}
			c.ExtendedKeyUsages = []localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1"}, {Name: "CUSTOM", OID: "1.2.3.4"}}
		}
		if i%5 == 2 {
			c.Tags = []localstore.Tag{{Key: "env", Value: "prod"}, {Key: "é\u2603", Value: ""}}
			c.UpdatedAt = t0.Add(time.Duration(i) * time.Minute)
		}
		if i%3 == 1 {
			c.Exported = true
			c.NotBefore = t0.Add(-time.Hour)
			c.IssuedAt, c.ImportedAt, c.RevokedAt = t0.Add(time.Second), t0.Add(2*time.Nanosecond), t0.Add(3*time.Hour)
		}
		if i == 5 {
			c.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
			c.NotBefore = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}
	full := fullCertificate("id-full")
	full.CreatedAt = t0.Add(-time.Hour)
	return append(all, full)
}

// testListSummaries checks that ListCertificateSummaries selects, orders
// and pages as ListCertificates does and returns the same summary fields,
// for rows written with a summary and for rows without one (written before
// the migration that added it).
func testListSummaries(t *testing.T, s localstore.Store) {
	all := summaryFixture()
	putCerts(t, s, all...)
	yes, no := true, false
	filters := []localstore.CertificateFilter{
		{},
		{Statuses: []string{"ISSUED", "REVOKED"}},
		{KeyAlgorithms: []string{"EC_prime256v1"}, Types: []string{"PRIVATE"}},
		{Origins: []string{"VAULT", "IMPORTED"}, Eligibility: []string{"ELIGIBLE", ""}},
		{Exportable: &yes}, {InUse: &no},
		{NotAfterBefore: t0.Add(3 * 24 * time.Hour)},
		{SortBy: "NOT_AFTER"}, {SortBy: "DOMAIN_NAME", Descending: true},
		{SortBy: "CREATED_AT", Descending: true, Limit: 7, Offset: 3},
		{Offset: 12}, {Limit: 4},
	}
	compare := func(when string, onlySummaries bool) {
		t.Helper()
		for _, f := range filters {
			full, sums := listBoth(t, s, f)
			if !slices.Equal(ids(sums), ids(full)) {
				t.Errorf("%s: ListCertificateSummaries(%s) = %q, ListCertificates %q", when, describe(f), ids(sums), ids(full))
				continue
			}
			for i := range full {
				if got, want := summaryOf(sums[i]), summaryOf(full[i]); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: summary of %s:\n got %+v\nwant %+v", when, full[i].ID, got, want)
				}
				if got, want := *sums[i], summaryOf(sums[i]); onlySummaries && !reflect.DeepEqual(got, want) {
					t.Errorf("%s: summary of %s sets fields beyond SummaryFields: %+v", when, full[i].ID, got)
				}
			}
			// NoTags: the same summaries, without Tags and UpdatedAt.
			nf := f
			nf.NoTags = true
			var noTags []*localstore.Certificate
			view(t, s, func(tx localstore.Tx) error {
				var err error
				noTags, err = tx.ListCertificateSummaries(nf)
				return err
			})
			if !slices.Equal(ids(noTags), ids(full)) {
				t.Errorf("%s: ListCertificateSummaries(%s, NoTags) = %q, ListCertificates %q", when, describe(f), ids(noTags), ids(full))
				continue
			}
			for i := range full {
				want := summaryOf(full[i])
				want.Tags, want.UpdatedAt = nil, time.Time{}
				got := summaryOf(noTags[i])
				got.Tags, got.UpdatedAt = nil, time.Time{}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: NoTags summary of %s:\n got %+v\nwant %+v", when, full[i].ID, got, want)
				}
				if onlySummaries && (noTags[i].Tags != nil || !noTags[i].UpdatedAt.IsZero()) {
					t.Errorf("%s: NoTags summary of %s has tags %v, updated %v", when, full[i].ID, noTags[i].Tags, noTags[i].UpdatedAt)
				}
			}
		}
	}
	compare("with summaries", true)

	// Rows without a summary: rewritten with the column NULL, every other
	// column as stored.
	cols := localstore.TableColumns("certificates")
	si, ii := slices.Index(cols, "summary"), slices.Index(cols, "id")
	if si < 0 {
		t.Fatalf("certificates has no summary column: %q", cols)
	}
	bulkUpdate(t, s, func(b localstore.BulkTx) error {
		var rows [][]any
		err := b.ScanTable("certificates", 1000, func(batch [][]any) error {
			rows = append(rows, batch...)
			return nil
		})
		if err != nil {
			return err
		}
		var legacy [][]any
		for i, r := range rows {
			if i%2 == 0 {
				r[si] = nil
				legacy = append(legacy, r)
			}
		}
		tx := b.(localstore.Tx)
		for _, r := range legacy {
			if err := tx.DeleteCertificate(r[ii].(string)); err != nil {
				return err
			}
		}
		return b.InsertRows("certificates", legacy)
	})
	// A row without one is decoded whole: more fields may be set.
	compare("half without summaries", false)
}

// testScanSummaries checks that ScanCertificateSummaries hands out the
// list of ListCertificateSummaries in blocks (more than one for a long
// list), with and without tags, that an error of its function ends the
// scan and comes back, and that a cancelled context does.
func testScanSummaries(t *testing.T, s localstore.Store) {
	var all []*localstore.Certificate
	for i := range 600 {
		c := fullCertificate(fmt.Sprintf("scan-%04d", i))
		c.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		all = append(all, c)
	}
	putCerts(t, s, all...)
	for _, noTags := range []bool{false, true} {
		f := localstore.CertificateFilter{SortBy: "CREATED_AT", Descending: true, NoTags: noTags}
		scanSummaries(t, s, f, len(all))
	}
}

func scanSummaries(t *testing.T, s localstore.Store, f localstore.CertificateFilter, total int) {
	t.Helper()
	var want []*localstore.Certificate
	view(t, s, func(tx localstore.Tx) error {
		var err error
		want, err = tx.ListCertificateSummaries(f)
		return err
	})
	var got []string
	blocks := 0
	view(t, s, func(tx localstore.Tx) error {
		return tx.ScanCertificateSummaries(f, false, func(block []*localstore.Certificate) error {
			blocks++
			for _, c := range block {
				got = append(got, c.ID)
			}
			return nil
		})
	})
	if !slices.Equal(got, ids(want)) || len(got) != total {
		t.Errorf("%s: ScanCertificateSummaries listed %d certificates %q…, ListCertificateSummaries %d", describe(f), len(got), got[:min(3, len(got))], len(want))
	}
	if blocks < 2 {
		t.Errorf("%s: %d certificates came in %d block(s)", describe(f), len(got), blocks)
	}
	// With reuse, what a block's certificates point to is reused from
	// block to block: each block still holds what
	// ListCertificateSummaries does while the function runs.
	n := 0
	view(t, s, func(tx localstore.Tx) error {
		n = 0
		return tx.ScanCertificateSummaries(f, true, func(block []*localstore.Certificate) error {
			for _, c := range block {
				if n >= len(want) {
					return fmt.Errorf("more than the %d certificates listed", len(want))
				}
				if !reflect.DeepEqual(c, want[n]) {
					t.Errorf("%s: with reuse, certificate %d is\n%+v\nwant\n%+v", describe(f), n, c, want[n])
				}
				n++
			}
			return nil
		})
	})
	if n != len(want) {
		t.Errorf("%s: with reuse, %d certificates, want %d", describe(f), n, len(want))
	}
	stop := errors.New("stop")
	calls := 0
	view(t, s, func(tx localstore.Tx) error {
		err := tx.ScanCertificateSummaries(f, false, func([]*localstore.Certificate) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			t.Errorf("%s: ScanCertificateSummaries returned %v, want its function's error", describe(f), err)
		}
		return nil
	})
	if calls != 1 {
		t.Errorf("%s: the function was called %d times after it failed once", describe(f), calls)
	}
	// A context cancelled between blocks ends the scan with the
	// context's error, and the next scan lists everything.
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err := s.View(ctx, func(tx localstore.Tx) error {
		return tx.ScanCertificateSummaries(f, true, func([]*localstore.Certificate) error {
			calls++
			cancel()
			return nil
		})
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("%s: cancelled after the first block: %d block(s), %v; want 1, context.Canceled", describe(f), calls, err)
	}
	n = 0
	view(t, s, func(tx localstore.Tx) error {
		return tx.ScanCertificateSummaries(f, true, func(block []*localstore.Certificate) error {
			n += len(block)
			return nil
		})
	})
	if n != total {
		t.Errorf("%s: after a cancelled scan, %d certificates listed, want %d", describe(f), n, total)
	}
	// A transaction that fails on its own while its context is being
	// cancelled keeps its own error beside the cancellation.
	ctx, cancel = context.WithCancel(context.Background())
	err = s.View(ctx, func(tx localstore.Tx) error {
		_, err := tx.GetCertificate("no-such-certificate")
		cancel()
		return err
	})
	if !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("a View cancelled after it failed with ErrNotFound returned %v", err)
	}
}

// testListLongSummary checks that a certificate with very many SANs (a
// summary of kilobytes, hardly compressible, longer than an index entry may
// be) is stored, and that the summary lists of every order include it
// among the others exactly as ListCertificates does; then that the lists
// are right again once it is gone.
func testListLongSummary(t *testing.T, s localstore.Store) {
	all := summaryFixture()
	long := fullCertificate("id-many-sans")
	long.CreatedAt = t0.Add(90 * time.Second)
	long.NotAfter = t0.Add(36 * time.Hour)
	long.SubjectAlternativeNames = nil
	for i := range 200 {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		long.SubjectAlternativeNames = append(long.SubjectAlternativeNames, hex.EncodeToString(sum[:])+".example.test")
	}
	putCerts(t, s, append(all, long)...)
	filters := []localstore.CertificateFilter{
		{}, {SortBy: "NOT_AFTER"}, {SortBy: "NOT_AFTER", Descending: true, Limit: 5},
		{NotAfterBefore: t0.Add(3 * 24 * time.Hour)}, {Statuses: []string{"ISSUED"}},
	}
	compare := func(when string, n int) {
		t.Helper()
		for fi, f := range filters {
			f.NoTags = true
			full, sums := listBoth(t, s, f)
			if !slices.Equal(ids(sums), ids(full)) {
				t.Errorf("%s: ListCertificateSummaries(%s, NoTags) = %q, ListCertificates %q", when, describe(f), ids(sums), ids(full))
				continue
			}
			for i := range full {
				want := summaryOf(full[i])
				want.Tags, want.UpdatedAt = nil, time.Time{}
				if got := summaryOf(sums[i]); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: NoTags summary of %s:\n got %+v\nwant %+v", when, full[i].ID, got, want)
				}
			}
			if fi == 0 && len(sums) != n {
				t.Errorf("%s: %d certificates listed, want %d", when, len(sums), n)
			}
		}
	}
	compare("with a long summary", len(all)+1)
	update(t, s, func(tx localstore.Tx) error { return tx.DeleteCertificate(long.ID) })
	compare("without it", len(all))
}

// listBoth lists the certificates f selects twice, in one read
// transaction: whole records (ListCertificates) and summaries
// (ListCertificateSummaries).
func listBoth(t *testing.T, s localstore.Store, f localstore.CertificateFilter) (full, sums []*localstore.Certificate) {
	t.Helper()
	view(t, s, func(tx localstore.Tx) error {
		var err error
		if full, err = tx.ListCertificates(f); err != nil {
			return err
		}
		sums, err = tx.ListCertificateSummaries(f)
		return err
	})
	return full, sums
}

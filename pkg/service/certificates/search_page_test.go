package certificates

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/pkg/localstore"
)

// onEachStore runs fn on SQLite and, with CERTCTL_TEST_POSTGRES_URL, on
// PostgreSQL, over a service at t0.
func onEachStore(t *testing.T, fn func(t *testing.T, s *Service)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = pgtest.FreshSchema(t)
			}
			now := t0
			fn(t, newServiceOn(t, &now, url))
		})
	}
}

// tiedVault seeds s's vault with 3×n imported certificates: three runs of
// seed.Imported at the same time, so that certificates are created at the
// same instant three by three (search orders those by ARN, the store by
// ID descending; a page may end within three), more than a block of the
// store's reads.
func tiedVault(t *testing.T, s *Service, n int) {
	t.Helper()
	for range 3 {
		if err := seed.Imported(context.Background(), s.core.Vault, n, t0); err != nil {
			t.Fatal(err)
		}
	}
}

// pageAll walks in's pages, max results a page, and returns the ARNs.
func pageAll(t *testing.T, s *Service, in SearchInput, max int) []string {
	t.Helper()
	var arns []string
	in.MaxItems = max
	for pages := 0; ; pages++ {
		page, err := s.Search(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Results) > max || (page.NextToken != "" && len(page.Results) != max) || pages > 100 {
			t.Fatalf("page %d of %+v: %d results, token %q", pages, in, len(page.Results), page.NextToken)
		}
		for _, r := range page.Results {
			arns = append(arns, r.CertificateArn)
		}
		if page.NextToken == "" {
			return arns
		}
		in.StartingToken = page.NextToken
	}
}

// wantOrder is every certificate of s's vault that keep keeps, sorted by
// less and then by ARN, as search orders them.
func wantOrder(t *testing.T, s *Service, keep func(*localstore.Certificate) bool, less func(a, b *localstore.Certificate) int) []string {
	t.Helper()
	var certs []*localstore.Certificate
	if err := s.core.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		certs, err = tx.ListCertificates(localstore.CertificateFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	certs = slices.DeleteFunc(certs, func(c *localstore.Certificate) bool { return !keep(c) })
	slices.SortFunc(certs, func(a, b *localstore.Certificate) int {
		if c := less(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	arns := make([]string, len(certs))
	for i, c := range certs {
		arns[i] = s.core.Names.CertificateARN(c.ID)
	}
	return arns
}

// Paging a search over a vault larger than a block of the store's reads,
// with certificates created at the same instant, visits every match once,
// in order — in the store's order (CREATED_AT, newest first: pages stop
// reading early and start at the token's time) and in another, for a
// statement judged by summaries and one that needs whole records.
func TestSearchPagesInOrder(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *Service) {
		tiedVault(t, s, 200)
		all := func(*localstore.Certificate) bool { return true }
		odd := func(c *localstore.Certificate) bool {
			return strings.ContainsAny(c.DomainName[len("host00000"):][:1], "13579")
		}
		newest := func(a, b *localstore.Certificate) int { return b.CreatedAt.Compare(a.CreatedAt) }
		expiry := func(a, b *localstore.Certificate) int { return a.NotAfter.Compare(b.NotAfter) }
		for _, tc := range []struct {
			in   SearchInput
			keep func(*localstore.Certificate) bool
			less func(a, b *localstore.Certificate) int
		}{
			{SearchInput{}, all, newest},
			{SearchInput{Query: "san:host*[13579].bulk.example.test"}, odd, newest},
			{SearchInput{Query: "cn:seed.bulk.example.test"}, all, newest}, // the record's subject
			{SearchInput{SortBy: "NOT_AFTER"}, all, expiry},
			{SearchInput{Query: "san:host*[13579].bulk.example.test", SortBy: "NOT_AFTER", SortOrder: "ASCENDING"}, odd, expiry},
			{SearchInput{Query: "cn:seed.bulk.example.test", SortBy: "NOT_AFTER"}, all, expiry},
		} {
			want := wantOrder(t, s, tc.keep, tc.less)
			for _, block := range []int{1024, 64} { // the store read in one block, then in many (review)
				summaryBlock = block
				for _, max := range []int{1000, 100, 7, 1 << 62} { // the last, every one (review: it panicked)
					if got := pageAll(t, s, tc.in, max); !slices.Equal(got, want) {
						t.Errorf("%+v by %d, blocks of %d: %d results, want %d in order (first difference at %d)", tc.in, max, block, len(got), len(want), firstDiff(got, want))
					}
				}
			}
			summaryBlock = 1024
		}
	})
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// countingStore counts the summaries and whole records its reads hand
// out.
type countingStore struct {
	localstore.Store
	summaries, records *int
}

type countingTx struct {
	localstore.Tx
	summaries, records *int
}

func (c countingStore) View(ctx context.Context, fn func(localstore.Tx) error) error {
	return c.Store.View(ctx, func(tx localstore.Tx) error { return fn(countingTx{tx, c.summaries, c.records}) })
}

func (c countingTx) ListCertificates(f localstore.CertificateFilter) ([]*localstore.Certificate, error) {
	certs, err := c.Tx.ListCertificates(f)
	*c.records += len(certs)
	return certs, err
}

// unboundedScans counts the summary scans asked for without a limit: a
// page that stops early would not stop such a scan on PostgreSQL (pgx
// reads a closed query's rows to their end: review).
var unboundedScans int

func (c countingTx) ScanCertificateSummaries(f localstore.CertificateFilter, reuse bool, fn func([]*localstore.Certificate) error) error {
	if f.Limit == 0 {
		unboundedScans++
	}
	return c.Tx.ScanCertificateSummaries(f, reuse, func(b []*localstore.Certificate) error {
		*c.summaries += len(b)
		return fn(b)
	})
}

// A search decodes whole records only for its page and for what its
// statement needs them, and a page in the store's order stops reading
// once it is full (tester: every page read and decoded the whole vault,
// 1.5 s and 377 MB for one result of 100,000).
func TestSearchReadsWhatItNeeds(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *Service) {
		tiedVault(t, s, 700)
		var summaries, records int
		s.core.Vault.Store = countingStore{s.core.Vault.Store, &summaries, &records}
		for _, tc := range []struct {
			in                       SearchInput
			maxSummaries, maxRecords int
		}{
			{SearchInput{MaxItems: 10}, 256, 10},
			{SearchInput{MaxItems: 10, Query: "tag:env=prod"}, 2100, 0},
			{SearchInput{Query: "san:host000123.bulk.example.test"}, 2100, 3}, // one a run
			{SearchInput{MaxItems: 10, SortBy: "NOT_AFTER"}, 2100, 10},
			{SearchInput{MaxItems: 10, Query: "cn:nothing.example.test"}, 0, 2100},
		} {
			summaries, records, unboundedScans = 0, 0, 0
			if _, err := s.Search(context.Background(), tc.in); err != nil {
				t.Fatal(err)
			}
			if unboundedScans > 0 {
				t.Errorf("%+v asked the store for %d scans without a limit", tc.in, unboundedScans)
			}
			if summaries > tc.maxSummaries || records > tc.maxRecords {
				t.Errorf("%+v read %d summaries and %d whole records, want at most %d and %d", tc.in, summaries, records, tc.maxSummaries, tc.maxRecords)
			}
		}
	})
}

// Every term finds with summaries what it finds in whole records (Select
// judges those): a term that reads a field a summary lacks makes search
// read records (search.Statement.Reads).
func TestSearchTermsOnSummaries(t *testing.T) {
	now := t0
	s := newService(t, &now)
	ctx := context.Background()
	for i, name := range []string{"app.internal", "db.internal", "web.example.test"} {
		in := RequestInput{DomainName: name, KeyAlgorithm: "EC_prime256v1", CertificateAuthority: "default"}
		if i == 1 {
			in.Tags = []localstore.Tag{{Key: "env", Value: "prod"}}
			in.KeyAlgorithm = "RSA_2048"
		}
		if _, err := s.Request(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := seed.Imported(ctx, s.core.Vault, 3, t0); err != nil {
		t.Fatal(err)
	}
	sel, err := s.Select(ctx, Selection{Query: "cn:db.internal"})
	if err != nil || len(sel) != 1 {
		t.Fatalf("select: %v, %v", sel, err)
	}
	for _, q := range []string{"cn:db.internal", "cn:*.internal", "serial:" + sel[0].Cert.Serial, "ca:default", "renewal:SUCCESS",
		"tag:env=prod", "tag:env", "san:*.example.test", "key:RSA_2048", "status:ISSUED", "type:PRIVATE", "origin:IMPORTED",
		"in-use:false", "exported:false", "eku:TLS_WEB_SERVER_AUTHENTICATION", "ku:DIGITAL_SIGNATURE", "expires<400d"} {
		sel, err := s.Select(ctx, Selection{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Search(ctx, SearchInput{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, c := range sel {
			want = append(want, c.CertificateArn)
		}
		for _, r := range page.Results {
			got = append(got, r.CertificateArn)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("search %q found %d certificates, its selection %d", q, len(got), len(want))
		}
	}
}

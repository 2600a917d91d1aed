package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// listFixture is a set of certificates whose fields vary with different
// periods, so that filters combine in many ways and every sort key has ties.
// IDs are not in insertion order, so that a backend breaking ties by
// insertion order instead of ID shows.
func listFixture() []*localstore.Certificate {
	statuses := []string{"ISSUED", "EXPIRED", "PENDING_VALIDATION", "REVOKED"}
	algs := []string{"RSA_2048", "EC_prime256v1", "EC_secp384r1"}
	types := []string{"IMPORTED", "PRIVATE", "ISSUED", "PRIVATE", "ISSUED"}
	origins := []string{"IMPORTED", "VAULT", "VAULT", "VAULT", "ACME"}
	elig := []string{"ELIGIBLE", "INELIGIBLE", ""}
	const n = 30
	var out []*localstore.Certificate
	for i := range n {
		c := &localstore.Certificate{
			ID:                 fmt.Sprintf("id-%02d", (i*7)%n),
			DomainName:         fmt.Sprintf("%c.example.test", 'a'+(i*3)%5),
			Status:             statuses[i%len(statuses)],
			KeyAlgorithm:       algs[i%len(algs)],
			Type:               types[i%len(types)],
			KeyPairOrigin:      origins[i%len(origins)],
			RenewalEligibility: elig[i%len(elig)],
			CreatedAt:          t0.Add(time.Duration(i%6) * time.Hour),
		}
		if i%7 != 0 {
			c.NotAfter = t0.Add(time.Duration((i*5)%8) * 24 * time.Hour)
		}
		if i%11 == 4 {
			// RFC 5280's "no well-defined expiration date", past what
			// int64 nanoseconds hold: it must sort and filter last, not
			// wrap around to 1816.
			c.NotAfter = farFuture
		}
		if i%2 == 0 {
			c.ExportOption = "ENABLED"
		}
		if i%3 == 0 {
			c.InUseBy = []string{"svc"}
		}
		out = append(out, c)
	}
	return out
}

// farFuture is 9999-12-31T23:59:59Z, the NotAfter of a certificate that
// does not expire.
var farFuture = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// refMatch is the reference semantics of CertificateFilter.
func refMatch(c *localstore.Certificate, f localstore.CertificateFilter) bool {
	in := func(vals []string, v string) bool { return len(vals) == 0 || slices.Contains(vals, v) }
	switch {
	case !in(f.IDs, c.ID), !in(f.Statuses, c.Status), !in(f.KeyAlgorithms, c.KeyAlgorithm), !in(f.Types, c.Type),
		!in(f.Origins, c.KeyPairOrigin), !in(f.Eligibility, c.RenewalEligibility):
		return false
	case f.Exportable != nil && *f.Exportable != c.Exportable():
		return false
	case f.InUse != nil && *f.InUse != c.InUse():
		return false
	case !f.NotAfterBefore.IsZero() && (c.NotAfter.IsZero() || !c.NotAfter.Before(f.NotAfterBefore)):
		// A certificate without NotAfter (not issued yet) expires never.
		return false
	}
	return true
}

// refSort is the reference order: by the sort key, ties by ID, the whole
// order reversed when descending. A zero NotAfter sorts first ascending.
func refSort(cs []*localstore.Certificate, f localstore.CertificateFilter) {
	slices.SortFunc(cs, func(a, b *localstore.Certificate) int {
		var r int
		switch f.SortBy {
		case "NOT_AFTER":
			r = a.NotAfter.Compare(b.NotAfter)
		case "DOMAIN_NAME":
			r = cmp.Compare(a.DomainName, b.DomainName)
		default:
			r = a.CreatedAt.Compare(b.CreatedAt)
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if f.Descending {
			r = -r
		}
		return r
	})
}

func refList(all []*localstore.Certificate, f localstore.CertificateFilter) []string {
	var out []*localstore.Certificate
	for _, c := range all {
		if refMatch(c, f) {
			out = append(out, c)
		}
	}
	refSort(out, f)
	got := ids(out)
	if f.Offset >= len(got) {
		return []string{}
	}
	got = got[f.Offset:]
	if f.Limit > 0 && f.Limit < len(got) {
		got = got[:f.Limit]
	}
	return got
}

func list(t *testing.T, s localstore.Store, f localstore.CertificateFilter) []string {
	t.Helper()
	var out []string
	view(t, s, func(tx localstore.Tx) error {
		cs, err := tx.ListCertificates(f)
		if err != nil {
			return fmt.Errorf("ListCertificates(%+v): %w", f, err)
		}
		out = ids(cs)
		return nil
	})
	return out
}

func checkList(t *testing.T, s localstore.Store, all []*localstore.Certificate, f localstore.CertificateFilter) {
	t.Helper()
	got, want := list(t, s, f), refList(all, f)
	if !slices.Equal(got, want) {
		t.Errorf("ListCertificates(%s)\n got %q\nwant %q", describe(f), got, want)
	}
}

func describe(f localstore.CertificateFilter) string {
	s := fmt.Sprintf("%+v", f)
	if f.Exportable != nil {
		s += fmt.Sprintf(" Exportable=%v", *f.Exportable)
	}
	if f.InUse != nil {
		s += fmt.Sprintf(" InUse=%v", *f.InUse)
	}
	return s
}

func testListFilters(t *testing.T, s localstore.Store) {
	all := listFixture()
	putCerts(t, s, all...)
	yes, no := true, false
	filters := []localstore.CertificateFilter{
		{},
		{Statuses: []string{"ISSUED"}},
		{Statuses: []string{"EXPIRED", "REVOKED"}},
		{Statuses: []string{"FAILED"}},
		{KeyAlgorithms: []string{"RSA_2048"}},
		{KeyAlgorithms: []string{"EC_prime256v1", "EC_secp384r1"}},
		{Types: []string{"PRIVATE"}},
		{Types: []string{"IMPORTED", "ISSUED"}},
		{Origins: []string{"ACME"}},
		{Origins: []string{"VAULT", "IMPORTED"}},
		{Exportable: &yes},
		{Exportable: &no},
		{InUse: &yes},
		{InUse: &no},
		{Eligibility: []string{"ELIGIBLE"}},
		{Eligibility: []string{"INELIGIBLE", ""}},
		{NotAfterBefore: t0.Add(3 * 24 * time.Hour)},
		{NotAfterBefore: t0.Add(time.Nanosecond)}, // strict: NotAfter == t0 is excluded
		{NotAfterBefore: t0.Add(100 * 24 * time.Hour)},
		{NotAfterBefore: t0.AddDate(300, 0, 0)}, // past 2262 too
		{Statuses: []string{"ISSUED", "EXPIRED"}, Origins: []string{"VAULT"}, InUse: &no},
		{KeyAlgorithms: []string{"RSA_2048"}, Exportable: &yes, NotAfterBefore: t0.Add(5 * 24 * time.Hour)},
		{Types: []string{"PRIVATE"}, Eligibility: []string{"ELIGIBLE"}, InUse: &yes, Exportable: &yes},
		{Statuses: []string{"ISSUED"}, Types: []string{"ACME-nothing"}},
		{IDs: []string{"id-07"}},
		{IDs: []string{"id-03", "id-21", "id-29", "no-such-id"}, SortBy: "DOMAIN_NAME"},
		{IDs: []string{"id-03", "id-21"}, Statuses: []string{"ISSUED", "EXPIRED"}},
		{IDs: []string{"no-such-id"}},
		// A value that looks like SQL changes nothing.
		{Statuses: []string{"ISSUED' OR '1'='1"}},
	}
	// Sanity of the fixture: the filters above select varied subsets.
	if n := len(refList(all, filters[10])); n == 0 || n == len(all) {
		t.Fatalf("fixture: Exportable selects %d of %d", n, len(all))
	}
	for _, f := range filters {
		checkList(t, s, all, f)
		f.Descending = true
		f.SortBy = "NOT_AFTER"
		checkList(t, s, all, f)
	}
}

func testListSort(t *testing.T, s localstore.Store) {
	all := listFixture()
	putCerts(t, s, all...)
	for _, by := range []string{"", "CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"} {
		asc := list(t, s, localstore.CertificateFilter{SortBy: by})
		desc := list(t, s, localstore.CertificateFilter{SortBy: by, Descending: true})
		if len(asc) != len(all) {
			t.Fatalf("sort %q: %d results, want %d", by, len(asc), len(all))
		}
		rev := slices.Clone(desc)
		slices.Reverse(rev)
		if !slices.Equal(asc, rev) {
			t.Errorf("sort %q: descending is not the reverse of ascending\n asc %q\ndesc %q", by, asc, desc)
		}
		checkList(t, s, all, localstore.CertificateFilter{SortBy: by})
		checkList(t, s, all, localstore.CertificateFilter{SortBy: by, Descending: true})
		// Stable: the same query gives the same order every time.
		if again := list(t, s, localstore.CertificateFilter{SortBy: by}); !slices.Equal(asc, again) {
			t.Errorf("sort %q is not stable between queries", by)
		}
	}
}

func testListPaging(t *testing.T, s localstore.Store) {
	all := listFixture()
	putCerts(t, s, all...)
	byID := map[string]*localstore.Certificate{}
	for _, c := range all {
		byID[c.ID] = c
	}
	for _, by := range []string{"CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"} {
		for _, desc := range []bool{false, true} {
			base := localstore.CertificateFilter{SortBy: by, Descending: desc}
			full := list(t, s, base)
			for _, size := range []int{1, 4, 7} {
				var pages []string
				for off := 0; ; off += size {
					f := base
					f.Offset, f.Limit = off, size
					page := list(t, s, f)
					if len(page) > size {
						t.Fatalf("page of %d with limit %d", len(page), size)
					}
					pages = append(pages, page...)
					if len(page) < size {
						break
					}
				}
				if !slices.Equal(pages, full) {
					t.Errorf("sort %s desc=%v: pages of %d\n got %q\nwant %q", by, desc, size, pages, full)
				}
				// The same walk by position (keyset): each page starts
				// after the last certificate of the one before.
				pages = nil
				for f := base; ; {
					f.Limit = size
					page := list(t, s, f)
					pages = append(pages, page...)
					if len(page) < size {
						break
					}
					p := localstore.PositionOf(byID[page[len(page)-1]], by)
					f.After = &p
				}
				if !slices.Equal(pages, full) {
					t.Errorf("sort %s desc=%v: pages of %d after positions\n got %q\nwant %q", by, desc, size, pages, full)
				}
			}
			// After every certificate's position, the list goes on with
			// the certificates after it in the full order, whatever the
			// position's key (a NULL NotAfter included).
			for i, id := range full {
				p := localstore.PositionOf(byID[id], by)
				f := base
				f.After = &p
				if got := list(t, s, f); !slices.Equal(got, full[i+1:]) {
					t.Errorf("sort %s desc=%v: after %s (key %v)\n got %q\nwant %q", by, desc, id, p.Key, got, full[i+1:])
				}
			}
			for _, f := range []localstore.CertificateFilter{
				{Offset: 5}, {Offset: len(all)}, {Offset: len(all) + 10}, {Limit: len(all) + 10},
				{Limit: 3, Offset: len(all) - 2},
			} {
				f.SortBy, f.Descending = by, desc
				checkList(t, s, all, f)
			}
		}
	}
	// Paging over a filter.
	yes := true
	for off := 0; off < 12; off += 5 {
		checkList(t, s, all, localstore.CertificateFilter{InUse: &yes, SortBy: "DOMAIN_NAME", Offset: off, Limit: 5})
	}
}

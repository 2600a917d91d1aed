package inventory

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// testStore opens a SQLite store in a temporary directory holding certs.
func testStore(t *testing.T, certs []*localstore.Certificate) localstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := localstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(ctx, func(tx localstore.Tx) error {
		for _, c := range certs {
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fleet makes n imported certificates host00..; cert i was created at
// t0+i minutes and expires at t0+(i+1) days; even ones are tagged env=prod.
func fleet(n int) []*localstore.Certificate {
	var out []*localstore.Certificate
	for i := 0; i < n; i++ {
		c := &localstore.Certificate{
			ID:                 fmt.Sprintf("%08d-0000-4000-8000-000000000000", i),
			DomainName:         fmt.Sprintf("host%02d.example.test", i),
			Status:             StatusIssued,
			Type:               TypeImported,
			KeyPairOrigin:      OriginImported,
			KeyAlgorithm:       "EC_prime256v1",
			CreatedAt:          t0.Add(time.Duration(i) * time.Minute),
			NotAfter:           t0.Add(time.Duration(i+1) * 24 * time.Hour),
			RenewalEligibility: Ineligible,
			Version:            1,
		}
		if i%2 == 0 {
			c.Tags = []localstore.Tag{{Key: "env", Value: "prod"}}
		}
		out = append(out, c)
	}
	return out
}

func list(t *testing.T, st localstore.Store, q Query) *Page {
	t.Helper()
	var p *Page
	err := st.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		p, err = List(tx, q)
		return err
	})
	if err != nil {
		t.Fatalf("List(%+v): %v", q, err)
	}
	return p
}

func names(certs []*localstore.Certificate) string {
	var s []string
	for _, c := range certs {
		s = append(s, strings.TrimSuffix(c.DomainName, ".example.test"))
	}
	return strings.Join(s, " ")
}

// TestListPagination pages through the store and through the filters
// matched in Go, checking every certificate comes exactly once, in order.
func TestListPagination(t *testing.T) {
	st := testStore(t, fleet(12))
	for _, tc := range []struct {
		name  string
		q     Query
		want  string
		pages int
	}{
		{"store", Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER"}},
			"host00 host01 host02 host03 host04 host05 host06 host07 host08 host09 host10 host11", 3},
		{"newest first", Query{Filter: localstore.CertificateFilter{SortBy: "CREATED_AT", Descending: true}},
			"host11 host10 host09 host08 host07 host06 host05 host04 host03 host02 host01 host00", 3},
		{"tag in Go", Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER"}, Tags: tags("env=prod"), TagValueGiven: []bool{true}},
			"host00 host02 host04 host06 host08 host10", 2},
		{"domain in Go", Query{Filter: localstore.CertificateFilter{SortBy: "DOMAIN_NAME", Descending: true}, Domains: []string{"HOST0?.*"}},
			"host09 host08 host07 host06 host05 host04 host03 host02 host01 host00", 2},
		{"status in Go", Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER", Statuses: []string{StatusIssued}}, Now: t0},
			"host00 host01 host02 host03 host04 host05 host06 host07 host08 host09 host10 host11", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := list(t, st, tc.q)
			if got := names(all.Certificates); got != tc.want || all.NextToken != "" {
				t.Fatalf("unpaginated: %q (token %q), want %q", got, all.NextToken, tc.want)
			}
			q := tc.q
			q.MaxItems = 5
			var seen []string
			pages := 0
			for {
				p := list(t, st, q)
				pages++
				if len(p.Certificates) > 5 {
					t.Fatalf("page of %d", len(p.Certificates))
				}
				if n := names(p.Certificates); n != "" {
					seen = append(seen, n)
				}
				if p.NextToken == "" {
					break
				}
				if pages > 10 {
					t.Fatal("no end")
				}
				q.StartingToken = p.NextToken
			}
			if got := strings.Join(seen, " "); got != tc.want || pages != tc.pages {
				t.Errorf("paged %d pages: %q, want %d: %q", pages, got, tc.pages, tc.want)
			}
		})
	}
}

func TestListExactPageHasNoToken(t *testing.T) {
	st := testStore(t, fleet(10))
	p := list(t, st, Query{MaxItems: 10})
	if len(p.Certificates) != 10 || p.NextToken != "" {
		t.Errorf("10 of 10: %d, token %q", len(p.Certificates), p.NextToken)
	}
	p = list(t, st, Query{MaxItems: 10, Tags: tags("env"), TagValueGiven: []bool{false}})
	if len(p.Certificates) != 5 || p.NextToken != "" {
		t.Errorf("5 tagged: %d, token %q", len(p.Certificates), p.NextToken)
	}
	// A token after the last certificate gives an empty page, not an error.
	last := EncodeCursor(Cursor{Kind: CursorList, SortBy: "CREATED_AT", Desc: true, Nanos: t0.Add(-time.Hour).UnixNano(), ID: "z"})
	p = list(t, st, Query{MaxItems: 5, StartingToken: last, Filter: localstore.CertificateFilter{Descending: true}})
	if len(p.Certificates) != 0 || p.NextToken != "" {
		t.Errorf("past the end: %d, token %q", len(p.Certificates), p.NextToken)
	}
}

func TestListEffectiveStatus(t *testing.T) {
	st := testStore(t, fleet(6))
	now := t0.Add(3*24*time.Hour + time.Hour) // host00..host02 have expired
	p := list(t, st, Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER", Statuses: []string{StatusExpired}}, Now: now})
	if got := names(p.Certificates); got != "host00 host01 host02" {
		t.Errorf("EXPIRED: %q", got)
	}
	for _, c := range p.Certificates {
		if c.Status != StatusExpired {
			t.Errorf("%s listed as %s", c.DomainName, c.Status)
		}
	}
	p = list(t, st, Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER", Statuses: []string{StatusIssued}}, Now: now})
	if got := names(p.Certificates); got != "host03 host04 host05" {
		t.Errorf("ISSUED: %q", got)
	}
	p = list(t, st, Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER"}, Now: now})
	if p.Certificates[0].Status != StatusExpired || p.Certificates[5].Status != StatusIssued {
		t.Errorf("unfiltered statuses: %s, %s", p.Certificates[0].Status, p.Certificates[5].Status)
	}
	// Without a time, the stored status.
	p = list(t, st, Query{Filter: localstore.CertificateFilter{Statuses: []string{StatusExpired}}})
	if len(p.Certificates) != 0 {
		t.Errorf("no Now: %q", names(p.Certificates))
	}

	c := &localstore.Certificate{Status: StatusRevoked, NotAfter: t0}
	if s := EffectiveStatus(c, t0.Add(time.Hour)); s != StatusRevoked {
		t.Errorf("revoked and expired: %s", s)
	}
	c.Status = StatusIssued
	if s := EffectiveStatus(c, t0); s != StatusExpired {
		t.Errorf("at NotAfter: %s", s)
	}
	if s := EffectiveStatus(c, t0.Add(-time.Second)); s != StatusIssued {
		t.Errorf("before NotAfter: %s", s)
	}
}

func TestListFilters(t *testing.T) {
	certs := fleet(4)
	certs[3].RenewalEligibility = "" // shown, and so filtered, as INELIGIBLE
	certs[2].KeyPairOrigin = OriginACME
	st := testStore(t, certs)
	p := list(t, st, Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER", Eligibility: []string{Ineligible}}})
	if got := names(p.Certificates); got != "host00 host01 host03" {
		t.Errorf("INELIGIBLE (ACME left out): %q", got)
	}
	p = list(t, st, Query{Filter: localstore.CertificateFilter{Origins: []string{OriginACME}}})
	if got := names(p.Certificates); got != "host02" {
		t.Errorf("ACME: %q", got)
	}
	p = list(t, st, Query{Domains: []string{"*.example.test"}, Tags: tags("env=prod", "env"), TagValueGiven: []bool{true, false}})
	if got := names(p.Certificates); got != "host00" {
		t.Errorf("tags and domain: %q", got)
	}
	err := st.View(context.Background(), func(tx localstore.Tx) error {
		_, err := List(tx, Query{Domains: []string{"[x"}})
		return err
	})
	if errs.ExitCodeOf(err) != errs.ExitInvalid { // a bad filter (SPEC: 4), as in search
		t.Errorf("bad glob: %v", err)
	}
}

func TestDecodeCursor(t *testing.T) {
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, c := range []Cursor{
		{Kind: CursorList, SortBy: "CREATED_AT", Desc: true, Nanos: 1 << 62, ID: "id"},
		{Kind: CursorList, SortBy: "NOT_AFTER", Missing: true, ID: "id"},
		{Kind: CursorList, SortBy: "DOMAIN_NAME", Text: "a.example.test", ID: "id"},
		{Kind: CursorSearch, SortBy: "IN_USE", Bool: true, ID: "arn:x"},
		{Kind: CursorSearch, SortBy: "NOT_AFTER", At: far, ID: "arn:x"},
		// A name may hold control characters (import takes them).
		{Kind: CursorSearch, SortBy: "COMMON_NAME", Text: "ctl\x1b[31m.example.test\t", ID: "arn:x"},
	} {
		got, err := DecodeCursor(EncodeCursor(c), c.Kind, c.SortBy, c.Desc)
		if err != nil || got == nil || *got != c {
			t.Errorf("round trip %+v: %+v, %v", c, got, err)
		}
	}
	if c, err := DecodeCursor("", CursorList, "CREATED_AT", true); c != nil || err != nil {
		t.Errorf("empty: %+v, %v", c, err)
	}
	old := "bzo1" // an offset token of an older release ("o:5")
	for _, bad := range []string{"x", old, "!!!", "YWJj", EncodeCursor(Cursor{Kind: CursorList, SortBy: "CREATED_AT", Desc: true}),
		// A NUL, or bytes that are not UTF-8 (PostgreSQL refuses both as
		// parameters).
		EncodeCursor(Cursor{Kind: CursorList, SortBy: "CREATED_AT", Desc: true, ID: "a\x00b"}),
		EncodeCursor(Cursor{Kind: CursorList, SortBy: "CREATED_AT", Desc: true, ID: "\x00"}),
		EncodeCursor(Cursor{Kind: CursorList, SortBy: "DOMAIN_NAME", Desc: true, Text: "a\x00b", ID: "x"}),
		base64.RawURLEncoding.EncodeToString([]byte(`k1:{"k":"list","s":"CREATED_AT","d":true,"i":"\xff"}`)),
		// No kind: not a token of this release.
		EncodeCursor(Cursor{SortBy: "CREATED_AT", Desc: true, ID: "x"}),
	} {
		if _, err := DecodeCursor(bad, CursorList, "CREATED_AT", true); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("DecodeCursor(%q): %v, want exit 4", bad, err)
		}
	}
	// A token of another order is refused, saying which.
	tok := EncodeCursor(Cursor{Kind: CursorList, SortBy: "NOT_AFTER", Nanos: 5, ID: "id"})
	_, err := DecodeCursor(tok, CursorList, "DOMAIN_NAME", false)
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "sorted by NOT_AFTER ASCENDING, not DOMAIN_NAME ASCENDING") {
		t.Errorf("another order: %v", err)
	}
	// So is a token of the other command, in the same order: list and
	// search order certificates differently.
	_, err = DecodeCursor(tok, CursorSearch, "NOT_AFTER", false)
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "a NextToken of list, not of search") {
		t.Errorf("a list token given to search: %v", err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", "bzo1", "garbage", EncodeCursor(Cursor{Kind: CursorList, SortBy: "CREATED_AT", Nanos: 12, ID: "a"}),
		EncodeCursor(Cursor{Kind: CursorList, SortBy: "NOT_AFTER", Missing: true, ID: "b"})} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		for _, by := range []string{"CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"} {
			c, err := DecodeCursor(tok, CursorList, by, false)
			if err != nil {
				if errs.ExitCodeOf(err) != errs.ExitInvalid {
					t.Fatalf("%q: %v is not invalid input", tok, err)
				}
				continue
			}
			if tok == "" {
				continue
			}
			if c.ID == "" || c.SortBy != by || c.Desc {
				t.Fatalf("%q decoded to %+v", tok, c)
			}
			if d, err := DecodeCursor(EncodeCursor(*c), CursorList, by, false); err != nil || *d != *c {
				t.Fatalf("%+v does not round-trip: %+v, %v", c, d, err)
			}
		}
	})
}

// TestListPagesWhileTheVaultChanges: walking the pages of a list visits
// every certificate that is there throughout exactly once, however many
// are added or deleted between pages, in every order (a page cut at an
// offset repeated one after an addition and skipped one after a deletion).
func TestListPagesWhileTheVaultChanges(t *testing.T) {
	ctx := context.Background()
	for _, by := range []string{"CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"} {
		for _, desc := range []bool{false, true} {
			certs := fleet(40)
			for _, c := range certs[30:] {
				c.NotAfter = time.Time{} // pending: no NotAfter
			}
			st := testStore(t, certs[:30])
			stays := map[string]bool{}
			for _, c := range certs[:30] {
				stays[c.ID] = true
			}
			var toAdd []*localstore.Certificate = certs[30:]
			seen := map[string]int{}
			q := Query{MaxItems: 4, Filter: localstore.CertificateFilter{SortBy: by, Descending: desc}}
			for page := 0; ; page++ {
				p := list(t, st, q)
				for _, c := range p.Certificates {
					seen[c.ID]++
				}
				// Between pages: add a certificate (some sorting before the
				// position reached, some after) and delete one already seen.
				err := st.Update(ctx, func(tx localstore.Tx) error {
					if len(toAdd) > 0 {
						c := toAdd[0]
						toAdd = toAdd[1:]
						c.CreatedAt = t0.Add(time.Duration(page*7%40) * time.Minute).Add(time.Second)
						c.DomainName = fmt.Sprintf("host%02d.example.test", page*7%40)
						if err := tx.PutCertificate(c); err != nil {
							return err
						}
					}
					if len(p.Certificates) > 0 {
						id := p.Certificates[0].ID
						delete(stays, id)
						return tx.DeleteCertificate(id)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if p.NextToken == "" {
					break
				}
				q.StartingToken = p.NextToken
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("%s %v: %s listed %d times", by, desc, id, n)
				}
			}
			for id := range stays {
				if seen[id] != 1 {
					t.Errorf("%s %v: %s, there throughout, listed %d times", by, desc, id, seen[id])
				}
			}
		}
	}
}

// TestListEligibilityIsJudgedNow: a certificate stored ELIGIBLE whose
// NotAfter has passed lists as EXPIRED and INELIGIBLE, and the eligibility
// filter follows what is shown.
func TestListEligibilityIsJudgedNow(t *testing.T) {
	c := &localstore.Certificate{
		ID: "0f8fad5b-d9cb-469f-a165-70867728950e", DomainName: "app.internal", Status: StatusIssued,
		Type: TypePrivate, KeyPairOrigin: OriginVault, KeyAlgorithm: "EC_prime256v1", CreatedAt: t0,
		NotBefore: t0, NotAfter: t0.Add(24 * time.Hour), Exported: true, RenewalEligibility: Eligible, Version: 1,
	}
	st := testStore(t, []*localstore.Certificate{c})
	list := func(now time.Time, elig ...string) []*localstore.Certificate {
		var p *Page
		err := st.View(context.Background(), func(tx localstore.Tx) error {
			var err error
			p, err = List(tx, Query{Now: now, Filter: localstore.CertificateFilter{Eligibility: elig}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return p.Certificates
	}
	if got := list(t0.Add(time.Hour), Eligible); len(got) != 1 || got[0].Status != StatusIssued {
		t.Fatalf("before expiry: %+v", got)
	}
	later := t0.Add(48 * time.Hour)
	if got := list(later); len(got) != 1 || got[0].Status != StatusExpired || got[0].RenewalEligibility != Ineligible {
		t.Fatalf("after expiry: %+v", got)
	}
	if got := list(later, Eligible); len(got) != 0 {
		t.Fatalf("expired certificate listed as ELIGIBLE")
	}
	if got := list(later, Ineligible); len(got) != 1 {
		t.Fatalf("expired certificate not listed as INELIGIBLE")
	}
}

// Key usage and extended key usage filter as ACM's Includes: a
// certificate with one of the usages named is kept; NONE is a certificate
// without Extended Key Usage, ANY (key usage) one with any key usage.
func TestListUsageFilters(t *testing.T) {
	certs := fleet(4)
	certs[0].KeyUsages, certs[0].ExtendedKeyUsages = []string{"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"},
		[]localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION"}, {Name: "TLS_WEB_CLIENT_AUTHENTICATION"}}
	certs[1].KeyUsages, certs[1].ExtendedKeyUsages = []string{"DIGITAL_SIGNATURE"}, []localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION"}}
	certs[2].KeyUsages, certs[2].ExtendedKeyUsages = []string{"KEY_AGREEMENT"}, []localstore.EKU{{Name: "CUSTOM", OID: "1.2.3.4"}}
	// certs[3]: neither extension.
	st := testStore(t, certs)
	for _, c := range []struct {
		ku, eku []string
		want    string
	}{
		{ku: []string{"KEY_ENCIPHERMENT"}, want: "host00"},
		{ku: []string{"DIGITAL_SIGNATURE"}, want: "host00 host01"},
		{ku: []string{"KEY_ENCIPHERMENT", "KEY_AGREEMENT"}, want: "host00 host02"},
		{ku: []string{"ANY"}, want: "host00 host01 host02"},
		{ku: []string{"CUSTOM"}, want: ""},
		{eku: []string{"TLS_WEB_CLIENT_AUTHENTICATION"}, want: "host00"},
		{eku: []string{"TLS_WEB_SERVER_AUTHENTICATION"}, want: "host00 host01"},
		{eku: []string{"NONE"}, want: "host03"},
		{eku: []string{"CUSTOM", "NONE"}, want: "host02 host03"},
		{ku: []string{"DIGITAL_SIGNATURE"}, eku: []string{"TLS_WEB_CLIENT_AUTHENTICATION"}, want: "host00"},
	} {
		p := list(t, st, Query{Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER"}, KeyUsages: c.ku, ExtendedKeyUsages: c.eku})
		if got := names(p.Certificates); got != c.want {
			t.Errorf("key usage %v, extended %v: %q, want %q", c.ku, c.eku, got, c.want)
		}
	}
}

// TestRecordedAsCoversEffectiveStatus: whatever a certificate is judged to
// be at any time, RecordedAs of that status holds its recorded status — so
// a store selecting RecordedAs(s) reads every certificate judged s (list,
// search). A new rule in EffectiveStatus that RecordedAs does not know
// fails here.
func TestRecordedAsCoversEffectiveStatus(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	times := []time.Time{{}, now.AddDate(-1, 0, 0), now.Add(-time.Second), now, now.Add(time.Second), now.AddDate(1, 0, 0)}
	for _, st := range append(slices.Clone(Statuses), "") {
		for _, notAfter := range times {
			for _, created := range times {
				for _, at := range times {
					c := &localstore.Certificate{Status: st, NotAfter: notAfter, NotBefore: created, CreatedAt: created}
					judged := EffectiveStatus(c, at)
					if !slices.Contains(RecordedAs(judged), st) {
						t.Fatalf("recorded %s (NotAfter %v, created %v) is judged %s at %v, but RecordedAs(%s) = %v",
							st, notAfter, created, judged, at, judged, RecordedAs(judged))
					}
				}
			}
		}
	}
	if got := RecordedAs(StatusRevoked, StatusExpired); !slices.Equal(got, []string{StatusRevoked, StatusExpired, StatusIssued}) {
		t.Errorf("RecordedAs(REVOKED, EXPIRED) = %v", got)
	}
}

package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/localstore"
)

// fullRecords is a transaction whose summary lists decode whole records:
// List as it was before the summary column.
type fullRecords struct{ localstore.Tx }

func (t fullRecords) ListCertificateSummaries(f localstore.CertificateFilter) ([]*localstore.Certificate, error) {
	return t.ListCertificates(f)
}

func (t fullRecords) ScanCertificateSummaries(f localstore.CertificateFilter, _ bool, fn func([]*localstore.Certificate) error) error {
	all, err := t.ListCertificates(f)
	if err != nil || len(all) == 0 {
		return err
	}
	return fn(all)
}

// variedFleet is a fleet whose every listed and filtered field varies:
// statuses (some ISSUED past their NotAfter), types, origins (ACME too),
// key types and usages, SANs, tags, use, export and eligibility.
func variedFleet(n int) []*localstore.Certificate {
	statuses := []string{StatusIssued, StatusIssued, StatusRevoked, StatusPendingValidation, StatusExpired, StatusFailed}
	types := []string{TypeImported, TypePrivate, TypeIssued}
	origins := []string{OriginImported, OriginVault, OriginVault, OriginACME}
	algs := []string{"EC_prime256v1", "RSA_2048", "EC_secp384r1"}
	out := fleet(n)
	for i, c := range out {
		c.Status = statuses[i%len(statuses)]
		c.Type = types[i%len(types)]
		c.KeyPairOrigin = origins[i%len(origins)]
		c.KeyAlgorithm = algs[i%len(algs)]
		c.NotAfter = t0.Add(time.Duration(i%40-10) * 24 * time.Hour)
		c.NotBefore = t0.Add(-time.Duration(i) * time.Hour)
		c.SubjectAlternativeNames = []string{c.DomainName, fmt.Sprintf("alt%d.other.test", i%7)}
		if i%5 == 0 {
			c.SubjectAlternativeNames = nil
		}
		switch i % 4 {
		case 0:
			c.KeyUsages = []string{"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"}
			c.ExtendedKeyUsages = []localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1"}}
		case 1:
			c.KeyUsages = []string{"DIGITAL_SIGNATURE"}
			c.ExtendedKeyUsages = []localstore.EKU{{Name: "TLS_WEB_CLIENT_AUTHENTICATION"}, {Name: "CUSTOM", OID: "1.2.3.4"}}
		case 2:
			c.ExtendedKeyUsages = []localstore.EKU{{Name: "ANY", OID: "2.5.29.37.0"}}
		}
		if i%3 == 0 {
			c.InUseBy = []string{"nginx"}
		}
		if i%6 == 1 {
			c.Exported, c.ExportOption = true, "ENABLED"
		}
		if i%7 == 2 {
			c.Tags = append(c.Tags, localstore.Tag{Key: "team", Value: fmt.Sprint(i % 3)})
		}
		if c.Type == TypeImported {
			c.ImportedAt = c.CreatedAt
		} else {
			c.IssuedAt = c.CreatedAt
		}
		if c.Status == StatusRevoked {
			c.RevokedAt = c.CreatedAt.Add(time.Hour)
		}
		UpdateEligibility(c, t0)
		if i%9 == 4 {
			c.RenewalEligibility = ""
		}
	}
	return out
}

// listPages runs q page by page (following NextToken) in tx and returns
// each page's summaries and token as JSON.
func listPages(t *testing.T, st localstore.Store, wrap func(localstore.Tx) localstore.Tx, q Query) []string {
	t.Helper()
	var pages []string
	for range 100 {
		var p *Page
		err := st.View(context.Background(), func(tx localstore.Tx) (err error) {
			p, err = List(wrap(tx), q)
			return err
		})
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		sums := make([]Summary, 0, len(p.Certificates))
		for _, c := range p.Certificates {
			sums = append(sums, NewSummary(Names{Region: "local", Account: "000000000000"}, c))
		}
		b, err := json.Marshal(struct {
			S []Summary
			N string
		}{sums, p.NextToken})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, string(b))
		if p.NextToken == "" {
			return pages
		}
		q.StartingToken = p.NextToken
	}
	t.Fatalf("List(%+v): more than 100 pages", q)
	return nil
}

// TestListSummariesAsRecords: listing from summaries gives, for every
// filter, sort and page size, exactly what listing whole records gave, on
// SQLite and PostgreSQL.
func TestListSummariesAsRecords(t *testing.T) {
	certs := variedFleet(90)
	stores := map[string]func(t *testing.T) localstore.Store{
		"sqlite": func(t *testing.T) localstore.Store {
			st, err := localstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vault.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) localstore.Store {
			st, err := localstore.OpenPostgres(context.Background(), pgtest.FreshSchema(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	no := false
	yes := true
	queries := []Query{
		{},
		{MaxItems: 7},
		{Filter: localstore.CertificateFilter{Statuses: []string{StatusIssued}}, MaxItems: 5},
		{Filter: localstore.CertificateFilter{Statuses: []string{StatusExpired, StatusRevoked}}},
		{Filter: localstore.CertificateFilter{KeyAlgorithms: []string{"RSA_2048"}, Types: []string{TypePrivate, TypeIssued}}},
		{Filter: localstore.CertificateFilter{Origins: []string{OriginACME, OriginVault}}, MaxItems: 4},
		{Filter: localstore.CertificateFilter{Eligibility: []string{Ineligible}}},
		{Filter: localstore.CertificateFilter{Eligibility: []string{Eligible}, Exportable: &yes}},
		{Filter: localstore.CertificateFilter{InUse: &yes, Statuses: []string{StatusIssued}}, MaxItems: 2},
		{Filter: localstore.CertificateFilter{Exportable: &no, SortBy: "NOT_AFTER"}, MaxItems: 9},
		{Filter: localstore.CertificateFilter{NotAfterBefore: t0.Add(10 * 24 * time.Hour), SortBy: "DOMAIN_NAME", Descending: true}},
		{Domains: []string{"alt3.*", "host1*"}, MaxItems: 3},
		{KeyUsages: []string{"KEY_ENCIPHERMENT"}},
		{KeyUsages: []string{KeyUsageAny}, MaxItems: 6},
		{ExtendedKeyUsages: []string{"CUSTOM", "NONE"}},
		{ExtendedKeyUsages: []string{"ANY"}, Filter: localstore.CertificateFilter{SortBy: "NOT_AFTER", Descending: true}},
		{Tags: []localstore.Tag{{Key: "env", Value: "prod"}}, TagValueGiven: []bool{true}, MaxItems: 8},
		{Tags: []localstore.Tag{{Key: "team"}}, TagValueGiven: []bool{false}},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			if name == "postgres" {
				pgtest.URL(t)
			}
			st := open(t)
			err := st.Update(context.Background(), func(tx localstore.Tx) error {
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
			for _, q := range queries {
				q.Now = t0
				old := listPages(t, st, func(tx localstore.Tx) localstore.Tx { return fullRecords{tx} }, q)
				got := listPages(t, st, func(tx localstore.Tx) localstore.Tx { return tx }, q)
				if len(old) != len(got) {
					t.Errorf("%+v: %d pages, from records %d", q, len(got), len(old))
					continue
				}
				for i := range old {
					if old[i] != got[i] {
						t.Errorf("%+v: page %d\n got %s\nwant %s", q, i+1, got[i], old[i])
					}
				}
				if len(old) == 1 && old[0] == `{"S":[],"N":""}` {
					t.Errorf("%+v lists nothing: a weak comparison", q)
				}
			}
		})
	}
}

// TestRenderMatchesNewSummary checks that the summaries of a page,
// made in a few allocations, are those NewSummary makes one by one.
func TestRenderMatchesNewSummary(t *testing.T) {
	fleet := variedFleet(60)
	many := make([]string, maxSANSummaries+3)
	for i := range many {
		many[i] = fmt.Sprintf("n%d.example.test", i)
	}
	fleet[3].SubjectAlternativeNames = many
	fleet[4].ExtendedKeyUsages = []localstore.EKU{{Name: "TLS_WEB_CLIENT_AUTHENTICATION"}, {Name: "CUSTOM", OID: "1.2.3"}}
	fleet[5].NotBefore, fleet[5].RevokedAt, fleet[5].IssuedAt = time.Time{}, time.Time{}, time.Time{}
	n := Names{Region: "eu-west-3", Account: "123456789012"}
	got := newSummaries(n, fleet)
	if len(got) != len(fleet) {
		t.Fatalf("%d summaries of %d certificates", len(got), len(fleet))
	}
	for i, c := range fleet {
		want, err := json.Marshal(NewSummary(n, c))
		if err != nil {
			t.Fatal(err)
		}
		have, err := json.Marshal(got[i])
		if err != nil {
			t.Fatal(err)
		}
		if string(have) != string(want) {
			t.Errorf("certificate %d: render\n%s\nNewSummary\n%s", i, have, want)
		}
	}
	if s := newSummaries(n, nil); s == nil || len(s) != 0 {
		t.Errorf("newSummaries(nil) = %#v, want an empty list (JSON [])", s)
	}
}

// TestSummaryRendererReuse: a renderer renders each block as NewSummary
// does while reusing its arrays from block to block (that a kept block is
// not reused is TestListEach's, in the certificates service).
func TestSummaryRendererReuse(t *testing.T) {
	fleet := variedFleet(40)
	fleet[4].ExtendedKeyUsages = []localstore.EKU{{Name: "TLS_WEB_CLIENT_AUTHENTICATION"}, {Name: "CUSTOM", OID: "1.2.3"}}
	fleet[5].NotBefore, fleet[5].RevokedAt = time.Time{}, time.Time{}
	n := Names{Region: "eu-west-3", Account: "123456789012"}
	marshal := func(s []Summary) string {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, reuse := range []bool{false, true} {
		r := summaryRenderer{reuse: reuse}
		first := r.render(n, fleet[:20])
		want := marshal(newSummaries(n, fleet[:20]))
		if got := marshal(first); got != want {
			t.Fatalf("reuse %v: the first block renders differently:\n%s\nwant\n%s", reuse, got, want)
		}
		firstCreated, firstARN := first[0].CreatedAt, first[0].CertificateArn
		second := r.render(n, fleet[20:])
		if &second[0] != &first[0] || second[0].CreatedAt != firstCreated {
			t.Errorf("reuse %v: the second block did not reuse the first's arrays", reuse)
		}
		if got := marshal(second); got != marshal(newSummaries(n, fleet[20:])) {
			t.Errorf("reuse %v: the second block renders differently:\n%s", reuse, got)
		}
		// The ARNs are new strings, or (reuse) written over the first
		// block's.
		if sameARN := unsafe.StringData(firstARN) == unsafe.StringData(second[0].CertificateArn); sameARN != reuse {
			t.Errorf("reuse %v: the second block's ARNs share the first's memory: %v", reuse, sameARN)
		}
	}
}

// newSummaries renders certs with a renderer of their own.
func newSummaries(n Names, certs []*localstore.Certificate) []Summary {
	var r summaryRenderer
	return r.render(n, certs)
}

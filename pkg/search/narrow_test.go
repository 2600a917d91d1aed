package search

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// keeps reports whether a store reading only n's certificates reads c.
func keeps(n Narrowing, c *localstore.Certificate) bool {
	in := func(set []string, v string) bool { return set == nil || slices.Contains(set, v) }
	return in(n.IDs, c.ID) && in(n.Types, c.Type) && in(n.KeyAlgorithms, c.KeyAlgorithm) && in(n.Statuses, c.Status)
}

// stored is a certificate as the store records it; judged, the same as a
// search judges it at now (inventory.AsOf).
type storedAndJudged struct {
	stored *localstore.Certificate
	judged *Subject
}

// TestNarrowingNeverDropsAMatch: over random statements of ARN, type, key
// algorithm and status filters under And, Or and Not, every certificate a
// statement matches (as judged at now: an ISSUED certificate past its
// NotAfter is EXPIRED) is one its narrowing keeps (as the store records
// it).
func TestNarrowingNeverDropsAMatch(t *testing.T) {
	var subjects []storedAndJudged
	for _, id := range []string{"a", "b", "c"} {
		for _, typ := range []string{"IMPORTED", "PRIVATE"} {
			for _, alg := range []string{"RSA_2048", "EC_prime256v1"} {
				for _, st := range []string{"ISSUED", "EXPIRED", "REVOKED"} {
					for _, days := range []int{-1, 1} {
						c := &localstore.Certificate{ID: fmt.Sprint(id, typ, alg, st, days), Type: typ, KeyAlgorithm: alg, Status: st,
							NotAfter: now.AddDate(0, 0, days)}
						j := *c
						inventory.AsOf(&j, now)
						subjects = append(subjects, storedAndJudged{c, &Subject{Cert: &j, CertificateArn: testARN + c.ID}})
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(v ...string) *string { return &v[r.IntN(len(v))] }
	var gen func(depth int) Statement
	gen = func(depth int) Statement {
		k := r.IntN(7)
		if depth == 0 {
			k = 3 + r.IntN(4)
		}
		switch k {
		case 0, 1:
			kids := make([]Statement, 1+r.IntN(3))
			for i := range kids {
				kids[i] = gen(depth - 1)
			}
			if k == 0 {
				return Statement{And: kids}
			}
			return Statement{Or: kids}
		case 2:
			s := gen(depth - 1)
			return Statement{Not: &s}
		case 3:
			return Statement{Filter: &Filter{CertificateArn: &subjects[r.IntN(len(subjects))].stored.ID}}
		case 4:
			return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Type: pick("IMPORTED", "PRIVATE")}}}
		case 5:
			return Statement{Filter: &Filter{X509AttributeFilter: &X509Filter{KeyAlgorithm: pick("RSA_2048", "EC_prime256v1")}}}
		}
		return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Status: pick("ISSUED", "EXPIRED", "REVOKED")}}}
	}
	narrowed := 0
	for range 20000 {
		s := gen(3)
		n := s.Narrow()
		kept := 0
		for _, x := range subjects {
			if keeps(n, x.stored) {
				kept++
			} else if s.Match(x.judged) {
				j, _ := json.Marshal(s)
				t.Fatalf("%s matches %s (%s as judged), which its narrowing %+v leaves out", j, x.stored.ID, x.judged.Cert.Status, n)
			}
		}
		if kept < len(subjects) {
			narrowed++
		}
	}
	if narrowed < 8000 {
		t.Errorf("only %d of 20,000 statements narrowed what a store reads", narrowed)
	}
}

// TestNarrow: what a search by ARN, type or key algorithm reads.
func TestNarrow(t *testing.T) {
	arn := func(id string) Statement { return Statement{Filter: &Filter{CertificateArn: &id}} }
	typ := func(v string) Statement {
		return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Type: &v}}}
	}
	statusIs := func(v string) Statement {
		return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Status: &v}}}
	}
	issued := statusIs("ISSUED")
	cases := []struct {
		name string
		s    *Statement
		want Narrowing
	}{
		{"nothing", nil, Narrowing{}},
		{"one ARN", &Statement{And: []Statement{arn("a"), issued}}, Narrowing{IDs: []string{"a"}, Statuses: []string{"ISSUED"}}},
		{"either ARN", &Statement{Or: []Statement{arn("a"), arn("b")}}, Narrowing{IDs: []string{"a", "b"}}},
		{"an ARN or a status", &Statement{Or: []Statement{arn("a"), issued}}, Narrowing{}},
		{"expired or revoked", &Statement{Or: []Statement{statusIs("EXPIRED"), statusIs("REVOKED")}},
			Narrowing{Statuses: []string{"EXPIRED", "ISSUED", "REVOKED"}}},
		{"two ARNs at once", &Statement{And: []Statement{arn("a"), arn("b")}}, Narrowing{IDs: []string{}}},
		{"not an ARN", &Statement{Not: &Statement{Or: []Statement{arn("a")}}}, Narrowing{}},
		{"ARNs and a type", &Statement{And: []Statement{{Or: []Statement{arn("a"), arn("b")}}, typ("PRIVATE"), arn("b")}},
			Narrowing{IDs: []string{"b"}, Types: []string{"PRIVATE"}}},
	}
	for _, c := range cases {
		got := c.s.Narrow()
		if !slices.Equal(got.IDs, c.want.IDs) || (got.IDs == nil) != (c.want.IDs == nil) ||
			!slices.Equal(got.Types, c.want.Types) || (got.Types == nil) != (c.want.Types == nil) || got.KeyAlgorithms != nil ||
			!slices.Equal(got.Statuses, c.want.Statuses) || (got.Statuses == nil) != (c.want.Statuses == nil) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		if got.None() != (c.name == "two ARNs at once") {
			t.Errorf("%s: None() = %v", c.name, got.None())
		}
	}
}

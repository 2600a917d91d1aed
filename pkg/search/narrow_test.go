package search

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// keeps reports whether a store reading only n's certificates reads c.
func keeps(n Narrowing, c *localstore.Certificate) bool {
	in := func(set []string, v string) bool { return set == nil || slices.Contains(set, v) }
	return in(n.IDs, c.ID) && in(n.Types, c.Type) && in(n.KeyAlgorithms, c.KeyAlgorithm)
}

// TestNarrowingNeverDropsAMatch: over random statements of ARN, type, key
// algorithm and status filters under And, Or and Not, every certificate a
// statement matches is one its narrowing keeps.
func TestNarrowingNeverDropsAMatch(t *testing.T) {
	var subjects []*Subject
	for _, id := range []string{"a", "b", "c"} {
		for _, typ := range []string{"IMPORTED", "PRIVATE"} {
			for _, alg := range []string{"RSA_2048", "EC_prime256v1"} {
				for _, st := range []string{"ISSUED", "REVOKED"} {
					c := &localstore.Certificate{ID: id + typ + alg + st, Type: typ, KeyAlgorithm: alg, Status: st}
					subjects = append(subjects, &Subject{Cert: c, CertificateArn: "arn:certctl:acm:local:0:certificate/" + c.ID})
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
			return Statement{Filter: &Filter{CertificateArn: &subjects[r.IntN(len(subjects))].Cert.ID}}
		case 4:
			return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Type: pick("IMPORTED", "PRIVATE")}}}
		case 5:
			return Statement{Filter: &Filter{X509AttributeFilter: &X509Filter{KeyAlgorithm: pick("RSA_2048", "EC_prime256v1")}}}
		}
		return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Status: pick("ISSUED", "REVOKED")}}}
	}
	narrowed := 0
	for range 20000 {
		s := gen(3)
		n := s.Narrow()
		kept := 0
		for _, x := range subjects {
			if keeps(n, x.Cert) {
				kept++
			} else if s.Match(x) {
				j, _ := json.Marshal(s)
				t.Fatalf("%s matches %s, which its narrowing %+v leaves out", j, x.Cert.ID, n)
			}
		}
		if kept < len(subjects) {
			narrowed++
		}
	}
	if narrowed < 5000 {
		t.Errorf("only %d of 20,000 statements narrowed what a store reads", narrowed)
	}
}

// TestNarrow: what a search by ARN, type or key algorithm reads.
func TestNarrow(t *testing.T) {
	arn := func(id string) Statement { return Statement{Filter: &Filter{CertificateArn: &id}} }
	typ := func(v string) Statement {
		return Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Type: &v}}}
	}
	status := "ISSUED"
	issued := Statement{Filter: &Filter{AcmCertificateMetadataFilter: &MetadataFilter{Status: &status}}}
	cases := []struct {
		name string
		s    *Statement
		want Narrowing
	}{
		{"nothing", nil, Narrowing{}},
		{"one ARN", &Statement{And: []Statement{arn("a"), issued}}, Narrowing{IDs: []string{"a"}}},
		{"either ARN", &Statement{Or: []Statement{arn("a"), arn("b")}}, Narrowing{IDs: []string{"a", "b"}}},
		{"an ARN or a status", &Statement{Or: []Statement{arn("a"), issued}}, Narrowing{}},
		{"two ARNs at once", &Statement{And: []Statement{arn("a"), arn("b")}}, Narrowing{IDs: []string{}}},
		{"not an ARN", &Statement{Not: &Statement{Or: []Statement{arn("a")}}}, Narrowing{}},
		{"ARNs and a type", &Statement{And: []Statement{{Or: []Statement{arn("a"), arn("b")}}, typ("PRIVATE"), arn("b")}},
			Narrowing{IDs: []string{"b"}, Types: []string{"PRIVATE"}}},
	}
	for _, c := range cases {
		got := c.s.Narrow()
		if !slices.Equal(got.IDs, c.want.IDs) || (got.IDs == nil) != (c.want.IDs == nil) ||
			!slices.Equal(got.Types, c.want.Types) || (got.Types == nil) != (c.want.Types == nil) || got.KeyAlgorithms != nil {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		if got.None() != (c.name == "two ARNs at once") {
			t.Errorf("%s: None() = %v", c.name, got.None())
		}
	}
}

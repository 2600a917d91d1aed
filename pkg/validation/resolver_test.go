package validation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// tamperedResolver is a resolver over a test DNS server that serves
// lines (zone file syntax) and lets tamper change every reply. It counts
// the queries the server receives.
func tamperedResolver(t *testing.T, tamper func(q dns.Question, m *dns.Msg), lines ...string) (*Resolver, *atomic.Int64) {
	t.Helper()
	d := validationtest.StartDNS(t)
	d.Add(t, lines...)
	var queries atomic.Int64
	d.SetTamper(func(q dns.Question, m *dns.Msg) {
		queries.Add(1)
		if tamper != nil {
			tamper(q, m)
		}
	})
	r, err := NewResolver([]string{d.Addr})
	if err != nil {
		t.Fatal(err)
	}
	r.Timeout = time.Second
	return r, &queries
}

// checkNoPanic runs fn, failing the test on a panic instead of ending it,
// so that every case of a table reports.
func checkNoPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: panic: %v", name, p)
		}
	}()
	fn()
}

// TestResolverRefusesAReplyToAnotherQuestion: miekg/dns pairs a reply with
// its query by the message ID only, so the resolver itself refuses a reply
// whose question section is not the question asked (a reply without one
// used to panic) as a failed lookup, whatever it answers.
func TestResolverRefusesAReplyToAnotherQuestion(t *testing.T) {
	const name = "dns.lab.test"
	ka := "tok.thumb"
	for _, tc := range []struct {
		name   string
		tamper func(q dns.Question, m *dns.Msg)
		ok     bool
	}{
		{"untouched", nil, true},
		{"name in another case", func(q dns.Question, m *dns.Msg) { m.Question[0].Name = strings.ToUpper(q.Name) }, true},
		{"no question", func(q dns.Question, m *dns.Msg) { m.Question = nil }, false},
		{"no question, no answer", func(q dns.Question, m *dns.Msg) { m.Question, m.Answer = nil, nil }, false},
		{"two questions", func(q dns.Question, m *dns.Msg) { m.Question = append(m.Question, q) }, false},
		{"another name", func(q dns.Question, m *dns.Msg) { m.Question[0].Name = "other.lab.test." }, false},
		{"another type", func(q dns.Question, m *dns.Msg) { m.Question[0].Qtype = dns.TypeMX }, false},
		{"another class", func(q dns.Question, m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, false},
	} {
		// Only the TXT reply is tampered with: CAA, asked first, passes.
		r, _ := tamperedResolver(t, func(q dns.Question, m *dns.Msg) {
			if q.Qtype == dns.TypeTXT && tc.tamper != nil {
				tc.tamper(q, m)
			}
		}, `_acme-challenge.`+name+`. 60 IN TXT "`+DNS01Value(ka)+`"`)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		checkNoPanic(t, tc.name, func() {
			_, err := r.lookup(ctx, "_acme-challenge."+name, dns.TypeTXT)
			if tc.ok && err != nil {
				t.Errorf("%s: lookup: %v", tc.name, err)
			}
			if !tc.ok && !errors.Is(err, ErrLookup) {
				t.Errorf("%s: lookup gave %v, want ErrLookup", tc.name, err)
			}
			c := &ChallengeChecker{Resolver: r, CAAIdentities: []string{"certctl.local"}, Timeout: 2 * time.Second}
			want := ProblemDNS
			if tc.ok {
				want = ""
			}
			wantFailure(t, tc.name, c.Check(ctx, ChallengeDNS01, name, false, "tok", ka), want)
		})
		cancel()
	}
}

// TestResolverUnchasedCNAMEIsAskedAbout: a server that answers an alias
// without chasing it is asked about the target (the comparison is with the
// name queried, not with anything in the reply), and a reply that keeps
// answering another name fails at once instead of being asked again.
func TestResolverUnchasedCNAMEIsAskedAbout(t *testing.T) {
	ka := "tok.thumb"
	const alias, target = "_acme-challenge.dns.lab.test.", "_acme-challenge.delegated.lab.test."
	r, queries := tamperedResolver(t, nil, alias+" 60 IN CNAME "+target, target+` 60 IN TXT "`+DNS01Value(ka)+`"`)
	rrs, err := r.lookup(context.Background(), alias, dns.TypeTXT)
	if err != nil || len(rrs) != 1 || !strings.EqualFold(rrs[0].Header().Name, target) {
		t.Fatalf("lookup through an unchased alias: %v, %v", rrs, err)
	}
	if n := queries.Load(); n != 2 {
		t.Errorf("%d queries, want 2 (the alias, then its target)", n)
	}

	// A server that answers every query about another name, with nothing:
	// one query per server, then a failure.
	r, queries = tamperedResolver(t, func(q dns.Question, m *dns.Msg) {
		m.Question[0].Name = "elsewhere.lab.test."
		m.Answer = nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.lookup(ctx, alias, dns.TypeTXT); !errors.Is(err, ErrLookup) {
		t.Errorf("lookup answered about another name: %v, want ErrLookup", err)
	}
	if n := queries.Load(); n != 1 {
		t.Errorf("%d queries, want 1", n)
	}
}

// TestHTTP01ReplyWithoutQuestionWhileDialing: http-01 resolves the name in
// http.Transport's dial goroutine, where a panic nobody recovers ends the
// process; a reply without a question section there is a dns failure.
func TestHTTP01ReplyWithoutQuestionWhileDialing(t *testing.T) {
	r, _ := tamperedResolver(t, func(q dns.Question, m *dns.Msg) {
		if q.Qtype == dns.TypeA {
			m.Question, m.Answer = nil, nil
		}
	}, "web.lab.test. 60 IN A 127.0.0.1")
	c := &ChallengeChecker{Resolver: r, CAAIdentities: []string{"certctl.local"}, HTTPPort: unusedPort(t), Timeout: 2 * time.Second}
	got := c.Check(context.Background(), ChallengeHTTP01, "web.lab.test", false, "tok", "tok.thumb")
	wantFailure(t, "A reply without a question", got, ProblemDNS)
	if got != nil && !strings.Contains(got.Detail, "another question") {
		t.Errorf("detail %q does not say why", got.Detail)
	}
}

// TestFetchDialPanicFailsTheFetch: whatever panics while http.Transport
// dials (in its own goroutine) fails the fetch instead of ending the
// process; the operator's log gets the panic and its stack, the client an
// internal error only. A checker without a resolver stands for a bug
// there.
func TestFetchDialPanicFailsTheFetch(t *testing.T) {
	var logged []string
	h := &HTTPChecker{Timeout: 2 * time.Second, Logf: func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) }}
	_, f := h.Fetch(context.Background(), "web.lab.test", "http://web.lab.test/.well-known/acme-challenge/tok")
	if f == nil || f.Problem != ProblemConnection || !strings.Contains(f.Detail, "internal error") || strings.Contains(f.Detail, "nil pointer") {
		t.Errorf("got %v, want a connection failure naming an internal error, and no more", f)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "nil pointer") || !strings.Contains(logged[0], "goroutine") {
		t.Errorf("logged %q, want the panic and its stack", logged)
	}
}

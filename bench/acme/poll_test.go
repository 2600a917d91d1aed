package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// fakeServer answers each path with the status it is given, as JSON, and
// with a Retry-After of a second when the path is in retry.
type fakeServer struct {
	status map[string]string
	retry  map[string]bool
}

func (f fakeServer) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	if f.retry[r.URL.Path] {
		h.Set("Retry-After", "1")
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"status":"` + f.status[r.URL.Path] + `"}`))}, nil
}

// The client waits only between two polls of the same pending resource:
// the first look after acting on it, and a POST to another URL, go at
// once; the waits start at a tenth of the poll interval and double up to
// it; a HEAD (a nonce) neither polls nor interrupts a poll; every answer
// that leaves the client to poll — by its status or by a Retry-After of
// its own — is handed on with a Retry-After in the past.
func TestCountingTransportPollsLikeAFastClient(t *testing.T) {
	const poll = time.Hour
	srv := fakeServer{
		status: map[string]string{"/order": "pending", "/authz": "pending", "/chall": "processing",
			"/final": "processing", "/ord1": "processing", "/done": "valid", "/nonce": "", "/later": "valid"},
		retry: map[string]bool{"/ord1": true, "/later": true},
	}
	var slept []time.Duration
	tr := &countingTransport{base: srv, n: new(atomic.Int64), slept: new(atomic.Int64), poll: poll,
		sleep: func(d time.Duration) { slept = append(slept, d) }}
	steps := []struct {
		method, path string
		wait         time.Duration // 0: none
	}{
		{"POST", "/order", 0}, // new order: pending, not a poll
		{"POST", "/authz", 0}, // first look at the authorization
		{"POST", "/chall", 0}, // the challenge answered
		{"POST", "/authz", 0}, // first poll after the challenge: another URL came between
		{"POST", "/authz", poll / 10},
		{"HEAD", "/nonce", 0}, // a nonce between two polls interrupts nothing
		{"POST", "/authz", poll / 5},
		{"POST", "/authz", 2 * poll / 5},
		{"POST", "/authz", 4 * poll / 5},
		{"POST", "/authz", poll}, // doubled up to the interval, no further
		{"POST", "/authz", poll},
		{"POST", "/final", 0},
		{"POST", "/ord1", 0}, // processing, with the server's own Retry-After
		{"POST", "/ord1", poll / 10},
		{"POST", "/done", 0},
		{"POST", "/done", 0},  // a repeat of a valid answer never waits
		{"POST", "/later", 0}, // valid, but with a Retry-After: rewritten too
		{"POST", "/later", poll / 10},
		{"POST", "/authz", 0}, // pending
		{"POST", "/done", 0},  // a POST that leaves nothing to poll comes between
		{"POST", "/authz", 0}, // so this is a first look again, not a repeat
	}
	for i, st := range steps {
		before := len(slept)
		req, _ := http.NewRequest(st.method, "https://acme.test"+st.path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var got time.Duration
		if len(slept) > before {
			got = slept[before]
		}
		// The recorder does not sleep: a wait is what remains of its
		// interval since the previous answer, microseconds ago.
		if got > st.wait || st.wait-got > time.Second || (st.wait == 0) != (got == 0) {
			t.Errorf("step %d (%s %s): waited %v, want %v", i, st.method, st.path, got, st.wait)
		}
		leavesToPoll := srv.status[st.path] == "pending" || srv.status[st.path] == "processing" || srv.retry[st.path]
		if ra := resp.Header.Get("Retry-After"); (ra == pastDate) != leavesToPoll || (leavesToPoll && ra != pastDate) {
			t.Errorf("step %d (%s): Retry-After %q", i, st.path, ra)
		}
	}
	if n := tr.n.Load(); n != int64(len(steps)) {
		t.Errorf("counted %d requests, want %d", n, len(steps))
	}
	var total time.Duration
	for _, d := range slept {
		total += d
	}
	if got := time.Duration(tr.slept.Load()); got != total {
		t.Errorf("slept counter %v, the waits add up to %v", got, total)
	}
}

// The stock client through the transport, against a small ACME server
// whose authorization stays pending for three polls after its challenge
// is answered: the client looks at the authorization, answers the
// challenge, then polls at once, after a tenth of the interval, a fifth
// and two fifths (valid), and no request is held for a whole second of
// the server's Retry-After.
func TestStockClientPollsThroughTransport(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Replay-Nonce", fmt.Sprintf("n%d", time.Now().UnixNano()))
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/dir":
			json.NewEncoder(w).Encode(map[string]string{"newNonce": base + "/nonce", "newAccount": base + "/acct", "newOrder": base + "/new-order"})
		case "/nonce":
		case "/authz":
			status := "pending"
			if polls++; polls > 4 { // GetAuthorization's look, then three pending polls
				status = "valid"
			}
			w.Header().Set("Retry-After", "1")
			fmt.Fprintf(w, `{"status":%q,"identifier":{"type":"dns","value":"a.test"},"challenges":[{"type":"http-01","url":%q,"token":"t","status":"pending"}]}`, status, base+"/chall")
		case "/chall":
			fmt.Fprintf(w, `{"type":"http-01","url":%q,"token":"t","status":"processing"}`, base+"/chall")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base = srv.URL
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const poll = time.Second
	var slept []time.Duration
	var smu sync.Mutex
	tr := &countingTransport{base: srv.Client().Transport, n: new(atomic.Int64), slept: new(atomic.Int64), poll: poll,
		sleep: func(d time.Duration) { smu.Lock(); slept = append(slept, d); smu.Unlock(); time.Sleep(d) }}
	c := &acme.Client{Key: key, KID: acme.KeyID(base + "/acct/1"), DirectoryURL: base + "/dir", HTTPClient: &http.Client{Transport: tr}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	z, err := c.GetAuthorization(ctx, base+"/authz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Accept(ctx, z.Challenges[0]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.WaitAuthorization(ctx, base+"/authz"); err != nil {
		t.Fatal(err)
	}
	if polls != 5 {
		t.Errorf("%d requests for the authorization, want 5", polls)
	}
	want := []time.Duration{poll / 10, poll / 5, 2 * poll / 5}
	ok := len(slept) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = slept[i] <= want[i] && slept[i] > want[i]/2
	}
	if !ok {
		t.Errorf("waits before the polls: %v, want about %v", slept, want)
	}
	// A Retry-After of the server's own would have held the client a
	// second a poll, 3 s in all; the waits add up to 0.7 s.
	if d := time.Since(start); d >= 2500*time.Millisecond {
		t.Errorf("the polls took %v: the server's Retry-After was honoured", d)
	}
}

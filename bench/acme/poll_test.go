package main

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer answers each URL with the status it is given, as JSON.
type fakeServer map[string]string

func (f fakeServer) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"status":"` + f[r.URL.Path] + `"}`))}, nil
}

// The client waits only between two polls of the same pending resource:
// the first look after acting on it, and a request to another URL, go at
// once; every answer that leaves the client to poll is handed on with a
// Retry-After in the past.
func TestCountingTransportPollsLikeAFastClient(t *testing.T) {
	srv := fakeServer{"/order": "pending", "/authz": "pending", "/chall": "processing", "/final": "processing", "/done": "valid"}
	var slept []time.Duration
	tr := &countingTransport{base: srv, n: new(atomic.Int64), poll: time.Hour,
		sleep: func(d time.Duration) { slept = append(slept, d) }}
	steps := []struct {
		path string
		wait bool
	}{
		{"/order", false}, // new order: pending, not a poll
		{"/authz", false}, // first look at the authorization
		{"/chall", false}, // the challenge answered
		{"/authz", false}, // first poll after the challenge: another URL came between
		{"/authz", true},  // a repeat poll of the same pending authorization
		{"/authz", true},
		{"/final", false},
		{"/done", false},
		{"/done", false}, // a repeat of a valid answer never waits
	}
	for i, st := range steps {
		before := len(slept)
		req, _ := http.NewRequest(http.MethodPost, "https://acme.test"+st.path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if waited := len(slept) > before; waited != st.wait {
			t.Errorf("step %d (%s): waited %v, want %v", i, st.path, waited, st.wait)
		}
		if len(slept) > before && (slept[before] <= 0 || slept[before] > time.Hour) {
			t.Errorf("step %d: slept %v, want at most the poll interval", i, slept[before])
		}
		pending := srv[st.path] != "valid"
		if got := resp.Header.Get("Retry-After") == pastDate; got != pending {
			t.Errorf("step %d (%s): Retry-After %q", i, st.path, resp.Header.Get("Retry-After"))
		}
	}
	if n := tr.n.Load(); n != int64(len(steps)) {
		t.Errorf("counted %d requests, want %d", n, len(steps))
	}
}

package acmeserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyIsTheClientsFault: a body that does not arrive within the
// server's read timeout is answered as the client's fault (408, malformed),
// not as an internal error (tester: 500 serverInternal, "context
// canceled" in the log, alerting on a slow client).
func TestSlowBodyIsTheClientsFault(t *testing.T) {
	f := newFixture(t, "NOT_REQUIRED")
	ts := httptest.NewUnstartedServer(f.srv)
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.Start()
	defer ts.Close()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "POST /" + f.ep.ID + "/new-account HTTP/1.1\r\nHost: x\r\nContent-Type: application/jose+json\r\nContent-Length: 2000\r\n\r\n{\"protected\""
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "urn:ietf:params:acme:error:malformed") {
		t.Errorf("slow body: %d %s", resp.StatusCode, body)
	}
}

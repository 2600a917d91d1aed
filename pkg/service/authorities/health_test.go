package authorities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestResponderHealthz: `ca serve` answers /healthz as `endpoint serve`
// does (service.Health): 200 while its store answers, 503 once it does
// not, GET and HEAD only (tester: the CRL and OCSP responder had none).
func TestResponderHealthz(t *testing.T) {
	s := realService(t, "")
	var logged []string
	h, err := s.Responder(context.Background(), func(format string, a ...any) { logged = append(logged, format) })
	if err != nil {
		t.Fatal(err)
	}
	get := func(method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/healthz", nil))
		return rec
	}
	if rec := get("GET"); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET /healthz: %d %q", rec.Code, rec.Body.String())
	}
	if rec := get("POST"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d", rec.Code)
	}
	s.core.Vault.Store.Close()
	if rec := get("GET"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "store unavailable") {
		t.Errorf("GET /healthz with the store closed: %d %q", rec.Code, rec.Body.String())
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "healthz: store does not answer") {
		t.Errorf("logged %q", logged)
	}
}

package acmeserver

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/certctl/certctl/pkg/errs"
)

// TestInternalConnectionEnded: a request whose database connection the
// server ended (pg_terminate_backend, a restart) is answered 503 with
// Retry-After — the store did not answer — even when the store answers
// again by the time the server looks (tester: 500 "internal error" then);
// a failure of the work itself is a 500.
func TestInternalConnectionEnded(t *testing.T) {
	f := newFixture(t, "NOT_REQUIRED")
	ended := fmt.Errorf("redeeming a nonce: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
	if p := f.srv.internal(ended); p.Status != http.StatusServiceUnavailable || p.headers["Retry-After"] == "" {
		t.Errorf("connection ended: %d %v", p.Status, p.headers)
	}
	if p := f.srv.internal(errors.New("something else")); p.Status != http.StatusInternalServerError {
		t.Errorf("another error: %d", p.Status)
	}
	// A CA key that cannot be reached now (a PKCS#11 token that is down,
	// exit 6) is retried later too (tester: 500, no Retry-After).
	down := errs.VaultErrorf("the PKCS#11 token %q (pkcs11.token_label) could not sign: is it present?", "t")
	if p := f.srv.internal(down); p.Status != http.StatusServiceUnavailable || p.headers["Retry-After"] == "" {
		t.Errorf("token down: %d %v", p.Status, p.headers)
	}
}

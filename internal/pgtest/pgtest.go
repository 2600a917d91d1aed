// Package pgtest gives tests a PostgreSQL store of their own: a fresh,
// uniquely named schema of the server named by CERTCTL_TEST_POSTGRES_URL,
// dropped when the test ends. Without that variable the test is skipped,
// unless CERTCTL_REQUIRE_INTEROP=1 (as in CI) makes that a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL is the server of the PostgreSQL tests (the test is skipped, or fails
// under CERTCTL_REQUIRE_INTEROP=1, without one).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CERTCTL_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" {
			t.Fatal("CERTCTL_TEST_POSTGRES_URL is not set and CERTCTL_REQUIRE_INTEROP=1")
		}
		t.Skip("CERTCTL_TEST_POSTGRES_URL is not set")
	}
	return u
}

// FreshSchema creates a uniquely named, empty schema, drops it when the test
// ends, and returns a store URL whose search_path selects it.
func FreshSchema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	var b [8]byte
	rand.Read(b[:])
	name := "certctl_test_" + hex.EncodeToString(b[:])
	admin := func(q string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, q)
		return err
	}
	if err := admin("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := admin("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

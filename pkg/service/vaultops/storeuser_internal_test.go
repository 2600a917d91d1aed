package vaultops

import "testing"

// TestStoreUser: vault migrate's "the store in use" needs the same user as
// well as the same database and parameters: another user's default
// search_path ("$user", public) may be another schema (review).
func TestStoreUser(t *testing.T) {
	for in, want := range map[string]string{
		"postgres:postgres://alice:xxxxx@db.internal/certctl?sslmode=disable": "alice",
		"postgres:postgres://bob@db.internal/certctl":                         "bob",
		"postgres:postgres://db.internal/certctl":                             "",
		"sqlite:/srv/certctl/vault.db":                                        "",
		"sqlite:/srv/alice@host/vault.db":                                     "",
	} {
		if got := storeUser(in); got != want {
			t.Errorf("storeUser(%q) = %q, want %q", in, got, want)
		}
	}
}

package localstore

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCanonicalStore: one store, however reached, is one witness identity
// — a database path through a symbolic link, a PostgreSQL URL with or
// without its user and password, its parameters in another order, with
// connection-only parameters, a host in capitals, the default port — and
// two stores (another schema, database or host) are two (tester: a second
// path let a rolled-back log pass).
func TestCanonicalStore(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, DatabaseFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	want := canonicalStore("sqlite:" + filepath.Join(real, DatabaseFile))
	for _, id := range []string{"sqlite:" + filepath.Join(link, DatabaseFile), "sqlite:" + filepath.Join(real, ".", DatabaseFile)} {
		if got := canonicalStore(id); got != want {
			t.Errorf("canonicalStore(%s) = %s, want %s", id, got, want)
		}
	}
	if got := canonicalStore("sqlite:" + filepath.Join(link, "new.db")); got != "sqlite:"+filepath.Join(real, "new.db") {
		t.Errorf("a database not made yet, through the link: %s", got)
	}
	same := []string{
		"postgres:postgres://certctl@db.example.test/certctl?search_path=a",
		"postgres:postgres://certctl:xxxxx@db.example.test:5432/certctl?search_path=a&sslmode=disable",
		"postgres:postgres://other@DB.example.test:5432/certctl?application_name=x&search_path=a",
	}
	for _, id := range same[1:] {
		if a, b := canonicalStore(same[0]), canonicalStore(id); a != b {
			t.Errorf("one store, two identities: %s and %s", a, b)
		}
	}
	for _, other := range []string{
		"postgres:postgres://certctl@db.example.test/certctl?search_path=b",
		"postgres:postgres://certctl@db.example.test/other?search_path=a",
		"postgres:postgres://certctl@db2.example.test/certctl?search_path=a",
		"postgres:postgres://certctl@db.example.test:5433/certctl?search_path=a",
	} {
		if canonicalStore(other) == canonicalStore(same[0]) {
			t.Errorf("%s reads as the same store as %s", other, same[0])
		}
	}
}

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// The allocation ceilings: tests (run with the others, in CI) that fail
// when a hot path allocates more than it does today, counted with
// testing.AllocsPerRun — a count, not a time, so a busy machine cannot
// make them fail. The paths that go over a whole vault (list, ca crl,
// ca audit-report) are measured by what one more item costs:
// the same command over a small and a larger vault, the difference
// divided by the items between them, so that a change which makes a
// stream hold or re-decode every record (allocations growing with the
// vault) fails even while its fixed cost stays the same. The paths a
// server or a scheduled renewal runs once an item (an issuance) have a
// ceiling per operation.
//
// A ceiling is today's figure with room for noise (map growth, the
// runtime's own allocations in another goroutine); a change that needs
// more must raise it here, saying why.

// marginalAllocs is what one more item costs: run(small) and run(large)
// each measured over a few runs, their difference divided by
// large-small.
func marginalAllocs(t *testing.T, small, large int, setup func(n int) func()) float64 {
	t.Helper()
	runSmall, runLarge := setup(small), setup(large)
	a := testing.AllocsPerRun(3, runSmall)
	b := testing.AllocsPerRun(3, runLarge)
	return (b - a) / float64(large-small)
}

// allocBackend opens a new, empty vault of a backend: its directory and
// the arguments that make certctl use the same store.
type allocBackend struct {
	name string
	open func(t *testing.T) (*localstore.Vault, []string)
}

// allocBackends are SQLite and, with CERTCTL_TEST_POSTGRES_URL set (as
// CI sets it), PostgreSQL — each vault there in a schema of its own,
// dropped after the test.
func allocBackends(t *testing.T) []allocBackend {
	backends := []allocBackend{{"SQLite", func(t *testing.T) (*localstore.Vault, []string) {
		v, err := localstore.Open(context.Background(), filepath.Join(t.TempDir(), "vault"), localstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return v, nil
	}}}
	base := os.Getenv("CERTCTL_TEST_POSTGRES_URL")
	if base == "" {
		return backends
	}
	schemas := 0
	return append(backends, allocBackend{"PostgreSQL", func(t *testing.T) (*localstore.Vault, []string) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		schemas++
		schema := fmt.Sprintf("certctl_alloc_%d_%d", os.Getpid(), schemas)
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if conn, err := pgx.Connect(ctx, base); err == nil {
				conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck // best effort
				conn.Close(ctx)
			}
		})
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		url := base + sep + "search_path=" + schema
		v, err := localstore.Open(ctx, t.TempDir(), localstore.Options{StoreURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return v, []string{"--store", url}
	}})
}

// importedVault seeds n imported certificates.
func importedVault(t *testing.T, v *localstore.Vault, n int) {
	seedImported(t, v, n)
}

// caVault makes the default private CA, which issued n certificates (one
// in ten revoked) and revoked n more serials.
func caVault(t *testing.T, v *localstore.Vault, n int) {
	_, rec := defaultCA(t, v)
	seedIssued(t, v, rec.ID, n)
	seedRevoked(t, v, rec.ID, n)
}

func TestAllocationsPerItem(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds vaults of thousands of records")
	}
	cases := []struct {
		name    string
		seed    func(*testing.T, *localstore.Vault, int)
		args    []string
		ceiling float64 // allocations per item
		// argsOf, when set, adds arguments naming what the seeded vault
		// holds.
		argsOf func(*testing.T, *localstore.Vault) []string
	}{
		// Summaries decoded into memory reused page after page, written
		// as they come: 0.02 a certificate (2026-12-06).
		{"list -o json", importedVault, []string{"list", "-o", "json"}, 0.5, nil},
		// A text line is a slice of strings and the expiry's text: 2.09.
		{"list -o text", importedVault, []string{"list", "-o", "text"}, 3, nil},
		// Each summary encoded alone, through its JSON, as a YAML node
		// tree (output.YAMLList): 422; held whole it was 1.5 GB over
		// 50,000 certificates.
		{"list -o yaml", importedVault, []string{"list", "-o", "yaml"}, 500, nil},
		// A twelfth of the vault expires within 30 days: 0.16.
		{"list --expiring-within 30d -o text", importedVault, []string{"list", "--expiring-within", "30d", "-o", "text"}, 0.5, nil},
		// Each revoked serial encoded as read, into the signed buffer: 0.00.
		{"ca crl default --der", caVault, []string{"ca", "crl", "default", "--der"}, 0.5, nil},
		// The report is built whole, an entry of strings per certificate
		// (serial, ARN, three or four dates): 34.2.
		{"ca audit-report default --format JSON", caVault, []string{"ca", "audit-report", "default", "--format", "JSON"}, 42, nil},
		// A search by ARN looks its certificate up (search.Narrowing):
		// 0.00; it read and judged every certificate, 47 allocations a
		// certificate, before.
		{"search --filter-statement (one certificate ARN)", importedVault, []string{"search", "-o", "json"}, 0.5, oneCertificateFilter},
	}
	for _, be := range allocBackends(t) {
		for _, c := range cases {
			t.Run(be.name+"/"+c.name, func(t *testing.T) {
				per := marginalAllocs(t, 500, 2500, func(n int) func() {
					v, pre := be.open(t)
					c.seed(t, v, n)
					args := append(pre, c.args...)
					if c.argsOf != nil {
						args = append(args, c.argsOf(t, v)...)
					}
					dir := v.Dir
					if err := v.Close(); err != nil {
						t.Fatal(err)
					}
					return func() { runCLI(t, dir, args...) }
				})
				t.Logf("%s, %s: %.2f allocations per item", be.name, c.name, per)
				if per > c.ceiling {
					t.Errorf("%s on %s allocates %.2f times per item, over its ceiling of %.2f", c.name, be.name, per, c.ceiling)
				}
			})
		}
	}
}

// oneCertificateFilter is a filter statement selecting the vault's newest
// certificate by its ID.
func oneCertificateFilter(t *testing.T, v *localstore.Vault) []string {
	var id string
	if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		cs, err := tx.ListCertificates(localstore.CertificateFilter{Descending: true, Limit: 1})
		if err == nil && len(cs) == 1 {
			id = cs[0].ID
		}
		return err
	}); err != nil || id == "" {
		t.Fatalf("the vault's newest certificate: %q, %v", id, err)
	}
	return []string{"--filter-statement", `{"Filter":{"CertificateArn":"` + id + `"}}`}
}

// TestAllocationsPerIssuance: one durable issuance through the
// certificates service, as `request --certificate-authority-arn default`
// and renewals make it (key, leaf, sealed key, record, audit record, one
// commit).
func TestAllocationsPerIssuance(t *testing.T) {
	ctx := context.Background()
	v, err := localstore.Open(ctx, filepath.Join(t.TempDir(), "vault"), localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	now := func() time.Time { return time.Now().UTC() }
	core := benchCore(v, authority.New(v, now, "http://pki.bench.example.test"))
	svc := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour})
	i := 0
	request := func() {
		i++
		if _, err := svc.Request(ctx, certificates.RequestInput{DomainName: fmt.Sprintf("host%d.alloc.example.test", i),
			CertificateAuthority: "default", KeyAlgorithm: "EC_prime256v1"}); err != nil {
			t.Fatal(err)
		}
	}
	request() // the default CA, made once
	// 1245 (2026-12-06, one caller: every issuance its own commit).
	underCeiling(t, "an issuance", request, 1500)
}

// underCeiling fails t when op allocates more than ceiling times a run
// (counted over 20 runs).
func underCeiling(t *testing.T, what string, op func(), ceiling float64) {
	t.Helper()
	per := testing.AllocsPerRun(20, op)
	t.Logf("%s: %.0f allocations", what, per)
	if per > ceiling {
		t.Errorf("%s allocates %.0f times, over its ceiling of %.0f", what, per, ceiling)
	}
}

// TestAllocationsPerCaIssue: `ca issue` once the command has read the CSR
// (BenchmarkCaIssue): the CSR parsed and checked, the template applied,
// the serial reserved, the certificate signed and recorded with its audit
// record in one commit.
func TestAllocationsPerCaIssue(t *testing.T) {
	svc, ca := issueService(t)
	req := issueRequest(t)
	ctx := context.Background()
	issue := func() {
		if _, err := svc.Issue(ctx, ca, req); err != nil {
			t.Fatal(err)
		}
	}
	issue()
	// 1047 (2026-12-06).
	underCeiling(t, "ca issue", issue, 1300)
}

// TestAllocationsPerACMEOrder: one whole ACME order (BenchmarkACMEOrder:
// new order, authorization, finalize, download), the client's allocations
// and the server's together.
func TestAllocationsPerACMEOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("an ACME server and client in-process")
	}
	one := acmeOrderer(t)
	one(0) // directory, account, first nonce, connection
	i := 1
	// 4546 (2026-12-06).
	underCeiling(t, "an ACME order", func() {
		one(i)
		i++
	}, 5500)
}

package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/pkg/localstore"
)

// counter counts what is written to it and keeps none of it, as a pipe to
// /dev/null would (runCLI's buffer would grow to megabytes each run).
// runList runs certctl in-process against vault with its output
// discarded, and returns how many bytes it wrote (failing b when none).
func runList(b *testing.B, vault string, args ...string) int {
	b.Helper()
	n := runCLI(b, vault, args...)
	if n == 0 {
		b.Fatalf("certctl %v wrote nothing", args)
	}
	return n
}

// listVaults are the vaults of the list benchmarks, seeded once per test
// binary and size (a million records take minutes), then reused.
var (
	listMu     sync.Mutex
	listVaults = map[int]string{}
)

// listVault returns a closed vault of n imported certificates (as
// bench/cmd/seed writes them). With BENCH_LIST_DIR set, the vault is
// BENCH_LIST_DIR/vN and is seeded only if absent, so that a large one is
// seeded once across runs.
func listVault(b *testing.B, n int) string {
	b.Helper()
	listMu.Lock()
	defer listMu.Unlock()
	if dir, ok := listVaults[n]; ok {
		return dir
	}
	var dir string
	if base := os.Getenv("BENCH_LIST_DIR"); base != "" {
		dir = filepath.Join(base, "v"+strconv.Itoa(n))
	} else {
		tmp, err := os.MkdirTemp("", "certctl-bench-list-")
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(tmp, "vault")
	}
	if _, err := os.Stat(filepath.Join(dir, "vault.db")); err != nil {
		v, err := localstore.Open(context.Background(), dir, localstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		seedImported(b, v, n)
		if err := v.Close(); err != nil {
			b.Fatal(err)
		}
	}
	listVaults[n] = dir
	return dir
}

// BenchmarkList10kJSON is `certctl list -o json` in-process over
// BENCH_LIST_N (default 10,000) imported certificates: every summary, as
// JSON (aim: the whole process within 50 ms).
func BenchmarkList10kJSON(b *testing.B) {
	n := envInt("BENCH_LIST_N", 10000)
	dir := listVault(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	cpu0 := cpuSeconds(b)
	for b.Loop() {
		size = runList(b, dir, "list", "-o", "json")
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(size)/float64(n), "B/cert")
}

// BenchmarkListFirstPage1M is `certctl list --max-items 100 -o json` over
// BENCH_LIST_BIG_N (default 100,000; bench/run.sh and the aim: 1,000,000)
// imported certificates (aim: 100 ms whole-process).
func BenchmarkListFirstPage1M(b *testing.B) {
	dir := listVault(b, envInt("BENCH_LIST_BIG_N", 100000))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds(b)
	for b.Loop() {
		runList(b, dir, "list", "--max-items", "100", "-o", "json")
	}
	reportCPU(b, cpu0)
}

// BenchmarkListExpiring1M is `certctl list --expiring-within 30d -o text`
// over BENCH_LIST_BIG_N (default 100,000; the aim: 1,000,000) imported
// certificates, a twelfth of which expire within 30 days (aim: 2 s).
func BenchmarkListExpiring1M(b *testing.B) {
	dir := listVault(b, envInt("BENCH_LIST_BIG_N", 100000))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds(b)
	for b.Loop() {
		runList(b, dir, "list", "--expiring-within", "30d", "-o", "text")
	}
	reportCPU(b, cpu0)
}

// reportCPU reports the CPU time (user and system, every thread) an
// iteration took since cpu0: on a shared machine a steadier figure than
// the wall time.
func reportCPU(b *testing.B, cpu0 float64) {
	b.ReportMetric((cpuSeconds(b)-cpu0)*1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkSeedImported is internal/seed.Imported writing BENCH_SEED_N
// (default 20,000) imported-certificate records into a new SQLite vault,
// as bench/cmd/seed does for bench/run.sh (a million per backend there).
func BenchmarkSeedImported(b *testing.B) {
	n := envInt("BENCH_SEED_N", 20000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		v, err := localstore.Open(ctx, filepath.Join(b.TempDir(), "vault"), localstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := seed.Imported(ctx, v, n, time.Now().UTC()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := v.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkList10kJSONPostgres is BenchmarkList10kJSON on PostgreSQL:
// BENCH_LIST_N (default 10,000) imported certificates in a schema of
// their own (created, seeded as bench/cmd/seed does, then dropped) of the
// server at BENCH_POSTGRES_URL; skipped without it.
func BenchmarkList10kJSONPostgres(b *testing.B) {
	base := os.Getenv("BENCH_POSTGRES_URL")
	if base == "" {
		b.Skip("BENCH_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := "certctl_benchlist_" + strconv.Itoa(os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck // best effort
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	url := base + sep + "search_path=" + schema
	dir := b.TempDir()
	n := envInt("BENCH_LIST_N", 10000)
	v, err := localstore.Open(ctx, dir, localstore.Options{StoreURL: url})
	if err != nil {
		b.Fatal(err)
	}
	seedImported(b, v, n)
	if err := v.Close(); err != nil {
		b.Fatal(err)
	}
	if err := seed.VacuumAnalyze(ctx, url); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	cpu0 := cpuSeconds(b)
	for b.Loop() {
		size = runList(b, dir, "--store", url, "list", "-o", "json")
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(size)/float64(n), "B/cert")
}

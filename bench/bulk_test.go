package bench

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/pkg/localstore"
)

// seedImported writes n imported-certificate records straight through
// pkg/localstore, as bench/cmd/seed does (internal/seed).
func seedImported(b testing.TB, v *localstore.Vault, n int) {
	b.Helper()
	if err := seed.Imported(context.Background(), v, n, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBulkTag is `certctl tags add --query-terse 'san:*.bulk.example.test'
// --tags wave=N --yes -o json` in-process over a vault of BENCH_BULK_N
// (default 10,000) imported certificates, every one of which the selection
// matches and each iteration changes (a new value of the tag each time):
// the selection, the plan, and one recorded AddTagsToCertificate change
// per certificate. It reports certificates tagged per second and the
// allocations per certificate; bench/bulk.sh measures the whole process
// over 100,000 (aim: under 10 s).
func BenchmarkBulkTag(b *testing.B) {
	n := envInt("BENCH_BULK_N", 10000)
	v, err := localstore.Open(context.Background(), filepath.Join(b.TempDir(), "vault"), localstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	seedImported(b, v, n)
	dir := v.Dir
	v.Close()
	i := 0
	b.ReportAllocs()
	cpu0 := cpuSeconds(b)
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for b.Loop() {
		i++
		if size := runCLI(b, dir, "tags", "add", "--query-terse", "san:*.bulk.example.test", "--tags", "wave="+strconv.Itoa(i), "--yes", "-o", "json"); size < n*50 {
			b.Fatalf("%d bytes of results for %d certificates", size, n)
		}
	}
	// CPU time is what to compare on a shared machine: wall time (ns/op)
	// grows with the load.
	b.ReportMetric((cpuSeconds(b)-cpu0)/float64(b.N), "cpu-s/op")
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(n*b.N), "allocs/cert")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// cpuSeconds is the CPU time (user and system) this process has used.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

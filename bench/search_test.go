package bench

import "testing"

// BenchmarkSearchFirstPage is `certctl search --max-items 100 -o json`
// in-process over BENCH_SEARCH_N (default 20,000) imported certificates:
// the first page of every certificate, newest first, which should cost
// about what list's first page does, not a read of the whole vault.
func BenchmarkSearchFirstPage(b *testing.B) {
	benchSearch(b, "search", "--max-items", "100", "-o", "json")
}

// BenchmarkSearchSAN is `certctl search san:HOST -o json` over
// BENCH_SEARCH_N (default 20,000) imported certificates, one of which has
// HOST: every certificate is judged, by its summary, and one is shown.
func BenchmarkSearchSAN(b *testing.B) {
	benchSearch(b, "search", "san:host000123.bulk.example.test", "-o", "json")
}

// BenchmarkSearchSortedFirstPage is `certctl search --sort-by NOT_AFTER
// --max-items 100 -o json` over BENCH_SEARCH_N (default 20,000) imported
// certificates: a sort other than the store's reads every certificate, but
// keeps only the page's best.
func BenchmarkSearchSortedFirstPage(b *testing.B) {
	benchSearch(b, "search", "--sort-by", "NOT_AFTER", "--max-items", "100", "-o", "json")
}

// benchSearch runs certctl with args over the search benchmarks' vault.
func benchSearch(b *testing.B, args ...string) {
	dir := listVault(b, envInt("BENCH_SEARCH_N", 20000))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds(b)
	for b.Loop() {
		runList(b, dir, args...)
	}
	reportCPU(b, cpu0)
}

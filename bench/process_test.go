package bench

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
)

// BenchmarkProcessListFirstPage runs a built certctl as a user does,
// `certctl list --max-items 1 -o json` over a small vault, one process an
// iteration: process start, package initialisation, the vault's opening
// and one page. Besides the time it reports the page faults of each
// process (faults/op, from its rusage): on a virtual machine where each
// first touch of a page costs about 10 µs, the heap's huge pages
// (pkg/fastpath's hugeheap_linux.go, given where a touch is that slow:
// faultcost_linux.go) are what keep this figure down.
func BenchmarkProcessListFirstPage(b *testing.B) {
	h, err := testbin.BuildWith("certctl-bench-", testbin.BuildOptions{Env: []string{"CGO_ENABLED=0"}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	vault := filepath.Join(h.Dir, "vault")
	for _, name := range []string{"a.bench.example.test", "b.bench.example.test"} {
		runCLI(b, vault, "request", "--domain-name", name, "--certificate-authority-arn", "default",
			"--key-algorithm", "EC_prime256v1")
	}
	var faults int64
	for b.Loop() {
		cmd := exec.Command(h.Bin, "--vault", vault, "list", "--max-items", "1", "-o", "json")
		cmd.Env = h.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("certctl list: %v\n%s", err, out)
		}
		faults += cmd.ProcessState.SysUsage().(*syscall.Rusage).Minflt
	}
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}

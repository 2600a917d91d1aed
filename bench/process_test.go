package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkProcessListFirstPage runs a built certctl as a user does,
// `certctl list --max-items 1 -o json` over a small vault, one process an
// iteration: process start, package initialisation, the vault's opening
// and one page. Besides the time it reports the page faults of each
// process (faults/op, from its rusage): on a virtual machine each first
// touch of a page costs about 10 µs, and the heap's huge pages
// (pkg/fastpath's hugeheap_linux.go) are what keep this figure down.
func BenchmarkProcessListFirstPage(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "certctl")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/certctl/certctl/cmd/certctl")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	vault := filepath.Join(dir, "vault")
	for _, name := range []string{"a.bench.example.test", "b.bench.example.test"} {
		runCLI(b, vault, "request", "--domain-name", name, "--certificate-authority-arn", "default",
			"--key-algorithm", "EC_prime256v1")
	}
	var faults int64
	for b.Loop() {
		cmd := exec.Command(bin, "--vault", vault, "list", "--max-items", "1", "-o", "json")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("certctl list: %v\n%s", err, out)
		}
		faults += cmd.ProcessState.SysUsage().(*syscall.Rusage).Minflt
	}
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}

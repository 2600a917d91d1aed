package vault

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
)

// TestConcurrentImports runs 8 importers at once, each importing 50
// certificates one process at a time, into one fresh vault, while a reader
// lists it: every command succeeds with nothing on stderr (no "database is
// locked"), and the vault ends with exactly the 400 certificates, intact.
func TestConcurrentImports(t *testing.T) {
	t.Parallel()
	const workers, each = 8, 50
	vault := filepath.Join(t.TempDir(), "vault")
	start := time.Now()

	var wg sync.WaitGroup
	results := make([][]testbin.Result, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				results[w] = append(results[w], run(vault, importArgs(w*each+j)...))
			}
		}()
	}
	// A reader lists while the importers write.
	var done atomic.Bool
	var lists []testbin.Result
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for !done.Load() {
			lists = append(lists, run(vault, "list", "-o", "json"))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	done.Store(true)
	<-readerDone
	t.Logf("%d imports by %d processes at a time in %v; %d concurrent lists", workers*each, workers, time.Since(start), len(lists))

	printed := map[string]bool{}
	for w := range workers {
		for _, r := range results[w] {
			if r.Code != 0 || len(r.Stderr) != 0 {
				t.Errorf("worker %d: %v", w, r)
				continue
			}
			arn := parseARN(r.Stdout)
			if arn == "" {
				t.Errorf("worker %d: no ARN in %q", w, r.Stdout)
			}
			if printed[arn] {
				t.Errorf("ARN %s printed twice", arn)
			}
			printed[arn] = true
		}
	}
	for _, r := range lists {
		if r.Code != 0 || !quietOrMadeVault(r.Stderr) {
			t.Errorf("concurrent list: %v", r)
		}
	}
	listed := listARNs(t, vault)
	if len(listed) != workers*each {
		t.Errorf("list shows %d certificates, want %d", len(listed), workers*each)
	}
	for arn := range printed {
		if !listed[arn] {
			t.Errorf("imported %s is not listed", arn)
		}
	}
	if n := checkVault(t, vault); n != workers*each {
		t.Errorf("the store holds %d certificates, want %d", n, workers*each)
	}
}

// TestConcurrentCreate starts several processes on a vault that does not
// exist yet: they must agree on one master key, so that every sealed key
// opens afterwards.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	const rounds, procs = 6, 4
	for round := range rounds {
		vault := filepath.Join(t.TempDir(), "new", "vault")
		var wg sync.WaitGroup
		var gate sync.WaitGroup
		gate.Add(1)
		res := make([]testbin.Result, procs)
		for p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gate.Wait()
				res[p] = run(vault, importArgs(round*procs+p)...)
			}()
		}
		gate.Done()
		wg.Wait()
		for p, r := range res {
			if r.Code != 0 || len(r.Stderr) != 0 {
				t.Errorf("round %d process %d: %v", round, p, r)
			}
		}
		if n := checkVault(t, vault); n != procs {
			t.Errorf("round %d: %d certificates, want %d", round, n, procs)
		}
		entries, err := os.ReadDir(vault)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			if strings.HasPrefix(e.Name(), ".tmp") {
				t.Errorf("round %d: leftover temporary file %s", round, e.Name())
			}
		}
		if !strings.Contains(strings.Join(names, " "), "master.key") {
			t.Errorf("round %d: no master key in %v", round, names)
		}
		if t.Failed() {
			t.Fatalf("round %d: vault files %s", round, fmt.Sprint(names))
		}
	}
}

// TestVerifyBesideAWriter: vault verify and audit verify, run while
// another process keeps committing, find the audit log whole every time
// (they read this host's witness before their snapshot: a record the
// writer commits after it is not taken for one removed).
func TestVerifyBesideAWriter(t *testing.T) {
	t.Parallel()
	vault := filepath.Join(t.TempDir(), "vault")
	r := run(vault, "request", "--domain-name", "first.internal", "--certificate-authority-arn", "default",
		"--key-algorithm", "EC_prime256v1", "-o", "json")
	arn := parseARN(r.Stdout)
	if r.Code != 0 || arn == "" {
		t.Fatalf("request: %v", r)
	}
	var stop atomic.Bool
	writerDone := make(chan error, 1)
	go func() {
		defer close(writerDone)
		for i := 0; !stop.Load(); i++ {
			if r := run(vault, "tags", "add", arn, "--tags", fmt.Sprintf("n=%d", i), "-o", "json"); r.Code != 0 {
				writerDone <- fmt.Errorf("%v", r)
				return
			}
		}
	}()
	defer func() {
		stop.Store(true)
		if err := <-writerDone; err != nil {
			t.Errorf("writer: %v", err)
		}
	}()
	for i := range 12 {
		args := []string{"audit", "verify", "-o", "json"}
		if i%2 == 1 {
			args = []string{"vault", "verify", "-o", "json"}
		}
		if r := run(vault, args...); r.Code != 0 {
			t.Fatalf("%s %s beside a writer: %v", args[0], args[1], r)
		}
	}
}

// TestConcurrentImportDirSyncs: four `import --from-dir` of one directory
// at once (overlapping cron runs) import each file once: the vault ends
// with one certificate per file, and a later sync skips them all.
func TestConcurrentImportDirSyncs(t *testing.T) {
	t.Parallel()
	vault := filepath.Join(t.TempDir(), "vault")
	// A first request makes the vault (and its key) before the race.
	if r := run(vault, "list", "-o", "json"); r.Code != 0 {
		t.Fatalf("list: %v", r)
	}
	var wg sync.WaitGroup
	results := make([]testbin.Result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(vault, "import", "--from-dir", manyDir, "-o", "json")
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.Code != 0 {
			t.Fatalf("import --from-dir: %v", r)
		}
	}
	if got := len(listARNs(t, vault)); got != manyCount {
		t.Fatalf("%d certificates after 4 syncs of %d files at once, want %d", got, manyCount, manyCount)
	}
	r := run(vault, "import", "--from-dir", manyDir, "-o", "json")
	var out struct{ Imported, Skipped int }
	if err := json.Unmarshal(r.Stdout, &out); err != nil || r.Code != 0 || out.Imported != 0 || out.Skipped != manyCount {
		t.Fatalf("a later sync: %+v (%v): %v", out, err, r)
	}
}

package fastpath

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestHugeHeapAdvisesTheHeapChunk: the init of a process that is not
// answering --version or --help (this test's) marked the 4 MiB chunk its
// heap starts in MADV_HUGEPAGE (VmFlags "hg" in /proc/self/smaps), unless
// the kernel has no transparent huge pages.
func TestHugeHeapAdvisesTheHeapChunk(t *testing.T) {
	if hugeChunk == 0 {
		// The kernel refused the advice: only where it has no
		// transparent huge pages.
		if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err == nil {
			t.Fatal("the kernel has transparent huge pages, yet no heap chunk was advised")
		}
		return
	}
	if hugeChunk%heapChunk != 0 {
		t.Fatalf("advised chunk %#x, want a 4 MiB-aligned heap address", hugeChunk)
	}
	lo, hi, flags := mappingOf(t, hugeChunk)
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("the mapping %#x-%#x holding the heap chunk has VmFlags %q, want hg (MADV_HUGEPAGE)", lo, hi, flags)
	}
	if lo > hugeChunk || hi < hugeChunk+heapChunk {
		t.Errorf("the advised mapping %#x-%#x does not cover the chunk %#x-%#x", lo, hi, hugeChunk, hugeChunk+heapChunk)
	}
}

// TestHugeHeapHonoursDisableTHP: with GODEBUG=disablethp=1 the heap is
// left as the runtime maps it.
func TestHugeHeapHonoursDisableTHP(t *testing.T) {
	if os.Getenv("FASTPATH_TEST_CHILD") != "" {
		fmt.Printf("chunk=%d\n", hugeChunk)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHugeHeapHonoursDisableTHP$")
	cmd.Env = append(os.Environ(), "FASTPATH_TEST_CHILD=1", "GODEBUG=madvdontneed=1,disablethp=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "chunk=0\n") {
		t.Errorf("with GODEBUG=disablethp=1 the child printed %q, want chunk=0", out)
	}
}

func TestGodebug(t *testing.T) {
	for _, c := range []struct{ env, want string }{
		{"", ""},
		{"disablethp=1", "1"},
		{"madvdontneed=1,disablethp=1", "1"},
		{"disablethp=1,disablethp=0", "0"},
		{"disablethpx=1,xdisablethp=1", ""},
		{"disablethp=", ""},
		{",disablethp=1,", "1"},
	} {
		t.Setenv("GODEBUG", c.env)
		if got := godebug("disablethp"); got != c.want {
			t.Errorf("GODEBUG=%q: disablethp %q, want %q", c.env, got, c.want)
		}
	}
}

// mappingOf returns the bounds and VmFlags of the mapping holding addr.
func mappingOf(t *testing.T, addr uintptr) (lo, hi uintptr, flags string) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if found {
			if v, ok := strings.CutPrefix(line, "VmFlags:"); ok {
				return lo, hi, strings.TrimSpace(v)
			}
			continue
		}
		bounds, _, _ := strings.Cut(line, " ")
		a, b, ok := strings.Cut(bounds, "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(a, 16, 64)
		h, err2 := strconv.ParseUint(b, 16, 64)
		if err1 == nil && err2 == nil && uintptr(l) <= addr && addr < uintptr(h) {
			lo, hi, found = uintptr(l), uintptr(h), true
		}
	}
	t.Fatalf("no mapping holds %#x (%v)", addr, sc.Err())
	return
}

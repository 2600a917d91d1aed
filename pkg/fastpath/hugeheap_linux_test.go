package fastpath

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestHugeHeapAdvisesTheHeapChunk: the init of a process that is not
// answering --version or --help (this test's) marked the 4 MiB chunk its
// heap grows in MADV_HUGEPAGE (VmFlags "hg" in /proc/self/smaps) when a
// first touch of a page was slow here (faultCost), the kernel takes that
// advice (as it does for a mapping of this test's own), the administrator
// has not set transparent huge pages to "never" and GODEBUG does not turn
// them off; otherwise it advised nothing.
func TestHugeHeapAdvisesTheHeapChunk(t *testing.T) {
	enabled, _ := os.ReadFile(thpEnabled)
	want := touchCost >= slowFault && kernelTakesHugePageAdvice(t) && !selected(enabled, "never") && !thpDisabled()
	t.Logf("a first touch of a page took %v at start-up (advice from %v)", touchCost, slowFault)
	if !want {
		if hugeChunk != 0 {
			t.Fatalf("chunk %#x advised, where no advice is wanted (enabled %q, GODEBUG %q)", hugeChunk, enabled, os.Getenv("GODEBUG"))
		}
		return
	}
	if hugeChunk == 0 || hugeChunk%heapChunk != 0 {
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

// kernelTakesHugePageAdvice reports whether madvise(MADV_HUGEPAGE) succeeds
// on an anonymous mapping here (not on a kernel without transparent huge
// pages, nor under a seccomp filter refusing it).
func kernelTakesHugePageAdvice(t *testing.T) bool {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, heapChunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	return syscall.Madvise(b, madvHugePage) == nil
}

// TestHugeHeapHonoursDisableTHP: with the runtime's switch against huge
// pages on (any non-zero integer, the last one that parses winning), the
// heap is left as the runtime maps it — by the init, and by hugeHeap
// itself, which the init calls only where first touches are slow (the
// child calls it whatever they cost here; without the switch, where the
// kernel takes the advice, it advises a chunk).
func TestHugeHeapHonoursDisableTHP(t *testing.T) {
	if os.Getenv("FASTPATH_TEST_CHILD") != "" {
		fmt.Printf("chunk=%d\n", hugeChunk)
		fmt.Printf("called=%d\n", hugeHeap())
		return
	}
	enabled, _ := os.ReadFile(thpEnabled)
	if kernelTakesHugePageAdvice(t) && !selected(enabled, "never") {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHugeHeapHonoursDisableTHP$")
		cmd.Env = append(os.Environ(), "FASTPATH_TEST_CHILD=1", "GODEBUG=disablethp=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if strings.Contains(string(out), "called=0\n") {
			t.Errorf("with GODEBUG=disablethp=0 hugeHeap advised nothing: %q", out)
		}
	}
	for _, godebug := range []string{"madvdontneed=1,disablethp=1", "disablethp=2", "disablethp=1,disablethp=x"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHugeHeapHonoursDisableTHP$")
		cmd.Env = append(os.Environ(), "FASTPATH_TEST_CHILD=1", "GODEBUG="+godebug)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !strings.Contains(string(out), "chunk=0\n") || !strings.Contains(string(out), "called=0\n") {
			t.Errorf("with GODEBUG=%s the child printed %q, want chunk=0 and called=0", godebug, out)
		}
	}
}

func TestThpDisabled(t *testing.T) {
	for _, c := range []struct {
		env  string
		want bool
	}{
		{"", false},
		{"disablethp=1", true},
		{"disablethp=2", true},
		{"disablethp=-1", true},
		{"disablethp=0", false},
		{"madvdontneed=1,disablethp=1", true},
		{"disablethp=1,disablethp=0", false},
		{"disablethp=1,disablethp=x", true}, // the runtime ignores x
		{"disablethp=0,disablethp=", false},
		{"disablethpx=1,xdisablethp=1", false},
		{",disablethp=1,", true},
		{"disablethp=99999999999999999999", false}, // too large: ignored
	} {
		t.Setenv("GODEBUG", c.env)
		if got := thpDisabled(); got != c.want {
			t.Errorf("GODEBUG=%q: disabled %v, want %v", c.env, got, c.want)
		}
	}
}

// TestThpAdvice: the administrator's settings, as their files read, decide
// whether the heap is advised and whether its touched halves are collapsed.
func TestThpAdvice(t *testing.T) {
	const (
		madvise = "always [madvise] never\n"
		always  = "[always] madvise never\n"
		never   = "always madvise [never]\n"
	)
	for _, c := range []struct {
		enabled, defrag  string
		advise, collapse bool
	}{
		{madvise, "always defer defer+madvise [madvise] never\n", true, true},
		{always, "[always] defer defer+madvise madvise never\n", true, true},
		{madvise, "always defer [defer+madvise] madvise never\n", true, true},
		{madvise, "always [defer] defer+madvise madvise never\n", true, false},
		{always, "always defer defer+madvise madvise [never]\n", true, false},
		{never, "always defer defer+madvise [madvise] never\n", false, false},
		{"", "", true, false}, // unreadable: advice only, the kernel decides
	} {
		var enabled, defrag []byte
		if c.enabled != "" {
			enabled, defrag = []byte(c.enabled), []byte(c.defrag)
		}
		if advise, collapse := thpAdvice(enabled, defrag); advise != c.advise || collapse != c.collapse {
			t.Errorf("enabled %q, defrag %q: advise %v, collapse %v; want %v, %v", c.enabled, c.defrag, advise, collapse, c.advise, c.collapse)
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

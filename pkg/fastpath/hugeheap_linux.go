package fastpath

import (
	"os"
	"syscall"
	"unsafe"
)

// Backing the heap's first chunk with huge pages.
//
// A command's process is short: nearly every page of heap it uses is one
// it touches for the first time, and on a virtual machine such a first
// touch is costly. Where bench/run.sh runs, touching 2,048 fresh 4 KiB
// pages took 25 ms (12 µs a page), and the same 8 MiB backed by 2 MiB
// pages 0.6 ms; `list -o json` over 10,000 certificates touched about 580
// fresh heap pages, `list --max-items 1` about 400.
//
// The Go runtime maps its heap in 4 MiB chunks and (since Go 1.21.1) does
// not ask for huge pages for it, so with the kernel's usual setting
// (transparent_hugepage=madvise) it gets 4 KiB pages. Before the heavy
// packages initialise, hugeHeap marks the chunk the heap is growing in
// MADV_HUGEPAGE, so that the first touch of a 2 MiB half still empty maps
// one huge page, and collapses each half already touched into one
// (MADV_COLLAPSE, Linux 6.1). The runtime starts the heap at a random page
// of its first chunk (heap base randomisation), so how much of the chunk
// is left varies from run to run, and the allocations made before this
// init sometimes have filled it already: the probe is then in the second
// chunk, which is the one advised. The heap beyond the chunk keeps 4 KiB
// pages.
//
// The administrator's settings stand. Nothing is done when
// transparent_hugepage/enabled is "never", or under the runtime's own
// switch against huge pages (GODEBUG=disablethp=N, N ≠ 0). MADV_COLLAPSE
// ignores those settings and may compact memory to find a huge page, as a
// fault in an advised region does when transparent_hugepage/defrag lets
// it ("always", "defer+madvise", "madvise"): the collapse is made only
// then. Both calls are advice: where the kernel refuses (no transparent
// huge pages, no free huge page, a kernel before 6.1) only the speed
// differs.
const (
	heapChunk    = 4 << 20 // the runtime's unit of heap mapping (pallocChunkBytes)
	hugePage     = 2 << 20
	madvHugePage = 14 // MADV_HUGEPAGE, on every Linux architecture
	madvCollapse = 25 // MADV_COLLAPSE, likewise
	thpEnabled   = "/sys/kernel/mm/transparent_hugepage/enabled"
	thpDefrag    = "/sys/kernel/mm/transparent_hugepage/defrag"
)

// heapProbe is set to a heap allocation, whose address is in the chunk
// the heap is growing in.
var heapProbe *[64]byte

// hugeHeap returns the start of the chunk it advised, 0 when it did not.
func hugeHeap() uintptr {
	if thpDisabled() {
		return 0
	}
	var enabled, defrag [128]byte // on the stack: this init allocates next to nothing
	advise, collapse := thpAdvice(readSetting(thpEnabled, &enabled), readSetting(thpDefrag, &defrag))
	if !advise {
		return 0
	}
	heapProbe = new([64]byte)
	chunk := uintptr(unsafe.Pointer(heapProbe)) &^ (heapChunk - 1)
	heapProbe = nil
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, chunk, heapChunk, madvHugePage); e != 0 {
		return 0
	}
	if collapse {
		for half := chunk; half < chunk+heapChunk; half += hugePage {
			// EINVAL for a half not touched yet: its first touch
			// maps a huge page.
			syscall.Syscall(syscall.SYS_MADVISE, half, hugePage, madvCollapse)
		}
	}
	return chunk
}

// thpAdvice is what the administrator's transparent_hugepage settings let
// hugeHeap do, given the contents of their files enabled and defrag (nil
// when unreadable): advise unless huge pages are "never"; collapse only
// where a fault in an advised region may compact memory to find a huge
// page, as MADV_COLLAPSE does.
func thpAdvice(enabled, defrag []byte) (advise, collapse bool) {
	if selected(enabled, "never") {
		return false, false
	}
	return true, selected(defrag, "always") || selected(defrag, "defer+madvise") || selected(defrag, "madvise")
}

// readSetting returns the contents of a transparent_hugepage setting's
// file, read into buf; nil when it cannot be read.
func readSetting(path string, buf *[128]byte) []byte {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, buf[:])
	if err != nil || n < 0 {
		return nil
	}
	return buf[:n]
}

// selected reports whether a transparent_hugepage setting's file (such as
// "always [madvise] never\n") has choice selected.
func selected(setting []byte, choice string) bool {
	want := "[" + choice + "]"
	for i := 0; i+len(want) <= len(setting); i++ {
		if string(setting[i:i+len(want)]) == want {
			return true
		}
	}
	return false
}

// thpDisabled reports whether GODEBUG turns huge pages off, read as the
// runtime reads it: disablethp's last value that is an integer, non-zero
// for off. (No strconv or strings: this package imports only what os has
// initialised; see fastpath.go. The program sets no //go:debug default.)
func thpDisabled() bool {
	const name = "disablethp="
	env, off := os.Getenv("GODEBUG"), false
	for start := 0; start <= len(env); {
		end := start
		for end < len(env) && env[end] != ',' {
			end++
		}
		if kv := env[start:end]; len(kv) > len(name) && kv[:len(name)] == name {
			if n, ok := atoi(kv[len(name):]); ok {
				off = n != 0
			}
		}
		start = end + 1
	}
	return off
}

// atoi parses a decimal integer with an optional sign; ok is false for
// anything else (or more digits than an int64 holds).
func atoi(s string) (n int64, ok bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

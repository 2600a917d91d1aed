package fastpath

import (
	"os"
	"syscall"
	"unsafe"
)

// Backing the start of the Go heap with huge pages.
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
// packages initialise, hugeHeap marks the chunk the heap starts in
// MADV_HUGEPAGE, so that the first touch of a 2 MiB half still empty maps
// one huge page, and collapses each half already touched into one
// (MADV_COLLAPSE, Linux 6.1). The runtime starts the heap at a random
// page of that chunk (heap base randomisation), so what the chunk holds
// after that start varies from run to run; the heap beyond it keeps 4 KiB
// pages. Both calls are advice: where the kernel refuses (no transparent
// huge pages, a kernel before 6.1, no free huge page) only the speed
// differs. GODEBUG=disablethp=1, the runtime's own switch against huge
// pages, turns it off.
const (
	heapChunk    = 4 << 20 // the runtime's unit of heap mapping (pallocChunkBytes)
	hugePage     = 2 << 20
	madvHugePage = 14 // MADV_HUGEPAGE
	madvCollapse = 25 // MADV_COLLAPSE
)

// heapProbe is set to a heap allocation, whose address is in the chunk
// the heap starts in.
var heapProbe *[64]byte

// hugeHeap returns the start of the chunk it advised, 0 when it did not.
func hugeHeap() uintptr {
	if godebug("disablethp") == "1" {
		return 0
	}
	heapProbe = new([64]byte)
	chunk := uintptr(unsafe.Pointer(heapProbe)) &^ (heapChunk - 1)
	heapProbe = nil
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, chunk, heapChunk, madvHugePage); e != 0 {
		return 0
	}
	for half := chunk; half < chunk+heapChunk; half += hugePage {
		// EINVAL for a half not touched yet: its first touch maps a
		// huge page.
		syscall.Syscall(syscall.SYS_MADVISE, half, hugePage, madvCollapse)
	}
	return chunk
}

// godebug returns the value of the GODEBUG setting name ("" when unset),
// the last one given winning as for the runtime. (No strings: this
// package imports only what os has initialised; see fastpath.go.)
func godebug(name string) string {
	env, val := os.Getenv("GODEBUG"), ""
	for start := 0; start <= len(env); {
		end := start
		for end < len(env) && env[end] != ',' {
			end++
		}
		if kv := env[start:end]; len(kv) > len(name) && kv[:len(name)] == name && kv[len(name)] == '=' {
			val = kv[len(name)+1:]
		}
		start = end + 1
	}
	return val
}

package fastpath

import (
	"syscall"
	"time"
)

// Measuring what a first touch of a page costs here.
//
// The advice of hugeheap_linux.go and prefault_linux.go pays where the
// first touch of a page is costly — on the virtual machine where they were
// measured, about 10 µs a page: `request` 2 ms sooner, `list` and the other
// commands 10–17% — and costs where it is cheap: on a host where a first
// touch took about 1 µs, `request` ran 0.5 ms slower with it (the median of
// 200 runs in turn, 9.3 against 8.8 ms), mapping pages it never reads. So
// the init times the first touch of faultProbePages fresh pages of a
// mapping of its own (about 40 µs where they are cheap) and advises only
// where the median touch takes slowFault or more.
const (
	faultProbePages = 32
	madvNoHugePage  = 15 // MADV_NOHUGEPAGE, on every Linux architecture
)

// faultCost returns the median time the first touch of a fresh anonymous
// page takes, 0 when it cannot tell (no mapping).
func faultCost() time.Duration {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, faultProbePages*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return 0
	}
	defer syscall.Munmap(mem) //nolint:errcheck // a probe of our own
	// Page by page: where the kernel backs anonymous memory with larger
	// pages (multi-size huge pages), one fault would fill several of the
	// probe's pages and the others would look free.
	syscall.Madvise(mem, madvNoHugePage) //nolint:errcheck // advice
	var d [faultProbePages]time.Duration
	for i := range d {
		t0 := time.Now()
		mem[i*page] = 1
		d[i] = time.Since(t0)
	}
	// Insertion sort: a few dozen values, and no allocation.
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
	return d[len(d)/2]
}

//go:build !linux

package fastpath

// hugeHeap backs the start of the heap with huge pages on Linux only
// (hugeheap_linux.go).
func hugeHeap() uintptr { return 0 }

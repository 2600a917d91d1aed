package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A level at which either server failed orders gets no ratio and says
// why; the others get their ratios and verdicts.
func TestPrintVersus(t *testing.T) {
	level := func(clients, done, failed int, cpu time.Duration) result {
		return result{clients: clients, done: done, failed: failed, elapsed: time.Second, cpuPerOrder: cpu}
	}
	c := &target{samples: []result{level(1, 300, 0, 4*time.Millisecond), level(16, 300, 0, 3*time.Millisecond)}}
	p := &target{samples: []result{level(1, 100, 0, 5*time.Millisecond), level(16, 149, 16, 3*time.Millisecond)}}
	var b bytes.Buffer
	printVersus(&b, c, p)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	if l := lines[2]; !strings.Contains(l, "0.80x   ok") || !strings.Contains(l, "3.00x   ok") {
		t.Errorf("clean level: %q", l)
	}
	if l := lines[3]; strings.Contains(l, "ok") || strings.Contains(l, "MISS") ||
		!strings.Contains(l, "(failed orders: certctl 0, pebble 16)") {
		t.Errorf("level with failures: %q", l)
	}
}

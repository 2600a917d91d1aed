package main

import (
	"math"
	"os/exec"
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	got, err := split([]string{"--", "a", "--version", "--", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"a", "--version"}, {"b"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("split = %q, want %q", got, want)
	}
	for _, bad := range [][]string{nil, {"a"}, {"--"}, {"--", "a", "--"}} {
		if _, err := split(bad); err == nil {
			t.Errorf("split(%q): no error", bad)
		}
	}
}

func TestStats(t *testing.T) {
	med, mean, sd := stats([]float64{4, 1, 3, 2})
	if med != 2.5 || mean != 2.5 || math.Abs(sd-math.Sqrt(1.25)) > 1e-12 {
		t.Errorf("stats = %v %v %v, want 2.5 2.5 %v", med, mean, sd, math.Sqrt(1.25))
	}
	if med, _, _ := stats([]float64{5, 1, 3}); med != 3 {
		t.Errorf("median of 5 1 3 = %v", med)
	}
}

// TestRunCPU: run reports the CPU a command used, not only its wall time
// (a command that sleeps takes wall time and next to no CPU; one that
// spins takes both).
func TestRunCPU(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	wall, cpu, err := run([]string{sh, "-c", "sleep 0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if wall < 200 || cpu > wall/2 {
		t.Errorf("sleep 0.2: wall %.1f ms, CPU %.1f ms: want at least 200 ms wall and under half of it CPU", wall, cpu)
	}
	_, cpu, err = run([]string{sh, "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"})
	if err != nil {
		t.Fatal(err)
	}
	if cpu < 20 {
		t.Errorf("a busy loop: CPU %.1f ms, want its CPU counted", cpu)
	}
}

package main

import (
	"math"
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

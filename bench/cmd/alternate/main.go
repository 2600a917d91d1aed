// Command alternate times several commands run in turn — each round runs
// every command once, in a new random order — so that a machine whose
// speed drifts during the measurement (a shared VM) slows each of them
// alike, which timing one after the other (hyperfine's batches) does not,
// and no command always follows the same one (a run just after another of
// the same binary finds more of it in the CPU's caches). bench/run.sh
// compares certctl's start-up with a Go hello-world so.
//
//	alternate [-runs 200] [-warmup 5] -- CMD ARGS... -- CMD ARGS...
//
// Each command is run directly (no shell), its output discarded, and must
// exit 0. It prints one line per command, in order: the median, mean and
// standard deviation of its wall times in milliseconds ("1.9 2.1 0.7"),
// the form of bench/run.sh's measure. With -cpu a fourth figure follows:
// the median of its CPU times (user and system, the process and its
// children) in milliseconds, which another process busy on the machine
// disturbs less than its wall time.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"time"
)

func main() {
	runs := flag.Int("runs", 200, "timed runs of each command")
	warmup := flag.Int("warmup", 5, "untimed runs of each command first")
	cpu := flag.Bool("cpu", false, "also print the median CPU time (user+system) of each command")
	flag.Parse()
	if *runs < 1 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "alternate: -runs must be at least 1 and -warmup at least 0")
		os.Exit(2)
	}
	// flag.Parse took the first "--".
	cmds, err := split(append([]string{"--"}, flag.Args()...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "alternate:", err)
		os.Exit(2)
	}
	times := make([][]float64, len(cmds))
	cpus := make([][]float64, len(cmds))
	order := make([]int, len(cmds))
	for i := range order {
		order[i] = i
	}
	for i := 0; i < *warmup+*runs; i++ {
		rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, j := range order {
			argv := cmds[j]
			d, c, err := run(argv)
			if err != nil {
				fmt.Fprintf(os.Stderr, "alternate: %q: %v\n", argv, err)
				os.Exit(1)
			}
			if i >= *warmup {
				times[j] = append(times[j], d)
				cpus[j] = append(cpus[j], c)
			}
		}
	}
	for j, t := range times {
		med, mean, sd := stats(t)
		if *cpu {
			cmed, _, _ := stats(cpus[j])
			fmt.Printf("%.1f %.1f %.1f %.2f\n", med, mean, sd, cmed)
			continue
		}
		fmt.Printf("%.1f %.1f %.1f\n", med, mean, sd)
	}
}

// split parses "-- CMD ARGS... -- CMD ARGS..." into its commands.
func split(args []string) ([][]string, error) {
	if len(args) == 0 || args[0] != "--" {
		return nil, errors.New("usage: alternate [-runs N] [-warmup N] -- CMD ARGS... [-- CMD ARGS...]")
	}
	var cmds [][]string
	for _, a := range args {
		if a == "--" {
			cmds = append(cmds, nil)
			continue
		}
		cmds[len(cmds)-1] = append(cmds[len(cmds)-1], a)
	}
	for _, c := range cmds {
		if len(c) == 0 {
			return nil, errors.New("an empty command")
		}
	}
	return cmds, nil
}

// run runs argv with its output discarded and returns its wall time and
// its CPU time (user and system) in milliseconds.
func run(argv []string) (wall, cpu float64, err error) {
	c := exec.Command(argv[0], argv[1:]...)
	t0 := time.Now()
	err = c.Run()
	wall = float64(time.Since(t0)) / 1e6
	if c.ProcessState != nil {
		cpu = float64(c.ProcessState.UserTime()+c.ProcessState.SystemTime()) / 1e6
	}
	return wall, cpu, err
}

// stats returns the median, mean and standard deviation of t.
func stats(t []float64) (med, mean, sd float64) {
	s := slices.Clone(t)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	for _, v := range s {
		mean += v
	}
	mean /= float64(n)
	for _, v := range s {
		sd += (v - mean) * (v - mean)
	}
	return med, mean, math.Sqrt(sd / float64(n))
}

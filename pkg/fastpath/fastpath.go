// Package fastpath is what certctl does while the program is still
// initialising, before SQLite, the crypto libraries, the terminal-styling
// and table packages, viper and cobra have run their package
// initialisers — which together cost several times what a Go hello-world
// takes to start: it answers `certctl --version` and `certctl --help`, and
// for any other command, where the first touch of a page is slow
// (faultcost_linux.go), backs the start of the heap with huge pages
// (hugeheap_linux.go) and maps the program's code and read-only data in
// one call (prefault_linux.go).
//
// It works because of the order Go initialises packages in (the language
// specification, "Package initialization", since Go 1.21): packages sorted
// by import path, each step initialising the first one whose imports are
// all initialised. This package imports only embed, io, os and time, and
// on Linux syscall and unsafe (os, io and time are initialised first of
// all, after syscall, which os imports; embed sorts before github.com), and its path
// (github.com/certctl/…) sorts before every heavy dependency
// (github.com/charmbracelet, github.com/jackc, github.com/spf13,
// golang.org/x, modernc.org, …), so its init runs as soon as os is ready.
// pkg/app's TestFastPathRunsBeforeHeavyInits checks that order in a built
// binary.
//
// The root help text is the one cobra renders from the command tree, kept
// in help.txt by `go generate ./internal/gendocs`; pkg/app's
// TestFastPathHelpIsCobras fails when it is stale.
package fastpath

import (
	_ "embed"
	"io"
	"os"
	"time"
)

// version is set at build time with
// -ldflags "-X github.com/certctl/certctl/pkg/fastpath.version=…" (the
// Makefile and .goreleaser.yaml do). Without it the command tree answers
// --version, with the module version from the build information: reading
// that needs runtime/debug, whose path sorts after the heavy packages and
// would make this init run last.
var version = ""

// Version returns the version set at build time, or "".
func Version() string { return version }

// HelpFile is help.txt's path from the repository root.
const HelpFile = "pkg/fastpath/help.txt"

//go:embed help.txt
var help string

// Help returns the root command's help as cobra prints it.
func Help() string { return help }

// Answer writes what certctl prints for args when they ask only for the
// version (when set at build time) or the root help, and reports whether
// it did. Any other arguments — a command, a second flag, `help`, which
// cobra prints without the flags --help and --version — are left to the
// command tree.
func Answer(args []string, w io.Writer) bool {
	if len(args) != 1 {
		return false
	}
	switch args[0] {
	case "--version", "-v":
		if version == "" {
			return false
		}
		io.WriteString(w, "certctl "+version+"\n")
	case "--help", "-h":
		io.WriteString(w, help)
	default:
		return false
	}
	return true
}

// hugeChunk is the heap chunk hugeHeap advised (0: none).
var hugeChunk uintptr

// touchCost is what faultCost measured at start-up (0: nothing), and
// slowFault the median first touch from which the memory advice is given.
var touchCost time.Duration

const slowFault = 3 * time.Microsecond

func init() {
	if Answer(os.Args[1:], os.Stdout) {
		os.Exit(0)
	}
	// The memory advice pays only where a first touch of a page is slow
	// (faultcost_linux.go).
	if touchCost = faultCost(); touchCost >= slowFault {
		hugeChunk = hugeHeap()
		prefaultImage() //nolint:errcheck // advice: without it only the speed differs
	}
}

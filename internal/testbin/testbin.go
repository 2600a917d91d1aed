// Package testbin builds the certctl binary once for a test package that
// drives it as a child process, and gives those children an isolated
// environment (their own HOME and XDG directories, no CERTCTL_* settings
// from the developer's shell).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Harness is a built binary and the home its children run in.
type Harness struct {
	Dir  string // temporary directory holding everything below
	Bin  string // the certctl binary
	Home string // HOME of the children
}

// Build compiles cmd/certctl into a new temporary directory named after
// prefix. Call Close when the tests are done.
func Build(prefix string) (*Harness, error) {
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	h := &Harness{Dir: tmp, Bin: filepath.Join(tmp, "certctl"), Home: filepath.Join(tmp, "home")}
	build := exec.Command("go", "build", "-o", h.Bin, "github.com/certctl/certctl/cmd/certctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("building certctl: %w", err)
	}
	if err := os.MkdirAll(h.Home, 0o700); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return h, nil
}

// Close removes the temporary directory.
func (h *Harness) Close() { os.RemoveAll(h.Dir) }

// Env is the environment of a child: the test process's, less CERTCTL_*,
// XDG_* and HOME, plus the harness's home, NO_COLOR and extra.
func (h *Harness) Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CERTCTL_") || strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+h.Home, "XDG_CONFIG_HOME="+filepath.Join(h.Home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(h.Home, ".local", "share"), "NO_COLOR=1")
	return append(env, extra...)
}

// Main builds the binary, runs the tests with it, and cleans up; use it as
// `func TestMain(m *testing.M) { os.Exit(testbin.Main(m, "certctl-x-", &h)) }`.
func Main(m interface{ Run() int }, prefix string, h **Harness) int {
	built, err := Build(prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer built.Close()
	*h = built
	return m.Run()
}

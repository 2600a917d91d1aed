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

	unset []string // more prefixes Env drops
}

// BuildOptions change how the binary is built and what its children see.
type BuildOptions struct {
	Tags []string // build tags (go build -tags)
	Env  []string // added to the environment of go build (CGO_ENABLED=1)
	// Unset lists more variable-name prefixes (besides CERTCTL_, XDG_ and
	// HOME) that Env keeps from the children, such as SOFTHSM2_CONF.
	Unset []string
	// Prebuilt lets CERTCTL_BIN name a binary to run instead of building one.
	Prebuilt bool
}

// Build compiles cmd/certctl into a new temporary directory named after
// prefix. Call Close when the tests are done.
func Build(prefix string) (*Harness, error) { return BuildWith(prefix, BuildOptions{}) }

// BuildWith is Build with options.
func BuildWith(prefix string, opts BuildOptions) (*Harness, error) {
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	h := &Harness{Dir: tmp, Bin: filepath.Join(tmp, "certctl"), Home: filepath.Join(tmp, "home"), unset: opts.Unset}
	if err := os.MkdirAll(h.Home, 0o700); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if bin := os.Getenv("CERTCTL_BIN"); opts.Prebuilt && bin != "" {
		h.Bin = bin
		return h, nil
	}
	args := []string{"build"}
	if len(opts.Tags) > 0 {
		args = append(args, "-tags", strings.Join(opts.Tags, ","))
	}
	build := exec.Command("go", append(args, "-o", h.Bin, "github.com/certctl/certctl/cmd/certctl")...)
	if len(opts.Env) > 0 {
		build.Env = append(os.Environ(), opts.Env...)
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(tmp)
		if len(opts.Tags) > 0 {
			return nil, fmt.Errorf("building certctl with -tags %s: %w", strings.Join(opts.Tags, ","), err)
		}
		return nil, fmt.Errorf("building certctl: %w", err)
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
		if !h.dropped(kv) {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+h.Home, "XDG_CONFIG_HOME="+filepath.Join(h.Home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(h.Home, ".local", "share"), "NO_COLOR=1")
	return append(env, extra...)
}

func (h *Harness) dropped(kv string) bool {
	for _, p := range append([]string{"CERTCTL_", "XDG_", "HOME="}, h.unset...) {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	return false
}

// Main builds the binary, runs the tests with it, and cleans up; use it as
// `func TestMain(m *testing.M) { os.Exit(testbin.Main(m, "certctl-x-", &h)) }`.
func Main(m interface{ Run() int }, prefix string, h **Harness) int {
	return MainWith(m, prefix, BuildOptions{}, h)
}

// MainWith is Main with build options.
func MainWith(m interface{ Run() int }, prefix string, opts BuildOptions, h **Harness) int {
	built, err := BuildWith(prefix, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer built.Close()
	*h = built
	return m.Run()
}

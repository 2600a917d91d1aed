package testbin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Result is what a finished child did.
type Result struct {
	Args           []string // the command line, program name first
	Stdout, Stderr []byte
	Code           int // exit code; -1 when it could not run or was killed
}

func (r Result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Finish is the Result of a child that has ended with err (from Run or
// Wait); args is its command line.
func Finish(args []string, stdout, stderr []byte, err error) Result {
	r := Result{Args: args, Stdout: stdout, Stderr: stderr}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		r.Code = -1
		r.Stderr = append(r.Stderr, err.Error()...)
	}
	return r
}

// RunCmd runs cmd to completion, capturing its output; args is the command
// line the Result reports.
func RunCmd(cmd *exec.Cmd, args []string) Result {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return Finish(args, out.Bytes(), errb.Bytes(), err)
}

// Vault is a certctl vault directory whose children get Env (after the
// harness's environment, so it wins). It keeps everything the commands
// printed, for scans of what must never be printed.
type Vault struct {
	H       *Harness
	Dir     string
	Env     []string
	Timeout time.Duration // of one command; a minute when zero

	mu      sync.Mutex
	printed bytes.Buffer
}

// NewVault is a vault in a new temporary directory of t.
func (h *Harness) NewVault(t testing.TB, env ...string) *Vault {
	return &Vault{H: h, Dir: filepath.Join(t.TempDir(), "vault"), Env: env}
}

// Command is certctl on the vault with extra environment, not started.
func (v *Vault) Command(ctx context.Context, extra []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, v.H.Bin, append([]string{"--vault", v.Dir}, args...)...)
	cmd.Env = v.H.Env(append(append([]string{}, v.Env...), extra...)...)
	return cmd
}

// RunEnv runs certctl on the vault to completion with extra environment.
func (v *Vault) RunEnv(extra []string, args ...string) Result {
	d := v.Timeout
	if d == 0 {
		d = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r := RunCmd(v.Command(ctx, extra, args...), append([]string{"certctl"}, args...))
	v.mu.Lock()
	v.printed.Write(r.Stdout)
	v.printed.Write(r.Stderr)
	v.mu.Unlock()
	return r
}

// Run runs certctl on the vault to completion.
func (v *Vault) Run(args ...string) Result { return v.RunEnv(nil, args...) }

// Printed is everything the vault's commands have printed so far.
func (v *Vault) Printed() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]byte(nil), v.printed.Bytes()...)
}

// OK runs certctl and fails the test unless it exits 0; it returns stdout.
func (v *Vault) OK(t testing.TB, args ...string) []byte {
	t.Helper()
	r := v.Run(args...)
	if r.Code != 0 {
		t.Fatalf("%v", r)
	}
	return r.Stdout
}

// ARN runs a command that prints {"CertificateArn"} or
// {"CertificateAuthorityArn"} (with -o json) and returns the ARN.
func (v *Vault) ARN(t testing.TB, args ...string) string {
	t.Helper()
	out := v.OK(t, append(args, "-o", "json")...)
	var res struct{ CertificateArn, CertificateAuthorityArn string }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("certctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if res.CertificateArn != "" {
		return res.CertificateArn
	}
	if res.CertificateAuthorityArn == "" {
		t.Fatalf("certctl %s printed no ARN: %s", strings.Join(args, " "), out)
	}
	return res.CertificateAuthorityArn
}

// StartServe starts a long-running certctl (`ca serve` or `endpoint
// serve`) on v and returns once a stderr line matches ready, with that
// match; the server is stopped when the test ends.
func (v *Vault) StartServe(t testing.TB, ready *regexp.Regexp, args ...string) []string {
	t.Helper()
	m, _ := v.Serve(t, nil, ready, args...)
	return m
}

// Serve is StartServe with extra environment; it also returns what the
// server has written to stderr so far.
func (v *Vault) Serve(t testing.TB, extra []string, ready *regexp.Regexp, args ...string) ([]string, func() string) {
	t.Helper()
	cmd := v.Command(context.Background(), extra, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan []string, 1)
	var logBuf strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			logMu.Lock()
			logBuf.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := ready.FindStringSubmatch(sc.Text()); m != nil && !sent {
				sent = true
				found <- m
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		close(done)
	}()
	logs := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logBuf.String()
	}
	select {
	case m := <-found:
		return m, logs
	case <-done:
		t.Fatalf("certctl %s exited before it served:\n%s", strings.Join(args, " "), logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("certctl %s did not start", strings.Join(args, " "))
	}
	return nil, nil
}

// IDOf is the last part of an ARN (the resource ID).
func IDOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// WriteFile writes data to dir/name (0600) and returns the path.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Required reports whether interop tools are required
// (CERTCTL_REQUIRE_INTEROP=1, as in CI).
func Required() bool { return os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" }

// Tool returns the path of an external tool (openssl, certbot, zlint…),
// looking for zlint in ~/go/bin too (where `go install` puts it). It skips
// the test when the tool is missing, unless CERTCTL_REQUIRE_INTEROP=1,
// where a missing tool fails the test.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := Look(name)
	if err != nil {
		if Required() {
			t.Fatalf("%s is required (CERTCTL_REQUIRE_INTEROP=1) but not found: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// Look finds an external tool on PATH, and zlint in ~/go/bin too.
func Look(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil && name == "zlint" {
		if home, herr := os.UserHomeDir(); herr == nil {
			cand := filepath.Join(home, "go", "bin", "zlint")
			if _, serr := os.Stat(cand); serr == nil {
				p, err = cand, nil
			}
		}
	}
	return p, err
}

// Package pki holds process-level tests of certctl's private CA: the
// binary's certificates and CRLs linted by zlint, revocation answered over
// HTTP to openssl's OCSP client, and issuance from many processes at once.
// TestMain builds the certctl binary once; each test runs it as a child.
package pki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	// certctlBin is the binary under test.
	certctlBin string
	// homeDir isolates the children from the user's config.
	homeDir string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "certctl-pki-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	certctlBin = filepath.Join(tmp, "certctl")
	build := exec.Command("go", "build", "-o", certctlBin, "github.com/certctl/certctl/cmd/certctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building certctl:", err)
		return 1
	}
	homeDir = filepath.Join(tmp, "home")
	if err := os.MkdirAll(homeDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// interopTool returns the path of an external tool (openssl, zlint). It
// skips the test when the tool is missing, unless CERTCTL_REQUIRE_INTEROP=1
// (as in CI), where a missing tool fails the test.
func interopTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil && name == "zlint" {
		if home, herr := os.UserHomeDir(); herr == nil {
			cand := filepath.Join(home, "go", "bin", "zlint")
			if _, serr := os.Stat(cand); serr == nil {
				p, err = cand, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s is required (CERTCTL_REQUIRE_INTEROP=1) but not found: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// childEnv is the environment of certctl children: no CERTCTL_* from the
// caller, config and data under a private home, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CERTCTL_") || strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+homeDir, "XDG_CONFIG_HOME="+filepath.Join(homeDir, ".config"),
		"XDG_DATA_HOME="+filepath.Join(homeDir, ".local/share"), "NO_COLOR=1")
	return append(env, extra...)
}

// result is what a finished child did.
type result struct {
	args           []string
	stdout, stderr []byte
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// vault is a certctl vault directory with extra environment for children.
type vault struct {
	dir string
	env []string
}

func newVault(t *testing.T, env ...string) *vault {
	return &vault{dir: filepath.Join(t.TempDir(), "vault"), env: env}
}

// run runs certctl on the vault to completion (at most a minute).
func (v *vault) run(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, certctlBin, append([]string{"--vault", v.dir}, args...)...)
	cmd.Env = childEnv(v.env...)
	return runCmd(cmd, append([]string{"certctl"}, args...))
}

func runCmd(cmd *exec.Cmd, args []string) result {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{args: args, stdout: out.Bytes(), stderr: errb.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		r.code = -1
		r.stderr = append(r.stderr, []byte(err.Error())...)
	}
	return r
}

// ok runs certctl and fails the test unless it exits 0.
func (v *vault) ok(t *testing.T, args ...string) []byte {
	t.Helper()
	r := v.run(args...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	return r.stdout
}

// arn runs a command printing {"CertificateArn"} or
// {"CertificateAuthorityArn"} and returns the ARN.
func (v *vault) arn(t *testing.T, args ...string) string {
	t.Helper()
	out := v.ok(t, append(args, "-o", "json")...)
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

// pemOf returns certificate and chain PEM of a certificate (describe --pem -o json).
func (v *vault) pemOf(t *testing.T, arn string) (cert, chain string) {
	t.Helper()
	out := v.ok(t, "describe", arn, "--pem", "-o", "json")
	var res struct{ Certificate, CertificateChain string }
	if err := json.Unmarshal(out, &res); err != nil || res.Certificate == "" {
		t.Fatalf("describe --pem -o json: %v\n%s", err, out)
	}
	return res.Certificate, res.CertificateChain
}

func idOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

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

	"github.com/certctl/certctl/internal/testbin"
)

var harness *testbin.Harness

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, "certctl-pki-test-", &harness)) }

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

// childEnv is the environment of certctl children.
func childEnv(extra ...string) []string { return harness.Env(extra...) }

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
	cmd := exec.CommandContext(ctx, harness.Bin, append([]string{"--vault", v.dir}, args...)...)
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

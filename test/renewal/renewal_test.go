// Package renewal holds process-level tests of managed renewal: several
// `certctl renew --due` processes on one vault at once. TestMain builds the
// certctl binary once; each test runs it as a child.
package renewal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"

	"github.com/certctl/certctl/pkg/localstore"
)

var harness *testbin.Harness

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, "certctl-renewal-test-", &harness)) }

// command prepares certctl on vault with extra environment variables; the
// caller's CERTCTL_* and XDG_* are not passed on.
func command(ctx context.Context, vault string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, harness.Bin, append([]string{"--vault", vault}, args...)...)
	cmd.Env = harness.Env(env...)
	return cmd
}

func wait(cmd *exec.Cmd, args []string, out, errb *bytes.Buffer) testbin.Result {
	err := cmd.Wait()
	return testbin.Finish(append([]string{"certctl"}, args...), out.Bytes(), errb.Bytes(), err)
}

func start(ctx context.Context, vault string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, error) {
	cmd := command(ctx, vault, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb, cmd.Start()
}

// run runs certctl to completion and fails the test unless it exits 0.
func run(t *testing.T, vault string, env []string, args ...string) testbin.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, out, errb, err := start(ctx, vault, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	r := wait(cmd, args, out, errb)
	if r.Code != 0 {
		t.Fatalf("%v", r)
	}
	return r
}

type renewOutput struct {
	Results []struct {
		CertificateArn string
		Outcome        string
		Reason         string
	}
}

// TestConcurrentRenewDue starts two `renew --due` processes together on a
// vault with 10 due certificates (5 deployed, which stay eligible after a
// renewal, and 5 exported): each certificate is renewed exactly once —
// RENEWED appears 10 times across both outputs, once per certificate, and
// every certificate ends with exactly 2 versions — and the vault is intact.
func TestConcurrentRenewDue(t *testing.T) {
	const n = 10
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	short := []string{"CERTCTL_CERTIFICATE_VALIDITY=10d"}
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("pass phrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	arns := make([]string, n)
	for i := range arns {
		r := run(t, vault, short, "request", "--domain-name", fmt.Sprintf("host%d.internal", i), "--certificate-authority-arn", "default", "-o", "json")
		var out struct{ CertificateArn string }
		if err := json.Unmarshal(r.Stdout, &out); err != nil || out.CertificateArn == "" {
			t.Fatalf("request output %q: %v", r.Stdout, err)
		}
		arns[i] = out.CertificateArn
		if i%2 == 0 {
			d := filepath.Join(dir, fmt.Sprint(i))
			run(t, vault, nil, "deploy", out.CertificateArn, "--cert-file", d+".crt", "--key-file", d+".key", "-o", "json")
		} else {
			run(t, vault, nil, "export", out.CertificateArn, "--passphrase-file", pass, "-o", "json")
		}
	}

	// The new versions last 30 days, so once renewed a certificate is no
	// longer inside the 20-day window: a second renewal would be a bug.
	long := []string{"CERTCTL_CERTIFICATE_VALIDITY=30d"}
	args := []string{"renew", "--due", "--within", "20d", "-o", "json"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	results := make([]testbin.Result, 2)
	gate := make(chan struct{})
	for p := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			cmd, out, errb, err := start(ctx, vault, long, args...)
			if err != nil {
				results[p] = testbin.Result{Args: append([]string{"certctl"}, args...), Code: -1, Stderr: []byte(err.Error())}
				return
			}
			results[p] = wait(cmd, args, out, errb)
		}()
	}
	close(gate)
	wg.Wait()

	renewed := map[string]int{}
	total := 0
	for p, r := range results {
		if r.Code != 0 {
			t.Fatalf("process %d: %v", p, r)
		}
		var out renewOutput
		if err := json.Unmarshal(r.Stdout, &out); err != nil {
			t.Fatalf("process %d: %v\n%v", p, err, r)
		}
		if len(out.Results) != n {
			t.Errorf("process %d reported %d certificates, want %d", p, len(out.Results), n)
		}
		for _, res := range out.Results {
			if res.Outcome == "RENEWED" {
				renewed[res.CertificateArn]++
				total++
			}
		}
		t.Logf("process %d: %s", p, bytes.TrimSpace(r.Stderr))
	}
	if total != n {
		t.Errorf("RENEWED %d times across both processes, want %d", total, n)
	}
	for _, arn := range arns {
		if renewed[arn] != 1 {
			t.Errorf("%s renewed %d times, want 1", arn, renewed[arn])
		}
		r := run(t, vault, nil, "describe", arn, "--versions", "-o", "json")
		var d struct {
			Certificate struct {
				NotAfter time.Time
				Versions []struct{ VersionNumber int }
			}
		}
		if err := json.Unmarshal(r.Stdout, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Certificate.Versions) != 2 {
			t.Errorf("%s has %d versions, want 2", arn, len(d.Certificate.Versions))
		}
		if left := time.Until(d.Certificate.NotAfter); left < 29*24*time.Hour {
			t.Errorf("%s: current version expires in %v, want the 30-day renewal", arn, left)
		}
	}

	v, err := localstore.Open(context.Background(), vault, localstore.Options{})
	if err != nil {
		t.Fatalf("the vault does not open: %v", err)
	}
	defer v.Close()
	if err := v.Store.Check(context.Background()); err != nil {
		t.Fatalf("integrity check: %v", err)
	}

	// A third run finds nothing to do.
	r := run(t, vault, long, args...)
	var out renewOutput
	if err := json.Unmarshal(r.Stdout, &out); err != nil {
		t.Fatal(err)
	}
	for _, res := range out.Results {
		if res.Outcome == "RENEWED" {
			t.Errorf("a later run renewed %s again", res.CertificateArn)
		}
	}
}

//go:build pkcs11

package hsm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

var certctlBin, homeDir string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "certctl-hsm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	homeDir = filepath.Join(tmp, "home")
	if err := os.MkdirAll(homeDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	certctlBin = filepath.Join(tmp, "certctl")
	build := exec.Command("go", "build", "-tags", "pkcs11", "-o", certctlBin, "github.com/certctl/certctl/cmd/certctl")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building certctl with -tags pkcs11:", err)
		return 1
	}
	return m.Run()
}

// softhsmModule is where Debian's softhsm2 puts the module.
var softhsmModules = []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"}

func required() bool { return os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" }

// tool returns the path of an external tool; it skips the test when the
// tool is missing, unless CERTCTL_REQUIRE_INTEROP=1.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil && name == "zlint" {
		if home, herr := os.UserHomeDir(); herr == nil {
			if cand := filepath.Join(home, "go", "bin", "zlint"); fileExists(cand) {
				p, err = cand, nil
			}
		}
	}
	if err != nil {
		if required() {
			t.Fatalf("%s is required (CERTCTL_REQUIRE_INTEROP=1) but not found: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// token is a fresh SoftHSM2 token in its own directory.
type token struct {
	module, label, pin, pinFile, conf, dir string
}

// newToken initialises a token labelled label (softhsm2-util --init-token
// --free) under a temporary SOFTHSM2_CONF, with a random user PIN written
// to a 0600 file.
func newToken(t *testing.T, label string) *token {
	t.Helper()
	util := tool(t, "softhsm2-util")
	module := ""
	for _, m := range softhsmModules {
		if fileExists(m) {
			module = m
			break
		}
	}
	if module == "" {
		if required() {
			t.Fatalf("the SoftHSM2 module is required (CERTCTL_REQUIRE_INTEROP=1) but none of %v exists", softhsmModules)
		}
		t.Skipf("the SoftHSM2 module is not installed")
	}
	dir := t.TempDir()
	tok := &token{module: module, label: label, dir: filepath.Join(dir, "tokens"), conf: filepath.Join(dir, "softhsm2.conf")}
	if err := os.Mkdir(tok.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tok.dir)
	if err := os.WriteFile(tok.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok.pin = "pin-" + hex.EncodeToString(b)
	tok.pinFile = filepath.Join(dir, "user.pin")
	if err := os.WriteFile(tok.pinFile, []byte(tok.pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--so-pin", "so-"+tok.pin, "--pin", tok.pin)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return tok
}

// env is the certctl environment that selects the token.
func (k *token) env() []string {
	return []string{"SOFTHSM2_CONF=" + k.conf, "CERTCTL_PKCS11_MODULE=" + k.module,
		"CERTCTL_PKCS11_TOKEN_LABEL=" + k.label, "CERTCTL_PKCS11_PIN_FILE=" + k.pinFile}
}

// remove deletes the token (softhsm2-util --delete-token): the "removed
// token" of a hardware device.
func (k *token) remove(t *testing.T) {
	t.Helper()
	cmd := exec.Command(tool(t, "softhsm2-util"), "--delete-token", "--token", k.label)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+k.conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --delete-token: %v\n%s", err, out)
	}
}

// privateKeys lists the token's private key objects with pkcs11-tool,
// each as its block of text (label, ID, Usage, Access lines).
func (k *token) privateKeys(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command(tool(t, "pkcs11-tool"), "--module", k.module, "--token-label", k.label, "--login", "--pin", k.pin,
		"--list-objects", "--type", "privkey")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+k.conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	keys := map[string]string{}
	for _, blk := range strings.Split(string(out), "Private Key Object")[1:] {
		m := regexp.MustCompile(`(?m)^\s*label:\s*(.*)$`).FindStringSubmatch(blk)
		if m == nil {
			t.Fatalf("pkcs11-tool printed a key without a label:\n%s", out)
		}
		keys[strings.TrimSpace(m[1])] = blk
	}
	return keys
}

// result is what a finished certctl did.
type result struct {
	args           []string
	stdout, stderr []byte
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("certctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// vault is a certctl vault with the environment of its token; it keeps
// everything every command printed, for the scans.
type vault struct {
	dir string
	env []string

	mu      sync.Mutex
	printed bytes.Buffer
}

func newVault(t *testing.T, env ...string) *vault {
	return &vault{dir: filepath.Join(t.TempDir(), "vault"), env: env}
}

func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CERTCTL_") || strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "SOFTHSM2_CONF=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+homeDir, "XDG_CONFIG_HOME="+filepath.Join(homeDir, ".config"), "NO_COLOR=1")
	return append(env, extra...)
}

// runEnv runs certctl on the vault with extra environment (after the
// vault's, so it wins).
func (v *vault) runEnv(extra []string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, certctlBin, append([]string{"--vault", v.dir}, args...)...)
	cmd.Env = childEnv(append(append([]string{}, v.env...), extra...)...)
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
		r.stderr = append(r.stderr, err.Error()...)
	}
	v.mu.Lock()
	v.printed.Write(r.stdout)
	v.printed.Write(r.stderr)
	v.mu.Unlock()
	return r
}

func (v *vault) run(args ...string) result { return v.runEnv(nil, args...) }

func (v *vault) ok(t *testing.T, args ...string) []byte {
	t.Helper()
	r := v.run(args...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	return r.stdout
}

// arn runs a command that prints {"CertificateArn"} or
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

// dump is the vault database's content (sqlite3 .dump), to compare
// before and after a command that must change nothing.
func (v *vault) dump(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(tool(t, "sqlite3"), filepath.Join(v.dir, "vault.db"), ".dump").Output()
	if err != nil {
		t.Fatalf("sqlite3 .dump: %v", err)
	}
	return string(out)
}

// sql runs a query on the vault database.
func (v *vault) sql(t *testing.T, query string) string {
	t.Helper()
	out, err := exec.Command(tool(t, "sqlite3"), filepath.Join(v.dir, "vault.db"), query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", query, err, out)
	}
	return strings.TrimSpace(string(out))
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

// openssl runs openssl and returns its combined output; it fails the test
// unless openssl exits 0.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool(t, "openssl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startServe starts a long-running certctl (`ca serve` or `endpoint
// serve`) on v and returns once a stderr line matches ready, with that
// match; the server is stopped when the test ends.
func (v *vault) startServe(t *testing.T, ready *regexp.Regexp, args ...string) []string {
	t.Helper()
	m, _ := v.serve(t, nil, ready, args...)
	return m
}

// serve is startServe with extra environment; it also returns what the
// server has written to stderr so far.
func (v *vault) serve(t *testing.T, extra []string, ready *regexp.Regexp, args ...string) ([]string, func() string) {
	t.Helper()
	cmd := exec.Command(certctlBin, append([]string{"--vault", v.dir}, args...)...)
	cmd.Env = childEnv(append(append([]string{}, v.env...), extra...)...)
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

// execOut runs a program and returns its combined output and error.
func execOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

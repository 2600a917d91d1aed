package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/localstore"
)

// hostileCN holds ESC (a colour), an OSC sequence (ESC ] … BEL, which
// sets a terminal's title), a lone BEL and U+202E (right-to-left override).
const hostileCN = "evil\x1b[31m\x1b]0;owned\x07\x07\u202etxt.example"

// TestTextEscapesControlsInAPipe: `list -o text | cat` of an imported
// certificate whose CN holds terminal controls shows them escaped, although
// stdout is not a terminal; JSON stays valid JSON carrying the exact CN.
func TestTextEscapesControlsInAPipe(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	ca := testpki.NewRoot("Hostile Root", time.Now().Add(-time.Hour))
	key := testpki.ECKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: hostileCN},
		DNSNames:     []string{"ok.example"},
		NotBefore:    ca.Cert.NotBefore,
		NotAfter:     ca.Cert.NotBefore.Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leaf := testpki.Must(x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key))
	crt, kf := filepath.Join(dir, "h.crt"), filepath.Join(dir, "h.key")
	if err := os.WriteFile(crt, testpki.CertPEM(testpki.Must(x509.ParseCertificate(leaf))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, testpki.KeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(vault, "import", "--certificate", crt, "--private-key", kf, "-o", "json"); r.Code != 0 {
		t.Fatalf("import: %v", r)
	}
	r := run(vault, "list", "-o", "text")
	if r.Code != 0 {
		t.Fatalf("list: %v", r)
	}
	out := string(r.Stdout)
	for _, raw := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(out, raw) {
			t.Errorf("list -o text in a pipe prints raw %q: %q", raw, out)
		}
	}
	for _, esc := range []string{`\x1b[31m`, `\x1b]0;owned\x07\x07`, `\u202e`} {
		if !strings.Contains(out, esc) {
			t.Errorf("list -o text lacks %s: %q", esc, out)
		}
	}
	r = run(vault, "list", "-o", "json")
	var got struct{ CertificateSummaryList []struct{ DomainName string } }
	if err := json.Unmarshal(r.Stdout, &got); err != nil || len(got.CertificateSummaryList) != 1 {
		t.Fatalf("list -o json: %v %v", err, r)
	}
	if dn := got.CertificateSummaryList[0].DomainName; dn != hostileCN {
		t.Errorf("JSON DomainName = %q, want the exact CN", dn)
	}
	if strings.Contains(string(r.Stdout), "\x1b") || strings.Contains(string(r.Stdout), "\x07") {
		t.Errorf("JSON carries raw controls: %q", r.Stdout)
	}
}

// TestHugeIdentifier: a 100 KB identifier is invalid input (exit 4), for
// every way an identifier is given, without being echoed back; given as
// the argument of describe it is refused before the vault is even opened.
func TestHugeIdentifier(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "vault")
	huge := strings.Repeat("a", 100000)
	r := run(vault, "describe", huge)
	if r.Code != 4 {
		t.Fatalf("describe <100 KB>: exit %d, want 4; stderr %.300s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(vault); !os.IsNotExist(err) {
		t.Errorf("describe <100 KB> touched the vault: %v", err)
	}
	// With a vault (the default CA exists), through flags and resolvers.
	if r := run(vault, "request", "--domain-name", "a.example", "--validation-method", "NONE", "-o", "json"); r.Code != 0 {
		t.Logf("request: %v", r) // only to have a store; the checks below do not need it
	}
	for _, args := range [][]string{
		{"describe", "--certificate-arn", huge},
		{"export", huge},
		{"describe", "arn:certctl:acm:local:000000000000:certificate/" + huge},
		{"ca", "describe", huge},
		{"endpoint", "describe", huge},
		{"renew", huge},
		{"tags", "list", huge},
		{"request", "--domain-name", "b.example", "--certificate-authority-arn", huge},
	} {
		r := run(vault, args...)
		if r.Code != 4 {
			t.Errorf("%s <100 KB>: exit %d, want 4\n%s", strings.Join(args[:len(args)-1], " "), r.Code, r.Stderr)
		}
		if len(r.Stderr) > 1000 {
			t.Errorf("%s <100 KB>: the identifier is echoed (%d bytes of stderr)", args[0], len(r.Stderr))
		}
	}
}

// TestControlCharactersRefused: --subject, --region and --account (and
// config set region/account) refuse control characters with exit 4, and a
// region or account anything but an ARN-safe word; nothing reaches the
// vault or the config file.
func TestControlCharactersRefused(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	for _, args := range [][]string{
		{"ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=a\x1b[31m"},
		{"ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=ok,O=a\u202eb"},
		{"ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=a\x07"},
		{"--region", "eu\x1b]0;x\x07", "list"},
		{"--region", "eu:west", "list"},
		{"--account", "1234\u202e", "list"},
		{"--account", "12 34", "list"},
	} {
		r := run(vault, args...)
		if r.Code != 4 {
			t.Errorf("%q: exit %d, want 4\n%s", args, r.Code, r.Stderr)
		}
	}
	if _, err := os.Stat(vault); !os.IsNotExist(err) {
		t.Errorf("a refused value touched the vault: %v", err)
	}
	for _, kv := range [][2]string{{"region", "eu\x1b[31m"}, {"account", "00\x9b1"}, {"region", "a/b"}} {
		if r := run(vault, "config", "set", kv[0], kv[1]); r.Code != 4 {
			t.Errorf("config set %s %q: exit %d, want 4\n%s", kv[0], kv[1], r.Code, r.Stderr)
		}
	}
	// Sane values still work.
	if r := run(vault, "--region", "eu-west-1", "--account", "123456789012", "list", "-o", "json"); r.Code != 0 {
		t.Errorf("sane region and account: %v", r)
	}
	if r := run(vault, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Müller Root,O=Ex\\, Ample", "-o", "json"); r.Code != 0 {
		t.Errorf("sane subject: %v", r)
	}
}

// readOnlyRunner runs certctl on a read-only view of vault: as root (whom
// file modes do not stop) under a read-only bind mount in a private mount
// namespace (unshare -m), otherwise on the vault made read-only by chmod.
func readOnlyRunner(t *testing.T, vault string) func(args ...string) testbin.Result {
	t.Helper()
	if os.Getuid() != 0 {
		if out, err := exec.Command("chmod", "-R", "a-w", vault).CombinedOutput(); err != nil {
			t.Fatalf("chmod: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("chmod", "-R", "u+w", vault).Run() })
		return func(args ...string) testbin.Result { return run(vault, args...) }
	}
	probe := exec.Command("unshare", "-m", "sh", "-c", `mount --bind -o ro "$1" "$1" && ! touch "$1/probe" 2>/dev/null`, "sh", vault)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("no read-only bind mount here (unshare -m: %v %s)", err, out)
	}
	return func(args ...string) testbin.Result {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "unshare", append([]string{"-m", "sh", "-c",
			`v=$1; shift; mount --bind -o ro "$v" "$v" && exec "$@"`, "sh", vault, harness.Bin, "--vault", vault}, args...)...)
		cmd.Env = childEnv()
		return testbin.RunCmd(cmd, append([]string{"certctl"}, args...))
	}
}

// TestNewerVaultRefused: a vault a newer certctl made is refused (exit 6,
// "newer than this certctl understands ...: upgrade certctl") and left as
// it was, with no empty vault.db-wal and vault.db-shm made beside it
// (tester); a read-only copy of it is refused so too (it was said to need
// an upgrade that only a writable vault can take).
func TestNewerVaultRefused(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "vault")
	if r := run(vault, "list"); r.Code != 0 {
		t.Fatalf("list: %v", r)
	}
	// A newer schema version, and the log folded into the file and
	// removed, as a vault closed by its last process is.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(vault, "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	var busy, frames, done int
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, vault)
	if _, ok := before["vault.db-wal"]; ok {
		t.Fatalf("the log stayed: %v", slices.Collect(maps.Keys(before)))
	}
	want := fmt.Sprintf("vault schema version 99 is newer than this certctl understands (%d): upgrade certctl", localstore.SchemaVersion)
	r := run(vault, "list")
	if r.Code != 6 || !strings.Contains(string(r.Stderr), want) {
		t.Errorf("list on a newer vault: %v, want exit 6 saying %q", r, want)
	}
	if after := dirState(t, vault); !maps.Equal(before, after) {
		t.Errorf("the refused command changed the vault directory: %v, was %v", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
	}
	r = readOnlyRunner(t, vault)("list")
	if r.Code != 6 || !strings.Contains(string(r.Stderr), want) {
		t.Errorf("list on a read-only newer vault: %v, want exit 6 saying %q", r, want)
	}
}

// dirState is every file of dir, by name, with its content.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestReadOnlyVault: a read-only copy of a vault answers list, describe and
// export (which warns that it could not record the export); a change exits
// 6 saying the vault is read-only.
func TestReadOnlyVault(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	r := run(vault, "request", "--domain-name", "app.internal", "--certificate-authority-arn", "default", "-o", "text")
	if r.Code != 0 {
		t.Fatalf("request: %v", r)
	}
	arn := strings.TrimSpace(string(r.Stdout))
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("export pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(vault, "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	ro := readOnlyRunner(t, vault)

	if r := ro("list", "-o", "text"); r.Code != 0 || !strings.Contains(string(r.Stdout), arn) {
		t.Errorf("list on a read-only vault: %v", r)
	}
	if r := ro("describe", arn, "-o", "json"); r.Code != 0 || !strings.Contains(string(r.Stdout), arn) {
		t.Errorf("describe on a read-only vault: %v", r)
	}
	r = ro("export", arn, "--passphrase-file", pass)
	if r.Code != 0 || !strings.Contains(string(r.Stdout), "BEGIN ENCRYPTED PRIVATE KEY") || !strings.Contains(string(r.Stdout), "BEGIN CERTIFICATE") {
		t.Errorf("export on a read-only vault: %v", r)
	}
	if !strings.Contains(string(r.Stderr), "read-only") || !strings.Contains(string(r.Stderr), "not recorded") {
		t.Errorf("export on a read-only vault does not warn that it is not recorded: %s", r.Stderr)
	}
	if r := ro("export", arn, "--no-private-key"); r.Code != 0 || !strings.Contains(string(r.Stdout), "BEGIN CERTIFICATE") {
		t.Errorf("export --no-private-key on a read-only vault: %v", r)
	}
	for _, args := range [][]string{
		{"delete", arn},
		{"revoke", arn, "--revocation-reason", "SUPERSEDED"},
		{"tags", "add", arn, "--tags", "k=v"},
	} {
		r := ro(args...)
		if r.Code != 6 || !strings.Contains(string(r.Stderr), "the vault is read-only") {
			t.Errorf("%s on a read-only vault: exit %d, want 6 with 'the vault is read-only'\n%s", args[0], r.Code, r.Stderr)
		}
	}
	after, err := os.ReadFile(filepath.Join(vault, "vault.db"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the read-only vault's database changed (%v)", err)
	}
	// Writable again, the export was not marked, and changes work.
	if r := run(vault, "describe", arn, "-o", "json"); r.Code != 0 || !strings.Contains(string(r.Stdout), `"Exported": false`) {
		t.Errorf("describe after: %v", r)
	}
}

package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/app"
	dep "github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

type target struct {
	dir, cert, key, chain, fullchain string
}

func newTarget(t *testing.T) target {
	d := t.TempDir()
	return target{dir: d, cert: filepath.Join(d, "app.crt"), key: filepath.Join(d, "app.key"),
		chain: filepath.Join(d, "chain.crt"), fullchain: filepath.Join(d, "fullchain.crt")}
}

func (tg target) args(arn string, extra ...string) []string {
	return append([]string{"deploy", arn, "--cert-file", tg.cert, "--key-file", tg.key,
		"--chain-file", tg.chain, "--fullchain-file", tg.fullchain}, extra...)
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseKey parses a complete PKCS#8 PEM key file.
func parseKey(data []byte) (any, error) {
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("not one PEM private key (%d bytes)", len(data))
	}
	return x509.ParsePKCS8PrivateKey(b.Bytes)
}

// checkInstalled checks that tg holds arn's current version: certificate,
// chain, fullchain and a key matching the certificate, with their modes.
func checkInstalled(t *testing.T, e *clitest.Env, arn string, tg target) {
	t.Helper()
	var pemOut struct{ Certificate, CertificateChain string }
	e.JSON(&pemOut, "describe", arn, "--pem")
	if got := string(read(t, tg.cert)); got != pemOut.Certificate {
		t.Fatalf("cert file differs from describe --pem:\n%s\nwant:\n%s", got, pemOut.Certificate)
	}
	if got := string(read(t, tg.chain)); got != pemOut.CertificateChain {
		t.Fatalf("chain file differs from describe --pem")
	}
	if got := string(read(t, tg.fullchain)); got != pemOut.Certificate+pemOut.CertificateChain {
		t.Fatalf("fullchain file is not certificate + chain")
	}
	leaf, err := clitest.ParseCert(read(t, tg.cert))
	if err != nil {
		t.Fatal(err)
	}
	key, err := parseKey(read(t, tg.key))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.(crypto.Signer).Public())
	if err != nil || !bytes.Equal(pub, leaf.RawSubjectPublicKeyInfo) {
		t.Fatalf("the key file does not match the certificate file (%v)", err)
	}
	if m := mode(t, tg.key); m != 0o600 {
		t.Fatalf("key file mode %o, want 600", m)
	}
	for _, p := range []string{tg.cert, tg.chain, tg.fullchain} {
		if m := mode(t, p); m != 0o644 {
			t.Fatalf("%s mode %o, want 644", filepath.Base(p), m)
		}
	}
}

func readEnv(t *testing.T, p string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(read(t, p)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestDeployInstallsAndRunsHook: deploy writes every file with the right
// mode (tightening a pre-existing world-readable key file), runs --exec with
// the paths in its environment, records the target in InUseBy, and makes
// the certificate eligible; a renewal rewrites the files and runs the hook
// again.
func TestDeployInstallsAndRunsHook(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("app.internal")
	tg := newTarget(t)
	if err := os.WriteFile(tg.key, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(tg.dir, "hook.env")
	hook := "env > " + envFile + "; echo run >> " + filepath.Join(tg.dir, "runs")
	var out struct {
		CertificateArn string
		InUseBy        []string
	}
	e.JSON(&out, tg.args(arn, "--exec", hook)...)
	host, _ := os.Hostname()
	if out.CertificateArn != arn || len(out.InUseBy) != 1 || out.InUseBy[0] != "file:"+tg.cert+" (host "+host+")" {
		t.Fatalf("deploy output %+v", out)
	}
	checkInstalled(t, e, arn, tg)
	env := readEnv(t, envFile)
	want := map[string]string{"CERTCTL_CERTIFICATE_ARN": arn, "CERTCTL_CERT_FILE": tg.cert, "CERTCTL_KEY_FILE": tg.key,
		"CERTCTL_CHAIN_FILE": tg.chain, "CERTCTL_FULLCHAIN_FILE": tg.fullchain}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("hook environment %s=%q, want %q", k, env[k], v)
		}
	}
	d := e.Describe(arn)
	if d.RenewalEligibility != "ELIGIBLE" || len(d.InUseBy) != 1 {
		t.Fatalf("after deploy: eligibility %s, InUseBy %v", d.RenewalEligibility, d.InUseBy)
	}
	oldCert := read(t, tg.cert)

	e.MustRun("renew", arn)
	checkInstalled(t, e, arn, tg)
	if bytes.Equal(read(t, tg.cert), oldCert) {
		t.Fatal("renewal did not rewrite the deployed certificate")
	}
	if runs := strings.Count(string(read(t, filepath.Join(tg.dir, "runs"))), "run"); runs != 2 {
		t.Fatalf("hook ran %d times, want 2 (deploy, renewal)", runs)
	}
}

// TestAtomicReplacement: while deploy and renew rewrite the files over and
// over, a concurrent reader always finds a complete certificate and a
// complete key — never a missing, empty or partial file.
func TestAtomicReplacement(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("atomic.internal", "--key-algorithm", "EC_prime256v1")
	tg := newTarget(t)
	e.MustRun(tg.args(arn)...)

	var stop atomic.Bool
	var reads atomic.Int64
	serials := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			c, err := clitest.ParseCert(mustRead(tg.cert, errc))
			if err != nil {
				errc <- fmt.Errorf("cert file: %v", err)
				return
			}
			if _, err := parseKey(mustRead(tg.key, errc)); err != nil {
				errc <- fmt.Errorf("key file: %v", err)
				return
			}
			mu.Lock()
			serials[c.SerialNumber.String()] = true
			mu.Unlock()
			reads.Add(1)
		}
	}()
	for i := 0; i < 12 && len(errc) == 0; i++ {
		if i%3 == 0 {
			e.MustRun(tg.args(arn)...)
		} else {
			e.MustRun("renew", arn)
		}
	}
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("a reader saw a broken file: %v", err)
	default:
	}
	if reads.Load() < 10 || len(serials) < 3 {
		t.Fatalf("the reader made %d reads and saw %d certificates: it did not overlap the writes", reads.Load(), len(serials))
	}
	checkInstalled(t, e, arn, tg)
	if n := len(e.Describe(arn).Versions); n != 9 {
		t.Fatalf("%d versions, want 9", n)
	}
}

func mustRead(p string, errc chan<- error) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		select {
		case errc <- err:
		default:
		}
	}
	return b
}

// TestHookFailureDuringRenewDue: when a target's command fails after a
// renewal, renew --due exits 7, reports the failure, emits a Renewal
// Action Required event, and keeps the renewal and the new files.
func TestHookFailureDuringRenewDue(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("hook.internal")
	tg := newTarget(t)
	marker := filepath.Join(tg.dir, "break-the-hook")
	e.MustRun(tg.args(arn, "--exec", "test ! -e "+marker)...)
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, res, r := e.Renew("--due", "--within", "40d")
	if code != errs.ExitPartial {
		t.Fatalf("exit %d, want 7\n%v", code, r)
	}
	got := res[arn]
	if got.Outcome != "RENEWED" || !strings.Contains(got.Reason, "deployment failed") {
		t.Fatalf("result %+v, want RENEWED with the deployment failure", got)
	}
	if n := len(e.Describe(arn).Versions); n != 2 {
		t.Fatalf("%d versions, want 2: the renewal must stand", n)
	}
	checkInstalled(t, e, arn, tg)
	evs := e.Events("Certificate Renewal Action Required", arn)
	if len(evs) != 1 {
		t.Fatalf("%d Renewal Action Required events, want 1", len(evs))
	}
	if errsList, ok := evs[0].Detail["DeploymentErrors"].([]any); !ok || len(errsList) != 1 {
		t.Fatalf("event detail %v", evs[0].Detail)
	} else if got, want := errsList[0], "file:"+tg.cert; !strings.HasPrefix(fmt.Sprint(got), want) ||
		!strings.HasSuffix(fmt.Sprint(got), ": deploy hook failed: exit status 1") || strings.Contains(fmt.Sprint(got), "test !") {
		// The target and how its command ended; not the command, which
		// may hold anything (a token on its command line).
		t.Fatalf("DeploymentErrors[0] = %q", got)
	}

	// The next pass retries the target (still failing: exit 7 again, but
	// no second event for the same failure).
	e.Advance(15 * time.Minute)
	code, res, r = e.Renew("--due")
	if code != errs.ExitPartial || res[arn].Outcome != "NOT_DUE" || !strings.Contains(res[arn].Reason, "deployment failed") {
		t.Fatalf("retry with the hook still failing: %v", r)
	}
	if n := len(e.Events("Certificate Renewal Action Required", arn)); n != 1 {
		t.Fatalf("%d Renewal Action Required events after a repeated failure, want 1", n)
	}

	// Hook fixed: the next pass runs it and succeeds; the one after has
	// nothing left to do.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	code, res, r = e.Renew("--due")
	if code != 0 || res[arn].Outcome != "NOT_DUE" || !strings.Contains(res[arn].Reason, "redeployed to file:"+tg.cert) {
		t.Fatalf("retry with the hook fixed: %v", r)
	}
	code, res, r = e.Renew("--due")
	if code != 0 || strings.Contains(res[arn].Reason, "redeployed") {
		t.Fatalf("a pass after a successful retry redeployed again: %v", r)
	}
	if n := len(e.Describe(arn).Versions); n != 2 {
		t.Fatalf("%d versions after the retries, want 2", n)
	}
}

// TestDeployHookFailureRetried: a deploy whose command fails is recorded
// (exit 1), and the next renew --due runs the command again.
func TestDeployHookFailureRetried(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("retry.internal")
	tg := newTarget(t)
	marker := filepath.Join(tg.dir, "break-the-hook")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(tg.dir, "runs")
	if r := e.Run(tg.args(arn, "--exec", "echo run >> "+runs+"; test ! -e "+marker)...); r.Code != errs.ExitFailure {
		t.Fatalf("deploy with a failing hook: %v", r)
	}
	if d := e.Describe(arn); len(d.InUseBy) != 1 || d.RenewalEligibility != "ELIGIBLE" {
		t.Fatalf("the target was not recorded: %+v", d)
	}
	// The failure is told as renewals tell theirs: a Renewal Action
	// Required event naming the target (tester: a command broken from
	// the first deploy was never told, renew --due telling only failures
	// new to it).
	ev := e.MustRun("events", "--type", "Certificate Renewal Action Required", "-o", "json").Stdout
	if strings.Count(ev, `"DeploymentErrors"`) != 1 || !strings.Contains(ev, "deploy hook failed") || !strings.Contains(ev, arn) {
		t.Errorf("events after the failed deploy:\n%s", ev)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	code, res, r := e.Renew("--due")
	if code != 0 || !strings.Contains(res[arn].Reason, "redeployed") {
		t.Fatalf("renew --due after the failed deploy: %v", r)
	}
	if n := strings.Count(string(read(t, runs)), "run"); n != 2 {
		t.Fatalf("hook ran %d times, want 2", n)
	}
	checkInstalled(t, e, arn, tg)
}

// TestDeployRefusals: deploying needs both files and an ISSUED certificate.
func TestDeployRefusals(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("refuse.internal")
	tg := newTarget(t)
	if r := e.Run("deploy", arn, "--cert-file", tg.cert); r.Code != errs.ExitUsage {
		t.Fatalf("deploy without --key-file: %v", r)
	}
	e.MustRun("revoke", arn, "--revocation-reason", "SUPERSEDED")
	if r := e.Run(tg.args(arn)...); r.Code != errs.ExitRefused {
		t.Fatalf("deploy of a revoked certificate: %v", r)
	}
	if _, err := os.Stat(tg.cert); !os.IsNotExist(err) {
		t.Fatalf("a refused deploy wrote files: %v", err)
	}
}

// TestDeployHooksOff: where this host's hooks.allow_exec is off, deploy
// --exec is refused (exit 5, with the setting to change) before anything
// is written; a target recorded while hooks were on gets its files
// installed by renew --due but its command is not run, which the pass
// says on stderr and in the result (exit 7) until hooks are on again.
func TestDeployHooksOff(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("hooksoff.internal")
	tg := newTarget(t)
	runs := filepath.Join(tg.dir, "runs")
	hook := "echo run >> " + runs

	e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "false"
	r := e.Run(tg.args(arn, "--exec", hook)...)
	if r.Code != errs.ExitRefused || !strings.Contains(r.Stderr, "hooks.allow_exec") || !strings.Contains(r.Stderr, "config set hooks.allow_exec true") {
		t.Fatalf("deploy --exec with hooks off: %v", r)
	}
	if _, err := os.Stat(tg.cert); !os.IsNotExist(err) {
		t.Fatalf("refused deploy wrote the cert file (%v)", err)
	}
	if d := e.Describe(arn); len(d.InUseBy) != 0 {
		t.Fatalf("refused deploy recorded a target: %v", d.InUseBy)
	}

	// Hooks on (the default of a SQLite vault): recorded and run.
	delete(e.Vars, "CERTCTL_HOOKS_ALLOW_EXEC")
	e.MustRun(tg.args(arn, "--exec", hook)...)
	if got := string(read(t, runs)); got != "run\n" {
		t.Fatalf("hook runs %q after deploy", got)
	}

	// Hooks off again: the renewal installs the files, not the command.
	e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "false"
	before := read(t, tg.cert)
	code, res, r := e.Renew("--due", "--within", "400d")
	if code != errs.ExitPartial || res[arn].Outcome != "RENEWED" || !strings.Contains(res[arn].Reason, "not run") ||
		!strings.Contains(res[arn].Reason, "hooks.allow_exec") || !strings.Contains(r.Stderr, "hooks.allow_exec") {
		t.Fatalf("renew --due with hooks off: %v", r)
	}
	if bytes.Equal(before, read(t, tg.cert)) {
		t.Fatal("renew --due with hooks off did not install the renewed certificate")
	}
	if got := string(read(t, runs)); got != "run\n" {
		t.Fatalf("the hook ran with hooks off: runs %q", got)
	}
	checkInstalled(t, e, arn, tg)

	// Hooks back on: the next pass runs the command it owes.
	delete(e.Vars, "CERTCTL_HOOKS_ALLOW_EXEC")
	code, res, r = e.Renew("--due")
	if code != 0 || !strings.Contains(res[arn].Reason, "redeployed to file:"+tg.cert) {
		t.Fatalf("renew --due with hooks back on: %v", r)
	}
	if got := string(read(t, runs)); got != "run\nrun\n" {
		t.Fatalf("hook runs %q after hooks came back on", got)
	}
}

// TestDeployTargetEditedInStore: a target whose record was changed in the
// database (its command replaced) no longer carries this host's seal: the
// next pass neither installs it nor runs the command, and says why.
func TestDeployTargetEditedInStore(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("edited.internal")
	tg := newTarget(t)
	e.MustRun(tg.args(arn, "--exec", "true")...)
	pwned := filepath.Join(tg.dir, "pwned")

	v := e.OpenVault()
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		o, err := tx.GetObject(dep.ObjectKind, id)
		if err != nil {
			return err
		}
		var ts []map[string]any
		if err := json.Unmarshal(o.Data, &ts); err != nil {
			return err
		}
		ts[0]["exec"] = "touch " + pwned
		o.Data, _ = json.Marshal(ts)
		return tx.PutObject(o)
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := read(t, tg.cert)
	// This host's own target, refused: a failed deployment (exit 7), not
	// another host's business.
	code, res, r := e.Renew("--due", "--within", "400d")
	if code != errs.ExitPartial || res[arn].Outcome != "RENEWED" || !strings.Contains(res[arn].Reason, "deployment failed: ") ||
		!strings.Contains(res[arn].Reason, "not sealed") || !strings.Contains(r.Stdout, `"Outcome": "FAILED"`) {
		t.Fatalf("renew --due over an edited target: %v", r)
	}
	if _, err := os.Stat(pwned); !os.IsNotExist(err) {
		t.Fatal("the command written into the store ran")
	}
	if !bytes.Equal(before, read(t, tg.cert)) {
		t.Fatal("the edited target was installed")
	}
}

// TestHookOutputNeverStored: what a failing --exec command prints (here
// the key it was handed) reaches this host's standard error when that is a
// terminal, nowhere when it is not (a cron mail, a journal), and never the
// error message, the result on stdout, the events, the audit log or the
// vault's files, whether the command fails at deploy or at renew --due.
func TestHookOutputNeverStored(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("leaky.internal")
	tg := newTarget(t)
	hook := `cat "$CERTCTL_KEY_FILE"; exit 1`
	check := func(what, s string) {
		t.Helper()
		if strings.Contains(s, "PRIVATE KEY") {
			t.Fatalf("%s holds the hook's output (the key):\n%s", what, s)
		}
	}
	// Not a terminal: the output is discarded, and the error says so.
	r := e.Run(tg.args(arn, "--exec", hook, "-o", "json")...)
	if r.Code != errs.ExitFailure || !strings.Contains(r.Stderr, "shown only on a terminal") {
		t.Fatalf("deploy with a failing hook: %v", r)
	}
	check("deploy's stdout", r.Stdout)
	check("deploy's stderr (not a terminal)", r.Stderr)
	code, _, r := e.Renew("--due", "--within", "40d", "-o", "json")
	if code != errs.ExitPartial {
		t.Fatalf("renew --due with a failing hook: %v", r)
	}
	check("renew's stdout", r.Stdout)
	check("renew's stderr (not a terminal)", r.Stderr)
	// A terminal: the operator sees it, and it is still in no message.
	e.TTY = true
	r = e.Run(tg.args(arn, "--exec", hook)...)
	e.TTY = false
	if i := strings.Index(r.Stderr, "-----END PRIVATE KEY-----"); r.Code != errs.ExitFailure || i < 0 {
		t.Fatalf("the hook's output did not reach the terminal: %v", r)
	} else {
		check("deploy's error message", r.Stderr[i+len("-----END PRIVATE KEY-----"):])
	}
	check("the events", e.MustRun("events", "-o", "json").Stdout)
	check("the audit log", e.MustRun("audit", "list", "-o", "json").Stdout)
	ents, err := os.ReadDir(e.Vault)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if b, err := os.ReadFile(filepath.Join(e.Vault, ent.Name())); err == nil && bytes.Contains(b, []byte("PRIVATE KEY")) {
			t.Fatalf("the vault's %s holds the hook's output in clear", ent.Name())
		}
	}
}

// TestDeployRefusesOneFileForTwo: a key file that is also the certificate,
// chain or fullchain file is invalid input (exit 4), and nothing is written or
// recorded.
func TestDeployRefusesOneFileForTwo(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("same.internal")
	dir := t.TempDir()
	same := filepath.Join(dir, "same.pem")
	for _, args := range [][]string{
		{"--cert-file", same, "--key-file", same},
		{"--cert-file", filepath.Join(dir, "c.pem"), "--key-file", same, "--fullchain-file", same},
		{"--cert-file", filepath.Join(dir, "c.pem"), "--key-file", same, "--chain-file", same},
	} {
		r := e.Run(append([]string{"deploy", arn}, args...)...)
		if r.Code != errs.ExitInvalid || !strings.Contains(r.Stderr, "one file") {
			t.Fatalf("%v\nwant exit 4 naming the shared file", r)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a refused deploy wrote %d files", len(ents))
	}
	if got := e.Describe(arn).InUseBy; len(got) != 0 {
		t.Fatalf("a refused deploy was recorded: InUseBy %v", got)
	}
}

// TestDeployTwoTargetsOneFile: a second target of the same certificate
// whose key file is the first target's certificate file is refused (exit
// 4) — at every renewal one would replace the other (second tester: the
// first target's certificate file held a private key) — and nothing is
// written; the first target deployed again is an update.
func TestDeployTwoTargetsOneFile(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("two.internal")
	dir := t.TempDir()
	c, k := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	e.MustRun("deploy", arn, "--cert-file", c, "--key-file", k)
	before := string(read(t, c))
	r := e.Run("deploy", arn, "--cert-file", filepath.Join(dir, "new.pem"), "--key-file", c)
	if r.Code != errs.ExitInvalid || !strings.Contains(r.Stderr, "two targets in one file") {
		t.Fatalf("%v\nwant exit 4 naming the shared file", r)
	}
	if got := string(read(t, c)); got != before {
		t.Fatalf("the refused deploy rewrote %s:\n%s", c, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.pem")); err == nil {
		t.Fatal("the refused deploy wrote new.pem")
	}
	if got := e.Describe(arn).InUseBy; len(got) != 1 {
		t.Fatalf("InUseBy %v, want the first target alone", got)
	}
	e.MustRun("deploy", arn, "--cert-file", c, "--key-file", k, "--chain-file", filepath.Join(dir, "ch.pem"))
}

// TestDeployExecRefusedNamesCertificate: a deploy refused because this
// host runs no hooks is recorded against the certificate it named, so that
// `audit list --resource ARN` finds it.
func TestDeployExecRefusedNamesCertificate(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("noexec.internal")
	e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "false"
	tg := newTarget(t)
	id := arn[strings.LastIndex(arn, "/")+1:]
	if r := e.Run(tg.args(id, "--exec", "true")...); r.Code != errs.ExitRefused {
		t.Fatalf("%v\nwant exit 5", r)
	}
	r := e.MustRun("audit", "list", "--resource", arn, "-o", "json")
	if !strings.Contains(r.Stdout, `"DeployCertificate"`) || !strings.Contains(r.Stdout, `"FAILURE"`) {
		t.Fatalf("the refused deploy is not in the audit log of %s:\n%s", arn, r.Stdout)
	}
}

// TestCopiedStoreInstallsNoUnboundTarget: a target recorded without a host
// (as before targets had hosts, or as anyone with access to a shared store
// can write one) is installed from a vault that was always this host's,
// but not from one restored from a backup (or migrated) — the backup may
// come from a shared store — where neither its files are written nor its
// command run.
func TestCopiedStoreInstallsNoUnboundTarget(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("unbound.internal")
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	v := e.OpenVault()
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		data, _ := json.Marshal([]map[string]any{{"certFile": filepath.Join(dir, "u.crt"), "keyFile": filepath.Join(dir, "u.key"), "exec": "touch " + pwned}})
		return tx.PutObject(&localstore.Object{Kind: dep.ObjectKind, ID: id, Data: data})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.bak")
	e.MustRun("vault", "backup", "--out-file", backup)

	restored := clitest.New(t)
	restored.SetNow(e.Now())
	restored.MustRun("vault", "restore", "--from-file", backup)
	code, res, r := restored.Renew("--due", "--within", "40d")
	if code != 0 || !strings.Contains(res[arn].Reason, "copied from") {
		t.Fatalf("renew --due in the restored vault: %v", r)
	}
	if _, err := os.Stat(pwned); !os.IsNotExist(err) {
		t.Fatal("the unbound target's command ran in the restored vault")
	}
	if _, err := os.Stat(filepath.Join(dir, "u.key")); !os.IsNotExist(err) {
		t.Fatal("the unbound target's key was written from the restored vault")
	}

	// The vault it was always in installs it, as before.
	code, _, r = e.Renew("--due", "--within", "40d")
	if code != 0 {
		t.Fatalf("renew --due in the original vault: %v", r)
	}
	if _, err := os.Stat(pwned); err != nil {
		t.Fatalf("the original vault did not install its unbound target: %v", err)
	}
}

// storeTarget reads (get) or replaces (put) certificate id's deploy record
// in the store, as anyone with access to the database can.
func storeTarget(t *testing.T, e *clitest.Env, id string, put []byte) []byte {
	t.Helper()
	v := e.OpenVault()
	defer v.Close()
	var data []byte
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		o, err := tx.GetObject(dep.ObjectKind, id)
		if err != nil {
			return err
		}
		data = o.Data
		if put == nil {
			return nil
		}
		o.Data = put
		return tx.PutObject(o)
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDeployTargetRolledBackInStore: a sealed record of this host's target
// put back into the store after the operator changed the target (its
// command removed) is not installed and its command not run; and a record
// whose version alone was changed does not make the host reinstall.
func TestDeployTargetRolledBackInStore(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("rollback.internal")
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	tg := newTarget(t)
	hookLog := filepath.Join(tg.dir, "hook.log")
	e.MustRun(tg.args(arn, "--exec", "echo ran >> "+hookLog)...)
	old := storeTarget(t, e, id, nil)
	e.MustRun(tg.args(arn)...) // the operator removes the command
	if err := os.Remove(hookLog); err != nil {
		t.Fatal(err)
	}

	// Version alone set back: not due, nothing to reinstall.
	var ts []map[string]any
	if err := json.Unmarshal(storeTarget(t, e, id, nil), &ts); err != nil {
		t.Fatal(err)
	}
	ts[0]["version"] = 0
	b, _ := json.Marshal(ts)
	storeTarget(t, e, id, b)
	before, _ := os.Stat(tg.cert)
	code, res, r := e.Renew("--due")
	if code != 0 || strings.Contains(res[arn].Reason, "redeployed") {
		t.Fatalf("a record whose version was set back made the host reinstall: %v", r)
	}
	if after, _ := os.Stat(tg.cert); !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the certificate file was rewritten")
	}

	// The older record, with its command, put back: refused at renewal.
	storeTarget(t, e, id, old)
	code, res, r = e.Renew("--due", "--within", "40d")
	if code != errs.ExitPartial || res[arn].Outcome != "RENEWED" || !strings.Contains(res[arn].Reason, "not the target this host last recorded") {
		t.Fatalf("renew --due over a record put back: %v", r)
	}
	if _, err := os.Stat(hookLog); !os.IsNotExist(err) {
		t.Fatal("the command the operator removed ran again")
	}
	// Recording it again here makes it this host's target once more.
	e.MustRun(tg.args(arn)...)
	checkInstalled(t, e, arn, tg)
}

// TestDeleteRemovesTargets: deleting a deployed certificate removes its
// deploy record (paths, host, command) from the store, alone or in bulk.
func TestDeleteRemovesTargets(t *testing.T) {
	e := clitest.New(t)
	for _, bulk := range []bool{false, true} {
		arn := e.RequestPrivate(fmt.Sprintf("gone%v.internal", bulk))
		id := arn[strings.LastIndexByte(arn, '/')+1:]
		tg := newTarget(t)
		e.MustRun(tg.args(arn, "--exec", "true")...)
		if bulk {
			e.MustRun("delete", "--query-terse", "cn:gone"+fmt.Sprint(bulk)+".internal", "--force", "--yes")
		} else {
			e.MustRun("delete", arn, "--force", "--yes")
		}
		v := e.OpenVault()
		err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
			_, err := tx.GetObject(dep.ObjectKind, id)
			return err
		})
		v.Close()
		if !errors.Is(err, localstore.ErrNotFound) {
			t.Fatalf("bulk %v: the deleted certificate's deploy record is still in the store (%v)", bulk, err)
		}
	}
}

// TestDeployInterruptedIsRecorded: a deploy interrupted (Ctrl-C) while its
// command runs has written the files: the target is recorded all the same
// (exit 1, the command failed), and the next renew --due runs the command
// again (tester: the target was never recorded, so the certificate was
// never renewed; an existing target was left unrecordable).
func TestDeployInterruptedIsRecorded(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("interrupted.internal")
	tg := newTarget(t)
	started := filepath.Join(tg.dir, "started")
	runs := filepath.Join(tg.dir, "runs")
	hook := "echo run >> " + runs + "; test -e " + started + " || { touch " + started + "; sleep 30; }"
	for round := 0; round < 2; round++ {
		// The first round deploys a new target, the second the same
		// target again.
		_ = os.Remove(started)
		f, _, errOut := e.Factory()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for i := 0; i < 300; i++ {
				if _, err := os.Stat(started); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
		}()
		code := app.Run(ctx, f, tg.args(arn, "--exec", hook))
		cancel()
		if code != errs.ExitFailure {
			t.Fatalf("round %d: interrupted deploy: exit %d, %s", round, code, errOut)
		}
		if d := e.Describe(arn); len(d.InUseBy) != 1 {
			t.Fatalf("round %d: the target was not recorded: %+v", round, d)
		}
	}
	code, res, r := e.Renew("--due")
	if code != 0 || !strings.Contains(res[arn].Reason, "redeployed") {
		t.Fatalf("renew --due after the interrupted deploys: %v", r)
	}
	checkInstalled(t, e, arn, tg)
}

// TestDeployRefusesAnotherCertificatesFile: a file where another
// certificate is deployed on this host is refused (exit 5), the other's
// target untouched; once that target is removed, the file is free
// (tester: both were recorded, and every renewal pass installed one over
// the other).
func TestDeployRefusesAnotherCertificatesFile(t *testing.T) {
	e := clitest.New(t)
	first := e.RequestPrivate("first.internal")
	second := e.RequestPrivate("second.internal")
	tg := newTarget(t)
	e.MustRun(tg.args(first)...)
	r := e.Run(tg.args(second)...)
	if r.Code != errs.ExitRefused || !strings.Contains(r.Stderr, "is a file of certificate "+first+"'s deploy target on this host") {
		t.Fatalf("deploy of a second certificate to the same file: %v", r)
	}
	// Any file of the target, by any name (review: the key file, the
	// fullchain file as a certificate file, a link to it went through).
	other := newTarget(t)
	link := filepath.Join(other.dir, "link.crt")
	if err := os.Symlink(tg.cert, link); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"the key file":            {"deploy", second, "--cert-file", other.cert, "--key-file", tg.key},
		"the fullchain file":      {"deploy", second, "--cert-file", tg.fullchain, "--key-file", other.key},
		"a link to the cert file": {"deploy", second, "--cert-file", link, "--key-file", other.key},
	} {
		if r := e.Run(args...); r.Code != errs.ExitRefused {
			t.Errorf("%s of another certificate's target: %v", name, r)
		}
	}
	if d := e.Describe(second); len(d.InUseBy) != 0 {
		t.Errorf("the refused target was recorded: %v", d.InUseBy)
	}
	if d := e.Describe(first); len(d.InUseBy) != 1 {
		t.Errorf("the first certificate's target: %v", d.InUseBy)
	}
	checkInstalled(t, e, first, tg)
	e.MustRun("deploy", first, "--remove", "--cert-file", tg.cert)
	e.MustRun(tg.args(second)...)
	checkInstalled(t, e, second, tg)
}

// TestHookOutputSetting: without a terminal a failing command's output is
// not shown unless hooks.output is stderr (tester: cron's mail never said
// why a reload failed).
func TestHookOutputSetting(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("output.internal")
	tg := newTarget(t)
	// What it prints is not in the command's own text, which the error
	// quotes.
	hook := "printf 'nginx: %s\\n' emerg-bad-config >&2; exit 1"
	r := e.Run(tg.args(arn, "--exec", hook)...)
	if r.Code != errs.ExitFailure || strings.Contains(r.Stderr, "nginx: emerg-bad-config") || !strings.Contains(r.Stderr, "hooks.output stderr") {
		t.Fatalf("no terminal, default: %v", r)
	}
	e.Vars["CERTCTL_HOOKS_OUTPUT"] = "stderr"
	r = e.Run(tg.args(arn, "--exec", hook)...)
	if r.Code != errs.ExitFailure || !strings.Contains(r.Stderr, "nginx: emerg-bad-config") {
		t.Fatalf("hooks.output stderr: %v", r)
	}
}

// TestRedeployRecordSaysInstalledWhenOnlyTheCommandFailed: the
// DeployCertificate record of a renewal whose files were installed but
// whose command failed says Installed true (and records the failure);
// one whose files could not be written says false (tester: it said false
// while the new certificate was in the files).
func TestRedeployRecordSaysInstalledWhenOnlyTheCommandFailed(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("installed.internal")
	tg := newTarget(t)
	if r := e.Run(tg.args(arn, "--exec", "exit 3")...); r.Code != errs.ExitFailure {
		t.Fatalf("deploy with a failing command: %v", r)
	}
	var first struct {
		AuditEvents []struct {
			Outcome           string
			RequestParameters map[string]any
		}
	}
	e.JSON(&first, "audit", "list", "--event-name", "DeployCertificate", "--resource", arn)
	if n := len(first.AuditEvents); n == 0 || first.AuditEvents[n-1].Outcome != "FAILURE" || first.AuditEvents[n-1].RequestParameters["Installed"] != true {
		t.Fatalf("deploy's own record of the failed command: %+v, want a FAILURE with Installed true", first.AuditEvents)
	}
	last := func() map[string]any {
		var out struct {
			AuditEvents []struct {
				Outcome           string
				RequestParameters map[string]any
			}
		}
		e.JSON(&out, "audit", "list", "--event-name", "DeployCertificate", "--resource", arn)
		rec := out.AuditEvents[len(out.AuditEvents)-1]
		if rec.Outcome != "FAILURE" {
			t.Fatalf("the last DeployCertificate record: %+v, want a FAILURE", rec)
		}
		ts, _ := rec.RequestParameters["Targets"].([]any)
		if len(ts) != 1 {
			t.Fatalf("its targets: %+v", rec.RequestParameters)
		}
		return ts[0].(map[string]any)
	}
	if r := e.Run("renew", arn); r.Code != errs.ExitPartial {
		t.Fatalf("renew with a failing command: %v", r)
	}
	checkInstalled(t, e, arn, tg)
	if got := last(); got["Installed"] != true {
		t.Fatalf("the files are installed, the record says %+v", got)
	}
	// The directory replaced by a file: nothing can be written there.
	if err := os.RemoveAll(tg.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tg.dir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.Run("renew", arn); r.Code != errs.ExitPartial {
		t.Fatalf("renew with the target's directory a file: %v", r)
	}
	if got := last(); got["Installed"] != false {
		t.Fatalf("the files could not be written, the record says %+v", got)
	}
}

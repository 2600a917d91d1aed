package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/localstore"
)

// host is one machine of a shared PostgreSQL store: its own vault
// directory (host.id, master.key copy) and environment.
type host struct {
	t     *testing.T
	vault string
	env   []string
	files string
}

func (h host) run(extra []string, args ...string) testbin.Result {
	return runEnv(h.vault, append(append([]string{}, h.env...), extra...), args...)
}

// renewResult is renew -o json's testbin.Result, with the per-target detail.
type renewResult struct {
	CertificateArn, Outcome, Reason string
	Targets                         []struct{ Target, Host, Outcome, Reason string }
}

func (h host) renew(extra []string, args ...string) (testbin.Result, map[string]renewResult) {
	h.t.Helper()
	r := h.run(extra, append(append([]string{"renew"}, args...), "-o", "json")...)
	var out struct{ Results []renewResult }
	if err := json.Unmarshal(r.Stdout, &out); err != nil {
		h.t.Fatalf("%v\nnot JSON: %v", r, err)
	}
	m := map[string]renewResult{}
	for _, res := range out.Results {
		m[res.CertificateArn] = res
	}
	return r, m
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostBoundDeploy: two vault directories on one PostgreSQL database
// play hosts A and B. A deploys to its own paths with an --exec (hooks
// allowed by A's configuration); B's renew --due renews the certificate
// but neither writes A's files nor runs A's command, and reports A's
// target as A's; A's next pass installs and runs them. B, whose hooks are
// off by default on the shared store, refuses deploy --exec (exit 5); a
// target B recorded with hooks on is installed but its command not run on
// B once hooks are off; and a target written straight into the database
// in A's name is run by neither host.
func TestHostBoundDeploy(t *testing.T) {
	store := pgtest.FreshSchema(t)
	root := t.TempDir()
	mk := func(name string, env ...string) host {
		h := host{t: t, vault: filepath.Join(root, name, "vault"), files: filepath.Join(root, name, "tls"),
			env: append([]string{"CERTCTL_STORE=" + store, "CERTCTL_HOST_NAME=" + name}, env...)}
		if err := os.MkdirAll(h.files, 0o700); err != nil {
			t.Fatal(err)
		}
		return h
	}
	a := mk("host-a", "CERTCTL_HOOKS_ALLOW_EXEC=true")
	b := mk("host-b")

	r := a.run(nil, "request", "--domain-name", "app.internal", "--certificate-authority-arn", "default", "-o", "json")
	arn := parseARN(r.Stdout)
	if r.Code != 0 || arn == "" {
		t.Fatalf("request on A: %v", r)
	}
	// Both hosts need the same master key: B gets a copy of A's.
	if err := os.MkdirAll(b.vault, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.vault, "master.key"), readFile(t, filepath.Join(a.vault, "master.key")), 0o600); err != nil {
		t.Fatal(err)
	}

	aCert, aKey := filepath.Join(a.files, "app.crt"), filepath.Join(a.files, "app.key")
	aRuns := filepath.Join(a.files, "runs")
	r = a.run(nil, "deploy", arn, "--cert-file", aCert, "--key-file", aKey, "--exec", `echo "$CERTCTL_CERT_FILE" >> `+aRuns, "-o", "json")
	if r.Code != 0 || clitest.LineCount(t, aRuns) != 1 {
		t.Fatalf("deploy on A: %v (runs %d)", r, clitest.LineCount(t, aRuns))
	}
	info, err := os.Stat(filepath.Join(a.vault, deploy.HostIDFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("host.id of A: %v %v", info, err)
	}
	labelA := "file:" + aCert + " (host host-a)"
	r = b.run(nil, "describe", arn, "-o", "json")
	var d struct{ Certificate struct{ InUseBy []string } }
	if r.Code != 0 || json.Unmarshal(r.Stdout, &d) != nil || len(d.Certificate.InUseBy) != 1 || d.Certificate.InUseBy[0] != labelA {
		t.Fatalf("describe on B: InUseBy %q, want [%q]\n%v", d.Certificate.InUseBy, labelA, r)
	}

	// B's hooks are off (the default on a shared store): deploy --exec is
	// refused with the way to enable them.
	bCert, bKey := filepath.Join(b.files, "app.crt"), filepath.Join(b.files, "app.key")
	bRuns := filepath.Join(b.files, "runs")
	r = b.run(nil, "deploy", arn, "--cert-file", bCert, "--key-file", bKey, "--exec", "echo b >> "+bRuns)
	if r.Code != 5 || !strings.Contains(string(r.Stderr), "hooks.allow_exec") || clitest.LineCount(t, bRuns) != 0 {
		t.Fatalf("deploy --exec on B with hooks off: %v", r)
	}
	if _, err := os.Stat(bCert); !os.IsNotExist(err) {
		t.Fatalf("refused deploy on B wrote %s", bCert)
	}

	// B's pass renews the certificate but leaves A's target to A.
	before := readFile(t, aCert)
	r, res := b.renew(nil, "--due", "--within", "400d")
	got := res[arn]
	if r.Code != 0 || got.Outcome != "RENEWED" || !strings.Contains(got.Reason, "belongs to host host-a") {
		t.Fatalf("renew --due on B: %+v\n%v", got, r)
	}
	if len(got.Targets) != 1 || got.Targets[0].Outcome != "OTHER_HOST" || got.Targets[0].Target != labelA || got.Targets[0].Host == "" {
		t.Fatalf("renew --due on B: targets %+v", got.Targets)
	}
	if !bytes.Equal(before, readFile(t, aCert)) || clitest.LineCount(t, aRuns) != 1 {
		t.Fatalf("B's pass wrote A's files or ran A's command (runs %d)", clitest.LineCount(t, aRuns))
	}

	// A's pass installs the renewed version and runs the command.
	r, res = a.renew(nil, "--due")
	if r.Code != 0 || !strings.Contains(res[arn].Reason, "redeployed to "+labelA) {
		t.Fatalf("renew --due on A: %+v\n%v", res[arn], r)
	}
	if bytes.Equal(before, readFile(t, aCert)) || clitest.LineCount(t, aRuns) != 2 {
		t.Fatalf("A's pass did not install the renewed certificate or run its command (runs %d)", clitest.LineCount(t, aRuns))
	}
	r = a.run(nil, "describe", arn, "--pem", "-o", "json")
	var pemOut struct{ Certificate string }
	if r.Code != 0 || json.Unmarshal(r.Stdout, &pemOut) != nil || pemOut.Certificate != string(readFile(t, aCert)) {
		t.Fatalf("A's cert file is not the current version: %v", r)
	}

	// B records a target with hooks on; with hooks off again (its
	// default) its pass installs the files but does not run the command.
	on := []string{"CERTCTL_HOOKS_ALLOW_EXEC=true"}
	r = b.run(on, "deploy", arn, "--cert-file", bCert, "--key-file", bKey, "--exec", "echo b >> "+bRuns)
	if r.Code != 0 || clitest.LineCount(t, bRuns) != 1 {
		t.Fatalf("deploy --exec on B with hooks on: %v", r)
	}
	bBefore := readFile(t, bCert)
	r, res = b.renew(nil, "--due", "--within", "400d")
	if r.Code != 7 || !strings.Contains(res[arn].Reason, "not run") || !strings.Contains(string(r.Stderr), "hooks.allow_exec") {
		t.Fatalf("renew --due on B with hooks off: %+v\n%v", res[arn], r)
	}
	if bytes.Equal(bBefore, readFile(t, bCert)) || clitest.LineCount(t, bRuns) != 1 {
		t.Fatalf("B with hooks off: files not installed, or command run (runs %d)", clitest.LineCount(t, bRuns))
	}

	// A target written straight into the database in A's name (A's host
	// ID, a command of the writer's choosing) is run by neither host.
	pwned := filepath.Join(root, "pwned")
	v, err := localstore.Open(context.Background(), filepath.Join(root, "editor"), localstore.Options{StoreURL: store})
	if err != nil {
		t.Fatal(err)
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	err = v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		ts, err := deploy.Targets(tx, id)
		if err != nil {
			return err
		}
		var idA string
		for _, x := range ts {
			if x.Host == "host-a" {
				idA = x.HostID
			}
		}
		forged := deploy.Target{CertFile: filepath.Join(a.files, "forged.crt"), KeyFile: filepath.Join(a.files, "forged.key"),
			Exec: "touch " + pwned, HostID: idA, Host: "host-a", Seal: strings.Repeat("0", 64)}
		data, _ := json.Marshal(append(ts, forged))
		return tx.PutObject(&localstore.Object{Kind: deploy.ObjectKind, ID: id, Data: data})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []host{a, b} {
		r, res = h.renew(on, "--due", "--within", "400d")
		if _, err := os.Stat(pwned); !os.IsNotExist(err) {
			t.Fatalf("%s ran the command written into the database: %v", filepath.Base(filepath.Dir(h.vault)), r)
		}
		if _, err := os.Stat(filepath.Join(a.files, "forged.key")); !os.IsNotExist(err) {
			t.Fatalf("%s installed the target written into the database", filepath.Base(filepath.Dir(h.vault)))
		}
	}
	if !strings.Contains(res[arn].Reason, "belongs to host host-a") {
		t.Fatalf("B's report of the forged target: %+v", res[arn])
	}
	r, res = a.renew(nil, "--due", "--within", "400d")
	if !strings.Contains(res[arn].Reason, "not sealed") {
		t.Fatalf("A's report of the forged target: %+v\n%v", res[arn], r)
	}
}

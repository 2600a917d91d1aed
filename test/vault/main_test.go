// Package vault holds process-level tests of the vault: many certctl
// processes at once, processes killed mid-write, and what lands on disk.
// TestMain builds the certctl binary once; each test runs it as a child.
package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/localstore"
)

var (
	harness *testbin.Harness
	// manyDir holds certNNNNN.crt/.key pairs from testpki.WriteMany.
	manyDir string
)

const manyCount = 400

func TestMain(m *testing.M) { os.Exit(testbin.Main(setup{m}, "certctl-vault-test-", &harness)) }

// setup writes the fixtures once the harness exists, then runs the tests.
type setup struct{ m *testing.M }

func (s setup) Run() int {
	manyDir = filepath.Join(harness.Dir, "many")
	if err := os.MkdirAll(manyDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := testpki.WriteMany(manyDir, manyCount, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "fixtures:", err)
		return 1
	}
	return s.m.Run()
}

// childEnv is the environment of certctl children: no CERTCTL_* from the
// caller, config and data under a private home.
func childEnv() []string { return harness.Env() }

// certctl returns a command running the binary on vault with args.
func certctl(ctx context.Context, vault string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, harness.Bin, append([]string{"--vault", vault}, args...)...)
	cmd.Env = childEnv()
	return cmd
}

// run runs certctl on vault to completion (at most a minute).
func run(vault string, args ...string) testbin.Result {
	return (&testbin.Vault{H: harness, Dir: vault}).Run(args...)
}

// importArgs imports fixture i of manyDir.
func importArgs(i int) []string {
	base := filepath.Join(manyDir, fmt.Sprintf("cert%05d", i))
	return []string{"import", "--certificate", base + ".crt", "--private-key", base + ".key", "-o", "json"}
}

// parseARN returns the ARN printed by a successful import, or "" when the
// output is not a complete import testbin.Result.
func parseARN(stdout []byte) string {
	var res struct{ CertificateArn string }
	if json.Unmarshal(stdout, &res) != nil {
		return ""
	}
	return res.CertificateArn
}

// quietOrMadeVault reports whether a read's stderr is empty, or only the
// notice that it made the vault it read (none was there: a restore that
// was refused left none, or the read came first among processes that
// start on a new vault together).
func quietOrMadeVault(stderr []byte) bool {
	return len(stderr) == 0 || regexp.MustCompile(`^certctl: there was no vault in [^\n]*: this command made a new, empty one there[^\n]*\n$`).Match(stderr)
}

// listARNs lists the vault through the binary.
func listARNs(t *testing.T, vault string) map[string]bool {
	t.Helper()
	r := run(vault, "list", "-o", "json")
	if r.Code != 0 || !quietOrMadeVault(r.Stderr) {
		t.Fatalf("list failed: %v", r)
	}
	var out struct {
		CertificateSummaryList []struct{ CertificateArn string }
		NextToken              *string
	}
	if err := json.Unmarshal(r.Stdout, &out); err != nil {
		t.Fatalf("list output: %v\n%s", err, r.Stdout)
	}
	if out.NextToken != nil {
		t.Errorf("list without --max-items returned a NextToken")
	}
	arns := map[string]bool{}
	for _, s := range out.CertificateSummaryList {
		if arns[s.CertificateArn] {
			t.Errorf("list shows %s twice", s.CertificateArn)
		}
		arns[s.CertificateArn] = true
	}
	return arns
}

// checkVault opens the vault in-process and checks it through and
// through: PRAGMA integrity_check is ok, and every certificate has its
// current version, whose sealed key opens under the vault's master key and
// matches the certificate. It returns the number of certificates.
func checkVault(t *testing.T, dir string) int {
	t.Helper()
	ctx := context.Background()
	v, err := localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		t.Fatalf("the vault does not open: %v", err)
	}
	defer v.Close()
	if err := v.Store.Check(ctx); err != nil {
		t.Fatalf("integrity check: %v", err)
	}
	var n int
	err = v.Store.View(ctx, func(tx localstore.Tx) error {
		cs, err := tx.ListCertificates(localstore.CertificateFilter{})
		if err != nil {
			return err
		}
		n = len(cs)
		for _, c := range cs {
			if err := checkCertificate(v, tx, c); err != nil {
				t.Errorf("certificate %s: %v", c.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the vault: %v", err)
	}
	return n
}

func checkCertificate(v *localstore.Vault, tx localstore.Tx, c *localstore.Certificate) error {
	vs, err := tx.ListVersions(c.ID)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return errors.New("no versions")
	}
	cur, err := tx.GetVersion(c.ID, c.Version)
	if err != nil {
		return fmt.Errorf("current version %d: %w", c.Version, err)
	}
	for _, ver := range vs {
		if ver.KeyRef == "" {
			return fmt.Errorf("version %d has no key", ver.Number)
		}
		key, err := v.OpenKey(tx, ver.KeyRef)
		if err != nil {
			return fmt.Errorf("version %d key: %w", ver.Number, err)
		}
		if ver.Number != cur.Number {
			continue
		}
		leaf, err := firstCert(cur.CertificatePEM)
		if err != nil {
			return fmt.Errorf("version %d certificate: %w", ver.Number, err)
		}
		if !publicEqual(leaf.PublicKey, key.Public()) {
			return fmt.Errorf("version %d: the sealed key does not match the certificate", ver.Number)
		}
	}
	return nil
}

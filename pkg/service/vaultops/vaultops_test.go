package vaultops_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/vaultops"
)

// cheapScrypt keeps the wrapped keys of these tests quick to open.
var cheapScrypt = localstore.ScryptParams{N: 1 << 10, R: 8, P: 1}

// run runs certctl in e, wrapping new keys with cheap KDF parameters.
func run(e *clitest.Env, args ...string) clitest.Result {
	e.T.Helper()
	f, out, errOut := e.Factory()
	f.TestScrypt = &cheapScrypt
	code := app.Run(context.Background(), f, args)
	e.Advance(e.Step)
	return clitest.Result{Args: args, Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

func mustRun(e *clitest.Env, args ...string) clitest.Result {
	e.T.Helper()
	r := run(e, args...)
	if r.Code != 0 {
		e.T.Fatalf("%v", r)
	}
	return r
}

func wantCode(t *testing.T, r clitest.Result, code errs.ExitCode) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("want exit %d:\n%v", code, r)
	}
}

// service returns the vaultops service of a new process of e.
func service(t *testing.T, e *clitest.Env) *vaultops.Service {
	t.Helper()
	f, _, _ := e.Factory()
	f.TestScrypt = &cheapScrypt
	t.Cleanup(func() { f.Close() })
	s, err := f.VaultOps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// populate gives e's vault a bit of everything: private certificates (one
// renewed, one revoked, one exported), an imported one with its chain, an
// ACME endpoint with an EAB credential, and audit records.
func populate(t *testing.T, e *clitest.Env) (arns []string) {
	t.Helper()
	for i := range 3 {
		arns = append(arns, requestPrivate(e, fmt.Sprintf("app%d.internal", i)))
	}
	exportOnce(e, arns[0])
	mustRun(e, "renew", arns[0], "-o", "json")
	mustRun(e, "revoke", arns[1], "--revocation-reason", "SUPERSEDED", "-o", "json")

	root := testpki.NewRoot("Vaultops Root", e.Now())
	sub := root.Sub("Vaultops Intermediate")
	leaf, key := sub.Leaf(testpki.LeafOptions{Names: []string{"imported.example.test"}, NotAfter: e.Now().Add(90 * 24 * time.Hour)})
	dir := e.Dir
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var imp struct{ CertificateArn string }
	r := mustRun(e, "import", "--certificate", write("leaf.pem", testpki.CertPEM(leaf)), "--private-key", write("leaf.key", testpki.KeyPEM(key)),
		"--certificate-chain", write("chain.pem", testpki.CertPEM(sub.Cert, root.Cert)), "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &imp); err != nil {
		t.Fatal(err)
	}
	arns = append(arns, imp.CertificateArn)

	ep := strings.TrimSpace(mustRun(e, "endpoint", "create", "--authorization-behavior", "PRE_APPROVED", "--contact", "NOT_REQUIRED", "-o", "text").Stdout)
	mustRun(e, "endpoint", "eab", "create", ep, "-o", "json")
	return arns
}

// exportOnce exports arn's key (with the passphrase "export pass"), as a
// certificate must have been to be eligible for renewal.
func exportOnce(e *clitest.Env, arn string) {
	e.T.Helper()
	pass := filepath.Join(e.Dir, "export-pass.txt")
	if err := os.WriteFile(pass, []byte("export pass\n"), 0o600); err != nil {
		e.T.Fatal(err)
	}
	mustRun(e, "export", arn, "--passphrase-file", pass, "-o", "json")
}

// backupOfOne requests a private certificate for domain and backs the
// vault up; it returns the backup's path.
func backupOfOne(e *clitest.Env, domain string) string {
	e.T.Helper()
	requestPrivate(e, domain)
	backup := filepath.Join(e.Dir, "backup.db")
	mustRun(e, "vault", "backup", "--out-file", backup)
	return backup
}

func requestPrivate(e *clitest.Env, domain string) string {
	e.T.Helper()
	var out struct{ CertificateArn string }
	r := mustRun(e, "request", "--domain-name", domain, "--certificate-authority-arn", "default", "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		e.T.Fatal(err)
	}
	return out.CertificateArn
}

type report struct {
	Problems                                                                                                              []vaultops.Problem
	Certificates, CertificateVersions, SealedKeys, CertificateAuthorities, AcmeEabCredentials, AcmeRecords, DeployRecords int
	AuditRecords                                                                                                          int64
}

func verify(t *testing.T, e *clitest.Env) (report, clitest.Result) {
	t.Helper()
	r := run(e, "vault", "verify", "-o", "json")
	var rep report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("verify output is not JSON: %v\n%v", err, r)
	}
	return rep, r
}

func verifyOK(t *testing.T, e *clitest.Env) report {
	t.Helper()
	rep, r := verify(t, e)
	if r.Code != 0 || len(rep.Problems) != 0 {
		t.Fatalf("vault verify: exit %d, problems %+v\n%v", r.Code, rep.Problems, r)
	}
	return rep
}

// withVault runs fn on e's vault opened directly (as another process).
func withVault(t *testing.T, e *clitest.Env, pass string, fn func(v *localstore.Vault) error) {
	t.Helper()
	opts := localstore.Options{}
	if pass != "" {
		opts.Passphrase = []byte(pass)
	}
	if u := e.Vars["CERTCTL_STORE"]; u != "" {
		opts.StoreURL = u
	}
	v, err := localstore.Open(context.Background(), e.Vars["CERTCTL_VAULT"], opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := fn(v); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	rep := verifyOK(t, e)
	// 4 certificates, 5 versions (one renewal), 2 default CAs, 1 EAB.
	if rep.Certificates != 4 || rep.CertificateVersions != 5 || rep.CertificateAuthorities < 2 || rep.AcmeEabCredentials != 1 ||
		rep.SealedKeys != 5+rep.CertificateAuthorities || rep.AuditRecords == 0 || rep.AcmeRecords == 0 {
		t.Errorf("verify counts %+v", rep)
	}

	// Break one thing of each kind; each must be listed.
	var flipped, caKeyRef string
	withVault(t, e, "", func(v *localstore.Vault) error {
		return v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			b, _ := localstore.AsBulk(tx)
			secrets, err := b.ScanSecrets("certificate/", 1)
			if err != nil || len(secrets) == 0 {
				return fmt.Errorf("no certificate secret: %v", err)
			}
			flipped = secrets[0].Ref
			s := secrets[0].Sealed
			s[len(s)-1] ^= 1
			if err := tx.PutSecret(flipped, s); err != nil {
				return err
			}
			cas, err := b.ScanSecrets("ca/", 1)
			if err != nil || len(cas) == 0 {
				return fmt.Errorf("no CA secret: %v", err)
			}
			caKeyRef = cas[0].Ref
			// Another key under the CA's ref: opens, does not match.
			sealer, err := v.Sealer()
			if err != nil {
				return err
			}
			der, _ := x509.MarshalPKCS8PrivateKey(testpki.ECKey())
			other, _ := sealer.Seal(caKeyRef, der)
			if err := tx.PutSecret(caKeyRef, other); err != nil {
				return err
			}
			if err := tx.PutSecret("certificate/nobody/v1/key", []byte("x")); err != nil {
				return err
			}
			// ACME and deploy records that a server or renew --due
			// would fail on as corrupt.
			for _, o := range []*localstore.Object{
				{Kind: acmestate.KindEndpoint, ID: "damaged-endpoint", Data: []byte("{not json")},
				{Kind: acmestate.KindOrder, ID: "damaged-order", Data: []byte{0x08, 0xff}},
				{Kind: acmestate.KindAccountKey, ID: "damaged-key", Data: []byte{}},
				{Kind: deploy.ObjectKind, ID: "damaged-deploy", Data: []byte("[{")},
			} {
				if err := tx.PutObject(o); err != nil {
					return err
				}
			}
			// The ACME servers' nonce key (acmestate.NonceKey), damaged.
			if err := tx.PutMeta("acme.nonce-key", []byte("x")); err != nil {
				return err
			}
			rows, err := tx.ListAudit(0, 1)
			if err != nil || len(rows) == 0 {
				return fmt.Errorf("no audit record: %v", err)
			}
			return b.SetAuditMACs([]localstore.AuditRow{{Seq: rows[0].Seq, MAC: []byte("forged")}})
		})
	})
	rep, r := verify(t, e)
	wantCode(t, r, errs.ExitVaultUnavailable)
	want := map[string]string{
		vaultops.CheckSealedKey:   flipped + " does not open",
		vaultops.CheckOrphanedKey: "certificate/nobody/v1/key",
		vaultops.CheckAuditChain:  "altered",
	}
	for check, substr := range want {
		found := false
		for _, p := range rep.Problems {
			found = found || (p.Check == check && strings.Contains(p.Resource+" "+p.Message, substr))
		}
		if !found {
			t.Errorf("no %s problem mentioning %q in %+v", check, substr, rep.Problems)
		}
	}
	for _, res := range []string{"acme-endpoint/damaged-endpoint", "acme-order/damaged-order", "acme-account-key/damaged-key", "certificate/damaged-deploy"} {
		found := false
		for _, p := range rep.Problems {
			found = found || (p.Check == vaultops.CheckRecord && strings.HasSuffix(p.Resource, res) && strings.Contains(p.Message, "unreadable"))
		}
		if !found {
			t.Errorf("the damaged record %s is not listed: %+v", res, rep.Problems)
		}
	}
	mismatch := false
	for _, p := range rep.Problems {
		mismatch = mismatch || (p.Check == vaultops.CheckSealedKey && strings.Contains(p.Message, caKeyRef+" does not match"))
	}
	if !mismatch {
		t.Errorf("the CA key that does not match its certificate is not listed: %+v", rep.Problems)
	}
	nonceKey := false
	for _, p := range rep.Problems {
		nonceKey = nonceKey || (p.Check == vaultops.CheckSealedKey && strings.Contains(p.Resource, "acme nonce key"))
	}
	if !nonceKey {
		t.Errorf("the damaged ACME nonce key is not listed: %+v", rep.Problems)
	}
	if !strings.Contains(r.Stderr, "problem") {
		t.Errorf("stderr does not say verify failed: %q", r.Stderr)
	}
	// -o text: one problem a line.
	r = run(e, "vault", "verify", "-o", "text")
	if got := strings.Count(strings.TrimSpace(r.Stdout), "\n") + 1; r.Code != 6 || got != len(rep.Problems) {
		t.Errorf("verify -o text: exit %d, %d lines for %d problems:\n%s", r.Code, got, len(rep.Problems), r.Stdout)
	}
	// On a terminal, a block a problem, its resource and message whole
	// at any width (tester: a table cut both to nothing at 60 columns).
	e.TTY = true
	r = run(e, "vault", "verify")
	e.TTY = false
	for _, p := range rep.Problems {
		if !strings.Contains(r.Stdout, "Resource  "+p.Resource+"\n") || !strings.Contains(r.Stdout, "Problem   "+p.Message+"\n") {
			t.Fatalf("verify on a terminal does not show %+v whole:\n%s", p, r.Stdout)
		}
	}
}

// TestVerifyCertificateColumns: a certificate whose list columns were
// changed apart from its record, and one whose record does not decode,
// are each listed once — the unreadable one's version not also as
// belonging to no certificate — and both are counted.
func TestVerifyCertificateColumns(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	var drifted, broken string
	withVault(t, e, "", func(v *localstore.Vault) error {
		return v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			b, _ := localstore.AsBulk(tx)
			saved := map[string][][]any{}
			for _, table := range []string{"certificates", "cert_versions", "secrets"} {
				if err := b.ScanTable(table, 100, func(rows [][]any) error {
					saved[table] = append(saved[table], rows...)
					return nil
				}); err != nil {
					return err
				}
			}
			certs := saved["certificates"]
			if len(certs) < 2 {
				return fmt.Errorf("%d certificates", len(certs))
			}
			drifted, broken = certs[0][0].(string), certs[1][0].(string)
			certs[0][2] = "INACTIVE"   // status
			certs[1][11] = []byte("{") // the record
			for _, r := range certs[:2] {
				if err := tx.DeleteCertificate(r[0].(string)); err != nil {
					return err
				}
			}
			if err := b.InsertRows("certificates", certs[:2]); err != nil {
				return err
			}
			// Deleting took the certificates' versions and keys: put back
			// those now missing.
			for _, table := range []string{"cert_versions", "secrets"} {
				left := map[string]bool{}
				if err := b.ScanTable(table, 100, func(rows [][]any) error {
					for _, r := range rows {
						left[fmt.Sprint(r[:2])] = true
					}
					return nil
				}); err != nil {
					return err
				}
				var missing [][]any
				for _, r := range saved[table] {
					if !left[fmt.Sprint(r[:2])] {
						missing = append(missing, r)
					}
				}
				if err := b.InsertRows(table, missing); err != nil {
					return err
				}
			}
			return nil
		})
	})
	rep, r := verify(t, e)
	wantCode(t, r, errs.ExitVaultUnavailable)
	var columns, unreadable int
	for _, p := range rep.Problems {
		switch {
		case p.Check == vaultops.CheckRecord && strings.HasSuffix(p.Resource, drifted) &&
			strings.Contains(p.Message, `list columns disagree with its record`) && strings.Contains(p.Message, `status: "INACTIVE" in the column, "`):
			columns++
		case p.Check == vaultops.CheckRecord && strings.HasSuffix(p.Resource, broken) && strings.Contains(p.Message, "record is unreadable"):
			unreadable++
		default:
			t.Errorf("unexpected problem %+v", p)
		}
	}
	if columns != 1 || unreadable != 1 {
		t.Errorf("columns disagreeing listed %d times, the unreadable record %d times (want 1 and 1): %+v", columns, unreadable, rep.Problems)
	}
	if rep.Certificates != 4 || rep.CertificateVersions != 5 {
		t.Errorf("verify counted %d certificates and %d versions, want 4 and 5", rep.Certificates, rep.CertificateVersions)
	}
}

// TestVerifyIssuer: a PRIVATE certificate whose issuing CA is not in the
// vault, and an imported one whose chain does not hold its issuer.
func TestVerifyIssuer(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	arns := populate(t, e)
	id := arns[2][strings.LastIndex(arns[2], "/")+1:]
	withVault(t, e, "", func(v *localstore.Vault) error {
		return v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			ver, err := tx.GetVersion(id, c.Version)
			if err != nil {
				return err
			}
			// Re-signed by a stranger under the same key and name.
			stranger := testpki.NewRoot("Stranger", e.Now())
			leaf, _ := stranger.Leaf(testpki.LeafOptions{Names: []string{c.DomainName}})
			ver.CertificatePEM = testpki.CertPEM(leaf)
			return tx.PutVersion(id, ver)
		})
	})
	rep, r := verify(t, e)
	wantCode(t, r, errs.ExitVaultUnavailable)
	var issuer, key bool
	for _, p := range rep.Problems {
		issuer = issuer || (p.Check == vaultops.CheckIssuer && strings.HasSuffix(p.Resource, id))
		key = key || (p.Check == vaultops.CheckSealedKey && strings.Contains(p.Resource, id))
	}
	if !issuer || !key {
		t.Errorf("problems %+v: want an Issuer and a SealedKey problem for %s", rep.Problems, id)
	}
}

// TestTamperedKDFParameters: scrypt parameters in a wrapped key file that
// would take gigabytes are refused (exit 6) before anything is allocated.
func TestTamperedKDFParameters(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	requestPrivate(e, "a.internal")
	path := filepath.Join(e.Vault, localstore.WrappedMasterFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w map[string]any
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	w["params"] = map[string]int{"n": 1 << 22, "r": 64, "p": 16}
	raw, _ = json.Marshal(w)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := run(e, "vault", "verify", "-o", "json")
	runtime.ReadMemStats(&after)
	wantCode(t, r, errs.ExitVaultUnavailable)
	if !strings.Contains(r.Stderr, "scrypt") {
		t.Errorf("stderr does not name the KDF parameters: %s", r.Stderr)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
		t.Errorf("refusing the parameters allocated %d MiB", d>>20)
	}
}

// TestBackupRestore: a passphrase vault backed up and restored into a new
// directory lists the same, verifies, exports a key with the same
// passphrase; the backup needs that passphrase; a vault that holds
// anything refuses a restore (exit 5, recorded); other files exit 4.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	arns := populate(t, e)
	backup := filepath.Join(e.Dir, "backup.db")
	var res vaultops.BackupResult
	if err := json.Unmarshal([]byte(mustRun(e, "vault", "backup", "--out-file", backup, "-o", "json").Stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.MasterKey != vaultops.KeyWrapped || res.Certificates != 4 || res.Source != "sqlite" {
		t.Errorf("backup result %+v", res)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	// Backing up needs no passphrase: the key travels wrapped.
	delete(e.Vars, "CERTCTL_VAULT_PASSPHRASE")
	again := filepath.Join(e.Dir, "backup-nopass.db")
	mustRun(e, "vault", "backup", "--out-file", again)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	data, _ := os.ReadFile(backup)
	if strings.Contains(string(data), "correct horse") || strings.Contains(string(data), "PRIVATE KEY") {
		t.Error("the backup holds the passphrase or a key in clear")
	}
	listBefore := mustRun(e, "list", "-o", "json").Stdout
	eventsBefore := mustRun(e, "events", "-o", "json").Stdout
	auditBefore := auditNames(t, e, "correct horse")

	target := filepath.Join(e.Dir, "restored")
	restore := func(pass string, args ...string) clitest.Result {
		e.Vars["CERTCTL_VAULT_PASSPHRASE"] = pass
		return run(e, append([]string{"--vault", target, "vault", "restore", "--from-file", backup, "-o", "json"}, args...)...)
	}
	wantCode(t, restore(""), errs.ExitVaultUnavailable)
	wantCode(t, restore("wrong"), errs.ExitVaultUnavailable)
	r := restore("correct horse")
	wantCode(t, r, 0)
	e.Vars["CERTCTL_VAULT"] = target
	var rep report
	rep = verifyOK(t, e)
	if rep.Certificates != 4 {
		t.Errorf("restored vault: %+v", rep)
	}
	if got := mustRun(e, "list", "-o", "json").Stdout; got != listBefore {
		t.Errorf("list differs after restore:\n%s\nvs\n%s", got, listBefore)
	}
	if got := mustRun(e, "events", "-o", "json").Stdout; got != eventsBefore {
		t.Errorf("events differ after restore:\n%s\nvs\n%s", got, eventsBefore)
	}
	// The backup made with the passphrase is recorded after what it holds
	// (the one made without it is not: its keys travel wrapped, and the
	// locked vault cannot extend its log); the restored log is the one the
	// backup holds, and the restore.
	if n := len(auditBefore); n == 0 || auditBefore[n-1] != "BackupVault/SUCCESS" || slices.Contains(auditBefore[:n-1], "BackupVault/SUCCESS") {
		t.Fatalf("audit log after the two backups: %v, want one BackupVault record, last", auditBefore)
	}
	held := auditBefore[:len(auditBefore)-1]
	if got := auditNames(t, e, "correct horse"); !slices.Equal(got, append(slices.Clone(held), "RestoreVault/SUCCESS")) {
		t.Errorf("restored audit log %v, want %v and the restore", got, held)
	}
	pass := filepath.Join(e.Dir, "export-pass.txt")
	mustRun(e, "export", arns[2], "--passphrase-file", pass, "-o", "json")
	if _, err := os.Stat(filepath.Join(target, localstore.WrappedMasterFile)); err != nil {
		t.Errorf("restored vault has no wrapped key: %v", err)
	}

	// A second restore into it is refused, and the refusal recorded.
	wantCode(t, restore("correct horse"), errs.ExitRefused)
	names := auditNames(t, e, "correct horse")
	if names[len(names)-1] != "RestoreVault/FAILURE" {
		t.Errorf("audit log ends %v, want a RestoreVault FAILURE", names[max(0, len(names)-3):])
	}
	found := false
	for _, n := range names {
		found = found || n == "RestoreVault/SUCCESS"
	}
	if !found {
		t.Errorf("no RestoreVault record in %v", names)
	}

	// Not a backup.
	e.Vars["CERTCTL_VAULT"] = filepath.Join(e.Dir, "other")
	wantCode(t, run(e, "vault", "restore", "--from-file", filepath.Join(e.Dir, "leaf.pem")), errs.ExitInvalid)
	wantCode(t, run(e, "vault", "restore", "--from-file", filepath.Join(e.Dir, "nope")), errs.ExitInvalid)
	wantCode(t, run(e, "vault", "restore"), errs.ExitUsage)
}

// auditNames lists the vault's audit records as Name/Outcome, after
// checking the chain.
func auditNames(t *testing.T, e *clitest.Env, pass string) []string {
	t.Helper()
	var names []string
	withVault(t, e, pass, func(v *localstore.Vault) error {
		s, err := v.Sealer()
		if err != nil {
			return err
		}
		return v.Store.View(context.Background(), func(tx localstore.Tx) error {
			if _, p, err := audit.Verify(tx, s.AuditKey()); err != nil || p != nil {
				return fmt.Errorf("audit chain: %v %v", p, err)
			}
			recs, err := audit.List(tx, audit.Filter{}, 0, 0)
			for _, r := range recs {
				names = append(names, r.EventName+"/"+r.Outcome)
			}
			return err
		})
	})
	return names
}

// seedImported adds n imported certificates (with sealed keys) to the vault
// in dir, as bench/cmd/seed does.
func seedImported(t *testing.T, e *clitest.Env, pass string, n int) {
	t.Helper()
	root := testpki.NewRoot("Seed Root", e.Now())
	sub := root.Sub("Seed Intermediate")
	leaf, key := sub.Leaf(testpki.LeafOptions{Names: []string{"seed.example.test"}, NotAfter: e.Now().Add(90 * 24 * time.Hour)})
	m := &inventory.Material{Leaf: leaf, Chain: []*x509.Certificate{sub.Cert}, Key: key}
	withVault(t, e, pass, func(v *localstore.Vault) error {
		return v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			for i := range n {
				c, err := inventory.NewImported(m, nil, e.Now().Add(time.Duration(i)*time.Microsecond))
				if err != nil {
					return err
				}
				if err := inventory.StoreImported(tx, v, c, m, e.Now()); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// TestRotateKey: every secret re-sealed, the audit chain re-keyed and
// verifying, the old key file gone; keys export afterwards.
func TestRotateKey(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	arns := populate(t, e)
	seedImported(t, e, "correct horse", 700)
	before := verifyOK(t, e)
	oldKey, _ := os.ReadFile(filepath.Join(e.Vault, localstore.WrappedMasterFile))
	var res vaultops.RotateResult
	if err := json.Unmarshal([]byte(mustRun(e, "vault", "rotate-key", "-o", "json").Stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.SealedKeys != before.SealedKeys || res.AcmeEabCredentials != 1 || res.MasterKey != vaultops.KeyWrapped ||
		res.MasterKeyID == res.PreviousMasterKeyID || res.AuditRecords != before.AuditRecords+1 {
		t.Errorf("rotate-key result %+v (verify before: %+v)", res, before)
	}
	newKey, _ := os.ReadFile(filepath.Join(e.Vault, localstore.WrappedMasterFile))
	if string(newKey) == string(oldKey) {
		t.Error("master.key.enc did not change")
	}
	after := verifyOK(t, e)
	if after.SealedKeys != before.SealedKeys || after.AuditRecords != before.AuditRecords+1 {
		t.Errorf("after rotation: %+v, before %+v", after, before)
	}
	pass := filepath.Join(e.Dir, "export-pass.txt")
	mustRun(e, "export", arns[2], "--passphrase-file", pass, "-o", "json")
	if names := auditNames(t, e, "correct horse"); !slices.Contains(names, "RotateVaultKey/SUCCESS") {
		t.Errorf("no RotateVaultKey record in %v", names)
	}
	// The old key file no longer opens the vault.
	if err := os.WriteFile(filepath.Join(e.Vault, localstore.WrappedMasterFile), oldKey, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, run(e, "vault", "verify"), errs.ExitVaultUnavailable)
}

// TestRotateKeyAllOrNothing fails a rotation of many keys midway (after
// 1000 of them were re-sealed): nothing changes, the old key opens every
// key, the audit chain still verifies, and the next rotation works.
func TestRotateKeyAllOrNothing(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	seedImported(t, e, "", 1500)
	before := verifyOK(t, e)
	dump := clitest.Dump(t, e.Vault)
	svc := service(t, e)
	boom := errors.New("injected failure")
	calls := 0
	vaultops.SetRotateProgress(svc, func(done int) error {
		calls++
		if done >= 1000 {
			return boom
		}
		return nil
	})
	_, err := svc.RotateKey(context.Background())
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("RotateKey: %v, want the injected failure", err)
	}
	if calls < 2 {
		t.Fatalf("the failure came after %d batches", calls)
	}
	if got := clitest.Dump(t, e.Vault); got != dump {
		t.Error("the failed rotation changed the database")
	}
	after := verifyOK(t, e)
	if after.SealedKeys != before.SealedKeys {
		t.Errorf("keys opened: %d, before %d", after.SealedKeys, before.SealedKeys)
	}
	mustRun(e, "vault", "rotate-key", "-o", "json")
	verifyOK(t, e)
}

// TestRotateKeyFailedLeavesNoKeyFiles: a rotation that does not commit
// leaves in the vault directory neither its new key's pending file (the
// key in clear, for a vault whose key is) nor the copy of the current key
// it kept for the stores that share it, named as replaced while it was
// not (tester: both stayed after a full disk, a SIGTERM) — with a key in
// clear and a wrapped one, on a vault whose key a migration shares.
func TestRotateKeyFailedLeavesNoKeyFiles(t *testing.T) {
	t.Parallel()
	for _, pass := range []string{"", "correct horse"} {
		e := clitest.New(t)
		e.Vars["CERTCTL_VAULT_PASSPHRASE"] = pass
		requestPrivate(e, "rotate.internal")
		mustRun(e, "vault", "migrate", "--to", "sqlite:"+filepath.Join(e.Dir, "copy", "vault.db"))
		listing := func() []string {
			ents, err := os.ReadDir(e.Vault)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range ents {
				if strings.HasPrefix(d.Name(), "master.key") {
					names = append(names, d.Name())
				}
			}
			return names
		}
		before := listing()
		svc := service(t, e)
		vaultops.SetRotateProgress(svc, func(int) error { return errors.New("injected failure") })
		if _, err := svc.RotateKey(context.Background()); err == nil {
			t.Fatal("the rotation did not fail")
		}
		if after := listing(); !slices.Equal(after, before) {
			t.Errorf("passphrase %q: key files %v after the failed rotation, %v before", pass, after, before)
		}
		verifyOK(t, e)
		// Made again, it keeps the shared key, named as replaced.
		mustRun(e, "vault", "rotate-key", "-o", "json")
		verifyOK(t, e)
		if kept := listing(); len(kept) != len(before)+1 {
			t.Errorf("passphrase %q: key files %v after the rotation", pass, kept)
		}
	}
}

// TestChangePassphrase: afterwards the old passphrase exits 6 and the new
// one opens every key; a key in clear gets its first passphrase.
func TestChangePassphrase(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "old pass"
	arns := populate(t, e)
	newPass := filepath.Join(e.Dir, "new.txt")
	if err := os.WriteFile(newPass, []byte("new pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(e, "vault", "change-passphrase", "--new-passphrase-file", newPass, "-o", "json")
	wantCode(t, run(e, "vault", "verify"), errs.ExitVaultUnavailable)
	r := run(e, "export", arns[2], "--passphrase-file", filepath.Join(e.Dir, "export-pass.txt"))
	wantCode(t, r, errs.ExitVaultUnavailable)
	if !strings.Contains(r.Stderr, "wrong vault passphrase") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "new pass"
	verifyOK(t, e)
	mustRun(e, "export", arns[2], "--passphrase-file", filepath.Join(e.Dir, "export-pass.txt"), "-o", "json")
	names := auditNames(t, e, "new pass")
	found := false
	for _, n := range names {
		found = found || n == "ChangeVaultPassphrase/SUCCESS"
	}
	if !found {
		t.Errorf("no ChangeVaultPassphrase record: %v", names)
	}
	wantCode(t, run(e, "vault", "change-passphrase"), errs.ExitUsage)
	empty := filepath.Join(e.Dir, "empty.txt")
	os.WriteFile(empty, []byte("\n"), 0o600)
	wantCode(t, run(e, "vault", "change-passphrase", "--new-passphrase-file", empty), errs.ExitInvalid)

	// A vault with its key in clear gets a passphrase.
	p := clitest.New(t)
	requestPrivate(p, "plain.internal")
	mustRun(p, "vault", "change-passphrase", "--new-passphrase-file", newPass)
	if _, err := os.Stat(filepath.Join(p.Vault, localstore.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("master.key in clear left: %v", err)
	}
	wantCode(t, run(p, "vault", "verify"), errs.ExitVaultUnavailable)
	p.Vars["CERTCTL_VAULT_PASSPHRASE"] = "new pass"
	verifyOK(t, p)
}

// TestBackupStdout: --out-file - writes the backup to stdout (the summary
// to stderr), refused on a terminal; --from-file - restores it from stdin.
func TestBackupStdout(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	arns := populate(t, e)
	r := mustRun(e, "vault", "backup", "--out-file", "-")
	if !strings.HasPrefix(r.Stdout, "SQLite format 3\x00") || !strings.Contains(r.Stderr, "backup of 4 certificates") {
		t.Fatalf("backup to stdout: %d bytes, stderr %q", len(r.Stdout), r.Stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(e.Vault, ".backup-*")); len(m) != 0 {
		t.Errorf("temporary files left in the vault: %v", m)
	}
	e.TTY = true
	wantCode(t, run(e, "vault", "backup", "--out-file", "-"), errs.ExitUsage)
	e.TTY = false

	e.Vars["CERTCTL_VAULT"] = filepath.Join(e.Dir, "restored")
	f, out, errOut := e.Factory()
	f.IO.In = strings.NewReader(r.Stdout)
	if code := app.Run(context.Background(), f, []string{"vault", "restore", "--from-file", "-", "-o", "json"}); code != 0 {
		t.Fatalf("restore from stdin: exit %d\n%s\n%s", code, out, errOut)
	}
	verifyOK(t, e)
	mustRun(e, "describe", arns[0], "--versions")
}

// TestBackupDestinationFailure: a backup its destination refuses (a
// directory that takes no file) fails with exit 1 naming the file, not
// exit 6: the vault is fine, and keeps working.
func TestBackupDestinationFailure(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	r := run(e, "vault", "backup", "--out-file", "/proc/certctl-backup.db")
	wantCode(t, r, errs.ExitFailure)
	if !strings.Contains(r.Stderr, "writing the backup /proc/certctl-backup.db") {
		t.Errorf("stderr %q does not name the backup", r.Stderr)
	}
	mustRun(e, "vault", "verify")
}

// TestVerifyAfterRotationElsewhere: a process that loaded the master key
// before another process rotated it verifies the vault and the audit chain
// under the key the store is now sealed under — not its own older one,
// under which every sealed key and record would seem damaged.
func TestVerifyAfterRotationElsewhere(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	f, _, _ := e.Factory()
	f.TestScrypt = &cheapScrypt
	t.Cleanup(func() { f.Close() })
	ctx := context.Background()
	vo, err := f.VaultOps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	al, err := f.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vo.Verify(ctx); err != nil { // loads the key
		t.Fatal(err)
	}
	mustRun(e, "vault", "rotate-key", "-o", "json")
	rep, err := vo.Verify(ctx)
	if err != nil {
		t.Fatalf("verify after another process rotated the key: %v, problems %+v", err, rep.Problems)
	}
	if _, err := al.Verify(ctx); err != nil {
		t.Fatalf("audit verify after another process rotated the key: %v", err)
	}
}

// backupOf requests a certificate for name in e's vault, backs the vault
// up and returns the backup's path and bytes.
func backupOf(t *testing.T, e *clitest.Env, name string) (string, []byte) {
	t.Helper()
	requestPrivate(e, name)
	backup := filepath.Join(e.Dir, "backup.db")
	mustRun(e, "vault", "backup", "--out-file", backup)
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	return backup, b
}

// TestRestoreRefusedLeavesNoVault: a file that is not a backup (garbage;
// a truncated one) is refused before the vault is opened, so that it
// leaves no vault behind: no directory where there was none, only what
// was already there in one that existed; a vault that holds data is left
// as it is.
func TestRestoreRefusedLeavesNoVault(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	_, good := backupOf(t, e, "kept.internal")
	garbage, truncated := filepath.Join(e.Dir, "garbage.db"), filepath.Join(e.Dir, "truncated.db")
	if err := os.WriteFile(garbage, []byte("not a backup\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{garbage, truncated} {
		fresh := filepath.Join(t.TempDir(), "new-vault")
		wantCode(t, run(e, "--vault", fresh, "vault", "restore", "--from-file", from), errs.ExitInvalid)
		if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the refused restore left %s behind (%v)", filepath.Base(from), fresh, err)
		}
		existing := t.TempDir()
		if err := os.WriteFile(filepath.Join(existing, "notes.txt"), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantCode(t, run(e, "--vault", existing, "vault", "restore", "--from-file", from), errs.ExitInvalid)
		if ents, _ := os.ReadDir(existing); len(ents) != 1 || ents[0].Name() != "notes.txt" {
			t.Errorf("%s: the refused restore left %v in an existing directory", filepath.Base(from), ents)
		}
	}
	// Into the vault that holds data: refused, nothing removed.
	wantCode(t, run(e, "vault", "restore", "--from-file", garbage), errs.ExitInvalid)
	if r := mustRun(e, "list", "-o", "text"); !strings.Contains(r.Stdout, "kept.internal") {
		t.Errorf("the vault lost its certificate: %q", r.Stdout)
	}
}

// TestRestoreNewerBackup: a backup a newer certctl made (its schema
// version past this one's) is refused (exit 4) as such — made by a newer
// certctl, to restore with that release or a newer one — not as "not a
// certctl vault backup" (tester), and leaves no vault behind.
func TestRestoreNewerBackup(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	backup, b := backupOf(t, e, "newer.internal")
	binary.BigEndian.PutUint32(b[60:], uint32(localstore.SchemaVersion+85)) // the header's user_version
	if err := os.WriteFile(backup, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "new-vault")
	r := run(e, "--vault", fresh, "vault", "restore", "--from-file", backup)
	wantCode(t, r, errs.ExitInvalid)
	want := fmt.Sprintf("%s: a backup made by a newer certctl (vault schema version %d; this certctl understands up to %d): restore it with that release or a newer one",
		backup, localstore.SchemaVersion+85, localstore.SchemaVersion)
	if !strings.Contains(r.Stderr, want) || strings.Contains(r.Stderr, "not a certctl vault backup") {
		t.Errorf("stderr %q, want %q", r.Stderr, want)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused restore left %s behind (%v)", fresh, err)
	}
}

// TestRestoreFailedLeavesNoVault: a backup that is one but whose restore
// fails once the vault is open (its master key wrapped under a passphrase
// the restore was not given) leaves no vault behind either (tester: an
// empty database stayed in the new directory): no directory where there
// was none, an existing directory as empty as it was; the restore with
// the right passphrase then works there.
func TestRestoreFailedLeavesNoVault(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	requestPrivate(e, "wrapped.internal")
	backup := filepath.Join(e.Dir, "backup.db")
	mustRun(e, "vault", "backup", "--out-file", backup)
	fresh := filepath.Join(t.TempDir(), "new-vault")
	existing := t.TempDir()
	for _, dir := range []string{fresh, existing} {
		e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "wrong horse"
		wantCode(t, run(e, "--vault", dir, "vault", "restore", "--from-file", backup), errs.ExitVaultUnavailable)
		ents, err := os.ReadDir(dir)
		switch {
		case dir == fresh && !errors.Is(err, os.ErrNotExist):
			t.Errorf("the failed restore left %s behind (%v, %v)", dir, ents, err)
		case dir == existing && (err != nil || len(ents) != 0):
			t.Errorf("the failed restore left %v in an existing empty directory (%v)", ents, err)
		}
		e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
		mustRun(e, "--vault", dir, "vault", "restore", "--from-file", backup)
		if r := mustRun(e, "--vault", dir, "list", "-o", "text"); !strings.Contains(r.Stdout, "wrapped.internal") {
			t.Errorf("restored into %s: %q", dir, r.Stdout)
		}
	}
	// A directory that holds anything but holds no vault.db (a shared
	// store's master key; a database renamed aside) is no new vault: a
	// failed restore there removes nothing of it (review: they were
	// deleted).
	kept := t.TempDir()
	for _, name := range []string{"master.key", "host.id", "vault.db.old"} {
		if err := os.WriteFile(filepath.Join(kept, name), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "wrong horse"
	wantCode(t, run(e, "--vault", kept, "vault", "restore", "--from-file", backup), errs.ExitVaultUnavailable)
	for _, name := range []string{"master.key", "host.id", "vault.db.old"} {
		if data, err := os.ReadFile(filepath.Join(kept, name)); err != nil || string(data) != "mine" {
			t.Errorf("the failed restore took %s (%q, %v)", name, data, err)
		}
	}
	if _, err := os.Stat(filepath.Join(kept, localstore.DatabaseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed restore left the database it created in %s (%v)", kept, err)
	}
	// With the right passphrase, the restore keeps a key file it replaces
	// beside it, and says where: it may be another store's (tester: a
	// PostgreSQL host's key was replaced and lost when CERTCTL_STORE was
	// unset).
	foreign := t.TempDir()
	otherKey := filepath.Join(e.Vars["CERTCTL_VAULT"], "master.key.enc")
	key, err := os.ReadFile(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	key[len(key)-1] ^= 1 // another key file: the backup's key does not match it
	if err := os.WriteFile(filepath.Join(foreign, "master.key.enc"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	r := mustRun(e, "--vault", foreign, "vault", "restore", "--from-file", backup)
	keptKeys, _ := filepath.Glob(filepath.Join(foreign, "master.key.enc.replaced-*"))
	if len(keptKeys) != 1 || !strings.Contains(r.Stderr, "another master key, kept as "+keptKeys[0]) {
		t.Fatalf("kept %v; restore: %v", keptKeys, r)
	}
	if data, _ := os.ReadFile(keptKeys[0]); string(data) != string(key) {
		t.Error("the key file kept is not the one replaced")
	}
	// The directory's own key again (a restore over it, as after deleting
	// a damaged vault.db): nothing to keep, nothing said.
	for _, p := range []string{"vault.db", "vault.db-wal", "vault.db-shm"} {
		_ = os.Remove(filepath.Join(foreign, p))
	}
	r = mustRun(e, "--vault", foreign, "vault", "restore", "--from-file", backup)
	if again, _ := filepath.Glob(filepath.Join(foreign, "master.key.enc.replaced-*")); len(again) != 1 || strings.Contains(r.Stderr, "kept as") {
		t.Errorf("restoring over the same key kept %v: %v", again, r)
	}
	// Directories the restore made for a nested --vault go too (review:
	// the parents stayed).
	nest := filepath.Join(t.TempDir(), "nest")
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "wrong horse"
	wantCode(t, run(e, "--vault", filepath.Join(nest, "b", "c"), "vault", "restore", "--from-file", backup), errs.ExitVaultUnavailable)
	if _, err := os.Stat(nest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed restore left %s (%v)", nest, err)
	}
	// A vault.db another process made after the restore found the
	// directory empty is not this restore's to remove (review).
	raced := filepath.Join(t.TempDir(), "raced")
	fb, err := os.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	b, err := vaultops.ReadBackup(context.Background(), fb, "backup.db", raced)
	if err != nil {
		t.Fatal(err)
	}
	other, err := localstore.Open(context.Background(), raced, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	// failRestoreIn restores b into dir as a process of its own, with the
	// wrong passphrase, and closes that process's vault.
	failRestoreIn := func(dir string, b *vaultops.Backup) {
		t.Helper()
		own := e.Vars["CERTCTL_VAULT"]
		e.Vars["CERTCTL_VAULT"] = dir
		f, _, _ := e.Factory()
		e.Vars["CERTCTL_VAULT"] = own
		f.TestScrypt = &cheapScrypt
		svc, err := f.VaultOps(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RestoreBackup(context.Background(), b, "backup.db", false); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
			t.Errorf("restore into %s: %v", dir, err)
		}
		b.Close()
		f.Close()
	}
	failRestoreIn(raced, b)
	if _, err := os.Stat(filepath.Join(raced, localstore.DatabaseFile)); err != nil {
		t.Errorf("the failed restore removed a database not its own to remove: %v", err)
	}
	// The database this restore created goes, and nothing beside it: a
	// file another process put there meanwhile stays.
	beside := filepath.Join(t.TempDir(), "beside")
	if _, err := fb.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err = vaultops.ReadBackup(context.Background(), fb, "backup.db", beside)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(beside, "audit.witness-other"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	failRestoreIn(beside, b)
	if ents, _ := os.ReadDir(beside); len(ents) != 1 || ents[0].Name() != "audit.witness-other" {
		t.Errorf("after the failed restore %s holds %v, want only the other process's file", beside, ents)
	}
	// A refused restore into a vault that holds data removes nothing.
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "wrong horse"
	wantCode(t, run(e, "--vault", fresh, "vault", "restore", "--from-file", backup), errs.ExitRefused)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	if r := mustRun(e, "--vault", fresh, "list", "-o", "text"); !strings.Contains(r.Stdout, "wrapped.internal") {
		t.Errorf("the vault lost its certificate: %q", r.Stdout)
	}
}

// TestRestoreFailedAfterKeyInstallNamesKeptKey: a restore that replaced
// the directory's key file (kept beside it) and then failed — another
// process wrote into the store meanwhile — still says where the replaced
// key is (it said so only on success; the key was kept without a word).
func TestRestoreFailedAfterKeyInstallNamesKeptKey(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	requestPrivate(e, "wrapped.internal")
	backup := filepath.Join(e.Dir, "backup.db")
	mustRun(e, "vault", "backup", "--out-file", backup)
	key, err := os.ReadFile(filepath.Join(e.Vars["CERTCTL_VAULT"], "master.key.enc"))
	if err != nil {
		t.Fatal(err)
	}
	key[len(key)-1] ^= 1 // another key file than the backup's
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "master.key.enc"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	own := e.Vars["CERTCTL_VAULT"]
	e.Vars["CERTCTL_VAULT"] = foreign
	f, _, _ := e.Factory()
	f.TestScrypt = &cheapScrypt
	defer f.Close()
	svc, err := cmdutil.ForRestore(f, f.VaultOps)(context.Background()) // as vault restore opens it
	if err != nil {
		t.Fatal(err)
	}
	// Another process's first change, made once the backup's key is in
	// place: the restore then finds the store no longer empty.
	e.Vars["CERTCTL_VAULT"] = own
	vaultops.SetAfterKeyInstall(svc, func() {
		e.Vars["CERTCTL_VAULT"] = foreign
		defer func() { e.Vars["CERTCTL_VAULT"] = own }()
		requestPrivate(e, "meanwhile.internal")
	})
	fb, err := os.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	_, err = svc.Restore(context.Background(), fb, "backup.db", false)
	keptKeys, _ := filepath.Glob(filepath.Join(foreign, "master.key.enc.replaced-*"))
	var ce *errs.Error
	if errs.ExitCodeOf(err) != errs.ExitRefused || len(keptKeys) != 1 || !errors.As(err, &ce) ||
		!strings.Contains(ce.Hint, "another master key, kept as "+keptKeys[0]) {
		t.Fatalf("restore: %v (kept %v)", err, keptKeys)
	}
	// The hint the refusal had (where to restore instead) is still there.
	if !strings.Contains(ce.Hint, "new vault directory") {
		t.Errorf("hint: %q", ce.Hint)
	}
}

// TestRestoreRacesFirstWrite: another process's first write into a new
// vault directory, made while a restore there has found it empty and not
// yet installed the backup's key (tester: a request and a restore at
// once), keeps its data and its key: the restore is refused (the vault is
// no longer empty), the vault verifies and the request's key opens.
// Before, the restore replaced the directory's key, under which the
// request had just sealed its data, and the vault never opened again.
func TestRestoreRacesFirstWrite(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	backup := backupOfOne(e, "source.internal")
	target := filepath.Join(e.Dir, "race")
	e.Vars["CERTCTL_VAULT"] = target
	svc := service(t, e)
	var arn string
	vaultops.SetAfterEmptyCheck(svc, func() { arn = requestPrivate(e, "racer.internal") })
	f, err := os.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = svc.Restore(context.Background(), f, backup, false)
	if code := errs.ExitCodeOf(err); code != errs.ExitRefused {
		t.Fatalf("restore after another process's first write: %v (exit %d), want refused", err, code)
	}
	verifyOK(t, e)
	pass := filepath.Join(e.Dir, "pass.txt")
	if err := os.WriteFile(pass, []byte("pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(e, "export", arn, "--passphrase-file", pass, "-o", "json")
}

// TestRestoreSweepsKilledRestores: the working copy a restore killed in the
// vault directory left (a copy of the backup, the master key in it) is
// removed by the next restore there when the process that made it is
// gone; one of a process still running is left to it.
func TestRestoreSweepsKilledRestores(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	backup := backupOfOne(e, "app.internal")
	target := filepath.Join(e.Dir, "restored")
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{
		localstore.RestoreTempPrefix(gone.Process.Pid) + "123":         false, // its process exited
		localstore.RestoreTempPrefix(os.Getpid()) + "456":              true,  // this process runs
		".restore-0badc0de." + strconv.Itoa(gone.Process.Pid) + "-789": true,  // another host's
	}
	for name := range left {
		if err := os.MkdirAll(filepath.Join(target, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, name, "vault.db"), []byte("a copy of a backup"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(e, "--vault", target, "vault", "restore", "--from-file", backup, "-o", "json")
	for name, kept := range left {
		if _, err := os.Stat(filepath.Join(target, name)); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v (%v)", name, err == nil, kept, err)
		}
	}
}

// TestBackupSweepsKilledBackups: the working copy a backup killed by
// kill -9 left beside its --out-file (a copy of the vault: sealed keys,
// and the key of a vault whose key is in clear) is removed by the next
// backup there as soon as its process is gone (tester: an hour later),
// and so is one in the vault directory (backup to standard output); one
// of a process still running is left to it.
func TestBackupSweepsKilledBackups(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	requestPrivate(e, "app.internal")
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(e.Dir, "backups")
	for _, dir := range []string{out, e.Vars["CERTCTL_VAULT"]} {
		left := map[string]bool{
			fsutil.OwnedTempPrefix(".backup-", gone.Process.Pid) + "123": false, // its process exited
			fsutil.OwnedTempPrefix(".backup-", os.Getpid()) + "456":      true,  // this process runs
		}
		for name := range left {
			if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name, "backup"), []byte("a copy of the vault"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if dir == out {
			mustRun(e, "vault", "backup", "--out-file", filepath.Join(out, "b.bak"), "-o", "json")
		} else {
			mustRun(e, "vault", "backup", "--out-file", "-", "-o", "json")
		}
		for name, kept := range left {
			if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != kept {
				t.Errorf("%s: kept %v, want %v (%v)", filepath.Join(dir, name), err == nil, kept, err)
			}
		}
	}
}

// TestBackupRefusesSharedDirectory: a backup (a copy of the vault) is not
// written in a directory every user may write (tester: another user took
// the copy as it was written); a sticky one (/tmp) is fine.
func TestBackupRefusesSharedDirectory(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	requestPrivate(e, "app.internal")
	open := filepath.Join(e.Dir, "open")
	sticky := filepath.Join(e.Dir, "sticky")
	for d, mode := range map[string]os.FileMode{open: 0o777, sticky: 0o777 | os.ModeSticky} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	r := run(e, "vault", "backup", "--out-file", filepath.Join(open, "b.bak"))
	wantCode(t, r, errs.ExitInvalid)
	if !strings.Contains(r.Stderr, "may be written by another user") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	if ents, _ := os.ReadDir(open); len(ents) != 0 {
		t.Errorf("the refused backup left %v", ents)
	}
	mustRun(e, "vault", "backup", "--out-file", filepath.Join(sticky, "b.bak"), "-o", "json")
}

// TestRecordNamesChangedOutsideCertctl: a certificate whose record was
// given another name in the database (the store's write access alone,
// without the master key) is not renewed with that name — renew exits 6
// saying why, nothing is issued — and vault verify lists it.
func TestRecordNamesChangedOutsideCertctl(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	arn := requestPrivate(e, "app.internal")
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	exportOnce(e, arn) // eligible for renewal
	withVault(t, e, "", func(v *localstore.Vault) error {
		return v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			c.SubjectAlternativeNames = append(c.SubjectAlternativeNames, "login.bank.internal")
			return tx.PutCertificate(c)
		})
	})
	r := run(e, "renew", arn, "-o", "json")
	wantCode(t, r, errs.ExitVaultUnavailable)
	if !strings.Contains(r.Stderr, "its record names app.internal, login.bank.internal, its certificate app.internal") ||
		!strings.Contains(r.Stderr, `"Code":"RecordMismatch"`) {
		t.Errorf("renew: %v", r)
	}
	var desc struct {
		Certificate struct{ Versions []json.RawMessage }
	}
	if err := json.Unmarshal([]byte(mustRun(e, "describe", arn, "--versions", "-o", "json").Stdout), &desc); err != nil {
		t.Fatal(err)
	}
	if n := len(desc.Certificate.Versions); n != 1 {
		t.Errorf("%d versions: one was issued", n)
	}
	rep, vr := verify(t, e)
	wantCode(t, vr, errs.ExitVaultUnavailable)
	found := false
	for _, p := range rep.Problems {
		found = found || (p.Check == vaultops.CheckRecord && p.Resource == arn && strings.Contains(p.Message, "changed outside certctl"))
	}
	if !found {
		t.Errorf("verify does not list the record: %+v", rep.Problems)
	}
}

// TestVaultPassphrasePrompt (tester): at a terminal with no passphrase
// given, a command that needs the wrapped master key asks for it, once,
// without echo; one that reads no key (list) asks nothing; a wrong answer
// is the wrong passphrase (exit 6), no answer (end of input) a locked
// vault (exit 6); and no terminal asks nothing.
func TestVaultPassphrasePrompt(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	requestPrivate(e, "first.internal")
	delete(e.Vars, "CERTCTL_VAULT_PASSPHRASE")
	runAt := func(tty bool, answer string, args ...string) (clitest.Result, int) {
		t.Helper()
		f, out, errOut := e.Factory()
		f.TestScrypt = &cheapScrypt
		f.IO.SetTTYs(tty, false, tty)
		asked := 0
		f.IO.ReadPassword = func() ([]byte, error) {
			asked++
			if answer == "" {
				return nil, io.EOF
			}
			return []byte(answer), nil
		}
		code := app.Run(context.Background(), f, args)
		return clitest.Result{Args: args, Code: code, Stdout: out.String(), Stderr: errOut.String()}, asked
	}
	if r, asked := runAt(true, "correct horse", "list", "-o", "text"); r.Code != 0 || asked != 0 {
		t.Errorf("list asked %d times: %v", asked, r)
	}
	r, asked := runAt(true, "correct horse", "request", "--domain-name", "second.internal", "--certificate-authority-arn", "default", "-o", "text")
	if r.Code != 0 || asked != 1 || !strings.Contains(r.Stderr, "Vault passphrase (") || strings.Contains(r.Stderr, "correct horse") {
		t.Errorf("request at a terminal: asked %d times: %v", asked, r)
	}
	if r, asked := runAt(true, "wrong horse", "request", "--domain-name", "third.internal", "--certificate-authority-arn", "default"); r.Code != errs.ExitVaultUnavailable || asked != 1 || !strings.Contains(r.Stderr, "wrong vault passphrase") {
		t.Errorf("a wrong answer: asked %d times: %v", asked, r)
	}
	if r, asked := runAt(true, "", "request", "--domain-name", "third.internal", "--certificate-authority-arn", "default"); r.Code != errs.ExitVaultUnavailable || asked != 1 || !strings.Contains(r.Stderr, "locked") {
		t.Errorf("no answer: asked %d times: %v", asked, r)
	}
	if r, asked := runAt(false, "correct horse", "request", "--domain-name", "third.internal", "--certificate-authority-arn", "default"); r.Code != errs.ExitVaultUnavailable || asked != 0 {
		t.Errorf("in a pipe: asked %d times: %v", asked, r)
	}
	if r := mustRun(e, "list", "-o", "text"); strings.Count(r.Stdout, "\n") != 2 {
		t.Errorf("want the two certificates issued: %q", r.Stdout)
	}
}

// TestChangePassphraseFailedCommitUndone: a passphrase change whose
// transaction does not commit after the new key file was written (a full
// disk at the commit, a lost connection) puts the file back: the old
// passphrase still opens the vault, as the failure says, and the change is
// not half made (tester: the old passphrase was refused, the new one
// worked, and nothing was recorded) — for a wrapped key and a key in
// clear, on SQLite and on PostgreSQL.
func TestChangePassphraseFailedCommitUndone(t *testing.T) {
	for _, tc := range []struct {
		name, store, oldPass string
	}{
		{"sqlite wrapped", "", "old pass"},
		{"sqlite in clear", "", ""},
		{"postgres wrapped", "postgres", "old pass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := clitest.New(t)
			if tc.store != "" {
				e.Vars["CERTCTL_STORE"] = freshSchema(t)
			}
			e.Vars["CERTCTL_VAULT_PASSPHRASE"] = tc.oldPass
			requestPrivate(e, "keep.internal")
			before := keyFileSet(t, e.Vars["CERTCTL_VAULT"])
			f, _, _ := e.Factory()
			f.TestScrypt = &cheapScrypt
			svc, err := f.VaultOps(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			vaultops.SetAfterRewrapInstall(svc, func() error {
				// The new copy is in place when the commit fails.
				if after := keyFileSet(t, e.Vars["CERTCTL_VAULT"]); after == before {
					t.Error("the new wrapped key file was not written before the commit")
				}
				return errors.New("injected commit failure")
			})
			if _, err := svc.ChangePassphrase(context.Background(), []byte("new pass")); err == nil {
				t.Fatal("the change did not fail")
			}
			f.Close()
			if after := keyFileSet(t, e.Vars["CERTCTL_VAULT"]); after != before {
				t.Errorf("key files after the failed change: %s, before: %s", after, before)
			}
			verifyOK(t, e) // the old passphrase
			for _, n := range auditNames(t, e, tc.oldPass) {
				if strings.HasPrefix(n, "ChangeVaultPassphrase/SUCCESS") {
					t.Errorf("a failed change recorded as made: %v", n)
				}
			}
			// And the change, made again, is made.
			pass := filepath.Join(e.Dir, "new.txt")
			if err := os.WriteFile(pass, []byte("new pass\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(e, "vault", "change-passphrase", "--new-passphrase-file", pass)
			e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "new pass"
			verifyOK(t, e)
		})
	}
}

// keyFileSet names the master key files of dir with a digest of each.
func keyFileSet(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	for _, n := range []string{localstore.MasterKeyFile, localstore.WrappedMasterFile} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			out = append(out, fmt.Sprintf("%s:%x", n, sha256.Sum256(b)))
		}
	}
	return strings.Join(out, " ")
}

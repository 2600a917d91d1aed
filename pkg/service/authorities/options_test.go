package authorities

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/zlinttest"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestNameConstraints: a subordinate permitted .corp.example.test carries
// critical name constraints, refuses x.other.test (exit 5) for ca issue and
// for inventory issuance alike, and openssl verifies a permitted leaf.
func TestNameConstraints(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_secp384r1", Subject: authority.Subject{CommonName: "NC Root"}})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := authority.ParseNameConstraints([]byte(`{"Permitted":{"DnsNames":[".corp.example.test"],"IpRanges":["10.0.0.0/8"],"EmailAddresses":[".corp.example.test"],"Uris":[".corp.example.test"]},"Excluded":{"DnsNames":["secret.corp.example.test"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Corp Issuing"},
		Parent: root, NameConstraints: nc})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ok := opensslCSR(t, dir, "ok", "/CN=www.corp.example.test", "subjectAltName=DNS:www.corp.example.test,IP:10.1.2.3")
	issued, err := s.Issue(ctx, sub, IssueRequest{CSR: ok, Template: "EndEntity", Validity: timeutil.Validity{Duration: 30 * timeutil.Day}})
	if err != nil {
		t.Fatal(err)
	}
	chain := strings.SplitAfter(issued.CertificateChain, "-----END CERTIFICATE-----\n")
	subPath := write(t, filepath.Join(dir, "sub.pem"), chain[0])
	rootPath := write(t, filepath.Join(dir, "root.pem"), chain[1])
	leafPath := write(t, filepath.Join(dir, "leaf.pem"), issued.Certificate)
	if out := mustOpenSSL(t, "verify", "-CAfile", rootPath, "-untrusted", subPath, leafPath); !strings.Contains(out, "leaf.pem: OK") {
		t.Errorf("openssl verify: %s", out)
	}
	text := mustOpenSSL(t, "x509", "-in", subPath, "-noout", "-text")
	if !strings.Contains(text, "X509v3 Name Constraints: critical") || !strings.Contains(text, "DNS:.corp.example.test") || !strings.Contains(text, "IP:10.0.0.0/255.0.0.0") {
		t.Errorf("subordinate lacks its critical name constraints:\n%s", text)
	}
	for _, c := range []struct{ subj, ext, what string }{
		{"/CN=x.other.test", "subjectAltName=DNS:x.other.test", "x.other.test"},
		{"/CN=secret.corp.example.test", "subjectAltName=DNS:secret.corp.example.test", "secret.corp.example.test"},
		{"/CN=ip.corp.example.test", "subjectAltName=DNS:ip.corp.example.test,IP:192.0.2.1", "192.0.2.1"},
	} {
		csr := opensslCSR(t, dir, "bad", c.subj, c.ext)
		_, err := s.Issue(ctx, sub, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: 30 * timeutil.Day}})
		if errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), c.what) {
			t.Errorf("%s: %v (exit %d)", c.what, err, errs.ExitCodeOf(err))
		}
	}
	// The inventory's issuance (request, renewals, ACME) goes through the
	// same check.
	var leafErr error
	_ = s.core.Change(ctx, "Test", func(op *serviceOp) error {
		r, err := authority.Resolve(op.Tx, s.core.Authority, s.core.Names, sub)
		if err != nil {
			return err
		}
		key := opensslKey(t, dir)
		_, leafErr = s.core.Authority.IssueLeaf(op.Tx, r, authority.LeafParams{Names: []string{"x.other.test"}, PublicKey: key, Validity: timeutil.Day})
		return leafErr
	})
	if errs.ExitCodeOf(leafErr) != errs.ExitRefused {
		t.Errorf("IssueLeaf outside the constraints: %v", leafErr)
	}
	// Malformed documents are exit 4.
	// So are constraints that name nothing (an unconstrained CA) and
	// a wildcard (a constraint is a domain, not a pattern).
	for _, bad := range []string{`{}`, `{"Permitted":{"DnsNames":["bad name"]}}`, `{"Permitted":{"IpRanges":["10.0.0.1"]}}`, `{"Allowed":{}}`,
		`{"Permitted":{}}`, `{"Permitted":{},"Excluded":{"DnsNames":[]}}`, `{"Permitted":{"DnsNames":["*.x.test"]}}`, `{"Excluded":{"Uris":["*.x.test"]}}`} {
		if _, err := authority.ParseNameConstraints([]byte(bad)); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestShortLived: a SHORT_LIVED_CERTIFICATE CA issues 7 days without CRL
// DP or AIA OCSP and refuses 8 days (exit 5).
func TestShortLived(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "http://pki.example.test")
	ca, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Short"},
		UsageMode: authority.UsageShortLived})
	if err != nil {
		t.Fatal(err)
	}
	csr := opensslCSR(t, t.TempDir(), "s", "/CN=s.example.test")
	issued, err := s.Issue(ctx, ca, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: 7 * timeutil.Day}})
	if err != nil {
		t.Fatal(err)
	}
	c := parsePEM(t, issued.Certificate)
	if len(c.CRLDistributionPoints) != 0 || len(c.OCSPServer) != 0 {
		t.Errorf("short-lived certificate with revocation URLs %v %v", c.CRLDistributionPoints, c.OCSPServer)
	}
	// Its whole lifetime, any backdating included, is at most 7 days.
	if life := c.NotAfter.Sub(c.NotBefore); life > authority.ShortLivedMax {
		t.Errorf("a 7-day short-lived certificate lasts %v (%s to %s)", life, c.NotBefore, c.NotAfter)
	}
	_, err = s.Issue(ctx, ca, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: 8 * timeutil.Day}})
	if errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "SHORT_LIVED_CERTIFICATE") {
		t.Errorf("8 days: %v", err)
	}
	d, err := s.Describe(ctx, ca)
	if err != nil || d.UsageMode != authority.UsageShortLived {
		t.Errorf("describe: %+v %v", d, err)
	}
}

// TestPartitionedCRL: after enough issuance a PARTITIONED CA has 3
// partitions; each partition's Issuing Distribution Point matches the CRL
// DP of its certificates and lists its revoked ones; openssl crl and zlint
// accept every partition. A custom CNAME names the CRL DP of new
// certificates, and ca update changes it.
func TestPartitionedCRL(t *testing.T) {
	linter, err := zlinttest.New(tool(t, "zlint", filepath.Join(os.Getenv("HOME"), "go/bin/zlint")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := realService(t, "http://base.example.test")
	s.core.Authority.CRLPartitionSize = 4
	rc, err := authority.ParseRevocationConfiguration([]byte(`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":3,"CustomCname":"crl.example.test","CrlType":"PARTITIONED"},"OcspConfiguration":{"Enabled":true,"OcspCustomCname":"ocsp.example.test"}}`))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Partitioned"}, Revocation: rc})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csr := opensslCSR(t, dir, "p", "/CN=p.example.test")
	byDP := map[string][]*x509.Certificate{}
	for i := 0; i < 10; i++ {
		issued, err := s.Issue(ctx, ca, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}})
		if err != nil {
			t.Fatal(err)
		}
		c := parsePEM(t, issued.Certificate)
		if len(c.CRLDistributionPoints) != 1 || len(c.OCSPServer) != 1 || c.OCSPServer[0] != "http://ocsp.example.test/ocsp" {
			t.Fatalf("certificate %d: DP %v OCSP %v", i, c.CRLDistributionPoints, c.OCSPServer)
		}
		byDP[c.CRLDistributionPoints[0]] = append(byDP[c.CRLDistributionPoints[0]], c)
		if i%4 == 1 { // revoke one certificate of each partition
			if err := s.core.Change(ctx, "Test", func(op *serviceOp) error {
				return authority.Revoke(op.Tx, idOf(ca), formatSerial(c), c.NotBefore, 4) // superseded: the test reuses one CSR key
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	d, err := s.Describe(ctx, ca)
	if err != nil || d.CrlPartitions != 3 || d.RevocationConfiguration == nil || d.RevocationConfiguration.CrlConfiguration.CrlType != "PARTITIONED" {
		t.Fatalf("describe: %+v %v", d, err)
	}
	if len(byDP) != 3 {
		t.Fatalf("distribution points %v", keys(byDP))
	}
	for n := 0; n < 3; n++ {
		crl := partitionCRL(t, s, ca, n)
		dp := idpURI(t, crl)
		certs := byDP[dp]
		if len(certs) == 0 {
			t.Errorf("partition %d: IDP %q is the DP of no certificate (DPs %v)", n, dp, keys(byDP))
		}
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(certs[1].SerialNumber) != 0 {
			t.Errorf("partition %d lists %d entries, want the one revoked of its certificates", n, len(crl.RevokedCertificateEntries))
		}
		// ExpirationInDays from its signing, thisUpdate a minute before.
		if got := crl.NextUpdate.Sub(crl.ThisUpdate); got != 3*timeutil.Day+casign.Backdate {
			t.Errorf("partition %d lasts %s, want ExpirationInDays 3 (and casign.Backdate)", n, got)
		}
		path := filepath.Join(dir, "crl"+string(rune('0'+n))+".pem")
		write(t, path, string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl.Raw})))
		text := mustOpenSSL(t, "crl", "-in", path, "-noout", "-text")
		if !strings.Contains(text, "X509v3 Issuing Distribution Point: critical") || !strings.Contains(text, dp) {
			t.Errorf("openssl crl: %s", text)
		}
		lint(t, linter, path)
	}
	if _, err := s.CRL(ctx, ca, 3); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("partition 3: %v", err)
	}
	// ca update --revocation-configuration: a new CNAME, COMPLETE; the
	// OCSP configuration, not given, is kept.
	rc2, _ := authority.ParseRevocationConfiguration([]byte(`{"CrlConfiguration":{"Enabled":true,"CustomCname":"crl2.example.test"}}`))
	if _, err := s.Update(ctx, ca, UpdateInput{Revocation: rc2}); err != nil {
		t.Fatal(err)
	}
	issued, err := s.Issue(ctx, ca, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}})
	if err != nil {
		t.Fatal(err)
	}
	if c := parsePEM(t, issued.Certificate); len(c.CRLDistributionPoints) != 1 || c.CRLDistributionPoints[0] != "http://crl2.example.test/crl/"+idOf(ca)+".crl" || len(c.OCSPServer) != 1 || c.OCSPServer[0] != "http://ocsp.example.test/ocsp" {
		t.Errorf("after update: DP %v OCSP %v", c.CRLDistributionPoints, c.OCSPServer)
	}
	// The certificates issued into partitions still name them: each is
	// still served, its IDP still their DP (the old CNAME), with its
	// revoked certificate.
	if d, err := s.Describe(ctx, ca); err != nil || d.CrlPartitions != 3 {
		t.Errorf("describe after COMPLETE: %d partitions (%v), want 3", d.CrlPartitions, err)
	}
	for n := 0; n < 3; n++ {
		crl := partitionCRL(t, s, ca, n)
		certs := byDP[idpURI(t, crl)]
		if len(certs) == 0 || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(certs[1].SerialNumber) != 0 {
			t.Errorf("partition %d after COMPLETE: IDP %q (DPs %v), %d entries", n, idpURI(t, crl), keys(byDP), len(crl.RevokedCertificateEntries))
		}
	}
	if _, err := s.CRL(ctx, ca, 3); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("partition 3 after COMPLETE: %v", err)
	}
}

// TestPartitionLocationChange: when a PARTITIONED CA's CRL location
// changes part-way through a partition (a new CNAME, a new ca.base_url),
// the next certificate opens a new partition, so that every partition's
// IDP is the DP of each of its certificates; a CA that never partitioned
// has no partitions to serve.
func TestPartitionLocationChange(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "http://one.example.test")
	s.core.Authority.CRLPartitionSize = 4
	rc := func(cname string) *authority.RevocationConfiguration {
		c, err := authority.ParseRevocationConfiguration([]byte(`{"CrlConfiguration":{"Enabled":true,"CustomCname":"` + cname + `","CrlType":"PARTITIONED"}}`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Moving"}, Revocation: rc("")})
	if err != nil {
		t.Fatal(err)
	}
	csr := opensslCSR(t, t.TempDir(), "m", "/CN=m.example.test")
	var dps []string
	issue := func() {
		t.Helper()
		issued, err := s.Issue(ctx, ca, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}})
		if err != nil {
			t.Fatal(err)
		}
		c := parsePEM(t, issued.Certificate)
		if len(c.CRLDistributionPoints) != 1 {
			t.Fatalf("DP %v", c.CRLDistributionPoints)
		}
		dps = append(dps, c.CRLDistributionPoints[0])
		if err := s.core.Change(ctx, "Test", func(op *serviceOp) error {
			return authority.Revoke(op.Tx, idOf(ca), formatSerial(c), c.NotBefore, 4) // superseded: the test reuses one CSR key
		}); err != nil {
			t.Fatal(err)
		}
	}
	issue()
	issue()
	if _, err := s.Update(ctx, ca, UpdateInput{Revocation: rc("two.example.test")}); err != nil {
		t.Fatal(err)
	}
	issue()
	s.core.Authority.BaseURL = "http://three.example.test" // no effect: the CNAME names the location
	// Nor does the same CNAME in capitals (DNS names ignore case).
	if _, err := s.Update(ctx, ca, UpdateInput{Revocation: rc("TWO.example.test")}); err != nil {
		t.Fatal(err)
	}
	issue()
	if _, err := s.Update(ctx, ca, UpdateInput{Revocation: rc("")}); err != nil {
		t.Fatal(err)
	}
	issue()
	issue()
	id := idOf(ca)
	want := []string{
		"http://one.example.test/crl/" + id + "/0.crl", "http://one.example.test/crl/" + id + "/0.crl",
		"http://two.example.test/crl/" + id + "/1.crl", "http://two.example.test/crl/" + id + "/1.crl",
		"http://three.example.test/crl/" + id + "/2.crl", "http://three.example.test/crl/" + id + "/2.crl",
	}
	if strings.Join(dps, " ") != strings.Join(want, " ") {
		t.Fatalf("distribution points\n%s\nwant\n%s", strings.Join(dps, "\n"), strings.Join(want, "\n"))
	}
	for n := 0; n < 3; n++ {
		crl := partitionCRL(t, s, ca, n)
		if got := idpURI(t, crl); got != want[2*n] || len(crl.RevokedCertificateEntries) != 2 {
			t.Errorf("partition %d: IDP %s with %d entries, want %s with 2", n, got, len(crl.RevokedCertificateEntries), want[2*n])
		}
	}
	if d, err := s.Describe(ctx, ca); err != nil || d.CrlPartitions != 3 {
		t.Errorf("describe: %d partitions (%v), want 3", d.CrlPartitions, err)
	}
	// A CA whose partitions were opened before their locations were
	// recorded (partitions 0 and 1): the next certificate records its
	// location for them all, and a change of CNAME moves the certificate
	// after it to partition 2, leaving 0 and 1 where their certificates
	// say.
	old, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Older"}, Revocation: rc("old.example.test")})
	if err != nil {
		t.Fatal(err)
	}
	ca, dps = old, nil
	for range 5 {
		issue()
	}
	if err := s.core.Change(ctx, "Test", func(op *serviceOp) error {
		r, err := authority.Get(op.Tx, idOf(old))
		if err != nil {
			return err
		}
		r.PartitionBases = nil
		return authority.Put(op.Tx, r)
	}); err != nil {
		t.Fatal(err)
	}
	issue()
	if _, err := s.Update(ctx, old, UpdateInput{Revocation: rc("new.example.test")}); err != nil {
		t.Fatal(err)
	}
	issue()
	for n, dp := range map[int]string{0: dps[0], 1: dps[5]} {
		if got := idpURI(t, partitionCRL(t, s, old, n)); got != dp || !strings.Contains(got, "old.example.test") {
			t.Errorf("an older record's partition %d: IDP %s, its certificates %s", n, got, dp)
		}
	}
	if !strings.HasSuffix(dps[4], "/1.crl") || dps[4] != dps[5] || dps[6] != "http://new.example.test/crl/"+idOf(old)+"/2.crl" {
		t.Errorf("an older record's certificates: %v", dps)
	}

	// Two processes with their own ca.base_url issuing in turn from a CA
	// without CNAME: a partition keeps the location of the process that
	// opened it, each certificate names it; no partition a certificate.
	pp, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Two configs"}, Revocation: rc("")})
	if err != nil {
		t.Fatal(err)
	}
	ca, dps = pp, nil
	for i := range 6 {
		s.core.Authority.BaseURL = []string{"http://a.example.test", "http://b.example.test"}[i%2]
		issue()
	}
	wantPP := "http://a.example.test/crl/" + idOf(pp)
	if strings.Join(dps, " ") != strings.Join([]string{wantPP + "/0.crl", wantPP + "/0.crl", wantPP + "/0.crl", wantPP + "/0.crl", wantPP + "/1.crl", wantPP + "/1.crl"}, " ") {
		t.Errorf("certificates of processes with two ca.base_url: %v", dps)
	}
	// A new ca.base_url is taken by the next partition: the rest of
	// partition 1 keeps a, partition 2 opens at c.
	s.core.Authority.BaseURL = "http://c.example.test"
	for range 3 {
		issue()
	}
	if want := "http://c.example.test/crl/" + idOf(pp) + "/2.crl"; dps[6] != wantPP+"/1.crl" || dps[7] != wantPP+"/1.crl" || dps[8] != want {
		t.Errorf("a new ca.base_url mid-partition: %v, want partition 1 at a to its end, then %s", dps[6:], want)
	}
	for n := range 3 {
		if got := idpURI(t, partitionCRL(t, s, pp, n)); got != dps[4*n] {
			t.Errorf("partition %d of processes with two ca.base_url: IDP %s, certificates %s", n, got, dps[4*n])
		}
	}
	// A partition opened by a process without ca.base_url (its
	// certificate names no CRL): the certificates a configured process
	// issues into it name its location, as the partition's CRL does.
	s.core.Authority.BaseURL = ""
	nb, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "No base"}, Revocation: rc("")})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.Issue(ctx, nb, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}})
	if err != nil {
		t.Fatal(err)
	}
	if dps := parsePEM(t, issued.Certificate).CRLDistributionPoints; len(dps) != 0 {
		t.Errorf("a process without ca.base_url: CRL DP %v", dps)
	}
	s.core.Authority.BaseURL = "http://four.example.test"
	ca, dps = nb, nil
	issue()
	if want := "http://four.example.test/crl/" + idOf(nb) + "/0.crl"; dps[0] != want || idpURI(t, partitionCRL(t, s, nb, 0)) != want {
		t.Errorf("a configured process in a partition opened without location: DP %s, want %s", dps[0], want)
	}

	plain, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Complete"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CRL(ctx, plain, 0); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("partition of a COMPLETE CA: %v", err)
	}
}

// partitionCRL is partition n of ca's CRL (n < 0: the complete CRL),
// parsed.
func partitionCRL(t *testing.T, s *Service, ca string, n int) *x509.RevocationList {
	t.Helper()
	der, err := s.CRL(context.Background(), ca, n)
	if err != nil {
		t.Fatalf("CRL partition %d: %v", n, err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// TestCAOptions: key algorithms, signing algorithms, idempotency tokens.
func TestCAOptions(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	for _, c := range []struct{ key, sig, want string }{
		{"EC_secp521r1", "", "SHA256WITHECDSA"}, // SPEC: the default is SHA-256 of the family
		{"EC_secp521r1", "SHA512WITHECDSA", "SHA512WITHECDSA"},
		{"EC_prime256v1", "SHA384WITHECDSA", "SHA384WITHECDSA"},
		{"RSA_3072", "SHA512WITHRSA", "SHA512WITHRSA"},
	} {
		a, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: c.key, SigningAlgorithm: c.sig, Subject: authority.Subject{CommonName: "Alg " + c.key}})
		if err != nil {
			t.Fatalf("%s: %v", c.key, err)
		}
		d, err := s.Describe(ctx, a)
		if err != nil || d.CertificateAuthorityConfiguration.SigningAlgorithm != c.want || d.CertificateAuthorityConfiguration.KeyAlgorithm != c.key {
			t.Errorf("%s: %+v %v", c.key, d.CertificateAuthorityConfiguration, err)
		}
		csr := opensslCSR(t, t.TempDir(), "a", "/CN=a.example.test")
		issued, err := s.Issue(ctx, a, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}})
		if err != nil {
			t.Fatal(err)
		}
		if got := parsePEM(t, issued.Certificate).SignatureAlgorithm; !sameAlg(got, c.want) {
			t.Errorf("%s: leaf signed with %s, want %s", c.key, got, c.want)
		}
		der, err := s.CRL(ctx, a, -1)
		if err != nil {
			t.Fatal(err)
		}
		if crl, err := x509.ParseRevocationList(der); err != nil || !sameAlg(crl.SignatureAlgorithm, c.want) {
			t.Errorf("%s: CRL signed with %v (%v)", c.key, crl.SignatureAlgorithm, err)
		}
	}
	_, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", SigningAlgorithm: "SHA256WITHRSA", Subject: authority.Subject{CommonName: "Mismatch"}})
	if errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("family mismatch: %v", err)
	}
	req := CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Idem"}, IdempotencyToken: "tok-1"}
	a1, err := s.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.Create(ctx, req)
	if err != nil || a2 != a1 {
		t.Errorf("same token: %s, %s, %v", a1, a2, err)
	}
	req.Subject.CommonName = "Other"
	if _, err := s.Create(ctx, req); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("same token, other arguments: %v", err)
	}
	req.IdempotencyToken = "tok-2"
	if a3, err := s.Create(ctx, req); err != nil || a3 == a1 {
		t.Errorf("another token: %s %v", a3, err)
	}
}

func sameAlg(alg x509.SignatureAlgorithm, pca string) bool {
	return x509util.SignatureAlgorithmName(alg) == pca
}

type serviceOp = service.Op

// opensslKey is a P-256 public key made by openssl.
func opensslKey(t *testing.T, dir string) crypto.PublicKey {
	t.Helper()
	path := filepath.Join(dir, "pub.key")
	mustOpenSSL(t, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
	b, _ := os.ReadFile(path)
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer).Public()
}

func idOf(a string) string { return a[strings.LastIndexByte(a, '/')+1:] }

func formatSerial(c *x509.Certificate) string { return x509util.FormatSerial(c.SerialNumber) }

func keys(m map[string][]*x509.Certificate) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// idpURI is the fullName URI of a CRL's Issuing Distribution Point.
func idpURI(t *testing.T, crl *x509.RevocationList) string {
	t.Helper()
	for _, e := range crl.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 28}) {
			continue
		}
		if !e.Critical {
			t.Error("IDP not critical")
		}
		var idp struct {
			DP asn1.RawValue `asn1:"optional,tag:0"`
		}
		if _, err := asn1.Unmarshal(e.Value, &idp); err != nil {
			t.Fatal(err)
		}
		var full asn1.RawValue // [0] fullName
		if _, err := asn1.Unmarshal(idp.DP.Bytes, &full); err != nil {
			t.Fatal(err)
		}
		var uri asn1.RawValue // [6] URI
		if _, err := asn1.Unmarshal(full.Bytes, &uri); err != nil || uri.Tag != 6 {
			t.Fatalf("IDP name %v %v", uri, err)
		}
		return string(uri.Bytes)
	}
	t.Fatal("CRL without an Issuing Distribution Point")
	return ""
}

// TestIssueBatch: one transaction for many IssueCertificate changes, each
// recorded; a bad request fails alone.
func TestIssueBatch(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	ca, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Batch"}})
	if err != nil {
		t.Fatal(err)
	}
	csr := opensslCSR(t, t.TempDir(), "b", "/CN=b.example.test")
	v := timeutil.Validity{Duration: timeutil.Day}
	reqs := []IssueRequest{{CSR: csr, Template: "EndEntity", Validity: v}, {CSR: []byte("junk"), Template: "EndEntity", Validity: v}, {CSR: csr, Template: "EndEntity", Validity: v}}
	before := len(records(t, s))
	out, errList := s.IssueBatch(ctx, ca, reqs)
	if errList[0] != nil || errList[2] != nil || out[0] == nil || out[2] == nil || out[0].Certificate == out[2].Certificate {
		t.Fatalf("good requests: %v %v", errList, out)
	}
	if errs.ExitCodeOf(errList[1]) != errs.ExitInvalid || out[1] != nil {
		t.Errorf("bad request: %v", errList[1])
	}
	recs := records(t, s)
	if len(recs)-before != 3 {
		t.Errorf("%d audit records, want 3", len(recs)-before)
	}
}

// TestResponderServesPartitions: ca serve's responder serves partition n
// at /crl/<ca-uuid>/<n>.crl (with its IDP) and 404 beyond.
func TestResponderServesPartitions(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "http://base.example.test")
	s.core.Authority.CRLPartitionSize = 2
	rc, _ := authority.ParseRevocationConfiguration([]byte(`{"CrlConfiguration":{"Enabled":true,"CrlType":"PARTITIONED"}}`))
	ca, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Served"}, Revocation: rc})
	if err != nil {
		t.Fatal(err)
	}
	csr := opensslCSR(t, t.TempDir(), "r", "/CN=r.example.test")
	var dp string
	for i := 0; i < 3; i++ {
		issued, err := s.Issue(ctx, ca, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}})
		if err != nil {
			t.Fatal(err)
		}
		dp = parsePEM(t, issued.Certificate).CRLDistributionPoints[0]
	}
	if want := "http://base.example.test/crl/" + idOf(ca) + "/1.crl"; dp != want {
		t.Fatalf("third certificate's DP %s, want %s", dp, want)
	}
	h, err := s.Responder(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, code := range map[string]int{"/crl/" + idOf(ca) + "/1.crl": 200, "/crl/" + idOf(ca) + "/0.crl": 200, "/crl/" + idOf(ca) + ".crl": 200,
		"/crl/" + idOf(ca) + "/2.crl": 404, "/crl/" + idOf(ca) + "/01.crl": 404, "/crl/" + idOf(ca) + "/x.crl": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != code {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, code)
			continue
		}
		if code == 200 && strings.Count(path, "/") == 3 {
			crl, err := x509.ParseRevocationList(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := idpURI(t, crl); got != "http://base.example.test"+path {
				t.Errorf("GET %s: IDP %s", path, got)
			}
		}
	}
}

// TestPathLength: a PathLen1 subordinate (signed with ca issue and imported)
// may sign a PathLen0 CA but no PathLen1 CA, and ca create under it makes a
// CA of path length 0.
func TestPathLength(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "PL Root"}})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "PL One"}, External: true})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := s.CSR(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Issue(ctx, root, IssueRequest{CSR: []byte(csr), Template: "SubordinateCACertificate_PathLen1", Validity: timeutil.Validity{Duration: timeutil.Year}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: []byte(signed.Certificate), Chain: []byte(signed.CertificateChain)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caCSR := opensslCSR(t, dir, "ca", "/CN=Below")
	if _, err := s.Issue(ctx, ext, IssueRequest{CSR: caCSR, Template: "SubordinateCACertificate_PathLen1", Validity: timeutil.Validity{Duration: timeutil.Day}}); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("PathLen1 under PathLen1: %v", err)
	}
	if _, err := s.Issue(ctx, ext, IssueRequest{CSR: caCSR, Template: "SubordinateCACertificate_PathLen0", Validity: timeutil.Validity{Duration: timeutil.Day}}); err != nil {
		t.Errorf("PathLen0 under PathLen1: %v", err)
	}
	below, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Created Below"}, Parent: ext, Validity: timeutil.Day})
	if err != nil {
		t.Fatal(err)
	}
	var c *x509.Certificate
	_ = s.core.Read(ctx, func(tx localstore.Tx) error {
		r, err := authority.Find(tx, s.core.Names, below)
		if err == nil {
			c, err = r.Certificate()
		}
		return err
	})
	if c == nil || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("ca create under PathLen1: %+v", c)
	}
}

// TestIdempotentSubordinateFitted: a subordinate whose default validity is
// fitted below its parent (so depends on the time) is still the same CA for
// the same token and arguments.
func TestIdempotentSubordinateFitted(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Short Parent"}, Validity: 2 * timeutil.Year})
	if err != nil {
		t.Fatal(err)
	}
	req := CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Fitted"}, Parent: root, IdempotencyToken: "fit"}
	a1, err := s.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if a2, err := s.Create(ctx, req); err != nil || a2 != a1 {
		t.Errorf("second create: %s %v, want %s", a2, err, a1)
	}
}

// TestExternalCANameConstraints: an --external CA's name constraints are
// put, critical, in the certificate ca issue signs for its CSR, first and
// on renewal, as ca create --parent puts them (tester: they never reached
// the certificate); a certificate signed elsewhere without them, with
// others or not critical is refused (exit 4) and the CA stays pending.
func TestExternalCANameConstraints(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Outside Root"}})
	if err != nil {
		t.Fatal(err)
	}
	nc, _ := authority.ParseNameConstraints([]byte(`{"Permitted":{"DnsNames":["corp.example.test"],"IpRanges":["10.1.0.0/16"]}}`))
	ext, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Ext NC"}, External: true, NameConstraints: nc})
	if err != nil {
		t.Fatal(err)
	}
	csrText, _ := s.CSR(ctx, ext)
	signed, err := s.Issue(ctx, root, IssueRequest{CSR: []byte(csrText), Template: "SubordinateCA", Validity: timeutil.Validity{Duration: timeutil.Year}})
	if err != nil {
		t.Fatal(err)
	}
	hasOwn := func(what string, c *x509.Certificate) {
		t.Helper()
		if !c.PermittedDNSDomainsCritical || !slices.Equal(c.PermittedDNSDomains, []string{"corp.example.test"}) ||
			len(c.PermittedIPRanges) != 1 || c.PermittedIPRanges[0].String() != "10.1.0.0/16" {
			t.Errorf("%s: constraints %v %v critical %v", what, c.PermittedDNSDomains, c.PermittedIPRanges, c.PermittedDNSDomainsCritical)
		}
	}
	hasOwn("ca issue", parsePEM(t, signed.Certificate))

	// Signed outside the vault: without them, with others, not critical.
	csr, err := x509.ParseCertificateRequest(pemBlock(t, csrText))
	if err != nil {
		t.Fatal(err)
	}
	outKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	outTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Elsewhere Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(timeutil.Year),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	outDER, _ := x509.CreateCertificate(rand.Reader, outTmpl, outTmpl, outKey.Public(), outKey)
	outRoot, _ := x509.ParseCertificate(outDER)
	outPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: outDER})
	_, ten, _ := net.ParseCIDR("10.1.0.0/16")
	for i, c := range []struct {
		dns      []string
		critical bool
		want     string
	}{
		{nil, false, `lacks certificate authority [0-9a-f-]+'s name constraints {"Permitted":{"DnsNames":\["corp.example.test"\],"IpRanges":\["10.1.0.0/16"\]}}`},
		{[]string{"other.test"}, true, `name constraints {"Permitted":{"DnsNames":\["other.test"\],"IpRanges":\["10.1.0.0/16"\]}} are not certificate authority`},
		{[]string{"corp.example.test"}, false, "not critical"},
	} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: csr.Subject, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(timeutil.Day),
			IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			PermittedDNSDomains: c.dns, PermittedDNSDomainsCritical: c.critical}
		if c.dns != nil {
			tmpl.PermittedIPRanges = []*net.IPNet{ten}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, outRoot, csr.PublicKey, outKey)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Chain: outPEM})
		if errs.ExitCodeOf(err) != errs.ExitInvalid || !regexp.MustCompile(c.want).MatchString(err.Error()) || !strings.Contains(hintOf(err), "certctl ca issue") {
			t.Errorf("%v: %v (exit %d, hint %q)", c.dns, err, errs.ExitCodeOf(err), hintOf(err))
		}
	}
	if d, _ := s.Describe(ctx, ext); d.Status != authority.StatusPendingCertificate {
		t.Fatalf("refused imports changed the CA: %s", d.Status)
	}

	if _, err := s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: []byte(signed.Certificate), Chain: []byte(signed.CertificateChain)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := s.Issue(ctx, ext, IssueRequest{CSR: opensslCSR(t, dir, "o", "/CN=x.other.test"), Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}}); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("x.other.test: %v", err)
	}
	if _, err := s.Issue(ctx, ext, IssueRequest{CSR: opensslCSR(t, dir, "i", "/CN=a.corp.example.test"), Template: "EndEntity", Validity: timeutil.Validity{Duration: timeutil.Day}}); err != nil {
		t.Errorf("a.corp.example.test: %v", err)
	}

	// Renewed in place (ca csr of the ACTIVE CA): the same constraints.
	renewCSR, err := s.CSR(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := s.Issue(ctx, root, IssueRequest{CSR: []byte(renewCSR), Template: "SubordinateCA", Validity: timeutil.Validity{Duration: timeutil.Year}})
	if err != nil {
		t.Fatal(err)
	}
	hasOwn("renewal", parsePEM(t, renewed.Certificate))
	if _, err := s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: []byte(renewed.Certificate)}); err != nil {
		t.Errorf("renewal: %v", err)
	}
}

func hintOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

func pemBlock(t *testing.T, s string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	return b.Bytes
}

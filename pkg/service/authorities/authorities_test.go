package authorities

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/certctl/certctl/internal/coretest"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

var actor = audit.Actor{Type: audit.ActorUser, ID: "tester", Host: "testhost"}

// newTestService opens a fresh vault in a temporary directory and returns
// the service over it, its clock fixed.
func newTestService(t *testing.T) *Service { return newTestServiceOn(t, "") }

// newTestServiceOn is newTestService over the store storeURL ("": the
// vault's embedded SQLite database).
func newTestServiceOn(t *testing.T, storeURL string) *Service {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }
	return New(coretest.New(t, coretest.Config{Now: now, Actor: actor, StoreURL: storeURL}), Settings{})
}

// records returns the audit log.
func records(t *testing.T, s *Service) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	if err := s.core.Read(context.Background(), func(tx localstore.Tx) error {
		var err error
		out, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// last checks the newest audit record, and that it is the n-th.
func last(t *testing.T, s *Service, n int, name, outcome string, resources ...string) *audit.Record {
	t.Helper()
	recs := records(t, s)
	if len(recs) != n {
		for _, r := range recs {
			t.Logf("%s %s %v", r.EventName, r.Outcome, r.Resources)
		}
		t.Fatalf("%d audit records, want %d", len(recs), n)
	}
	r := recs[n-1]
	got := append([]string(nil), r.Resources...)
	sort.Strings(got)
	sort.Strings(resources)
	if r.EventName != name || r.Outcome != outcome || r.Actor != actor || !reflect.DeepEqual(got, resources) {
		t.Errorf("record %s %s by %+v on %v; want %s %s on %v", r.EventName, r.Outcome, r.Actor, r.Resources, name, outcome, resources)
	}
	return r
}

func csrPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestChangesAreAudited runs every change of the service and checks its
// audit record: the AWS Private CA name, the CAs it concerns, the outcome;
// reads leave no record.
func TestChangesAreAudited(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)

	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Audit Root"}})
	if err != nil {
		t.Fatal(err)
	}
	r := last(t, s, 1, "CreateCertificateAuthority", audit.OutcomeSuccess, root)
	if r.RequestParameters["CertificateAuthorityType"] != "ROOT" {
		t.Errorf("parameters %v", r.RequestParameters)
	}

	// A subordinate of "default" creates the default hierarchy as part of
	// the same change: all three CAs are its resources.
	sub, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Audit Sub"}, Parent: "default"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.List(ctx, ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	cas := page.CertificateAuthorities
	var defRoot, defSub string
	for _, d := range cas {
		switch d.CertificateAuthorityConfiguration.Subject.CommonName {
		case "certctl Default Private Root CA":
			defRoot = d.Arn
		case "certctl Default Private Issuing CA":
			defSub = d.Arn
		}
	}
	if len(cas) != 4 || defRoot == "" || defSub == "" {
		t.Fatalf("CAs %+v", cas)
	}
	last(t, s, 2, "CreateCertificateAuthority", audit.OutcomeSuccess, sub, defSub, defRoot)

	issued, err := s.Issue(ctx, root, IssueRequest{CSR: csrPEM(t, "leaf.internal"), Template: "EndEntity", Validity: timeutil.Validity{Duration: 30 * 24 * time.Hour}})
	if err != nil || issued.Certificate == "" || issued.CertificateChain == "" {
		t.Fatalf("issue: %+v, %v", issued, err)
	}
	// The record names what was signed: the certificate's ARN, its serial
	// and subject (tester: the CA alone).
	r = last(t, s, 3, "IssueCertificate", audit.OutcomeSuccess, root, issued.CertificateArn)
	if r.RequestParameters["TemplateArn"] != "arn:aws:acm-pca:::template/EndEntityCertificate/V1" || r.RequestParameters["Validity"] != "30d" ||
		r.RequestParameters["Serial"] == nil || r.RequestParameters["Subject"] != "CN=leaf.internal" {
		t.Errorf("parameters %v", r.RequestParameters)
	}

	if der, err := s.CRL(ctx, root, -1); err != nil || len(der) == 0 {
		t.Fatalf("crl: %v", err)
	}
	last(t, s, 4, "CreateCertificateAuthorityCrl", audit.OutcomeSuccess, root)

	// Refused on a rule: recorded as a FAILURE with the error code.
	if _, err := s.Delete(ctx, root, 7, nil); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("delete of an ACTIVE CA: %v", err)
	}
	r = last(t, s, 5, "DeleteCertificateAuthority", audit.OutcomeFailure, root)
	if r.ErrorCode != authority.ReasonInvalidState {
		t.Errorf("error code %q", r.ErrorCode)
	}

	if _, err := s.Update(ctx, root, UpdateInput{Status: authority.StatusDisabled}); err != nil {
		t.Fatal(err)
	}
	r = last(t, s, 6, "UpdateCertificateAuthority", audit.OutcomeSuccess, root)
	if r.RequestParameters["Status"] != "DISABLED" {
		t.Errorf("parameters %v", r.RequestParameters)
	}
	if _, err := s.Delete(ctx, root, 7, nil); err != nil {
		t.Fatal(err)
	}
	r = last(t, s, 7, "DeleteCertificateAuthority", audit.OutcomeSuccess, root)
	if r.RequestParameters["PermanentDeletionTimeInDays"] != float64(7) {
		t.Errorf("parameters %v", r.RequestParameters)
	}
	if _, err := s.Restore(ctx, root); err != nil {
		t.Fatal(err)
	}
	last(t, s, 8, "RestoreCertificateAuthority", audit.OutcomeSuccess, root)

	// An unknown CA: not found, recorded with the name asked for.
	if _, err := s.Restore(ctx, "00000000-0000-0000-0000-000000000000"); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("restore of an unknown CA: %v", err)
	}
	r = last(t, s, 9, "RestoreCertificateAuthority", audit.OutcomeFailure)
	if r.RequestParameters["CertificateAuthorityArn"] != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("parameters %v", r.RequestParameters)
	}

	// Reads leave no record.
	if _, err := s.Describe(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, ListInput{All: true}); err != nil {
		t.Fatal(err)
	}
	// The CSR to renew a CA is a read too.
	if csr, err := s.CSR(ctx, sub); err != nil || !strings.HasPrefix(csr, "-----BEGIN CERTIFICATE REQUEST-----") {
		t.Fatalf("csr of a CA to renew: %v", err)
	}
	if n := len(records(t, s)); n != 9 {
		t.Errorf("%d records after reads, want 9", n)
	}
}

// TestExternalSubordinateAudited: an --external CA's CSR is read without a
// record; its activation is ImportCertificateAuthorityCertificate.
func TestExternalSubordinateAudited(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Signer"}})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Ext"}, External: true})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := s.CSR(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Issue(ctx, root, IssueRequest{CSR: []byte(csr), Template: "SubordinateCA", Validity: timeutil.Validity{Duration: 365 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, s)); n != 3 {
		t.Fatalf("%d records, want 3 (create, create, issue)", n)
	}
	if _, err := s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: []byte(signed.Certificate), Chain: []byte(signed.CertificateChain)}); err != nil {
		t.Fatal(err)
	}
	last(t, s, 4, "ImportCertificateAuthorityCertificate", audit.OutcomeSuccess, ext)
	d, err := s.Describe(ctx, ext)
	if err != nil || d.Status != authority.StatusActive {
		t.Fatalf("after import: %+v, %v", d, err)
	}
}

// TestTrustBundleFirstUse: the first trust bundle creates the built-in
// roots and the default hierarchy, and that creation is recorded; later
// ones only read.
func TestTrustBundleFirstUse(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	if _, err := s.Describe(ctx, "default"); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("default before first use: %v", err)
	}
	b1, err := s.TrustBundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.List(ctx, ListInput{All: true})
	if err != nil || len(page.CertificateAuthorities) != 3 {
		t.Fatalf("CAs after the first bundle: %+v, %v", page, err)
	}
	cas := page.CertificateAuthorities
	if len(cas) != 3 {
		t.Fatalf("CAs after the first bundle: %d, %v", len(cas), err)
	}
	var arns []string
	for _, d := range cas {
		arns = append(arns, d.Arn)
	}
	last(t, s, 1, "CreateCertificateAuthority", audit.OutcomeSuccess, arns...)
	b2, err := s.TrustBundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) != string(b2) {
		t.Error("the second bundle differs")
	}
	if n := len(records(t, s)); n != 1 {
		t.Errorf("%d records after the second bundle, want 1", n)
	}
	n := 0
	for rest := b1; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
	}
	if n != 2 {
		t.Errorf("%d roots in the bundle, want 2 (public-style and default private)", n)
	}
	if _, err := s.Describe(ctx, "default"); err != nil {
		t.Errorf("default after first use: %v", err)
	}
}

// TestRestoreRecordsAReleasedBuiltInRole: the default CA, deleted, is made
// again on the next use; restoring the old one brings it back without its
// role, and its audit record names the role it released.
func TestRestoreRecordsAReleasedBuiltInRole(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	ensureDefault := func() *authority.Record {
		t.Helper()
		var r *authority.Record
		if err := s.core.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
			var err error
			r, err = s.core.Authority.EnsureDefault(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	old := ensureDefault()
	if _, err := s.Update(ctx, old.ID, UpdateInput{Status: authority.StatusDisabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, old.ID, 7, nil); err != nil {
		t.Fatal(err)
	}
	if now := ensureDefault(); now.ID == old.ID {
		t.Fatalf("the deleted default CA %s is still the default", old.ID)
	}
	if _, err := s.Restore(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	recs := records(t, s)
	r := recs[len(recs)-1]
	if r.EventName != "RestoreCertificateAuthority" || r.RequestParameters["ReleasedBuiltInRole"] != authority.BuiltInDefault {
		t.Errorf("last record %s, parameters %v; want RestoreCertificateAuthority with ReleasedBuiltInRole %q", r.EventName, r.RequestParameters, authority.BuiltInDefault)
	}
	// A CA that had no role to release records none.
	if _, err := s.Update(ctx, old.ID, UpdateInput{Status: authority.StatusDisabled}); err != nil && errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, old.ID, 7, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	recs = records(t, s)
	if r := recs[len(recs)-1]; r.RequestParameters["ReleasedBuiltInRole"] != nil {
		t.Errorf("restore of an ordinary CA recorded %v", r.RequestParameters)
	}
}

// TestAuditReportPast2262: a certificate valid past 2262-04-11 (the end
// of int64 nanoseconds, in which the serials table keeps NotAfter on both
// databases) is reported with its own NotAfter, not that end, and the
// store's GetSerial gives it too.
func TestAuditReportPast2262(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			storeURL := ""
			if db == "postgres" {
				storeURL = pgtest.FreshSchema(t)
			}
			auditReportPast2262(t, newTestServiceOn(t, storeURL))
		})
	}
}

func auditReportPast2262(t *testing.T, s *Service) {
	ctx := context.Background()
	// A root for 285 years (about the longest a time.Duration holds).
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Long Root"}, Validity: 285 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2300, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, v := range []timeutil.Validity{{End: end}, {Duration: 30 * 24 * time.Hour}} {
		if _, err := s.Issue(ctx, root, IssueRequest{CSR: csrPEM(t, "long.internal"), Template: "EndEntity", Validity: v}); err != nil {
			t.Fatalf("issue %v: %v", v, err)
		}
	}
	report, err := s.AuditReport(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	// Both leaves were issued at the same instant (a fixed clock): their
	// order is the serials'.
	var got, read []string
	for _, e := range report {
		if strings.Contains(e.Subject, "long.internal") {
			got = append(got, e.NotAfter)
			// What the store gives for the serial alone (the ACME
			// server's renewal information reads it so).
			if err := s.core.Vault.Store.View(ctx, func(tx localstore.Tx) error {
				r, err := authority.Find(tx, s.core.Names, root)
				if err != nil {
					return err
				}
				is, err := tx.GetSerial(r.ID, e.Serial)
				if err == nil {
					read = append(read, timeutil.RFC3339(is.NotAfter))
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Strings(read)
	sort.Strings(got)
	want := []string{timeutil.RFC3339(s.core.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)), "2300-01-02T03:04:05Z"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the leaves' NotAfter %q, want %q", got, want)
	}
	if !reflect.DeepEqual(read, want) {
		t.Errorf("GetSerial's NotAfter of the leaves %q, want %q", read, want)
	}
}

// TestListPages: ca list --max-items pages the CAs in the order of their
// IDs; walking the NextTokens visits each once, a CA created between pages
// moves no other across the boundary, and a token of another list is
// refused (exit 4).
func TestListPages(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	for _, cn := range []string{"Page A", "Page B", "Page C", "Page D", "Page E"} {
		if _, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: cn}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx, ListInput{})
	if err != nil || all.NextToken != "" || len(all.CertificateAuthorities) != 5 {
		t.Fatalf("whole list: %+v %v", all, err)
	}
	var walked []string
	tok := ""
	for i := 0; ; i++ {
		page, err := s.List(ctx, ListInput{MaxItems: 2, StartingToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.CertificateAuthorities) > 2 {
			t.Fatalf("page of %d", len(page.CertificateAuthorities))
		}
		for _, d := range page.CertificateAuthorities {
			walked = append(walked, d.Arn)
		}
		if i == 0 {
			// A CA created after the first page: the rest still follows.
			if _, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Page F"}}); err != nil {
				t.Fatal(err)
			}
		}
		if tok = page.NextToken; tok == "" {
			break
		}
	}
	now, err := s.List(ctx, ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range now.CertificateAuthorities {
		if slices.Contains(walked, d.Arn) || d.Arn > walked[1] {
			want = append(want, d.Arn)
		}
	}
	if !slices.Equal(walked, want) || len(walked) < 5 {
		t.Fatalf("pages walked %v, want %v", walked, want)
	}
	if _, err := s.List(ctx, ListInput{MaxItems: 2, StartingToken: "bogus"}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("a bogus token: %v", err)
	}
	listTok := inventory.EncodeCursor(inventory.Cursor{Kind: inventory.CursorList, SortBy: "CREATED_AT", ID: "x"})
	if _, err := s.List(ctx, ListInput{StartingToken: listTok}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("a token of list: %v", err)
	}
}

// TestAuditReportSubordinateTemplates: a subordinate created with --parent
// is reported with the AWS Private CA template its path length matches
// (SubordinateCACertificate_PathLenN), whether it asked for one or got the
// longest path its parent allows; one recorded without it (before the
// template was recorded) is reported so too; an unconstrained subordinate,
// which no AWS Private CA template makes, has none, and its JSON omits the
// key as AWS's report omits an absent revokedAt.
func TestAuditReportSubordinateTemplates(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	create := func(cn, parent, template string) string {
		t.Helper()
		req := CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: cn},
			Parent: parent, Template: template, Validity: 365 * 24 * time.Hour}
		if parent == "" {
			req.Type, req.Validity = authority.TypeRoot, 0
		}
		arn, err := s.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	root := create("Report Root", "", "")
	two := create("Two", root, casign.PCASubordinateCAPathLen2)
	create("Free", root, "")
	create("One", two, "")
	templates := func(ca string) map[string]string {
		t.Helper()
		report, err := s.AuditReport(ctx, ca)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for i, e := range report {
			out[e.Subject] = e.TemplateArn
			b, err := json.Marshal(&report[i])
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("null")) || (e.TemplateArn == "" && bytes.Contains(b, []byte("templateArn"))) {
				t.Errorf("JSON %s", b)
			}
		}
		return out
	}
	want := map[string]string{"CN=Report Root": "arn:aws:acm-pca:::template/RootCACertificate/V1",
		"CN=Two": "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen2/V1", "CN=Free": ""}
	if got := templates(root); !maps.Equal(got, want) {
		t.Errorf("root's report: %v, want %v", got, want)
	}
	wantOne := map[string]string{"CN=One": "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen1/V1"}
	if got := templates(two); !maps.Equal(got, wantOne) {
		t.Errorf("Two's report: %v, want %v", got, wantOne)
	}

	// A row recorded without a template, as One's was before.
	if err := s.core.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		r, err := authority.Find(tx, s.core.Names, two)
		if err != nil {
			return err
		}
		list, err := tx.ListIssued(r.ID)
		if err != nil || len(list) != 1 {
			return fmt.Errorf("issued %v: %v", list, err)
		}
		is, err := tx.GetSerial(r.ID, list[0].Serial)
		if err != nil {
			return err
		}
		is.Issuer, is.Template = r.ID, ""
		return tx.RecordIssued(is)
	}); err != nil {
		t.Fatal(err)
	}
	if got := templates(two); !maps.Equal(got, wantOne) {
		t.Errorf("Two's report from a row without a template: %v, want %v", got, wantOne)
	}
}

// TestRefusedFirstUseNamesNoCA: a change that made the default CA on first
// use and was then refused rolls the CA back with it: its failure record
// names no CA that never came to be, and none is left.
func TestRefusedFirstUseNamesNoCA(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	_, err := s.Issue(ctx, "default", IssueRequest{CSR: csrPEM(t, "long.internal"), Template: "EndEntity",
		Validity: timeutil.Validity{Duration: 40 * 365 * 24 * time.Hour}})
	if errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("issue beyond the default CA's validity: exit %d, %v", errs.ExitCodeOf(err), err)
	}
	last(t, s, 1, "IssueCertificate", audit.OutcomeFailure)
	if page, err := s.List(ctx, ListInput{All: true}); err != nil || len(page.CertificateAuthorities) != 0 {
		t.Errorf("CAs after the refusal: %+v, %v", page, err)
	}
}

// TestUpdateIsOneChange: UpdateCertificateAuthority changes the status and
// the revocation configuration together or not at all — a refused status
// leaves the configuration as it was — with one audit record.
func TestUpdateIsOneChange(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	ext, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Ext"}, External: true})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Describe(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	off := &authority.RevocationConfiguration{OcspConfiguration: &authority.OcspConfiguration{Enabled: false}}
	_, err = s.Update(ctx, ext, UpdateInput{Status: authority.StatusDisabled, Revocation: off})
	if errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("disabling a PENDING_CERTIFICATE CA: %v (exit %d), want refused", err, errs.ExitCodeOf(err))
	}
	after, err := s.Describe(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after.RevocationConfiguration, before.RevocationConfiguration) {
		t.Errorf("a refused update changed the revocation configuration: %+v, was %+v", after.RevocationConfiguration, before.RevocationConfiguration)
	}
	r := last(t, s, 2, "UpdateCertificateAuthority", audit.OutcomeFailure, ext)
	if _, ok := r.RequestParameters["RevocationConfiguration"]; !ok {
		t.Errorf("the failed update's record names no RevocationConfiguration: %v", r.RequestParameters)
	}
	// Both at once on an ACTIVE CA: one record, both applied.
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Root"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, root, UpdateInput{Status: authority.StatusDisabled, Revocation: off}); err != nil {
		t.Fatal(err)
	}
	r = last(t, s, 4, "UpdateCertificateAuthority", audit.OutcomeSuccess, root)
	if _, ok := r.RequestParameters["RevocationConfiguration"]; !ok || r.RequestParameters["Status"] != authority.StatusDisabled {
		t.Errorf("record parameters %v, want Status and RevocationConfiguration", r.RequestParameters)
	}
	d, err := s.Describe(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != authority.StatusDisabled || d.RevocationConfiguration == nil || d.RevocationConfiguration.OcspConfiguration == nil || d.RevocationConfiguration.OcspConfiguration.Enabled {
		t.Errorf("after the update: %s %+v", d.Status, d.RevocationConfiguration)
	}
}

// TestCreateShapeRules: the rules of a CA's shape (a ROOT has no parent
// and is not external; a SUBORDINATE has one of them, not both) hold in
// the service, not only in ca create's flags (review: a ROOT with a parent
// was made a root, the parent ignored).
func TestCreateShapeRules(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Root"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  CreateRequest
		want string
	}{
		{"root with a parent", CreateRequest{Type: authority.TypeRoot, Parent: root}, "has no parent"},
		{"external root", CreateRequest{Type: authority.TypeRoot, External: true}, "has no parent"},
		{"orphan subordinate", CreateRequest{Type: authority.TypeSubordinate}, "needs a parent"},
		{"both", CreateRequest{Type: authority.TypeSubordinate, Parent: root, External: true}, "not both"},
		{"no type", CreateRequest{Parent: root}, "CA type"},
	} {
		tc.req.KeyAlgorithm, tc.req.Subject = "EC_prime256v1", authority.Subject{CommonName: tc.name}
		_, err := s.Create(ctx, tc.req)
		if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (exit %d), want exit 4 saying %q", tc.name, err, errs.ExitCodeOf(err), tc.want)
		}
	}
	list, err := s.List(ctx, ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CertificateAuthorities) != 1 {
		t.Errorf("%d CAs, want the one root", len(list.CertificateAuthorities))
	}
}

// TestDeleteConfirm: Delete asks confirm with the CA found, outside the
// change; a refusal cancels it (nothing deleted, nothing recorded), and
// the CA confirmed is the one deleted.
func TestDeleteConfirm(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Asked"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, root, UpdateInput{Status: authority.StatusDisabled}); err != nil {
		t.Fatal(err)
	}
	declined := errors.New("declined")
	var asked *Description
	if _, err := s.Delete(ctx, idOf(root)[:8], 7, func(d *Description) error { asked = d; return declined }); err != declined {
		t.Fatalf("declined: %v", err)
	}
	if asked == nil || asked.Arn != root || asked.CertificateAuthorityConfiguration.Subject.CommonName != "Asked" {
		t.Fatalf("asked about %+v", asked)
	}
	if d, err := s.Describe(ctx, root); err != nil || d.Status != authority.StatusDisabled {
		t.Fatalf("after declining: %+v, %v", d, err)
	}
	last(t, s, 2, "UpdateCertificateAuthority", audit.OutcomeSuccess, root)
	if res, err := s.Delete(ctx, idOf(root)[:8], 7, func(*Description) error { return nil }); err != nil || res.Arn != root {
		t.Fatalf("confirmed: %+v, %v", res, err)
	}
	last(t, s, 3, "DeleteCertificateAuthority", audit.OutcomeSuccess, root)
}

// TestChangesDoNotMakeTheDefault: deleting, updating or restoring the
// default private CA before it exists says so (exit 3), asks nothing, and
// does not make it (review: a delete made it, then refused to delete the
// ACTIVE CA, naming an ID the rollback took away).
func TestChangesDoNotMakeTheDefault(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	asked := false
	_, err := s.Delete(ctx, "default", 7, func(*Description) error { asked = true; return nil })
	if errs.ExitCodeOf(err) != errs.ExitNotFound || asked || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("delete default (confirming): %v, asked %v", err, asked)
	}
	for name, change := range map[string]func() error{
		"delete": func() error { _, err := s.Delete(ctx, "default", 7, nil); return err },
		"update": func() error {
			_, err := s.Update(ctx, "default", UpdateInput{Status: authority.StatusDisabled})
			return err
		},
		"restore": func() error { _, err := s.Restore(ctx, "default"); return err },
	} {
		if err := change(); errs.ExitCodeOf(err) != errs.ExitNotFound || !strings.Contains(err.Error(), "does not exist yet") {
			t.Errorf("%s default: %v (exit %d), want exit 3", name, err, errs.ExitCodeOf(err))
		}
	}
	list, err := s.List(ctx, ListInput{})
	if err != nil || len(list.CertificateAuthorities) != 0 {
		t.Errorf("CAs after the refusals: %d, %v", len(list.CertificateAuthorities), err)
	}
}

// TestSubordinateUnderExternalChainEndsWithIt (tester): a subordinate
// made under a CA whose outside issuer expires before it (ca create
// --parent, no --validity) ends an hour before that issuer, not an hour
// before its parent's own NotAfter, past which nothing it signs would
// verify.
func TestSubordinateUnderExternalChainEndsWithIt(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	root := testpki.NewRootUntil("Outside Root", now, now.Add(100*timeutil.Day))
	ext, csr := externalCA(t, s, "Ext")
	sub := root.SignCACSR(csr, nil, now.Add(3*timeutil.Year))
	if _, err := s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: testpki.CertPEM(sub), Chain: testpki.CertPEM(root.Cert)}); err != nil {
		t.Fatal(err)
	}
	child, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Child"}, Parent: ext})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Describe(ctx, child)
	if err != nil {
		t.Fatal(err)
	}
	if end := time.Time(*d.NotAfter); end.After(root.Cert.NotAfter) || end.Before(root.Cert.NotAfter.Add(-2*time.Hour)) {
		t.Errorf("the child ends %s; want an hour before the outside root's %s", end, root.Cert.NotAfter)
	}
}

// externalCA creates an --external subordinate CA named cn and returns it
// with its CSR, for an issuer outside the vault to sign.
func externalCA(t *testing.T, s *Service, cn string) (string, *x509.CertificateRequest) {
	t.Helper()
	ctx := context.Background()
	ext, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: cn}, External: true})
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := s.CSR(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := casign.ParseCSR([]byte(csrPEM))
	if err != nil {
		t.Fatal(err)
	}
	return ext, csr
}

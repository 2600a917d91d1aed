package endpoints

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// newCA creates a root CA in v (disabled when disabled is set).
func newCA(t *testing.T, s *Service, v *localstore.Vault, disabled bool) *authority.Record {
	t.Helper()
	var r *authority.Record
	if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		var err error
		r, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Lab Root"}})
		if err != nil || !disabled {
			return err
		}
		r.Status = authority.StatusDisabled
		return authority.Put(tx, r)
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCreateWithCAAndProfile: --certificate-authority-arn takes an ACTIVE
// CA of the vault (describe: PrivateCertificateAuthority), an unknown one
// is exit 3 and a disabled one exit 5, both recorded; --default-profile is
// shown and checked.
func TestCreateWithCAAndProfile(t *testing.T) {
	s, v := newService(t)
	ctx := context.Background()
	ca := newCA(t, s, v, false)
	caARN := s.core.Names.CAARN(ca.ID)
	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: caARN,
		DefaultProfile: "tlsserver"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Describe(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	pca := d.CertificateAuthority.PrivateCertificateAuthority
	if pca == nil || pca.CertificateAuthorityArn != caARN || len(pca.AllowedKeyAlgorithms) != 3 ||
		d.CertificateAuthority.PublicCertificateAuthority != nil || d.DefaultProfile != "tlsserver" {
		t.Errorf("describe: %+v", d)
	}
	// Without: the public-style hierarchy, classic.
	b, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ = s.Describe(ctx, b); d.CertificateAuthority.PublicCertificateAuthority == nil || d.CertificateAuthority.PrivateCertificateAuthority != nil ||
		d.DefaultProfile != "classic" {
		t.Errorf("describe without a CA: %+v", d)
	}
	off := newCA(t, s, v, true)
	for _, c := range []struct {
		in   CreateInput
		exit errs.ExitCode
	}{
		{CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: s.core.Names.CAARN("00000000-0000-0000-0000-000000000000")}, errs.ExitNotFound},
		{CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: off.ID}, errs.ExitRefused},
		{CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", DefaultProfile: "longlived"}, errs.ExitUsage},
	} {
		if _, _, err := s.Create(ctx, c.in); errs.ExitCodeOf(err) != c.exit {
			t.Errorf("create %+v: exit %d (%v), want %d", c.in, errs.ExitCodeOf(err), err, c.exit)
		}
	}
	// update moves b to the CA and changes its profile; a disabled CA is refused.
	ca2, prof := ca.ID, "shortlived"
	d, _, err = s.Update(ctx, b, UpdateInput{CertificateAuthority: &ca2, DefaultProfile: &prof})
	if err != nil || d.CertificateAuthority.CAArn() != caARN || d.DefaultProfile != "shortlived" {
		t.Errorf("update: %+v, %v", d, err)
	}
	offID := off.ID
	if _, _, err := s.Update(ctx, b, UpdateInput{CertificateAuthority: &offID}); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("update to a disabled CA: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	bad := "CLASSIC"
	if _, _, err := s.Update(ctx, b, UpdateInput{DefaultProfile: &bad}); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("update to an unknown profile: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	// ... and back to the public-style hierarchy (--public-certificate-authority),
	// not with a CA at once.
	if _, _, err := s.Update(ctx, b, UpdateInput{CertificateAuthority: &ca2, PublicCertificateAuthority: true}); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("update to a CA and the public-style hierarchy: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	d, _, err = s.Update(ctx, b, UpdateInput{PublicCertificateAuthority: true})
	if err != nil || d.CertificateAuthority.PublicCertificateAuthority == nil || d.CertificateAuthority.PrivateCertificateAuthority != nil ||
		d.DefaultProfile != "shortlived" {
		t.Errorf("update back to the public-style hierarchy: %+v, %v", d, err)
	}
}

// TestSetRenewalWindow: a window for a certificate the endpoint issued,
// by serial (any spelling), is stored and audited; an unknown serial is
// exit 3; --all covers what was issued before it was set.
func TestSetRenewalWindow(t *testing.T) {
	s, v := newService(t)
	ctx := context.Background()
	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	epID := a[len(a)-36:]
	ca := newCA(t, s, v, false)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var serial string
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		c := &localstore.Certificate{ID: "11111111-2222-3333-4444-555555555555", AcmeEndpointID: epID, CreatedAt: s.core.Now(), UpdatedAt: s.core.Now()}
		if err := tx.PutCertificate(c); err != nil {
			return err
		}
		is, err := s.core.Authority.IssueLeaf(tx, ca, authority.LeafParams{CertID: c.ID, Names: []string{"a.lab.test"}, PublicKey: key.Public(), Validity: 30 * 24 * time.Hour})
		serial = x509util.FormatSerial(is.Certificate.SerialNumber)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	start, end := s.core.Now().Add(time.Hour), s.core.Now().Add(2*time.Hour)
	plain := ""
	for _, r := range serial {
		if r != ':' {
			plain += string(r)
		}
	}
	w, err := s.SetRenewalWindow(ctx, a, RenewalWindowInput{Serial: plain, Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if w.Serial != serial || w.CertificateArn != s.core.Names.CertificateARN("11111111-2222-3333-4444-555555555555") || w.All {
		t.Errorf("view %+v", w)
	}
	if err := v.Store.View(ctx, func(tx localstore.Tx) error {
		got, err := acmestate.RenewalWindowOf(tx, epID, serial, s.core.Now().Add(-time.Minute))
		if err != nil {
			return err
		}
		if got == nil || !got.Start.Equal(start) || !got.End.Equal(end) {
			t.Errorf("stored window %+v", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRenewalWindow(ctx, a, RenewalWindowInput{Serial: "0a:0b", Start: start, End: end}); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("unknown serial: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	if _, err := s.SetRenewalWindow(ctx, a, RenewalWindowInput{Serial: "zz", Start: start, End: end}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("bad serial: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	if _, err := s.SetRenewalWindow(ctx, a, RenewalWindowInput{All: true, Start: end, End: start}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("reversed window: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	// A time no renewalInfo can carry (the zero time, which printed as
	// nothing and crashed the command's table) is invalid, nothing stored.
	for _, bad := range [][2]time.Time{{{}, end}, {time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), end}, {time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), end}} {
		if _, err := s.SetRenewalWindow(ctx, a, RenewalWindowInput{All: true, Start: bad[0], End: bad[1]}); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("window from %s: exit %d (%v)", bad[0], errs.ExitCodeOf(err), err)
		}
	}
	if err := v.Store.View(ctx, func(tx localstore.Tx) error {
		got, err := acmestate.RenewalWindowOf(tx, epID, "01", s.core.Now().Add(-time.Minute))
		if got != nil {
			t.Errorf("a refused --all window was stored: %+v", got)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if w, err := s.SetRenewalWindow(ctx, a, RenewalWindowInput{All: true, Start: start, End: end}); err != nil || !w.All || w.Serial != "" {
		t.Errorf("--all: %+v, %v", w, err)
	}
	recs, _ := auditLog(t, v)
	var ok, failed int
	for _, r := range recs {
		if r.EventName == "SetAcmeRenewalWindow" {
			if r.Outcome == "SUCCESS" {
				ok++
			} else {
				failed++
			}
		}
	}
	if ok != 2 || failed != 6 {
		t.Errorf("audit: %d SetAcmeRenewalWindow successes and %d failures, want 2 and 6", ok, failed)
	}
}

// TestCAShorterThanValidity: naming a CA that expires before a
// certificate of the endpoint's validity would is accepted with a warning
// (its orders fail at finalize, PCA_INVALID_DURATION), not refused: an
// order of a shorter profile still issues. None for a profile it covers.
func TestCAShorterThanValidity(t *testing.T) {
	s, v := newService(t)
	s.set.Validity = 395 * 24 * time.Hour
	ctx := context.Background()
	long := newCA(t, s, v, false)
	var short *authority.Record
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		short, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Short Root"}, Validity: 30 * 24 * time.Hour})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	shortARN, longARN := s.core.Names.CAARN(short.ID), s.core.Names.CAARN(long.ID)
	a, notices, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: shortARN})
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "warning: certificate authority "+short.ID+" expires ") ||
		!strings.Contains(notices[0], "before a certificate of 395d") || !strings.Contains(notices[0], "(PCA_INVALID_DURATION)") {
		t.Errorf("create with a CA shorter than the validity: notices %q", notices)
	}
	if _, notices, err = s.Update(ctx, a, UpdateInput{CertificateAuthority: &longARN}); err != nil || len(notices) != 0 {
		t.Errorf("update to a CA that covers the validity: %q, %v", notices, err)
	}
	if _, notices, err = s.Update(ctx, a, UpdateInput{CertificateAuthority: &shortARN}); err != nil || len(notices) != 1 {
		t.Errorf("update to a CA shorter than the validity: %q, %v", notices, err)
	}
	prof := acmestate.ProfileShortLived
	if _, notices, err = s.Update(ctx, a, UpdateInput{CertificateAuthority: &shortARN, DefaultProfile: &prof}); err != nil || len(notices) != 0 {
		t.Errorf("a shortlived endpoint on a CA that covers 160 hours: %q, %v", notices, err)
	}
}

// TestShortLivedCA: an endpoint on a SHORT_LIVED_CERTIFICATE CA is
// accepted with a warning naming the shortlived profile (tester: without a
// word, and no order of the default profile could complete); none once
// the endpoint's default profile is shortlived.
func TestShortLivedCA(t *testing.T) {
	s, v := newService(t)
	s.set.Validity = 395 * 24 * time.Hour
	ctx := context.Background()
	var ca *authority.Record
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		ca, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Short-lived Root"}, UsageMode: authority.UsageShortLived})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	caARN := s.core.Names.CAARN(ca.ID)
	a, notices, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: caARN})
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "SHORT_LIVED_CERTIFICATE") || !strings.Contains(notices[0], "--default-profile shortlived") {
		t.Errorf("create on a short-lived CA: notices %q", notices)
	}
	prof := acmestate.ProfileShortLived
	if _, notices, err = s.Update(ctx, a, UpdateInput{CertificateAuthority: &caARN, DefaultProfile: &prof}); err != nil || len(notices) != 0 {
		t.Errorf("shortlived by default: %q, %v", notices, err)
	}
	// Moving the endpoint back to a longer profile, the CA kept, warns
	// too (tester: nothing).
	classic := acmestate.ProfileClassic
	if _, notices, err = s.Update(ctx, a, UpdateInput{DefaultProfile: &classic}); err != nil || len(notices) != 1 || !strings.Contains(notices[0], "SHORT_LIVED_CERTIFICATE") {
		t.Errorf("classic by default on the short-lived CA: %q, %v", notices, err)
	}
}

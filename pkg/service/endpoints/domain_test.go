package endpoints

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestAddDomainCAConstraints: a domain none of whose names the endpoint's
// CA may issue for (the root above it permits only corp.test and its
// subdomains, and excludes secret.corp.test) is refused with exit 5,
// DOMAIN_NOT_ALLOWED, nothing added and the refusal recorded; a domain
// within the permitted subtree, or above it, is added. The subordinate the
// endpoint issues from carries no constraints of its own: its parent's
// bind it. An endpoint moved to the CA is warned of the domains it holds
// that the CA issues no name under.
func TestAddDomainCAConstraints(t *testing.T) {
	s, v := newService(t)
	ctx := context.Background()
	var root, sub *authority.Record
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		root, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Corp Root"}, NameConstraints: &authority.NameConstraints{
				Permitted: &authority.Subtrees{DnsNames: []string{"corp.test"}},
				Excluded:  &authority.Subtrees{DnsNames: []string{"secret.corp.test"}}}})
		if err != nil {
			return err
		}
		sub, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Corp Issuing"}, ParentID: root.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: s.core.Names.CAARN(sub.ID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		domain string
		want   []string // in the message; nil: added
	}{
		{"other.test", []string{"certificate authority " + sub.ID, "domain other.test", "permitted", "CN=Corp Root", "corp.test"}},
		{"notcorp.test", []string{"domain notcorp.test", "permitted"}},
		{"Secret.Corp.Test.", []string{"domain secret.corp.test", "excluded DNS subtree secret.corp.test", "CN=Corp Root"}},
		{"db.secret.corp.test", []string{"domain db.secret.corp.test", "excluded"}},
		{"corp.test", nil},
		{"www.corp.test", nil},
		{"test", nil}, // invalid anyway: one label
		{"lab.test", []string{"domain lab.test"}},
	} {
		_, err := s.AddDomain(ctx, a, tc.domain, true)
		if tc.domain == "test" {
			if errs.ExitCodeOf(err) != errs.ExitInvalid {
				t.Errorf("%s: %v, want exit 4", tc.domain, err)
			}
			continue
		}
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.domain, err)
			}
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Exit != errs.ExitRefused || e.CodeName() != authority.ReasonDomainNotAllowed || e.Hint == "" {
			t.Errorf("%s: %#v, want exit 5 DOMAIN_NOT_ALLOWED with a hint", tc.domain, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(e.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.domain, e.Error(), w)
			}
		}
	}
	// An endpoint that is not ACTIVE is refused for that, before the
	// domain is weighed against its CA.
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		return setEndpointsStatus(tx, acmestate.StatusDeleting)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDomain(ctx, a, "other.test", true); err == nil || !strings.Contains(err.Error(), "is DELETING") || errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("a DELETING endpoint: %v (exit %d), want refused for its state (exit %d)", err, errs.ExitCodeOf(err), errs.ExitRefused)
	}
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		return setEndpointsStatus(tx, acmestate.StatusActive)
	}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDomains(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.DomainName)
	}
	if strings.Join(names, " ") != "corp.test www.corp.test" {
		t.Errorf("domains %q, want corp.test www.corp.test", names)
	}
	recs, _ := auditLog(t, v)
	var failed int
	for _, r := range recs {
		if r.EventName == "AddAcmeDomain" && r.Outcome != "SUCCESS" {
			failed++
		}
	}
	if failed != 7 { // the six domains refused and the DELETING endpoint
		t.Errorf("%d AddAcmeDomain failures recorded, want 7", failed)
	}

	// A domain above the permitted subtree is added: corp.test's names are
	// names it covers.
	var narrow *authority.Record
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		narrow, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Lab Root"}, NameConstraints: &authority.NameConstraints{
				Permitted: &authority.Subtrees{DnsNames: []string{".lab.corp.test"}}}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: s.core.Names.CAARN(narrow.ID)})
	if err != nil {
		t.Fatal(err)
	}
	for d, ok := range map[string]bool{"corp.test": true, "lab.corp.test": true, "x.lab.corp.test": true, "dev.corp.test": false} {
		if _, err := s.AddDomain(ctx, b, d, false); (err == nil) != ok {
			t.Errorf("%s under .lab.corp.test: %v, want added=%v", d, err, ok)
		}
	}

	// An endpoint of the public-style hierarchy has no such constraints.
	c, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDomain(ctx, c, "other.test", true); err != nil {
		t.Errorf("public-style endpoint: %v", err)
	}
	if _, err := s.AddDomain(ctx, c, "corp.test", true); err != nil {
		t.Errorf("public-style endpoint: %v", err)
	}
	// Moved to the constrained CA, it keeps its domains with a warning
	// of the one the CA issues no name under.
	subARN := s.core.Names.CAARN(sub.ID)
	_, notices, err := s.Update(ctx, c, UpdateInput{CertificateAuthority: &subARN})
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.HasPrefix(notices[0], "warning: certificate authority "+sub.ID+" issues for no name under domain other.test: ") {
		t.Errorf("update to the constrained CA: notices %q", notices)
	}
	if ds, err := s.ListDomains(ctx, c); err != nil || len(ds) != 2 {
		t.Errorf("after the update: %v, %v", ds, err)
	}
	d, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	// A domain whose validation record would pass 253 octets is refused
	// unless marked valid (it needs no record then).
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 24) + ".test"
	if _, err := s.AddDomain(ctx, d, long, false); errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "too long for DNS validation") {
		t.Errorf("domain of %d octets to validate: exit %d, %v", len(long), errs.ExitCodeOf(err), err)
	}
	if _, err := s.AddDomain(ctx, d, long, true); err != nil {
		t.Errorf("pre-validated domain of %d octets: %v", len(long), err)
	}
}

// TestCAGoneFromStore: an endpoint whose CA's record is gone from the
// store (certctl never removes one; someone with database access can) is
// described FAILED with PCA_RESOURCE_NOT_FOUND, and a domain is added to
// it unchecked, as newOrder leaves such a CA to finalize (final review:
// authority.Get's not-found error did not match errors.Is).
func TestCAGoneFromStore(t *testing.T) {
	s, v := newService(t)
	ctx := context.Background()
	var ca *authority.Record
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		ca, err = s.core.Authority.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: authority.Subject{CommonName: "Gone Root"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED", CertificateAuthority: s.core.Names.CAARN(ca.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error { return tx.DeleteObject(authority.ObjectKind, ca.ID) }); err != nil {
		t.Fatal(err)
	}
	d, err := s.Describe(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "FAILED" || d.FailureReason != authority.ReasonNotFound {
		t.Errorf("described %s (%s), want FAILED (%s)", d.Status, d.FailureReason, authority.ReasonNotFound)
	}
	if _, err := s.AddDomain(ctx, a, "www.gone.test", true); err != nil {
		t.Errorf("a domain of an endpoint whose CA is gone: %v, want it added", err)
	}
}

// setEndpointsStatus sets the status of every endpoint of the vault.
func setEndpointsStatus(tx localstore.Tx, status string) error {
	eps, err := acmestate.List(tx)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		ep.Status = status
		if err := acmestate.Put(tx, ep); err != nil {
			return err
		}
	}
	return nil
}

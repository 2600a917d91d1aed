package acmestate

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openVault(t *testing.T) *localstore.Vault {
	t.Helper()
	v, err := localstore.Open(context.Background(), t.TempDir(), localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func update(t *testing.T, v *localstore.Vault, fn func(tx localstore.Tx) error) {
	t.Helper()
	if err := v.Store.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, v *localstore.Vault, fn func(tx localstore.Tx) error) {
	t.Helper()
	if err := v.Store.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, want errs.ExitCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want exit %d", want)
	}
	if got := errs.ExitCodeOf(err); got != want {
		t.Fatalf("exit %d (%v), want %d", got, err, want)
	}
}

func newEndpoint(t *testing.T, v *localstore.Vault, p CreateParams) *Endpoint {
	t.Helper()
	if p.AuthorizationBehavior == "" {
		p.AuthorizationBehavior = "PRE_APPROVED"
	}
	if p.Contact == "" {
		p.Contact = ContactNotRequired
	}
	var e *Endpoint
	update(t, v, func(tx localstore.Tx) error {
		var err error
		e, err = Create(tx, p, t0)
		return err
	})
	return e
}

func TestCreateValidates(t *testing.T) {
	v := openVault(t)
	for _, p := range []CreateParams{
		{AuthorizationBehavior: "BOGUS", Contact: ContactRequired},
		{AuthorizationBehavior: "PRE_APPROVED", Contact: "MAYBE"},
		{AuthorizationBehavior: "PRE_APPROVED", Contact: ContactRequired, AllowedKeyAlgorithms: []string{"RSA_1024"}},
	} {
		err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			_, err := Create(tx, p, t0)
			return err
		})
		wantCode(t, err, errs.ExitUsage)
	}
	view(t, v, func(tx localstore.Tx) error {
		eps, err := List(tx)
		if len(eps) != 0 {
			t.Errorf("%d endpoints stored after refused creations", len(eps))
		}
		return err
	})
}

func TestCreateDefaultsAndDedupes(t *testing.T) {
	v := openVault(t)
	all := newEndpoint(t, v, CreateParams{})
	if strings.Join(all.AllowedKeyAlgorithms, ",") != strings.Join(KeyAlgorithms, ",") {
		t.Errorf("default algorithms %v, want %v", all.AllowedKeyAlgorithms, KeyAlgorithms)
	}
	some := newEndpoint(t, v, CreateParams{AllowedKeyAlgorithms: []string{"EC_secp384r1", "EC_prime256v1", "EC_secp384r1"}})
	if got := strings.Join(some.AllowedKeyAlgorithms, ","); got != "EC_secp384r1,EC_prime256v1" {
		t.Errorf("algorithms %s", got)
	}
	if some.AllowsKeyAlgorithm("RSA_2048") || !some.AllowsKeyAlgorithm("EC_prime256v1") {
		t.Error("AllowsKeyAlgorithm disagrees with the list")
	}
	if all.Status != StatusActive || all.ID == some.ID {
		t.Errorf("status %s, ids %s %s", all.Status, all.ID, some.ID)
	}
	view(t, v, func(tx localstore.Tx) error {
		got, err := Resolve(tx, inventory.Names{Region: "local", Account: "000000000000"}, some.ID[:8])
		if err != nil {
			return err
		}
		if got.ID != some.ID {
			t.Errorf("Resolve by prefix gave %s", got.ID)
		}
		_, err = Get(tx, "00000000-0000-4000-8000-000000000000")
		wantCode(t, err, errs.ExitNotFound)
		return nil
	})
}

func TestEABStatus(t *testing.T) {
	exp := t0.Add(time.Hour)
	for _, c := range []struct {
		name string
		b    EAB
		at   time.Time
		want string
	}{
		{"fresh", EAB{}, t0, EABValid},
		{"before expiry", EAB{ExpiresAt: exp}, exp.Add(-time.Nanosecond), EABValid},
		{"at expiry", EAB{ExpiresAt: exp}, exp, EABExpired},
		{"single use, bound", EAB{Accounts: []string{"a"}}, t0, EABUsed},
		{"reusable, bound", EAB{Reusable: true, Accounts: []string{"a", "b"}}, t0, EABValid},
		{"used then expired", EAB{Accounts: []string{"a"}, ExpiresAt: exp}, exp, EABExpired},
		{"revoked beats expired", EAB{RevokedAt: t0, ExpiresAt: exp}, exp.Add(time.Hour), EABRevoked},
		{"revoked reusable", EAB{Reusable: true, RevokedAt: t0}, t0, EABRevoked},
	} {
		if got := c.b.Status(c.at); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestCreateEABSealsKey(t *testing.T) {
	v := openVault(t)
	sealer, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(t, v, CreateParams{})
	var b1, b2 *EAB
	var k1, k2 []byte
	update(t, v, func(tx localstore.Tx) error {
		if b1, k1, err = CreateEAB(tx, sealer, e, false, 0, t0); err != nil {
			return err
		}
		b2, k2, err = CreateEAB(tx, sealer, e, true, 24*time.Hour, t0)
		return err
	})
	if len(k1) != MACKeySize || bytes.Equal(k1, k2) {
		t.Fatalf("keys of %d bytes, equal=%v", len(k1), bytes.Equal(k1, k2))
	}
	if bytes.Contains(b1.SealedMAC, k1) {
		t.Error("the sealed MAC holds the key in clear")
	}
	if !b1.ExpiresAt.IsZero() || !b2.ExpiresAt.Equal(t0.Add(24*time.Hour)) || !b2.Reusable {
		t.Errorf("expiries %v %v, reusable %v", b1.ExpiresAt, b2.ExpiresAt, b2.Reusable)
	}
	view(t, v, func(tx localstore.Tx) error {
		got, err := GetEAB(tx, b1.KeyID)
		if err != nil {
			return err
		}
		key, err := got.MACKey(sealer)
		if err != nil {
			return err
		}
		if !bytes.Equal(key, k1) {
			t.Error("the stored credential does not unseal to its key")
		}
		// A sealed key is bound to its credential: another KeyID cannot open it.
		other := *got
		other.KeyID = b2.KeyID
		if _, err := other.MACKey(sealer); err == nil {
			t.Error("a MAC key opened under another credential's KeyID")
		}
		return nil
	})
	if s := EncodeMACKey(k1); len(s) != 43 || strings.ContainsAny(s, "+/=") {
		t.Errorf("EncodeMACKey gave %q, want 43 base64url characters", s)
	}
}

func TestCreateEABRefusedUnlessActive(t *testing.T) {
	v := openVault(t)
	sealer, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(t, v, CreateParams{})
	e.Status = StatusDeleting
	err = v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		_, _, err := CreateEAB(tx, sealer, e, false, 0, t0)
		return err
	})
	wantCode(t, err, errs.ExitRefused)
	err = v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		_, err := AddDomain(tx, e, "lab.test", RandomRecord("zone.test"), true, t0)
		return err
	})
	wantCode(t, err, errs.ExitRefused)
}

func TestResolveAndListEAB(t *testing.T) {
	v := openVault(t)
	a := newEndpoint(t, v, CreateParams{})
	b := newEndpoint(t, v, CreateParams{})
	mk := func(id, ep string, at time.Time) {
		update(t, v, func(tx localstore.Tx) error {
			return PutEAB(tx, &EAB{KeyID: id, EndpointID: ep, CreatedAt: at})
		})
	}
	mk("abcdef01-0000-4000-8000-000000000000", a.ID, t0.Add(time.Minute))
	mk("abcdef02-0000-4000-8000-000000000000", a.ID, t0)
	mk("abcdef03-0000-4000-8000-000000000000", a.ID, t0)
	mk("fedcba01-0000-4000-8000-000000000000", b.ID, t0)
	view(t, v, func(tx localstore.Tx) error {
		got, err := ResolveEAB(tx, a, "ABCDEF01")
		if err != nil || got.KeyID != "abcdef01-0000-4000-8000-000000000000" {
			t.Errorf("ResolveEAB by prefix: %v, %v", got, err)
		}
		got, err = ResolveEAB(tx, a, "abcdef02-0000-4000-8000-000000000000")
		if err != nil || got.KeyID != "abcdef02-0000-4000-8000-000000000000" {
			t.Errorf("ResolveEAB exact: %v, %v", got, err)
		}
		_, err = ResolveEAB(tx, a, "abcdef")
		wantCode(t, err, errs.ExitInvalid) // ambiguous
		_, err = ResolveEAB(tx, a, "abcde")
		wantCode(t, err, errs.ExitInvalid) // too short
		_, err = ResolveEAB(tx, a, "fedcba01")
		wantCode(t, err, errs.ExitNotFound) // another endpoint's
		_, err = GetEAB(tx, "nope")
		wantCode(t, err, errs.ExitNotFound)

		list, err := ListEAB(tx, a.ID)
		if err != nil {
			return err
		}
		var ids []string
		for _, x := range list {
			ids = append(ids, x.KeyID[:8])
		}
		if got := strings.Join(ids, ","); got != "abcdef02,abcdef03,abcdef01" {
			t.Errorf("ListEAB order %s, want oldest first, ties by KeyID", got)
		}
		return nil
	})
}

func TestApproved(t *testing.T) {
	domains := []*Domain{
		{DomainName: "lab.test", Status: DomainValid},
		{DomainName: "pending.test", Status: DomainPending},
		{DomainName: "failed.test", Status: DomainFailed},
	}
	for name, want := range map[string]bool{
		"lab.test":         true,
		"LAB.test":         true,
		"www.lab.test":     true,
		"a.b.c.lab.test":   true,
		"*.lab.test":       true,
		"*.www.lab.test":   true,
		"notlab.test":      false,
		"test":             false,
		"lab.test.evil":    false,
		"pending.test":     false,
		"www.pending.test": false,
		"failed.test":      false,
		"*.failed.test":    false,
		"":                 false,
		"other.example":    false,
	} {
		if got := Approved(domains, name); got != want {
			t.Errorf("Approved(%q) = %v, want %v", name, got, want)
		}
	}
	if Approved(nil, "lab.test") {
		t.Error("no domains approve nothing")
	}
}

func TestAddDomain(t *testing.T) {
	v := openVault(t)
	e := newEndpoint(t, v, CreateParams{})
	calls := 0
	rec := func(name string) (string, string, error) {
		calls++
		return "_r." + name + ".", "_v.zone.test.", nil
	}
	var d *Domain
	update(t, v, func(tx localstore.Tx) error {
		var err error
		d, err = AddDomain(tx, e, "Example.TEST.", rec, false, t0)
		return err
	})
	if d.DomainName != "example.test" || d.Status != DomainPending || d.RecordName != "_r.example.test." || d.RecordType != "CNAME" || d.PreValidated {
		t.Fatalf("pending domain %+v", d)
	}
	update(t, v, func(tx localstore.Tx) error {
		var err error
		d, err = AddDomain(tx, e, "example.test", rec, true, t0.Add(time.Hour))
		return err
	})
	if d.Status != DomainValid || !d.PreValidated || calls != 1 || !d.CreatedAt.Equal(t0) || !d.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("upgraded domain %+v after %d record calls", d, calls)
	}
	for _, bad := range []string{"*.example.test", "bad..name", "", "-x.test"} {
		err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			_, err := AddDomain(tx, e, bad, rec, true, t0)
			return err
		})
		wantCode(t, err, errs.ExitInvalid)
	}
	update(t, v, func(tx localstore.Tx) error {
		if _, err := AddDomain(tx, e, "b.test", RandomRecord("zone.test."), false, t0); err != nil {
			return err
		}
		ds, err := ListDomains(tx, e.ID)
		if err != nil {
			return err
		}
		if len(ds) != 2 || ds[0].DomainName != "b.test" || ds[1].DomainName != "example.test" {
			t.Errorf("ListDomains %v", ds)
		}
		if !strings.HasPrefix(ds[0].RecordName, "_") || !strings.HasSuffix(ds[0].RecordName, ".b.test.") || !strings.HasSuffix(ds[0].RecordValue, ".zone.test.") {
			t.Errorf("random record %s -> %s", ds[0].RecordName, ds[0].RecordValue)
		}
		if err := RemoveDomain(tx, e.ID, "EXAMPLE.test."); err != nil {
			return err
		}
		wantCode(t, RemoveDomain(tx, e.ID, "example.test"), errs.ExitNotFound)
		_, err = GetDomain(tx, e.ID, "example.test")
		wantCode(t, err, errs.ExitNotFound)
		return nil
	})
}

// populate gives endpoint e one record of every kind the server and the
// commands keep for it, as they would name them.
func populate(t *testing.T, v *localstore.Vault, e *Endpoint) {
	t.Helper()
	sealer, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	update(t, v, func(tx localstore.Tx) error {
		b, _, err := CreateEAB(tx, sealer, e, false, 0, t0)
		if err != nil {
			return err
		}
		if _, err := AddDomain(tx, e, "lab.test", RandomRecord("zone.test"), true, t0); err != nil {
			return err
		}
		a := &Account{ID: "acct-" + e.ID, EndpointID: e.ID, Status: AcmeValid, Thumbprint: "thumb", EABKeyID: b.KeyID, CreatedAt: t0, UpdatedAt: t0}
		if err := PutAccount(tx, a); err != nil {
			return err
		}
		if err := IndexAccountKey(tx, a); err != nil {
			return err
		}
		az := &Authz{ID: "authz-" + e.ID, EndpointID: e.ID, AccountID: a.ID, Status: AcmeValid, UpdatedAt: t0}
		if err := PutAuthz(tx, az); err != nil {
			return err
		}
		o := &Order{ID: "order-" + e.ID, EndpointID: e.ID, AccountID: a.ID, Status: AcmeReady, Authorizations: []string{az.ID}, UpdatedAt: t0}
		if err := PutOrder(tx, o); err != nil {
			return err
		}
		if err := CountIssuance(tx, e.ID, true, t0); err != nil {
			return err
		}
		return SetReissueTarget(tx, ReissueKey(e.ID, a.ID, "EC_prime256v1", []string{"lab.test"}), "cert-"+e.ID, t0)
	})
}

var cascadeKinds = []string{KindEndpoint, KindEAB, KindDomain, KindAccount, KindAccountKey, KindOrder, KindAuthz, KindMetrics, KindReissue}

// countOf counts the records of each kind that name endpoint id in their
// ID or data.
func countOf(t *testing.T, v *localstore.Vault, id string) map[string]int {
	t.Helper()
	n := map[string]int{}
	view(t, v, func(tx localstore.Tx) error {
		for _, k := range cascadeKinds {
			objs, err := tx.ListObjects(k)
			if err != nil {
				return err
			}
			for _, o := range objs {
				if strings.Contains(o.ID, id) || bytes.Contains(o.Data, []byte(id)) {
					n[k]++
				}
			}
		}
		return nil
	})
	return n
}

func TestDeleteCascades(t *testing.T) {
	v := openVault(t)
	a := newEndpoint(t, v, CreateParams{})
	b := newEndpoint(t, v, CreateParams{})
	populate(t, v, a)
	populate(t, v, b)
	for _, id := range []string{a.ID, b.ID} {
		got := countOf(t, v, id)
		for _, k := range cascadeKinds {
			if got[k] == 0 {
				t.Fatalf("setup: no %s record for %s", k, id)
			}
		}
	}
	before := countOf(t, v, a.ID)
	var deleted map[string]int
	update(t, v, func(tx localstore.Tx) (err error) {
		deleted, err = Delete(tx, a.ID)
		return err
	})
	// It says how many it deleted of each kind its audit record names.
	for _, k := range []string{KindEAB, KindDomain, KindAccount, KindOrder, KindAuthz} {
		if deleted[k] != before[k] {
			t.Errorf("Delete counted %d %s records, the endpoint had %d", deleted[k], k, before[k])
		}
	}
	if got := countOf(t, v, a.ID); len(got) != 0 {
		t.Errorf("records of the deleted endpoint left: %v", got)
	}
	left := countOf(t, v, b.ID)
	for _, k := range cascadeKinds {
		if left[k] == 0 {
			t.Errorf("the other endpoint lost its %s records", k)
		}
	}
	view(t, v, func(tx localstore.Tx) error {
		acct, err := AccountByKey(tx, b.ID, "thumb")
		if err != nil || acct == nil || acct.ID != "acct-"+b.ID {
			t.Errorf("AccountByKey of the kept endpoint: %v, %v", acct, err)
		}
		if acct, err := AccountByKey(tx, a.ID, "thumb"); err != nil || acct != nil {
			t.Errorf("AccountByKey of the deleted endpoint: %v, %v", acct, err)
		}
		m, err := GetMetrics(tx, a.ID)
		if err != nil || m != (Metrics{}) {
			t.Errorf("metrics of the deleted endpoint: %+v, %v", m, err)
		}
		_, err = Get(tx, a.ID)
		wantCode(t, err, errs.ExitNotFound)
		return nil
	})
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error { _, err := Delete(tx, a.ID); return err })
	wantCode(t, err, errs.ExitNotFound)
}

func TestCountIssuance(t *testing.T) {
	v := openVault(t)
	update(t, v, func(tx localstore.Tx) error {
		for _, ok := range []bool{true, true, false, true} {
			if err := CountIssuance(tx, "ep", ok, t0); err != nil {
				return err
			}
		}
		m, err := GetMetrics(tx, "ep")
		if m != (Metrics{CertificateIssuanceSuccess: 3, CertificateIssuanceFailed: 1}) {
			t.Errorf("metrics %+v", m)
		}
		return err
	})
}

func TestDescribe(t *testing.T) {
	n := inventory.Names{Region: "local", Account: "000000000000"}
	e := &Endpoint{ID: "5f2c9e00-0000-4000-8000-000000000000", Status: StatusFailed, AuthorizationBehavior: "PRE_APPROVED",
		Contact: ContactRequired, AllowedKeyAlgorithms: []string{"RSA_2048"}, FailureReason: "CA_DELETED", CreatedAt: t0, UpdatedAt: t0}
	d := Describe(n, BaseURL("", "127.0.0.1:8443"), e, Metrics{CertificateIssuanceSuccess: 2})
	if d.EndpointURL != "https://127.0.0.1:8443/5f2c9e00-0000-4000-8000-000000000000/directory" {
		t.Errorf("EndpointUrl %s", d.EndpointURL)
	}
	if d.AcmeEndpointArn != n.EndpointARN(e.ID) || !strings.HasSuffix(d.AcmeEndpointArn, ":acme-endpoint/"+e.ID) {
		t.Errorf("ARN %s", d.AcmeEndpointArn)
	}
	if d.FailureReason != "CA_DELETED" || d.Status != StatusFailed || d.Metrics.CertificateIssuanceSuccess != 2 {
		t.Errorf("description %+v", d)
	}
	if d.CertificateTags == nil || d.Tags == nil {
		t.Error("tags must be empty lists, not null")
	}
	if got := DirectoryURL(BaseURL("https://acme.example/", "ignored"), "x"); got != "https://acme.example/x/directory" {
		t.Errorf("DirectoryURL with base_url: %s", got)
	}
}

package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// fullCertificate has every field set, so that a round trip that drops one
// shows.
func fullCertificate(id string) *localstore.Certificate {
	return &localstore.Certificate{
		ID:                      id,
		DomainName:              "www.example.test",
		SubjectAlternativeNames: []string{"www.example.test", "example.test", "*.example.test"},
		Status:                  "ISSUED",
		Type:                    "PRIVATE",
		KeyPairOrigin:           "VAULT",
		KeyAlgorithm:            "EC_prime256v1",
		SignatureAlgorithm:      "SHA256WITHECDSA",
		Serial:                  "0a:1b:2c",
		Subject:                 "CN=www.example.test",
		Issuer:                  "CN=Test CA",
		NotBefore:               t0.Add(-time.Hour),
		NotAfter:                t0.Add(395 * 24 * time.Hour),
		CreatedAt:               t0,
		UpdatedAt:               t0.Add(time.Minute),
		IssuedAt:                t0.Add(2 * time.Minute),
		ImportedAt:              t0.Add(3 * time.Minute),
		RevokedAt:               t0.Add(4 * time.Minute),
		RevocationReason:        "SUPERSEDED",
		FailureReason:           "OTHER",
		KeyUsages:               []string{"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"},
		ExtendedKeyUsages:       []localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1"}},
		InUseBy:                 []string{"nginx:/etc/nginx/site.conf"},
		Tags:                    []localstore.Tag{{Key: "env", Value: "prod"}, {Key: "empty", Value: ""}},
		Exported:                true,
		ExportOption:            "ENABLED",
		CTLoggingPreference:     "DISABLED",
		CertificateAuthorityID:  "ca-1",
		AcmeEndpointID:          "ep-1",
		AcmeAccountID:           "acct-1",
		RenewalEligibility:      "ELIGIBLE",
		Renewal:                 &localstore.RenewalSummary{Status: "PENDING_AUTO_RENEWAL", Reason: "OTHER", UpdatedAt: t0.Add(5 * time.Minute)},
		Validations: []localstore.DomainValidation{{
			DomainName: "www.example.test", ValidationDomain: "example.test", Status: "SUCCESS",
			Method: "DNS", RecordName: "_x.example.test.", RecordType: "CNAME", RecordValue: "_y.validations.test.",
			Emails: []string{"admin@example.test"}, RedirectFrom: "http://a", RedirectTo: "http://b",
			UpdatedAt: t0.Add(6 * time.Minute),
		}},
		ValidationMethod: "DNS",
		Version:          3,
		Extra:            map[string]string{"k": "v", "unicode": "é\u2603\x00"},
	}
}

func testCertificateRoundTrip(t *testing.T, s localstore.Store) {
	want := fullCertificate("3f2a1b9c-0000-4000-8000-000000000001")
	putCerts(t, s, want)
	got, err := getCert(t, s, want.ID)
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the certificate:\n got %+v\nwant %+v", got, want)
	}
	// A minimal certificate (zero times, nil slices) comes back equal too.
	minimal := &localstore.Certificate{ID: "min", DomainName: "min.test", Status: "PENDING_VALIDATION",
		Type: "ISSUED", KeyPairOrigin: "VAULT", KeyAlgorithm: "RSA_2048", CreatedAt: t0}
	putCerts(t, s, minimal)
	got, err = getCert(t, s, "min")
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if !reflect.DeepEqual(got, minimal) {
		t.Errorf("round trip changed the minimal certificate:\n got %+v\nwant %+v", got, minimal)
	}
	// The store keeps its own copy: changing the caller's value afterwards
	// changes nothing stored.
	minimal.Status = "FAILED"
	if got, _ = getCert(t, s, "min"); got.Status != "PENDING_VALIDATION" {
		t.Errorf("stored status = %q, want PENDING_VALIDATION", got.Status)
	}
	view(t, s, func(tx localstore.Tx) error {
		n, err := tx.CountCertificates()
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("CountCertificates = %d, want 2", n)
		}
		return nil
	})
}

func testCertificateUpdate(t *testing.T, s localstore.Store) {
	c := fullCertificate("upd")
	putCerts(t, s, c)
	c2 := fullCertificate("upd")
	c2.Status = "REVOKED"
	c2.DomainName = "renamed.example.test"
	c2.KeyAlgorithm = "RSA_4096"
	c2.Type = "IMPORTED"
	c2.KeyPairOrigin = "IMPORTED"
	c2.InUseBy = nil
	c2.RenewalEligibility = "INELIGIBLE"
	c2.NotAfter = t0.Add(time.Hour)
	c2.Tags = nil
	c2.Version = 4
	putCerts(t, s, c2)
	got, err := getCert(t, s, "upd")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c2) {
		t.Errorf("after update:\n got %+v\nwant %+v", got, c2)
	}
	no, yes := false, true
	view(t, s, func(tx localstore.Tx) error {
		n, err := tx.CountCertificates()
		if err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("CountCertificates after update = %d, want 1", n)
		}
		// The filterable columns follow the update.
		for _, f := range []localstore.CertificateFilter{
			{Statuses: []string{"REVOKED"}}, {KeyAlgorithms: []string{"RSA_4096"}},
			{Types: []string{"IMPORTED"}}, {Origins: []string{"IMPORTED"}},
			{InUse: &no}, {Exportable: &no}, {Eligibility: []string{"INELIGIBLE"}},
			{NotAfterBefore: t0.Add(2 * time.Hour)},
		} {
			got, err := tx.ListCertificates(f)
			if err != nil {
				return err
			}
			if len(got) != 1 {
				t.Errorf("ListCertificates(%+v) after update: %d results, want 1", f, len(got))
			}
		}
		for _, f := range []localstore.CertificateFilter{
			{Statuses: []string{"ISSUED"}}, {KeyAlgorithms: []string{"EC_prime256v1"}},
			{InUse: &yes}, {Exportable: &yes}, {Eligibility: []string{"ELIGIBLE"}},
			{NotAfterBefore: t0},
		} {
			got, err := tx.ListCertificates(f)
			if err != nil {
				return err
			}
			if len(got) != 0 {
				t.Errorf("ListCertificates(%+v) after update: %d results, want 0 (stale column)", f, len(got))
			}
		}
		got, err := tx.ListCertificates(localstore.CertificateFilter{SortBy: "DOMAIN_NAME"})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].DomainName != "renamed.example.test" {
			t.Errorf("list after update = %v", ids(got))
		}
		return nil
	})
}

func testCertificateDelete(t *testing.T, s localstore.Store) {
	update(t, s, func(tx localstore.Tx) error {
		for _, id := range []string{"del", "keep"} {
			if err := tx.PutCertificate(fullCertificate(id)); err != nil {
				return err
			}
			for n := 1; n <= 2; n++ {
				v := version(n)
				v.KeyRef = fmt.Sprintf("key/%s/%d", id, n)
				if err := tx.PutVersion(id, v); err != nil {
					return err
				}
				if err := tx.PutSecret(v.KeyRef, []byte("sealed-"+v.KeyRef)); err != nil {
					return err
				}
			}
		}
		// A version without a key (ACME origin) deletes cleanly too.
		if err := tx.PutVersion("del", version(3)); err != nil {
			return err
		}
		return tx.PutSecret("unrelated", []byte("x"))
	})
	update(t, s, func(tx localstore.Tx) error { return tx.DeleteCertificate("del") })

	view(t, s, func(tx localstore.Tx) error {
		_, err := tx.GetCertificate("del")
		wantNotFound(t, "GetCertificate after delete", err)
		vs, err := tx.ListVersions("del")
		if err != nil {
			return err
		}
		if len(vs) != 0 {
			t.Errorf("ListVersions after delete: %d versions remain", len(vs))
		}
		for n := 1; n <= 3; n++ {
			_, err = tx.GetVersion("del", n)
			wantNotFound(t, fmt.Sprintf("GetVersion(del, %d) after delete", n), err)
		}
		for n := 1; n <= 2; n++ {
			_, err = tx.GetSecret(fmt.Sprintf("key/del/%d", n))
			wantNotFound(t, "GetSecret of a deleted certificate's key", err)
		}
		// Nothing else went.
		if _, err := tx.GetCertificate("keep"); err != nil {
			t.Errorf("GetCertificate(keep): %v", err)
		}
		vs, err = tx.ListVersions("keep")
		if err != nil {
			return err
		}
		if len(vs) != 2 {
			t.Errorf("ListVersions(keep) = %d versions, want 2", len(vs))
		}
		for _, ref := range []string{"key/keep/1", "key/keep/2", "unrelated"} {
			if _, err := tx.GetSecret(ref); err != nil {
				t.Errorf("GetSecret(%s) after deleting another certificate: %v", ref, err)
			}
		}
		n, err := tx.CountCertificates()
		if err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("CountCertificates = %d, want 1", n)
		}
		return nil
	})
	err := s.Update(ctx(t), func(tx localstore.Tx) error { return tx.DeleteCertificate("del") })
	wantNotFound(t, "second DeleteCertificate", err)
	// The ID can be used again, with no leftover versions.
	putCerts(t, s, fullCertificate("del"))
	view(t, s, func(tx localstore.Tx) error {
		vs, err := tx.ListVersions("del")
		if len(vs) != 0 {
			t.Errorf("a re-created certificate inherited %d versions", len(vs))
		}
		return err
	})
}

func testNotFound(t *testing.T, s localstore.Store) {
	putCerts(t, s, fullCertificate("exists"))
	update(t, s, func(tx localstore.Tx) error {
		return tx.PutVersion("exists", version(1))
	})
	checks := map[string]func(tx localstore.Tx) error{
		"GetCertificate":            func(tx localstore.Tx) error { _, err := tx.GetCertificate("missing"); return err },
		"DeleteCertificate":         func(tx localstore.Tx) error { return tx.DeleteCertificate("missing") },
		"GetVersion(missing cert)":  func(tx localstore.Tx) error { _, err := tx.GetVersion("missing", 1); return err },
		"GetVersion(missing num)":   func(tx localstore.Tx) error { _, err := tx.GetVersion("exists", 2); return err },
		"GetVersion(0)":             func(tx localstore.Tx) error { _, err := tx.GetVersion("exists", 0); return err },
		"GetSecret":                 func(tx localstore.Tx) error { _, err := tx.GetSecret("missing"); return err },
		"GetObject":                 func(tx localstore.Tx) error { _, err := tx.GetObject("ca", "missing"); return err },
		"DeleteObject":              func(tx localstore.Tx) error { return tx.DeleteObject("ca", "missing") },
		"GetMeta":                   func(tx localstore.Tx) error { _, err := tx.GetMeta("missing"); return err },
		"GetSerial":                 func(tx localstore.Tx) error { _, err := tx.GetSerial("issuer", "01"); return err },
		"RevokeSerial":              func(tx localstore.Tx) error { return tx.RevokeSerial("issuer", "01", t0, 1) },
		"GetCertificate(prefix)":    func(tx localstore.Tx) error { _, err := tx.GetCertificate("exist"); return err },
		"GetCertificate(wildcard%)": func(tx localstore.Tx) error { _, err := tx.GetCertificate("%"); return err },
	}
	for name, fn := range checks {
		var err error
		// Update, so that the delete and revoke variants are real writes.
		uerr := s.Update(ctx(t), func(tx localstore.Tx) error { err = fn(tx); return nil })
		if uerr != nil {
			t.Errorf("%s: Update: %v", name, uerr)
		}
		wantNotFound(t, name, err)
	}
	view(t, s, func(tx localstore.Tx) error {
		vs, err := tx.ListVersions("missing")
		if err != nil || len(vs) != 0 {
			t.Errorf("ListVersions(missing) = %d, %v; want none, nil", len(vs), err)
		}
		objs, err := tx.ListObjects("nokind")
		if err != nil || len(objs) != 0 {
			t.Errorf("ListObjects(nokind) = %d, %v; want none, nil", len(objs), err)
		}
		rev, err := tx.ListRevoked("noissuer")
		if err != nil || len(rev) != 0 {
			t.Errorf("ListRevoked(noissuer) = %d, %v; want none, nil", len(rev), err)
		}
		return nil
	})
}

func testFindCertificateIDs(t *testing.T, s localstore.Store) {
	// The last few sit at the edges of a prefix's range in byte order: a
	// last byte of 0x7f or ~, the largest code points of one and of four
	// bytes (the byte after a prefix ending in them is not a character).
	all := []string{"abc-1", "abc-2", "abd-1", "ab%x", "ab_y", "abzz", `a\b`, `a\\c`, "ABC-9", "b",
		"x~1", "x\x7f2", "x\x7f", "y\u00ff", "y\u00ffz", "y\U0010ffffq", "z\U0010ffff\U0010ffff"}
	var cs []*localstore.Certificate
	for _, id := range all {
		c := fullCertificate(id)
		cs = append(cs, c)
	}
	putCerts(t, s, cs...)
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	cases := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"abc", 10, []string{"abc-1", "abc-2"}},
		{"abc-1", 10, []string{"abc-1"}},
		{"ab%", 10, []string{"ab%x"}},       // % is not a wildcard
		{"ab_", 10, []string{"ab_y"}},       // _ is not a wildcard
		{"a_c", 10, nil},                    // _ does not match b
		{"%", 10, nil},                      // nor on its own
		{"_", 10, nil},                      //
		{`a\`, 10, []string{`a\\c`, `a\b`}}, // the escape character is literal
		{`a\\`, 10, []string{`a\\c`}},       //
		{"ABC", 10, []string{"ABC-9"}},      // case-sensitive: a byte prefix
		{"abc-10", 10, nil},
		{"zzz", 10, nil},
		{"abc", 1, []string{"abc-1"}}, // at most limit, lowest first
		{"x~", 10, []string{"x~1"}},
		{"x\x7f", 10, []string{"x\x7f", "x\x7f2"}},
		{"y\u00ff", 10, []string{"y\u00ff", "y\u00ffz"}},
		{"y\U0010ffff", 10, []string{"y\U0010ffffq"}},
		{"z\U0010ffff", 10, []string{"z\U0010ffff\U0010ffff"}},
		{"z\U0010ffff\U0010ffff", 10, []string{"z\U0010ffff\U0010ffff"}},
		{"", 100, sorted},
		{"", 3, sorted[:3]},
	}
	view(t, s, func(tx localstore.Tx) error {
		for _, tc := range cases {
			got, err := tx.FindCertificateIDs(tc.prefix, tc.limit)
			if err != nil {
				return fmt.Errorf("FindCertificateIDs(%q, %d): %w", tc.prefix, tc.limit, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("FindCertificateIDs(%q, %d) = %q, want %q", tc.prefix, tc.limit, got, tc.want)
			}
			// A list's IDPrefix keeps the same certificates (completion
			// asks it together with a command's statuses and types).
			if tc.prefix == "" || tc.limit < 10 { // the cases bounded only by their limit
				continue
			}
			list, err := tx.ListCertificates(localstore.CertificateFilter{IDPrefix: tc.prefix, Statuses: []string{cs[0].Status}})
			if err != nil {
				return fmt.Errorf("ListCertificates(IDPrefix %q): %w", tc.prefix, err)
			}
			var ids []string
			for _, c := range list {
				ids = append(ids, c.ID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ListCertificates(IDPrefix %q) = %q, want %q", tc.prefix, ids, tc.want)
			}
			if none, err := tx.ListCertificates(localstore.CertificateFilter{IDPrefix: tc.prefix, Statuses: []string{"NO_SUCH_STATUS"}}); err != nil || len(none) != 0 {
				t.Errorf("ListCertificates(IDPrefix %q, a status none has) = %d, %v", tc.prefix, len(none), err)
			}
		}
		return nil
	})
}

func ids(cs []*localstore.Certificate) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

var errSentinel = errors.New("storetest: deliberate failure")

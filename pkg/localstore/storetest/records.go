package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

func version(n int) *localstore.CertificateVersion {
	return &localstore.CertificateVersion{
		Number:         n,
		Serial:         fmt.Sprintf("%02x:aa", n),
		NotBefore:      t0.Add(time.Duration(n) * time.Hour),
		NotAfter:       t0.Add(time.Duration(n) * 90 * 24 * time.Hour),
		IssuedAt:       t0.Add(time.Duration(n) * time.Minute),
		CertificatePEM: []byte(fmt.Sprintf("-----BEGIN CERTIFICATE-----\nv%d\n-----END CERTIFICATE-----\n", n)),
		ChainPEM:       []byte("-----BEGIN CERTIFICATE-----\nchain\n-----END CERTIFICATE-----\n"),
	}
}

func testVersions(t *testing.T, s localstore.Store) {
	putCerts(t, s, fullCertificate("a"), fullCertificate("b"))
	want := map[int]*localstore.CertificateVersion{}
	update(t, s, func(tx localstore.Tx) error {
		// Out of order, and 10 after 2, so that a lexical order shows.
		for _, n := range []int{10, 2, 1} {
			v := version(n)
			v.KeyRef = fmt.Sprintf("ref-%d", n)
			want[n] = v
			if err := tx.PutVersion("a", v); err != nil {
				return err
			}
		}
		w := version(1)
		w.ImportedAt, w.IssuedAt, w.ChainPEM = t0, time.Time{}, nil
		return tx.PutVersion("b", w)
	})
	view(t, s, func(tx localstore.Tx) error {
		for n, w := range want {
			got, err := tx.GetVersion("a", n)
			if err != nil {
				return fmt.Errorf("GetVersion(a, %d): %w", n, err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("GetVersion(a, %d):\n got %+v\nwant %+v", n, got, w)
			}
		}
		vs, err := tx.ListVersions("a")
		if err != nil {
			return err
		}
		var nums []int
		for _, v := range vs {
			nums = append(nums, v.Number)
		}
		if !slices.Equal(nums, []int{1, 2, 10}) {
			t.Errorf("ListVersions(a) numbers = %v, want [1 2 10]", nums)
		}
		vs, err = tx.ListVersions("b")
		if err != nil {
			return err
		}
		if len(vs) != 1 || vs[0].ChainPEM != nil || !vs[0].ImportedAt.Equal(t0) {
			t.Errorf("ListVersions(b) = %+v", vs)
		}
		return nil
	})
	// Putting an existing number replaces that version.
	update(t, s, func(tx localstore.Tx) error {
		v := version(2)
		v.Serial = "replaced"
		return tx.PutVersion("a", v)
	})
	view(t, s, func(tx localstore.Tx) error {
		vs, err := tx.ListVersions("a")
		if err != nil {
			return err
		}
		if len(vs) != 3 {
			t.Errorf("after replacing version 2: %d versions, want 3", len(vs))
		}
		v, err := tx.GetVersion("a", 2)
		if err != nil {
			return err
		}
		if v.Serial != "replaced" || v.KeyRef != "" {
			t.Errorf("replaced version 2 = %+v", v)
		}
		return nil
	})
}

func testSecrets(t *testing.T, s localstore.Store) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	big := bytes.Repeat([]byte{0xA5, 0x00, 0xFF}, 40000)
	update(t, s, func(tx localstore.Tx) error {
		for ref, v := range map[string][]byte{"bin": binary, "big": big, "ref/with:odd%chars_": []byte("x")} {
			if err := tx.PutSecret(ref, v); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx localstore.Tx) error {
		for ref, want := range map[string][]byte{"bin": binary, "big": big, "ref/with:odd%chars_": []byte("x")} {
			got, err := tx.GetSecret(ref)
			if err != nil {
				return fmt.Errorf("GetSecret(%s): %w", ref, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("GetSecret(%s) returned %d different bytes", ref, len(got))
			}
		}
		_, err := tx.GetSecret("ref/with:odd")
		wantNotFound(t, "GetSecret(prefix of a ref)", err)
		return nil
	})
	update(t, s, func(tx localstore.Tx) error { return tx.PutSecret("bin", []byte("new")) })
	view(t, s, func(tx localstore.Tx) error {
		got, err := tx.GetSecret("bin")
		if err != nil || string(got) != "new" {
			t.Errorf("GetSecret after overwrite = %q, %v", got, err)
		}
		return nil
	})
	// DeleteSecret removes that one secret; a missing one is no error.
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.DeleteSecret("bin"); err != nil {
			return err
		}
		return tx.DeleteSecret("never-there")
	})
	view(t, s, func(tx localstore.Tx) error {
		_, err := tx.GetSecret("bin")
		wantNotFound(t, "GetSecret after DeleteSecret", err)
		if _, err := tx.GetSecret("big"); err != nil {
			t.Errorf("DeleteSecret removed another secret: %v", err)
		}
		return nil
	})
}

func testSerials(t *testing.T, s localstore.Store) {
	update(t, s, func(tx localstore.Tx) error {
		for _, r := range []struct{ issuer, serial, cert string }{
			{"ca1", "01", "c1"}, {"ca1", "02", "c2"}, {"ca1", "03", "c3"}, {"ca2", "01", "c4"},
		} {
			if err := tx.ReserveSerial(r.issuer, r.serial, r.cert, t0); err != nil {
				return fmt.Errorf("ReserveSerial(%s, %s): %w", r.issuer, r.serial, err)
			}
		}
		return nil
	})
	// A duplicate, in a later transaction, even for another certificate.
	err := s.Update(ctx(t), func(tx localstore.Tx) error { return tx.ReserveSerial("ca1", "01", "other", t0) })
	if !errors.Is(err, localstore.ErrConflict) {
		t.Errorf("duplicate ReserveSerial: err = %v, want ErrConflict", err)
	}
	// A duplicate within one transaction.
	err = s.Update(ctx(t), func(tx localstore.Tx) error {
		if err := tx.ReserveSerial("ca3", "aa", "x", t0); err != nil {
			return err
		}
		return tx.ReserveSerial("ca3", "aa", "y", t0)
	})
	if !errors.Is(err, localstore.ErrConflict) {
		t.Errorf("duplicate ReserveSerial in one transaction: err = %v, want ErrConflict", err)
	}
	view(t, s, func(tx localstore.Tx) error {
		got, err := tx.GetSerial("ca1", "01")
		if err != nil {
			return err
		}
		if got.CertID != "c1" || !got.IssuedAt.Equal(t0) || !got.RevokedAt.IsZero() || got.Issuer != "ca1" || got.Serial != "01" {
			t.Errorf("GetSerial(ca1, 01) = %+v (the conflicting reservation must not have changed it)", got)
		}
		_, err = tx.GetSerial("ca3", "aa")
		wantNotFound(t, "GetSerial of a rolled-back reservation", err)
		return nil
	})
	later := t0.Add(time.Hour)
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.RevokeSerial("ca1", "03", t0.Add(time.Minute), 4); err != nil {
			return err
		}
		if err := tx.RevokeSerial("ca1", "02", later, 1); err != nil {
			return err
		}
		return tx.RevokeSerial("ca2", "01", t0, 1)
	})
	view(t, s, func(tx localstore.Tx) error {
		rev, err := tx.ListRevoked("ca1")
		if err != nil {
			return err
		}
		var got []string
		for _, r := range rev {
			got = append(got, fmt.Sprintf("%s/%s/%s/%d", r.Issuer, r.Serial, r.CertID, r.Reason))
		}
		if want := []string{"ca1/03/c3/4", "ca1/02/c2/1"}; !slices.Equal(got, want) {
			t.Errorf("ListRevoked(ca1) = %q, want %q", got, want)
		}
		if len(rev) == 2 && !rev[1].RevokedAt.Equal(later) {
			t.Errorf("RevokedAt = %v, want %v", rev[1].RevokedAt, later)
		}
		s, err := tx.GetSerial("ca1", "02")
		if err != nil {
			return err
		}
		if !s.RevokedAt.Equal(later) || s.Reason != 1 {
			t.Errorf("GetSerial after revoke = %+v", s)
		}
		// SerialRevocation says the same, alone.
		if at, reason, err := tx.SerialRevocation("ca1", "02"); err != nil || !at.Equal(later) || reason != 1 {
			t.Errorf("SerialRevocation(ca1, 02) = %v, %d, %v; want %v, 1", at, reason, err, later)
		}
		if at, _, err := tx.SerialRevocation("ca1", "01"); err != nil || !at.IsZero() {
			t.Errorf("SerialRevocation(ca1, 01), not revoked = %v, %v", at, err)
		}
		_, _, err = tx.SerialRevocation("ca1", "ff")
		wantNotFound(t, "SerialRevocation of a serial never reserved", err)
		return nil
	})
}

// testIssued checks the certificates recorded with their serials: what
// RecordIssued stores comes back from GetSerial (with the DER) and from
// ListIssued (oldest first, without it), revocation included.
func testIssued(t *testing.T, s localstore.Store) {
	t1 := t0.Add(time.Second)
	update(t, s, func(tx localstore.Tx) error {
		for i, r := range []struct{ issuer, serial string }{{"ca1", "0b"}, {"ca1", "0a"}, {"ca2", "01"}, {"ca1", "0c"}} {
			if err := tx.ReserveSerial(r.issuer, r.serial, "", t0.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		for _, serial := range []string{"0a", "0b"} {
			if err := tx.RecordIssued(&localstore.Serial{Issuer: "ca1", Serial: serial, DER: []byte{0x30, 0, 0xff},
				Subject: "CN=" + serial, NotBefore: t0, NotAfter: t1, Template: "EndEntityCertificate", Requester: "USER:alice@h"}); err != nil {
				return err
			}
		}
		return tx.RevokeSerial("ca1", "0a", t1, 1)
	})
	err := s.Update(ctx(t), func(tx localstore.Tx) error {
		return tx.RecordIssued(&localstore.Serial{Issuer: "ca1", Serial: "ff", DER: []byte{1}})
	})
	wantNotFound(t, "RecordIssued of a serial never reserved", err)
	view(t, s, func(tx localstore.Tx) error {
		got, err := tx.GetSerial("ca1", "0b")
		if err != nil {
			return err
		}
		if !bytes.Equal(got.DER, []byte{0x30, 0, 0xff}) || got.Subject != "CN=0b" || !got.NotBefore.Equal(t0) || !got.NotAfter.Equal(t1) ||
			got.Template != "EndEntityCertificate" || got.Requester != "USER:alice@h" {
			t.Errorf("GetSerial after RecordIssued = %+v", got)
		}
		list, err := tx.ListIssued("ca1")
		if err != nil {
			return err
		}
		var rows []string
		for _, r := range list {
			rows = append(rows, fmt.Sprintf("%s/%s/%s/%v/%d/%d", r.Serial, r.Subject, r.Template, r.DER == nil, r.Reason, r.NotAfter.Unix()))
		}
		want := []string{
			fmt.Sprintf("0b/CN=0b/EndEntityCertificate/true/0/%d", t1.Unix()),
			fmt.Sprintf("0a/CN=0a/EndEntityCertificate/true/1/%d", t1.Unix()),
			"0c///true/0/-62135596800",
		}
		if !slices.Equal(rows, want) {
			t.Errorf("ListIssued(ca1) = %q, want %q", rows, want)
		}
		if len(list) == 3 && (!list[1].RevokedAt.Equal(t1) || !list[2].NotAfter.IsZero() || !list[2].RevokedAt.IsZero()) {
			t.Errorf("ListIssued times: %+v", list)
		}
		return nil
	})
}

// testSerialConflictKeepsTx checks that a conflicting reservation leaves the
// transaction usable, so that a CA can draw another serial and go on in the
// same transaction.
func testSerialConflictKeepsTx(t *testing.T, s localstore.Store) {
	update(t, s, func(tx localstore.Tx) error { return tx.ReserveSerial("ca", "01", "c1", t0) })
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.PutCertificate(fullCertificate("before")); err != nil {
			return err
		}
		if err := tx.ReserveSerial("ca", "01", "c2", t0); !errors.Is(err, localstore.ErrConflict) {
			return fmt.Errorf("duplicate ReserveSerial: err = %v, want ErrConflict", err)
		}
		if err := tx.ReserveSerial("ca", "02", "c2", t0); err != nil {
			return fmt.Errorf("ReserveSerial after a conflict: %w", err)
		}
		return tx.PutCertificate(fullCertificate("after"))
	})
	view(t, s, func(tx localstore.Tx) error {
		for _, id := range []string{"before", "after"} {
			if _, err := tx.GetCertificate(id); err != nil {
				t.Errorf("GetCertificate(%s) after a transaction that survived a conflict: %v", id, err)
			}
		}
		if got, err := tx.GetSerial("ca", "02"); err != nil || got.CertID != "c2" {
			t.Errorf("GetSerial(ca, 02) = %+v, %v", got, err)
		}
		return nil
	})
}

func testObjects(t *testing.T, s localstore.Store) {
	update(t, s, func(tx localstore.Tx) error {
		for _, o := range []*localstore.Object{
			{Kind: "ca", ID: "b", Data: []byte(`{"n":"b"}`), UpdatedAt: t0},
			{Kind: "ca", ID: "a", Data: []byte(`{"n":"a"}`)},
			{Kind: "ca", ID: "c", Data: []byte{0, 1, 2}, UpdatedAt: t0.Add(time.Second)},
			{Kind: "endpoint", ID: "a", Data: []byte(`{"n":"ep"}`), UpdatedAt: t0},
		} {
			if err := tx.PutObject(o); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx localstore.Tx) error {
		o, err := tx.GetObject("ca", "b")
		if err != nil {
			return err
		}
		if o.Kind != "ca" || o.ID != "b" || string(o.Data) != `{"n":"b"}` || !o.UpdatedAt.Equal(t0) {
			t.Errorf("GetObject(ca, b) = %+v", o)
		}
		o, err = tx.GetObject("ca", "a")
		if err != nil {
			return err
		}
		if !o.UpdatedAt.IsZero() {
			t.Errorf("zero UpdatedAt came back as %v", o.UpdatedAt)
		}
		o, err = tx.GetObject("endpoint", "a")
		if err != nil {
			return err
		}
		if string(o.Data) != `{"n":"ep"}` {
			t.Errorf("objects of different kinds with one ID mixed up: %q", o.Data)
		}
		list, err := tx.ListObjects("ca")
		if err != nil {
			return err
		}
		var got []string
		for _, o := range list {
			got = append(got, o.Kind+"/"+o.ID+"="+string(o.Data))
		}
		if want := []string{`ca/a={"n":"a"}`, `ca/b={"n":"b"}`, "ca/c=\x00\x01\x02"}; !slices.Equal(got, want) {
			t.Errorf("ListObjects(ca) = %q, want %q", got, want)
		}
		if len(list) == 3 && !list[2].UpdatedAt.Equal(t0.Add(time.Second)) {
			t.Errorf("ListObjects UpdatedAt = %v", list[2].UpdatedAt)
		}
		return nil
	})
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: "b", Data: []byte("v2"), UpdatedAt: t0.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.DeleteObject("ca", "a")
	})
	view(t, s, func(tx localstore.Tx) error {
		o, err := tx.GetObject("ca", "b")
		if err != nil {
			return err
		}
		if string(o.Data) != "v2" || !o.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("GetObject after overwrite = %+v", o)
		}
		_, err = tx.GetObject("ca", "a")
		wantNotFound(t, "GetObject after delete", err)
		if _, err := tx.GetObject("endpoint", "a"); err != nil {
			t.Errorf("deleting ca/a touched endpoint/a: %v", err)
		}
		list, err := tx.ListObjects("ca")
		if err != nil {
			return err
		}
		if len(list) != 2 {
			t.Errorf("ListObjects(ca) after delete: %d objects, want 2", len(list))
		}
		return nil
	})
}

// testFindObjectIDs checks FindObjectIDs and FindObjects.
func testFindObjectIDs(t *testing.T, s localstore.Store) {
	update(t, s, func(tx localstore.Tx) error {
		for _, id := range []string{"abc-1", "abc-2", "ab%x", "ab_y", "abzz", "ABC"} {
			if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: id, Data: []byte("{}")}); err != nil {
				return err
			}
		}
		return tx.PutObject(&localstore.Object{Kind: "endpoint", ID: "abc-3", Data: []byte("{}")})
	})
	cases := []struct {
		kind, prefix string
		limit        int
		want         []string
	}{
		{"ca", "abc", 10, []string{"abc-1", "abc-2"}},
		{"ca", "ab%", 10, []string{"ab%x"}},
		{"ca", "ab_", 10, []string{"ab_y"}},
		{"ca", "ABC", 10, []string{"ABC"}},
		{"ca", "abc", 1, []string{"abc-1"}},
		{"endpoint", "abc", 10, []string{"abc-3"}},
		{"endpoint", "ab_", 10, nil},
		{"other", "", 10, nil},
		{"ca", "", 10, []string{"ABC", "ab%x", "ab_y", "abc-1", "abc-2", "abzz"}},
	}
	view(t, s, func(tx localstore.Tx) error {
		for _, tc := range cases {
			got, err := tx.FindObjectIDs(tc.kind, tc.prefix, tc.limit)
			if err != nil {
				return err
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("FindObjectIDs(%q, %q, %d) = %q, want %q", tc.kind, tc.prefix, tc.limit, got, tc.want)
			}
			// FindObjects: the same objects, whole.
			objs, err := tx.FindObjects(tc.kind, tc.prefix, tc.limit)
			if err != nil {
				return err
			}
			var ids []string
			for _, o := range objs {
				if o.Kind != tc.kind || string(o.Data) != "{}" {
					t.Errorf("FindObjects(%q, %q, %d): object %+v, want its kind and data", tc.kind, tc.prefix, tc.limit, o)
				}
				ids = append(ids, o.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("FindObjects(%q, %q, %d) = %q, want %q", tc.kind, tc.prefix, tc.limit, ids, tc.want)
			}
		}
		return nil
	})
}

func testMeta(t *testing.T, s localstore.Store) {
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.PutMeta("k", []byte("v1")); err != nil {
			return err
		}
		return tx.PutMeta("k2", []byte{0, 0xff})
	})
	update(t, s, func(tx localstore.Tx) error { return tx.PutMeta("k", []byte("v2")) })
	view(t, s, func(tx localstore.Tx) error {
		for k, want := range map[string]string{"k": "v2", "k2": "\x00\xff"} {
			got, err := tx.GetMeta(k)
			if err != nil || string(got) != want {
				t.Errorf("GetMeta(%s) = %q, %v; want %q", k, got, err, want)
			}
		}
		_, err := tx.GetMeta("K")
		wantNotFound(t, "GetMeta is case-sensitive", err)
		return nil
	})
}

package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// testCertificateTags: GetCertificateTags and SetCertificateTags read and
// replace a certificate's tags (and set its UpdatedAt) and leave the rest
// of its record as it was, as every read then sees it.
func testCertificateTags(t *testing.T, s localstore.Store) {
	full := fullCertificate("3f2a1b9c-0000-4000-8000-0000000000a1")
	bare := &localstore.Certificate{ID: "bare", DomainName: "bare.test", Status: "ISSUED", Type: "IMPORTED",
		KeyPairOrigin: "IMPORTED", KeyAlgorithm: "RSA_2048", CreatedAt: t0}
	putCerts(t, s, full, bare)

	var gotFull, gotBare []localstore.Tag
	var errMissing error
	view(t, s, func(tx localstore.Tx) (err error) {
		if gotFull, err = tx.GetCertificateTags(full.ID); err != nil {
			return err
		}
		if gotBare, err = tx.GetCertificateTags(bare.ID); err != nil {
			return err
		}
		_, errMissing = tx.GetCertificateTags("missing")
		return nil
	})
	if !reflect.DeepEqual(gotFull, full.Tags) {
		t.Errorf("GetCertificateTags = %v, want %v", gotFull, full.Tags)
	}
	if gotBare != nil {
		t.Errorf("GetCertificateTags of a certificate without tags = %#v, want nil", gotBare)
	}
	wantNotFound(t, "GetCertificateTags(missing)", errMissing)

	newTags := []localstore.Tag{{Key: "wave", Value: "1"}, {Key: "uni", Value: "é\u2603"}}
	at := t0.Add(time.Hour)
	var errSetMissing error
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.SetCertificateTags(full.ID, newTags, at); err != nil {
			return err
		}
		if err := tx.SetCertificateTags(bare.ID, newTags[:1], at); err != nil {
			return err
		}
		errSetMissing = tx.SetCertificateTags("missing", newTags, at)
		return nil
	})
	wantNotFound(t, "SetCertificateTags(missing)", errSetMissing)

	want := *full
	want.Tags, want.UpdatedAt = newTags, at
	got, err := getCert(t, s, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("after SetCertificateTags:\n got %+v\nwant %+v", got, &want)
	}
	var list []*localstore.Certificate
	view(t, s, func(tx localstore.Tx) (err error) {
		list, err = tx.ListCertificates(localstore.CertificateFilter{})
		return err
	})
	for _, c := range list {
		if c.ID == full.ID && !reflect.DeepEqual(c, &want) {
			t.Errorf("ListCertificates after SetCertificateTags:\n got %+v\nwant %+v", c, &want)
		}
		if c.ID == bare.ID && (!reflect.DeepEqual(c.Tags, newTags[:1]) || !c.UpdatedAt.Equal(at)) {
			t.Errorf("ListCertificates: bare has tags %v, UpdatedAt %v", c.Tags, c.UpdatedAt)
		}
	}

	// Every certificate's tags, read alone (tag key completion).
	each := map[string][]localstore.Tag{}
	view(t, s, func(tx localstore.Tx) error {
		return tx.EachCertificateTags(func(id string, tags []localstore.Tag) error {
			each[id] = tags
			return nil
		})
	})
	if len(each) != 2 || !reflect.DeepEqual(each[full.ID], newTags) || !reflect.DeepEqual(each[bare.ID], newTags[:1]) {
		t.Errorf("EachCertificateTags: %v", each)
	}

	var many map[string][]localstore.Tag
	view(t, s, func(tx localstore.Tx) (err error) {
		many, err = tx.ListCertificateTags([]string{full.ID, "missing", bare.ID})
		return err
	})
	if wantMany := map[string][]localstore.Tag{full.ID: newTags, bare.ID: newTags[:1]}; !reflect.DeepEqual(many, wantMany) {
		t.Errorf("ListCertificateTags = %v, want %v", many, wantMany)
	}

	// Rows deleted and written again between the read and the write of
	// the tags (a backend may remember where it read them) are found.
	var errGone error
	third := &localstore.Certificate{ID: "third", DomainName: "third.test", Status: "ISSUED", Type: "IMPORTED",
		KeyPairOrigin: "IMPORTED", KeyAlgorithm: "RSA_2048", CreatedAt: t0}
	update(t, s, func(tx localstore.Tx) error {
		if _, err := tx.ListCertificateTags([]string{full.ID, bare.ID}); err != nil {
			return err
		}
		if err := tx.DeleteCertificate(bare.ID); err != nil {
			return err
		}
		if err := tx.PutCertificate(third); err != nil {
			return err
		}
		if err := tx.PutCertificate(bare); err != nil {
			return err
		}
		if err := tx.SetCertificateTags(bare.ID, newTags[1:], at); err != nil {
			return err
		}
		if err := tx.DeleteCertificate(third.ID); err != nil {
			return err
		}
		errGone = tx.SetCertificateTags(third.ID, newTags, at)
		return nil
	})
	wantNotFound(t, "SetCertificateTags of a certificate deleted in the transaction", errGone)
	if got, err := getCert(t, s, bare.ID); err != nil || !reflect.DeepEqual(got.Tags, newTags[1:]) {
		t.Errorf("tags of a certificate written again after they were read: %v, %+v", err, got)
	}

	// No tags left: nil, as a record without tags reads; and a later
	// PutCertificate writes what it is given.
	update(t, s, func(tx localstore.Tx) error { return tx.SetCertificateTags(bare.ID, []localstore.Tag{}, at) })
	if got, err := getCert(t, s, bare.ID); err != nil || got.Tags != nil {
		t.Errorf("after removing every tag: %v, %#v", err, got)
	}
	want.Tags, want.UpdatedAt = []localstore.Tag{{Key: "k", Value: "v"}}, time.Time{}
	putCerts(t, s, &want)
	if got, err := getCert(t, s, full.ID); err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("PutCertificate after SetCertificateTags: %v\n got %+v\nwant %+v", err, got, &want)
	}
}

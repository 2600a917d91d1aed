package localstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// corruptVersion stores certificate id with a readable version 1 and a
// version 2 whose record is not JSON, each with a sealed key.
func corruptVersion(t *testing.T, s localstore.Store, id string, rawExec func(q string, args ...any) error, ph func(int) string) {
	t.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx localstore.Tx) error {
		c := &localstore.Certificate{ID: id, DomainName: "a.example", Status: "ISSUED", Type: "PRIVATE",
			KeyPairOrigin: "VAULT", KeyAlgorithm: "EC_prime256v1", CreatedAt: time.Unix(1, 0).UTC(), Version: 2}
		if err := tx.PutCertificate(c); err != nil {
			return err
		}
		for n := 1; n <= 2; n++ {
			ref := "certificate/" + id + "/v" + string(rune('0'+n)) + "/key"
			if err := tx.PutVersion(id, &localstore.CertificateVersion{Number: n, KeyRef: ref}); err != nil {
				return err
			}
			if err := tx.PutSecret(ref, []byte("sealed")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rawExec(`UPDATE cert_versions SET data = `+ph(1)+` WHERE cert_id = `+ph(2)+` AND version = 2`, []byte("{not json"), id); err != nil {
		t.Fatal(err)
	}
}

// checkDeleteRefused deletes a certificate one of whose version records is
// unreadable: the store cannot know that version's sealed key, so the
// delete must fail (and roll back) rather than orphan it.
func checkDeleteRefused(t *testing.T, s localstore.Store, rawExec func(q string, args ...any) error, ph func(int) string) {
	corruptVersion(t, s, "c1", rawExec, ph)
	err := s.Update(context.Background(), func(tx localstore.Tx) error { return tx.DeleteCertificate("c1") })
	if !errors.Is(err, localstore.ErrCorrupt) {
		t.Fatalf("DeleteCertificate with an unreadable version: %v, want ErrCorrupt", err)
	}
	err = s.View(context.Background(), func(tx localstore.Tx) error {
		if _, err := tx.GetCertificate("c1"); err != nil {
			return err
		}
		for _, ref := range []string{"certificate/c1/v1/key", "certificate/c1/v2/key"} {
			if _, err := tx.GetSecret(ref); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("after the refused delete: %v (the delete must roll back)", err)
	}
}

func TestSQLiteDeleteUnreadableVersion(t *testing.T) {
	s := openSQLite(t).(*localstore.SQLite)
	checkDeleteRefused(t, s, func(q string, args ...any) error {
		_, err := s.DB().Exec(q, args...)
		return err
	}, func(int) string { return "?" })
}

func TestPostgresDeleteUnreadableVersion(t *testing.T) {
	s := openPostgres(t).(*localstore.Postgres)
	checkDeleteRefused(t, s, func(q string, args ...any) error {
		_, err := s.Pool().Exec(context.Background(), q, args...)
		return err
	}, func(n int) string { return "$" + string(rune('0'+n)) })
}

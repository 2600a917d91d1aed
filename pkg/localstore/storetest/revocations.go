package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// testRevocations checks EachRevocation, what a CRL reads: the revoked
// serials of one issuer only, in serial order (bytewise), with their
// revocation time to the nanosecond (in UTC) and reason, the same as
// ListRevoked's full records; none for an issuer that revoked nothing;
// the function's error stops the reading and is returned.
func testRevocations(t *testing.T, s localstore.Store) {
	at := t0.Add(1234567891 * time.Nanosecond)
	update(t, s, func(tx localstore.Tx) error {
		for i, serial := range []string{"0b", "7f:01", "0a", "ff", "0c", "01:00"} {
			if err := tx.ReserveSerial("ca1", serial, "c"+serial, t0.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		if err := tx.ReserveSerial("ca2", "0a", "", t0); err != nil {
			return err
		}
		for i, serial := range []string{"ff", "0a", "7f:01", "01:00"} {
			if err := tx.RevokeSerial("ca1", serial, at.Add(-time.Duration(i)*time.Hour), i*3%11); err != nil {
				return err
			}
		}
		return tx.RevokeSerial("ca2", "0a", t0, 1)
	})
	// In a read and in a write: SQLite reads through its C interface on a
	// write's pinned connection, through database/sql on a read pool's.
	check := func(tx localstore.Tx) error {
		var got []string
		utc := true
		err := tx.EachRevocation("ca1", func(serial []byte, at time.Time, reason int) error {
			got = append(got, fmt.Sprintf("%s/%d/%d", serial, at.UnixNano(), reason))
			utc = utc && at.Location() == time.UTC
			return nil
		})
		if err != nil {
			return err
		}
		want := []string{
			fmt.Sprintf("01:00/%d/9", at.Add(-3*time.Hour).UnixNano()),
			fmt.Sprintf("0a/%d/3", at.Add(-time.Hour).UnixNano()),
			fmt.Sprintf("7f:01/%d/6", at.Add(-2*time.Hour).UnixNano()),
			fmt.Sprintf("ff/%d/0", at.UnixNano()),
		}
		if !slices.Equal(got, want) {
			t.Errorf("EachRevocation(ca1) = %q, want %q", got, want)
		}
		full, err := tx.ListRevoked("ca1")
		if err != nil {
			return err
		}
		var fromFull []string
		for _, r := range full {
			fromFull = append(fromFull, fmt.Sprintf("%s/%d/%d", r.Serial, r.RevokedAt.UnixNano(), r.Reason))
		}
		slices.Sort(fromFull)
		if !slices.Equal(fromFull, want) {
			t.Errorf("ListRevoked(ca1) = %q, EachRevocation %q", fromFull, want)
		}
		if !utc {
			t.Error("a revocation time is not in UTC")
		}
		calls := 0
		err = tx.EachRevocation("noissuer", func([]byte, time.Time, int) error { calls++; return nil })
		if err != nil || calls != 0 {
			t.Errorf("EachRevocation(noissuer): %d calls, %v; want none", calls, err)
		}
		stop := errors.New("stop")
		calls = 0
		err = tx.EachRevocation("ca1", func([]byte, time.Time, int) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("EachRevocation stopped by its function: %d calls, %v; want 1, %v", calls, err, stop)
		}
		return nil
	}
	view(t, s, check)
	update(t, s, check)
}

// testRevocationEpoch checks the token a CRL cache keys on: none for an
// issuer that revoked nothing; a new one, seen in the revoking
// transaction and after it, for each transaction that revokes one of the
// issuer's serials (re-revoking one included), and for no other change; one issuer's revocation leaves another's token;
// a revocation of a serial never issued (ErrNotFound) changes nothing.
func testRevocationEpoch(t *testing.T, s localstore.Store) {
	epoch := func(issuer string) []byte {
		t.Helper()
		var e []byte
		view(t, s, func(tx localstore.Tx) error {
			var err error
			e, err = localstore.RevocationEpoch(tx, issuer)
			return err
		})
		return e
	}
	update(t, s, func(tx localstore.Tx) error {
		for _, serial := range []string{"01", "02"} {
			if err := tx.ReserveSerial("ep1", serial, "c"+serial, t0); err != nil {
				return err
			}
		}
		return tx.ReserveSerial("ep2", "01", "d01", t0)
	})
	if e := epoch("ep1"); e != nil {
		t.Fatalf("RevocationEpoch of an issuer that revoked nothing = %x, want nil", e)
	}
	seen := map[string]bool{}
	revoke := func(issuer, serial string, reason int) []byte {
		t.Helper()
		var inTx []byte
		update(t, s, func(tx localstore.Tx) error {
			if err := tx.RevokeSerial(issuer, serial, t0, reason); err != nil {
				return err
			}
			var err error
			inTx, err = localstore.RevocationEpoch(tx, issuer)
			return err
		})
		e := epoch(issuer)
		if len(e) != 16 || seen[string(e)] || !bytes.Equal(e, inTx) {
			t.Fatalf("RevocationEpoch after revoking %s/%s = %x (in its transaction %x), want a new token of 16 bytes", issuer, serial, e, inTx)
		}
		seen[string(e)] = true
		return e
	}
	revoke("ep1", "01", 1)
	e1 := revoke("ep1", "01", 4) // the same serial again, another reason
	other := revoke("ep2", "01", 1)
	if e := epoch("ep1"); !bytes.Equal(e, e1) {
		t.Errorf("ep2's revocation changed ep1's token: %x, want %x", e, e1)
	}
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.RevokeSerial("ep1", "99", t0, 1); !errors.Is(err, localstore.ErrNotFound) {
			t.Errorf("RevokeSerial of a serial never issued = %v, want ErrNotFound", err)
		}
		return tx.ReserveSerial("ep1", "03", "c03", t0)
	})
	if e := epoch("ep1"); !bytes.Equal(e, e1) {
		t.Errorf("an unknown serial's refused revocation or an issuance changed the token: %x, want %x", e, e1)
	}
	e2 := revoke("ep1", "02", 1)
	if bytes.Equal(e2, e1) || !bytes.Equal(epoch("ep2"), other) {
		t.Error("tokens did not follow the revocations")
	}
}

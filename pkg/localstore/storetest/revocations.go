package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// testRevocations checks ListRevocations, what a CRL reads: the revoked
// serials of one issuer only, in serial order (bytewise), with their
// revocation time to the nanosecond and reason, the same as ListRevoked's
// full records; none for an issuer that revoked nothing.
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
	view(t, s, func(tx localstore.Tx) error {
		revs, err := tx.ListRevocations("ca1")
		if err != nil {
			return err
		}
		var got []string
		for _, r := range revs {
			got = append(got, fmt.Sprintf("%s/%d/%d", r.Serial, r.RevokedAt.UnixNano(), r.Reason))
		}
		want := []string{
			fmt.Sprintf("01:00/%d/9", at.Add(-3*time.Hour).UnixNano()),
			fmt.Sprintf("0a/%d/3", at.Add(-time.Hour).UnixNano()),
			fmt.Sprintf("7f:01/%d/6", at.Add(-2*time.Hour).UnixNano()),
			fmt.Sprintf("ff/%d/0", at.UnixNano()),
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListRevocations(ca1) = %q, want %q", got, want)
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
			t.Errorf("ListRevoked(ca1) = %q, ListRevocations %q", fromFull, want)
		}
		if len(revs) > 0 && revs[0].RevokedAt.Location() != time.UTC {
			t.Errorf("RevokedAt in %v, want UTC", revs[0].RevokedAt.Location())
		}
		if revs, err := tx.ListRevocations("noissuer"); err != nil || len(revs) != 0 {
			t.Errorf("ListRevocations(noissuer) = %v, %v; want none", revs, err)
		}
		return nil
	})
}

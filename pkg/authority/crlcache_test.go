package authority

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// crlScans counts the CRLs a transaction reads revocations for; each
// read takes hold longer.
type crlScans struct {
	localstore.Tx
	n    *atomic.Int64
	hold *atomic.Int64 // nanoseconds
}

func (c crlScans) EachRevocation(issuer string, fn localstore.RevocationFunc) error {
	c.n.Add(1)
	time.Sleep(time.Duration(c.hold.Load()))
	return c.Tx.EachRevocation(issuer, fn)
}

// TestLookupCRLServedAgain: the responder signs a CA's CRL once and
// serves it again, the same bytes, while nothing it shows has changed and
// the hour it is dated in lasts; a revocation, a change to the CA's record
// (ca crl's number, its status), the next hour or a clock that went back
// gives a new one, numbered by its thisUpdate — the revocation's time,
// then every hour after it — so that another process serving the store
// (a second Lookup) dates and numbers it the same; a burst of GETs after a
// change signs once; a GET of a CA that is not served leaves nothing
// behind.
func TestLookupCRLServedAgain(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Cache Root", 0)
	var serials []string
	for range 3 {
		iss, err := issueLeaf(t, s, root, "c", "crl.test")
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, x509util.FormatSerial(iss.Certificate.SerialNumber))
	}
	// The epoch carries the database's time: the test's clock is real.
	clk.now = time.Now().UTC()
	var scans, hold atomic.Int64
	lookup := func() *Lookup {
		return s.NewLookup(func(fn func(localstore.Tx) error) error {
			return s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error { return fn(crlScans{tx, &scans, &hold}) })
		})
	}
	l, other := lookup(), lookup()
	cert, _ := reload(t, s, root.ID).Certificate()
	getFrom := func(l *Lookup, wantScans int64, what string) ([]byte, *x509.RevocationList) {
		t.Helper()
		der, err := l.CRL(root.ID)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(cert); err != nil {
			t.Fatal(err)
		}
		if got := scans.Load(); got != wantScans {
			t.Fatalf("%s: %d CRLs read in all, want %d", what, got, wantScans)
		}
		return der, crl
	}
	get := func(wantScans int64, what string) ([]byte, *x509.RevocationList) {
		t.Helper()
		return getFrom(l, wantScans, what)
	}
	dated := func(crl *x509.RevocationList, thisUpdate time.Time, what string) {
		t.Helper()
		want := thisUpdate.Truncate(time.Second)
		if !crl.ThisUpdate.Equal(want) || crl.Number.Cmp(big.NewInt(thisUpdate.UnixNano())) != 0 {
			t.Errorf("%s: thisUpdate %v number %v, want %v and %d", what, crl.ThisUpdate, crl.Number, want, thisUpdate.UnixNano())
		}
	}
	revoke := func(serial string) time.Time {
		t.Helper()
		var at time.Time
		mustUpdate(t, s, func(tx localstore.Tx) error {
			if err := Revoke(tx, root.ID, serial, clk.now, 1); err != nil {
				return err
			}
			e, err := tx.RevocationEpoch(root.ID)
			var ok bool
			if at, ok = localstore.EpochTime(e); err == nil && !ok {
				t.Fatalf("epoch %q has no time", e)
			}
			return err
		})
		if clk.now.Before(at) {
			clk.now = at
		}
		return at
	}

	// Never revoked: dated by the hour of the Unix clock.
	_, crl := get(1, "first GET")
	dated(crl, clk.now.Truncate(time.Hour), "CRL of a CA that never revoked")
	get(1, "second GET before any revocation")

	at := revoke(serials[0])
	first, crl := get(2, "GET after a revocation")
	if len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d entries, want 1", len(crl.RevokedCertificateEntries))
	}
	dated(crl, at, "CRL after a revocation")
	if _, same := getFrom(other, 3, "another process's GET"); !same.ThisUpdate.Equal(crl.ThisUpdate) || same.Number.Cmp(crl.Number) != 0 {
		t.Errorf("another process's CRL: thisUpdate %v number %v, want %v and %v", same.ThisUpdate, same.Number, crl.ThisUpdate, crl.Number)
	}
	clk.now = at.Add(59 * time.Minute)
	if again, _ := get(3, "GET 59 minutes later"); !bytes.Equal(again, first) {
		t.Fatal("a CRL served again differs")
	}
	clk.now = at.Add(61 * time.Minute)
	_, later := get(4, "GET 61 minutes later")
	dated(later, at.Add(time.Hour), "CRL an hour later")
	clk.now = at.Add(30 * time.Minute)
	get(5, "GET with the clock gone back")

	clk.now = at.Add(90 * time.Minute)
	at2 := revoke(serials[1])
	_, crl = get(6, "GET after a second revocation")
	if len(crl.RevokedCertificateEntries) != 2 {
		t.Fatalf("%d entries, want 2", len(crl.RevokedCertificateEntries))
	}
	if crl.Number.Cmp(later.Number) <= 0 {
		t.Errorf("CRL number %v after a revocation not above the one before, %v", crl.Number, later.Number)
	}
	// The clock is an hour and a half ahead of the database's now: the
	// CRL is dated by the hours since the revocation.
	dated(crl, at2.Add(clk.now.Sub(at2).Truncate(time.Hour)), "CRL after a second revocation")
	get(6, "GET again")

	// ca crl numbers a CRL above the responder's: the responder's next
	// is above that one, not the one it served before.
	clk.now = clk.now.Add(time.Second)
	var published *big.Int
	mustUpdate(t, s, func(tx localstore.Tx) error {
		der, err := s.CRL(tx, reload(t, s, root.ID))
		if err == nil {
			c, perr := x509.ParseRevocationList(der)
			if perr != nil {
				return perr
			}
			published = c.Number
		}
		return err
	})
	if _, crl := get(7, "GET after ca crl"); crl.Number.Cmp(published) <= 0 {
		t.Errorf("responder's CRL number %v not above ca crl's %v", crl.Number, published)
	}

	// A burst after a change signs once: the others wait for it (its read
	// held long enough for them all to ask meanwhile).
	revoke(serials[2])
	hold.Store(int64(100 * time.Millisecond))
	var wg sync.WaitGroup
	bodies := make([][]byte, 8)
	for i := range bodies {
		wg.Go(func() {
			der, err := l.CRL(root.ID)
			if err != nil {
				t.Error(err)
			}
			bodies[i] = der
		})
	}
	wg.Wait()
	hold.Store(0)
	if got := scans.Load(); got != 8 {
		t.Errorf("a burst of %d GETs read %d CRLs, want 1", len(bodies), got-7)
	}
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatal("a burst's GETs were answered with different CRLs")
		}
	}

	// Disabled: served still, and signed again (its record changed).
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.UpdateStatus(tx, reload(t, s, root.ID), StatusDisabled) })
	get(9, "GET of the disabled CA")

	// Not served: nothing kept, for it or for a CA that is not there.
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.Delete(tx, reload(t, s, root.ID), 7) })
	if _, err := l.CRL(root.ID); !errors.Is(err, casign.ErrNotFound) {
		t.Fatalf("GET of a deleted CA: %v, want ErrNotFound", err)
	}
	if _, err := l.CRL("00000000-0000-0000-0000-000000000000"); !errors.Is(err, casign.ErrNotFound) {
		t.Fatalf("GET of a CA that is not there: %v, want ErrNotFound", err)
	}
	l.crlMu.Lock()
	kept := len(l.crls)
	l.crlMu.Unlock()
	if kept != 0 {
		t.Errorf("%d CRLs kept after GETs of CAs that are not served, want 0", kept)
	}
}

// TestCRLThisUpdate: the epoch's time, then every hour after it; the
// hours of the Unix clock without an epoch; the host's own minute when
// its clock is behind the database's.
func TestCRLThisUpdate(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 17, 42, 123000000, time.UTC)
	epoch := []byte("0123456789abcdef0123456789abcdef/" + strconv.FormatInt(at.UnixNano(), 10))
	for _, c := range []struct {
		epoch []byte
		now   time.Time
		want  time.Time
	}{
		{epoch, at, at},
		{epoch, at.Add(59*time.Minute + 59*time.Second), at},
		{epoch, at.Add(time.Hour), at.Add(time.Hour)},
		{epoch, at.Add(5*time.Hour + time.Minute), at.Add(5 * time.Hour)},
		{epoch, at.Add(-90 * time.Second), time.Date(2026, 12, 5, 10, 16, 0, 0, time.UTC)},
		{nil, at, time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)},
		{[]byte("no time"), at, time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)},
	} {
		if got := crlThisUpdate(c.epoch, c.now); !got.Equal(c.want) {
			t.Errorf("crlThisUpdate(%q, %v) = %v, want %v", c.epoch, c.now, got, c.want)
		}
	}
}

// TestLookupCRLRevocationByAnyWriter: a revocation the store records
// without RevokeSerial — as a build before revocation epochs wrote it, on
// a store shared with it — is on the next CRL the responder serves
// (review of the first version: a stale CRL for up to an hour).
func TestLookupCRLRevocationByAnyWriter(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Any Writer Root", 0)
	var serials []string
	for range 2 {
		iss, err := issueLeaf(t, s, root, "c", "crl.test")
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, x509util.FormatSerial(iss.Certificate.SerialNumber))
	}
	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) })
	entries := func() int {
		t.Helper()
		der, err := l.CRL(root.ID)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		return len(crl.RevokedCertificateEntries)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serials[0], clk.now, 1) })
	if n := entries(); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	// The earlier build's RevokeSerial, word for word.
	db := s.Vault.Store.(*localstore.SQLite).DB()
	if _, err := db.Exec(`UPDATE serials SET revoked_at = ?, reason = ? WHERE issuer = ? AND serial = ?`,
		clk.now.UnixNano(), 1, root.ID, serials[1]); err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(time.Minute)
	if n := entries(); n != 2 {
		t.Errorf("the next GET after a revocation by another writer lists %d revoked, want 2", n)
	}
}

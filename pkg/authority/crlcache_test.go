package authority

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"math/big"
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

// revokingCA is a service over a fresh vault with its clock, a root CA
// named name, and the serials of n leaves it issued.
func revokingCA(t *testing.T, name string, n int) (*testClock, *Service, *Record, []string) {
	t.Helper()
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, name, 0)
	var serials []string
	for range n {
		iss, err := issueLeaf(t, s, root, "c", "crl.test")
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, x509util.FormatSerial(iss.Certificate.SerialNumber))
	}
	return clk, s, root, serials
}

// getCRL is the CRL l serves for CA id, parsed.
func getCRL(t *testing.T, l *Lookup, id string) *x509.RevocationList {
	t.Helper()
	der, err := l.CRL(id)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// TestLookupCRLServedAgain: the responder signs a CA's CRL once and
// serves it again, the same bytes, while nothing it shows has changed —
// a CA that never revoked too — for at most an hour; a revocation, a
// change to the CA's record (ca crl's number, its status), an hour's age
// or a clock that went back gives a new one, dated and numbered when it is
// signed; a burst of GETs after a change signs once; a GET of a CA that is
// not served leaves nothing behind.
func TestLookupCRLServedAgain(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Cache Root", 3)
	var scans, hold atomic.Int64
	l := s.NewLookup(func(fn func(localstore.Tx) error) error {
		return s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error { return fn(crlScans{tx, &scans, &hold}) })
	})
	cert, _ := reload(t, s, root.ID).Certificate()
	get := func(wantScans int64, what string) ([]byte, *x509.RevocationList) {
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
	revoke := func(serial string) {
		t.Helper()
		mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serial, clk.now, 1) })
	}

	// A CA that never revoked: served again too.
	get(1, "first GET")
	get(1, "second GET before any revocation")

	revoke(serials[0])
	first, crl := get(2, "GET after a revocation")
	if len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d entries, want 1", len(crl.RevokedCertificateEntries))
	}
	if !crl.ThisUpdate.Equal(clk.now) || crl.Number.Cmp(big.NewInt(clk.now.UnixNano())) != 0 {
		t.Errorf("CRL dated %v numbered %v, want the time it was signed, %v", crl.ThisUpdate, crl.Number, clk.now)
	}
	signed := clk.now
	clk.now = signed.Add(59 * time.Minute)
	if again, _ := get(2, "GET 59 minutes later"); !bytes.Equal(again, first) {
		t.Fatal("a CRL served again differs")
	}
	clk.now = signed.Add(61 * time.Minute)
	_, older := get(3, "GET 61 minutes later")
	if !older.ThisUpdate.Equal(clk.now) || older.Number.Cmp(crl.Number) <= 0 {
		t.Errorf("CRL after an hour: thisUpdate %v number %v, want %v and above %v", older.ThisUpdate, older.Number, clk.now, crl.Number)
	}
	clk.now = clk.now.Add(-time.Second)
	get(4, "GET with the clock gone back")

	clk.now = clk.now.Add(time.Minute)
	revoke(serials[1])
	if _, crl := get(5, "GET after a second revocation"); len(crl.RevokedCertificateEntries) != 2 {
		t.Fatalf("%d entries, want 2", len(crl.RevokedCertificateEntries))
	}
	get(5, "GET again")

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
	if _, crl := get(6, "GET after ca crl"); crl.Number.Cmp(published) <= 0 {
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
	if got := scans.Load(); got != 7 {
		t.Errorf("a burst of %d GETs read %d CRLs, want 1", len(bodies), got-6)
	}
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatal("a burst's GETs were answered with different CRLs")
		}
	}

	// Disabled: served still, and signed again (its record changed).
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.UpdateStatus(tx, reload(t, s, root.ID), StatusDisabled) })
	get(8, "GET of the disabled CA")

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

// TestLookupCRLDuringRevocation: a GET while a revocation's transaction is
// open gets the CRL without it; the first GET after the commit gets one
// with it, numbered above (review: a CRL numbered by the time the
// revocation was written, not by when it was signed, came out below the
// one served meanwhile).
func TestLookupCRLDuringRevocation(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Window Root", 1)
	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) })
	get := func() *x509.RevocationList { t.Helper(); return getCRL(t, l, root.ID) }
	get()
	inTx, served := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
			err := Revoke(tx, root.ID, serials[0], clk.now, 1)
			close(inTx)
			<-served
			return err
		})
	}()
	<-inTx
	clk.now = clk.now.Add(time.Hour + time.Minute) // the GET during it: a new hour
	during := get()
	close(served)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(time.Second)
	after := get()
	if len(during.RevokedCertificateEntries) != 0 || len(after.RevokedCertificateEntries) != 1 || after.Number.Cmp(during.Number) <= 0 {
		t.Errorf("during the revocation: %d entries, number %v; after: %d entries, number %v; want 0, then 1 numbered above",
			len(during.RevokedCertificateEntries), during.Number, len(after.RevokedCertificateEntries), after.Number)
	}
}

// TestLookupCRLAfterCAExpiry: once the CA's certificate has expired, the
// CRL it signs (nextUpdate no longer capped at it) is served again, not
// signed on every GET (review).
func TestLookupCRLAfterCAExpiry(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Expired Root", 0)
	cert, _ := reload(t, s, root.ID).Certificate()
	var scans, hold atomic.Int64
	l := s.NewLookup(func(fn func(localstore.Tx) error) error {
		return s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error { return fn(crlScans{tx, &scans, &hold}) })
	})
	clk.now = cert.NotAfter.Add(time.Second)
	a, err := l.CRL(root.ID)
	if err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(time.Minute)
	b, err := l.CRL(root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || scans.Load() != 1 {
		t.Errorf("after the CA expired: %d CRLs signed for two GETs, same bytes %v; want 1, true", scans.Load(), bytes.Equal(a, b))
	}
}

// TestLookupCRLRevocationByAnyWriter: a revocation the store records
// without RevokeSerial — as a build before revocation epochs wrote it, on
// a store shared with it — is on the next CRL the responder serves
// (review of the first version: a stale CRL for up to an hour).
func TestLookupCRLRevocationByAnyWriter(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Any Writer Root", 2)
	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) })
	entries := func() int { t.Helper(); return len(getCRL(t, l, root.ID).RevokedCertificateEntries) }
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

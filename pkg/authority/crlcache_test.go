package authority

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
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

// newServerLookup is the responder's lookup as a server makes it, over
// s's vault: its reads counted in scans and held by hold (both set or
// both nil), its CRL publications written; the test waits for the
// writes it started before it ends.
func newServerLookup(t *testing.T, s *Service, scans, hold *atomic.Int64) *Lookup {
	l := s.NewLookup(func(fn func(localstore.Tx) error) error {
		return s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
			if scans != nil {
				tx = crlScans{tx, scans, hold}
			}
			return fn(tx)
		})
	}, func(fn func(localstore.Tx) error) error { return s.Vault.Store.Update(context.Background(), fn) }, nil)
	t.Cleanup(l.publishing.Wait)
	return l
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
	l := newServerLookup(t, s, &scans, &hold)
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
	_, crl := get(1, "first GET")
	// Dated as certificates are, a minute before its signing (casign.Backdate).
	if !crl.ThisUpdate.Equal(clk.now.Add(-casign.Backdate)) || crl.Number.Cmp(big.NewInt(clk.now.UnixNano())) != 0 {
		t.Errorf("CRL dated %v numbered %v, want the time it was signed less casign.Backdate, %v", crl.ThisUpdate, crl.Number, clk.now)
	}
	get(1, "second GET before any revocation")

	revoke(serials[0])
	before := crl.Number
	first, crl := get(2, "GET after a revocation, the clock where it was")
	if len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d entries, want 1", len(crl.RevokedCertificateEntries))
	}
	// Not dated before the revocation it lists, made at the same moment
	// (crlThisUpdate).
	if !crl.ThisUpdate.Equal(clk.now.Truncate(time.Second)) || crl.Number.Cmp(before) <= 0 {
		t.Errorf("CRL dated %v numbered %v, want %v and above %v", crl.ThisUpdate, crl.Number, clk.now.Truncate(time.Second), before)
	}
	signed := clk.now
	clk.now = signed.Add(59 * time.Minute)
	if again, _ := get(2, "GET 59 minutes later"); !bytes.Equal(again, first) {
		t.Fatal("a CRL served again differs")
	}
	clk.now = signed.Add(61 * time.Minute)
	_, older := get(3, "GET 61 minutes later")
	if !older.ThisUpdate.Equal(clk.now.Add(-casign.Backdate)) || older.Number.Cmp(crl.Number) <= 0 {
		t.Errorf("CRL after an hour: thisUpdate %v number %v, want %v and above %v", older.ThisUpdate, older.Number, clk.now.Add(-casign.Backdate), crl.Number)
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

	// Deleted: served still within its restore window (its certificates
	// chain as before), signed again (its record changed).
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.Delete(tx, reload(t, s, root.ID), 7) })
	get(9, "GET of the deleted CA within its restore window")

	// Not served once permanently deleted: its CRL no longer kept (its
	// number is: the floor of the next), nothing for a CA that is not
	// there.
	clk.now = clk.now.Add(8 * 24 * time.Hour)
	if _, err := l.CRL(root.ID); !errors.Is(err, casign.ErrNotFound) {
		t.Fatalf("GET of a permanently deleted CA: %v, want ErrNotFound", err)
	}
	if _, err := l.CRL("00000000-0000-0000-0000-000000000000"); !errors.Is(err, casign.ErrNotFound) {
		t.Fatalf("GET of a CA that is not there: %v, want ErrNotFound", err)
	}
	l.crlMu.Lock()
	var kept []*crlEntry
	for _, e := range l.crls {
		kept = append(kept, e)
	}
	l.crlMu.Unlock()
	if len(kept) != 1 || kept[0].der != nil || kept[0].pub.Number == 0 {
		t.Errorf("%d entries kept after GETs of CAs that are not served, want 1, its number only", len(kept))
	}
}

// TestLookupCRLDuringRevocation: a GET while a revocation's transaction is
// open gets the CRL without it; the first GET after the commit gets one
// with it, numbered above (review: a CRL numbered by the time the
// revocation was written, not by when it was signed, came out below the
// one served meanwhile).
func TestLookupCRLDuringRevocation(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Window Root", 1)
	l := newServerLookup(t, s, nil, nil)
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

// TestLookupCRLAfterCAExpiry: a CRL signed half an hour before the CA's
// certificate expires (its nextUpdate capped at that) is not served past
// it; once the certificate has expired, the CRL it signs (nextUpdate no
// longer capped) is served again, not signed on every GET (review).
func TestLookupCRLAfterCAExpiry(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Expired Root", 0)
	cert, _ := reload(t, s, root.ID).Certificate()
	var scans, hold atomic.Int64
	l := newServerLookup(t, s, &scans, &hold)
	clk.now = cert.NotAfter.Add(-30 * time.Minute)
	if before := getCRL(t, l, root.ID); !before.NextUpdate.Equal(cert.NotAfter) {
		t.Fatalf("nextUpdate %v, want the CA's notAfter %v", before.NextUpdate, cert.NotAfter)
	}
	clk.now = cert.NotAfter.Add(time.Second)
	a, err := l.CRL(root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if scans.Load() != 2 {
		t.Errorf("past the nextUpdate of the CRL served: %d CRLs signed, want 2", scans.Load())
	}
	clk.now = clk.now.Add(time.Minute)
	b, err := l.CRL(root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || scans.Load() != 2 {
		t.Errorf("after the CA expired: %d CRLs signed for three GETs, same bytes %v; want 2, true", scans.Load(), bytes.Equal(a, b))
	}
}

// TestLookupCRLRevocationByAnyWriter: a revocation the store records
// without RevokeSerial — as a build before revocation epochs wrote it, on
// a store shared with it — is on the next CRL the responder serves
// (review of the first version: a stale CRL for up to an hour).
func TestLookupCRLRevocationByAnyWriter(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Any Writer Root", 2)
	l := newServerLookup(t, s, nil, nil)
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

// TestLookupCRLServersAgree: the servers of one store (two lookups) serve
// CRLs with the same number and thisUpdate — the first to need a new one
// records it, and the other signs with it — after a revocation, an hour
// later, after ca crl and once two servers that signed at the same moment
// have each seen the other's record; each number is above the one before.
// A lookup that cannot write signs with what is recorded, or numbers its
// own above it.
func TestLookupCRLServersAgree(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Agree Root", 2)
	var scans, hold atomic.Int64
	a, b := newServerLookup(t, s, &scans, &hold), newServerLookup(t, s, &scans, &hold)
	get := func(l *Lookup) *x509.RevocationList {
		t.Helper()
		crl := getCRL(t, l, root.ID)
		l.publishing.Wait()
		return crl
	}
	last := big.NewInt(0)
	agree := func(what string, x, y *x509.RevocationList, entries int) {
		t.Helper()
		if x.Number.Cmp(y.Number) != 0 || !x.ThisUpdate.Equal(y.ThisUpdate) {
			t.Errorf("%s: the servers serve number %v dated %v and number %v dated %v", what, x.Number, x.ThisUpdate, y.Number, y.ThisUpdate)
		}
		if len(x.RevokedCertificateEntries) != entries || len(y.RevokedCertificateEntries) != entries {
			t.Errorf("%s: %d and %d entries, want %d", what, len(x.RevokedCertificateEntries), len(y.RevokedCertificateEntries), entries)
		}
		if x.Number.Cmp(last) <= 0 {
			t.Errorf("%s: number %v not above the one before, %v", what, x.Number, last)
		}
		last = x.Number
	}
	revoke := func(serial string) {
		t.Helper()
		mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serial, clk.now, 1) })
		clk.now = clk.now.Add(time.Second)
	}
	agree("first GETs", get(a), get(b), 0)
	revoke(serials[0])
	x := get(b)
	clk.now = clk.now.Add(time.Second)
	agree("after a revocation", x, get(a), 1)
	clk.now = clk.now.Add(time.Hour)
	x = get(a)
	clk.now = clk.now.Add(time.Second)
	agree("an hour later", x, get(b), 1)

	// Both at once after a revocation: each signs its own, records it
	// unless the store holds a higher one, and the lower one follows the
	// higher at its next GET.
	revoke(serials[1])
	hold.Store(int64(50 * time.Millisecond))
	var wg sync.WaitGroup
	first := make([]*x509.RevocationList, 2)
	for i, l := range []*Lookup{a, b} {
		wg.Go(func() { first[i] = get(l) })
	}
	wg.Wait()
	hold.Store(0)
	x, y := get(a), get(b)
	agree("both at once, then again", x, y, 2)
	for i, c := range []*x509.RevocationList{x, y} {
		if c.Number.Cmp(first[i].Number) < 0 {
			t.Errorf("server %d went from number %v to %v", i, first[i].Number, c.Number)
		}
	}

	// ca crl numbers its CRL above the servers' last, even with a clock
	// behind it; the servers then sign a new one above that.
	back := clk.now
	clk.now = clk.now.Add(-2 * time.Hour)
	mustUpdate(t, s, func(tx localstore.Tx) error {
		der, err := s.CRL(tx, reload(t, s, root.ID))
		if err != nil {
			return err
		}
		c, err := x509.ParseRevocationList(der)
		if err == nil && c.Number.Cmp(last) <= 0 {
			t.Errorf("ca crl with the clock behind: number %v, not above the servers' %v", c.Number, last)
		}
		if err == nil {
			last = c.Number
		}
		return err
	})
	clk.now = back
	solo := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) }, nil, nil)
	x = get(a)
	agree("after ca crl; a lookup that cannot write signs with the record", x, get(solo), 2)
	clk.now = clk.now.Add(time.Hour)
	if own := get(solo); own.Number.Cmp(last) <= 0 || len(own.RevokedCertificateEntries) != 2 {
		t.Errorf("a lookup that cannot write, the record an hour old: number %v (%d entries), want above %v", own.Number, len(own.RevokedCertificateEntries), last)
	}
}

// TestLookupCRLRecordRefused: a server whose records are refused (a store
// it cannot write) serves its own CRLs, numbered up, and a GET does not
// wait for the write; it tries again after crlRepublish, not before, and
// logs a refusal once a CRL.
func TestLookupCRLRecordRefused(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Refused Root", 1)
	var tries atomic.Int64
	var logged []string
	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) },
		func(func(localstore.Tx) error) error { tries.Add(1); return localstore.ErrReadOnly },
		func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) })
	get := func() *x509.RevocationList {
		t.Helper()
		crl := getCRL(t, l, root.ID)
		l.publishing.Wait()
		return crl
	}
	first := get()
	mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serials[0], clk.now, 1) })
	second := get()
	if second.Number.Cmp(first.Number) <= 0 || len(second.RevokedCertificateEntries) != 1 || tries.Load() != 2 {
		t.Errorf("numbers %v then %v (%d entries), %d records tried; want up, 1, 2", first.Number, second.Number, len(second.RevokedCertificateEntries), tries.Load())
	}
	clk.now = clk.now.Add(crlRepublish - time.Second)
	get()
	if n := tries.Load(); n != 2 {
		t.Errorf("served again before crlRepublish: %d records tried, want still 2", n)
	}
	clk.now = clk.now.Add(2 * time.Second)
	if again := get(); again.Number.Cmp(second.Number) != 0 || tries.Load() != 3 {
		t.Errorf("served again after crlRepublish: number %v (want %v), %d records tried (want 3)", again.Number, second.Number, tries.Load())
	}
	if len(logged) != 2 || !strings.Contains(logged[1], second.Number.String()) || !strings.Contains(logged[1], "not recorded") {
		t.Errorf("logged %q; want one line for each of the two CRLs", logged)
	}
}

// lookupAt is a server's lookup over s's vault with its own clock.
func lookupAt(t *testing.T, s *Service, clk *testClock, update func(fn func(localstore.Tx) error) error) *Lookup {
	l := New(s.Vault, clk.Now, "").NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) }, update, nil)
	t.Cleanup(l.publishing.Wait)
	return l
}

// TestLookupCRLOneNumberOneCRL: two servers that sign a CRL at once,
// both above a record made by a server whose clock is ahead (the first's
// record not yet in the store when the second reads), serve the same CRL
// from their next GET; a server that finds its CRL's number recorded for
// another CRL of the same revocations signs again with the record, and
// for a CRL of other revocations signs a new one above it (review: two
// different CRLs under one number for an hour).
func TestLookupCRLOneNumberOneCRL(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "One Number Root", 1)
	update := func(fn func(localstore.Tx) error) error { return s.Vault.Store.Update(context.Background(), fn) }
	ahead := lookupAt(t, s, &testClock{now: clk.now.Add(10 * time.Minute)}, update)
	getCRL(t, ahead, root.ID)
	ahead.publishing.Wait()
	mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serials[0], clk.now, 1) })
	release := make(chan struct{})
	clkA, clkB := &testClock{now: clk.now.Add(time.Second)}, &testClock{now: clk.now.Add(2 * time.Second)}
	a := lookupAt(t, s, clkA, func(fn func(localstore.Tx) error) error { <-release; return update(fn) })
	b := lookupAt(t, s, clkB, update)
	x, y := getCRL(t, a, root.ID), getCRL(t, b, root.ID)
	close(release)
	a.publishing.Wait()
	b.publishing.Wait()
	clkA.now, clkB.now = clkA.now.Add(time.Minute), clkB.now.Add(time.Minute)
	x2, y2 := getCRL(t, a, root.ID), getCRL(t, b, root.ID)
	if x2.Number.Cmp(y2.Number) != 0 || !x2.ThisUpdate.Equal(y2.ThisUpdate) || x2.Number.Cmp(x.Number) < 0 || y2.Number.Cmp(y.Number) < 0 {
		t.Errorf("a minute later: number %v dated %v and number %v dated %v; want one CRL, numbered at least %v and %v", x2.Number, x2.ThisUpdate, y2.Number, y2.ThisUpdate, x.Number, y.Number)
	}

	// The record names a's number for another CRL of the same
	// revocations and CA (another server signed it at once, and its
	// record came first): a signs again with the record.
	a.publishing.Wait()
	b.publishing.Wait()
	record := func(change func(p *crlPublication)) {
		t.Helper()
		mustUpdate(t, s, func(tx localstore.Tx) error {
			p, err := readCRLPublication(tx, crlPublicationKey(root.ID, -1))
			if err != nil || p == nil {
				return fmt.Errorf("record %+v (%v)", p, err)
			}
			change(p)
			raw, err := json.Marshal(p)
			if err != nil {
				return err
			}
			return tx.PutMeta(crlPublicationKey(root.ID, -1), raw)
		})
	}
	// The record holds the signing time; the CRL is dated casign.Backdate
	// before it, but not before the revocation it lists (crlThisUpdate).
	other := x2.ThisUpdate.Add(casign.Backdate - time.Second)
	record(func(p *crlPublication) { p.ThisUpdate = other.UnixNano() })
	clkA.now = clkA.now.Add(time.Second)
	want := other.Add(-casign.Backdate)
	if revoked := clk.now.Truncate(time.Second); revoked.After(want) {
		want = revoked
	}
	if x3 := getCRL(t, a, root.ID); x3.Number.Cmp(x2.Number) != 0 || !x3.ThisUpdate.Equal(want) {
		t.Errorf("its number recorded for another CRL of the same revocations: number %v dated %v, want the record's, %v dated %v", x3.Number, x3.ThisUpdate, x2.Number, want)
	}

	// ... for a CRL of other revocations (another server signed it from
	// a snapshot before the revocation): a new one, numbered above.
	record(func(p *crlPublication) { p.Epoch = "00" })
	clkA.now = clkA.now.Add(time.Second)
	if x4 := getCRL(t, a, root.ID); x4.Number.Cmp(x2.Number) <= 0 || len(x4.RevokedCertificateEntries) != 1 {
		t.Errorf("its number recorded for a CRL of other revocations: number %v (%d entries), want above %v", x4.Number, len(x4.RevokedCertificateEntries), x2.Number)
	}
}

// TestLookupCRLNumberKeptAfterFailure: a GET that fails (the store away
// for a moment, the CA deleted and restored) does not make the server
// forget its last number, while its record is not in the store and its
// clock has gone back (review: a number going backwards).
func TestLookupCRLNumberKeptAfterFailure(t *testing.T) {
	clk, s, root, _ := revokingCA(t, "Kept Number Root", 0)
	var away atomic.Bool
	l := s.NewLookup(func(fn func(localstore.Tx) error) error {
		if away.Load() {
			return errors.New("connection reset")
		}
		return s.Vault.Store.View(context.Background(), fn)
	}, func(func(localstore.Tx) error) error { return errors.New("connection reset") }, nil)
	setStatus := func(status string) {
		t.Helper()
		mustUpdate(t, s, func(tx localstore.Tx) error {
			r, err := Get(tx, root.ID)
			if err != nil {
				return err
			}
			r.Status = status
			return Put(tx, r)
		})
	}
	last := getCRL(t, l, root.ID).Number
	for _, fail := range []struct {
		name        string
		start, stop func()
	}{
		{"the store away", func() { away.Store(true) }, func() { away.Store(false) }},
		{"the CA deleted", func() { setStatus(StatusDeleted) }, func() { setStatus(StatusActive) }},
	} {
		fail.start()
		if _, err := l.CRL(root.ID); err == nil {
			t.Fatalf("%s: the GET did not fail", fail.name)
		}
		fail.stop()
		clk.now = clk.now.Add(-time.Second)
		next := getCRL(t, l, root.ID).Number
		if next.Cmp(last) <= 0 {
			t.Errorf("%s, the clock a second back: number %v after %v", fail.name, next, last)
		}
		last = next
	}
	l.publishing.Wait()
}

// TestLookupCRLOneRecordAtATime: while one record waits for the store
// (its write lock held by another process), the CRLs of other CAs are
// served without a second write — which would take a second of the
// connections GETs read with (tester: PostgreSQL GETs waiting 27 s) — and
// are recorded at a GET after it ends.
func TestLookupCRLOneRecordAtATime(t *testing.T) {
	_, s, first, _ := revokingCA(t, "First Root", 0)
	second := createRoot(t, s, "Second Root", 0)
	release := make(chan struct{})
	var tries atomic.Int64
	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) },
		func(fn func(localstore.Tx) error) error {
			if tries.Add(1) == 1 {
				<-release
			}
			return s.Vault.Store.Update(context.Background(), fn)
		}, nil)
	getCRL(t, l, first.ID)
	getCRL(t, l, second.ID)
	close(release)
	l.publishing.Wait()
	if n := tries.Load(); n != 1 {
		t.Errorf("%d records tried while the first waited, want 1", n)
	}
	x := getCRL(t, l, second.ID)
	l.publishing.Wait()
	mustUpdate(t, s, func(tx localstore.Tx) error {
		p, err := readCRLPublication(tx, crlPublicationKey(second.ID, -1))
		if err == nil && (p == nil || p.Number != x.Number.Int64()) {
			t.Errorf("the second CA's CRL (number %v) after the first record ended: recorded %+v", x.Number, p)
		}
		return err
	})
}

// TestLookupCRLNumberKeptAfterFailedFirstGET: a GET that waited for the
// entry of a CA while the CA's first GET failed (and dropped the entry,
// as it does for made-up CAs) keeps its number where the next GET finds
// it (review: the number went back with the clock). The waiting GET is
// given 100 ms to reach the entry's lock.
func TestLookupCRLNumberKeptAfterFailedFirstGET(t *testing.T) {
	clk, s, root, _ := revokingCA(t, "Waiting Root", 0)
	var calls atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	l := s.NewLookup(func(fn func(localstore.Tx) error) error {
		if calls.Add(1) == 1 {
			close(started)
			<-release
			return errors.New("connection reset")
		}
		return s.Vault.Store.View(context.Background(), fn)
	}, func(func(localstore.Tx) error) error { return localstore.ErrReadOnly }, nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := l.CRL(root.ID); err == nil {
			t.Error("the first GET did not fail")
		}
	})
	<-started
	var second []byte
	wg.Go(func() {
		var err error
		if second, err = l.CRL(root.ID); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	l.publishing.Wait()
	waited, err := x509.ParseRevocationList(second)
	if err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(-time.Second)
	if next := getCRL(t, l, root.ID); next.Number.Cmp(waited.Number) <= 0 {
		t.Errorf("after the GET that waited (number %v), the clock a second back: number %v", waited.Number, next.Number)
	}
}

// TestLookupCRLNumberAboveAnotherSigner: a responder whose number is not
// recorded and ca crl, both on hosts whose clocks are behind the record,
// number above it at once: two numbers, not one for two CRLs (review).
func TestLookupCRLNumberAboveAnotherSigner(t *testing.T) {
	clk, s, root, serials := revokingCA(t, "Two Signers Root", 1)
	update := func(fn func(localstore.Tx) error) error { return s.Vault.Store.Update(context.Background(), fn) }
	ahead := lookupAt(t, s, &testClock{now: clk.now.Add(10 * time.Minute)}, update)
	recorded := getCRL(t, ahead, root.ID).Number
	ahead.publishing.Wait()
	mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serials[0], clk.now, 1) })
	a := lookupAt(t, s, &testClock{now: clk.now.Add(time.Second)}, func(func(localstore.Tx) error) error { return localstore.ErrReadOnly })
	x := getCRL(t, a, root.ID)
	clk.now = clk.now.Add(2 * time.Second)
	var y *x509.RevocationList
	mustUpdate(t, s, func(tx localstore.Tx) error {
		der, err := s.CRL(tx, reload(t, s, root.ID))
		if err == nil {
			y, err = x509.ParseRevocationList(der)
		}
		return err
	})
	if x.Number.Cmp(recorded) <= 0 || y.Number.Cmp(recorded) <= 0 || x.Number.Cmp(y.Number) == 0 {
		t.Errorf("recorded %v; the responder signed %v, ca crl %v: want both above, and two numbers", recorded, x.Number, y.Number)
	}
}

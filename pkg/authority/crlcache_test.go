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

// TestLookupCRLServedAgain: the responder signs a CA's CRL once and
// serves it again, the same bytes, while nothing it shows has changed; a
// revocation, a change to the CA's record (ca crl's number, its status),
// an hour's age or a clock that went back gives a new one; a burst of
// GETs after a change signs one; a GET of a CA that is not served leaves
// nothing behind.
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

	// No revocation yet, so no epoch: each GET signs (a vault whose
	// revocations predate epochs is served so).
	get(1, "first GET")
	get(2, "second GET before any revocation")

	revoke(serials[0])
	first, crl := get(3, "GET after a revocation")
	if len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d entries, want 1", len(crl.RevokedCertificateEntries))
	}
	clk.now = clk.now.Add(59 * time.Minute)
	if again, _ := get(3, "GET 59 minutes later"); !bytes.Equal(again, first) {
		t.Fatal("a CRL served again differs")
	}
	clk.now = clk.now.Add(2 * time.Minute)
	_, older := get(4, "GET 61 minutes later")
	if !older.ThisUpdate.Equal(clk.now.Truncate(time.Second)) || older.Number.Cmp(crl.Number) <= 0 {
		t.Errorf("CRL after an hour: thisUpdate %v number %v, want %v and above %v", older.ThisUpdate, older.Number, clk.now, crl.Number)
	}
	clk.now = clk.now.Add(-time.Second)
	get(5, "GET with the clock gone back")

	revoke(serials[1])
	if _, crl := get(6, "GET after a second revocation"); len(crl.RevokedCertificateEntries) != 2 {
		t.Fatalf("%d entries, want 2", len(crl.RevokedCertificateEntries))
	}
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

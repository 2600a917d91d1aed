package authority

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// scriptedRand returns the blocks of script, one per Read, then repeats the
// last one forever (stuck) or falls back to crypto/rand.
type scriptedRand struct {
	script [][]byte
	stuck  bool
	reads  int
}

func (r *scriptedRand) Read(p []byte) (int, error) {
	i := r.reads
	r.reads++
	if i >= len(r.script) {
		if !r.stuck {
			return rand.Read(p)
		}
		i = len(r.script) - 1
	}
	return copy(p, r.script[i]), nil
}

func block(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// TestDuplicateSerialIsRetried forces the random source to repeat a serial
// that the CA already issued: the serials table's unique constraint turns the
// second draw into a conflict, issuance draws again, and no two certificates
// ever carry one serial. A source that never stops repeating makes issuance
// fail rather than reuse a serial.
func TestDuplicateSerialIsRetried(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "Serial Root", 0)

	s.Rand = &scriptedRand{script: [][]byte{block(0x42)}}
	first, err := issueLeaf(t, s, root, "cert-1", "one.test")
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).SetBytes(block(0x42))
	if first.Certificate.SerialNumber.Cmp(want) != 0 {
		t.Fatalf("first serial %x, want %x (the scripted draw)", first.Certificate.SerialNumber, want)
	}

	// The same draw twice, then a fresh one: the duplicates are refused by
	// the store and the third draw is used.
	rr := &scriptedRand{script: [][]byte{block(0x42), block(0x42), block(0x43)}}
	s.Rand = rr
	second, err := issueLeaf(t, s, root, "cert-2", "two.test")
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Certificate.SerialNumber; got.Cmp(new(big.Int).SetBytes(block(0x43))) != 0 {
		t.Fatalf("second serial %x, want the third draw 4343…", got)
	}
	if rr.reads != 3 {
		t.Fatalf("issuance drew %d serials, want 3 (two conflicts, then a free one)", rr.reads)
	}

	// A source stuck on an issued serial: issuance fails, nothing is stored.
	s.Rand = &scriptedRand{script: [][]byte{block(0x42)}, stuck: true}
	if _, err := issueLeaf(t, s, root, "cert-3", "three.test"); err == nil {
		t.Fatal("issuance with a random source stuck on an issued serial succeeded")
	}

	// The store holds each serial once, owned by the certificate that got it.
	if err := s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		for _, c := range []struct {
			serial *big.Int
			certID string
		}{{want, "cert-1"}, {second.Certificate.SerialNumber, "cert-2"}} {
			rec, err := tx.GetSerial(root.ID, x509util.FormatSerial(c.serial))
			if err != nil {
				return err
			}
			if rec.CertID != c.certID {
				t.Errorf("serial %s belongs to %q, want %q", rec.Serial, rec.CertID, c.certID)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestSerialsTableIsUnique shows that the constraint lives in the store: a
// second reservation of one (issuer, serial) is ErrConflict, while the same
// serial under another issuer is fine.
func TestSerialsTableIsUnique(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	mustUpdate(t, s, func(tx localstore.Tx) error {
		if err := tx.ReserveSerial("ca-a", "01:02", "c1", clk.now); err != nil {
			return err
		}
		if err := tx.ReserveSerial("ca-a", "01:02", "c2", clk.now); !errors.Is(err, localstore.ErrConflict) {
			t.Errorf("duplicate reservation: %v, want ErrConflict", err)
		}
		return tx.ReserveSerial("ca-b", "01:02", "c3", clk.now)
	})
}

// TestSerialsArePositiveAndShort checks many issued serials against RFC 5280
// (positive, at most 20 octets) and for uniqueness.
func TestSerialsArePositiveAndShort(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "Serial Root", 0)
	seen := map[string]bool{}
	for i := range 40 {
		iss, err := issueLeaf(t, s, root, "c", "n.test")
		if err != nil {
			t.Fatal(err)
		}
		n := iss.Certificate.SerialNumber
		if n.Sign() <= 0 || len(n.Bytes()) > 19 { // +1 DER sign octet ≤ 20
			t.Fatalf("serial %d: %x is not positive or too long", i, n)
		}
		if seen[n.String()] {
			t.Fatalf("serial %x issued twice", n)
		}
		seen[n.String()] = true
	}
}

func TestParseStoredSerialMatchesParseSerial(t *testing.T) {
	for _, s := range []string{"00", "7f", "0a:1b", "01:00:ff:10", "e1:2b:91:6e:1a:19:4a:d2:32:f0:7e:73:e6:1b:cf:b0", "-0a:1b", "0a1b", "zz:00", "0a:1", "0a;1b"} {
		want, werr := x509util.ParseSerial(s)
		got, gerr := parseStoredSerial(s)
		if (werr == nil) != (gerr == nil) || (werr == nil && want.Cmp(got) != 0) {
			t.Errorf("%q: parseStoredSerial = %v, %v; ParseSerial = %v, %v", s, got, gerr, want, werr)
		}
		checkParseInto(t, s, want, werr)
	}
}

// checkParseInto: parseStoredSerialInto agrees with ParseSerial, with an
// arena too short (a new one) or long enough (shared), and leaves the
// words it did not use to the next serial.
func checkParseInto(t *testing.T, s string, want *big.Int, werr error) {
	t.Helper()
	for _, arena := range [][]big.Word{nil, make([]big.Word, 1), make([]big.Word, 8)} {
		var z big.Int
		got, rest, gerr := parseStoredSerialInto(&z, s, arena)
		if (werr == nil) != (gerr == nil) || (werr == nil && want.Cmp(got) != 0) {
			t.Fatalf("%q (arena %d): parseStoredSerialInto = %v, %v; ParseSerial = %v, %v", s, len(arena), got, gerr, want, werr)
		}
		if gerr == nil {
			next, _, err := parseStoredSerialInto(new(big.Int), "ff:ff:ff:ff:ff:ff:ff:ff:ff", rest)
			if err != nil || next.Text(16) != "ffffffffffffffffff" || want.Cmp(got) != 0 {
				t.Fatalf("%q: the next serial overwrote it: %v, %v", s, got, next)
			}
		}
	}
}

func FuzzParseStoredSerial(f *testing.F) {
	f.Add("0a:1b")
	f.Add("e1:2b:91:6e:1a:19:4a:d2:32:f0:7e:73:e6:1b:cf:b0")
	f.Add("-01")
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := x509util.ParseSerial(s)
		got, gerr := parseStoredSerial(s)
		if (werr == nil) != (gerr == nil) || (werr == nil && want.Cmp(got) != 0) {
			t.Fatalf("%q: parseStoredSerial = %v, %v; ParseSerial = %v, %v", s, got, gerr, want, werr)
		}
		checkParseInto(t, s, want, werr)
	})
}

package authority

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/casign"
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

// TestStoredSerialBytes: storedSerialBytes gives the magnitude
// x509util.ParseSerial reads, or fails where it fails or reads a negative
// serial; the stored form is read into dst's room without allocating.
func TestStoredSerialBytes(t *testing.T) {
	for _, s := range []string{"00", "7f", "0a:1b", "01:00:ff:10", "e1:2b:91:6e:1a:19:4a:d2:32:f0:7e:73:e6:1b:cf:b0",
		"-0a:1b", "0a1b", "zz:00", "0a:1", "0a;1b", "AB:cd", strings.Repeat("ff:", 22) + "ff"} {
		checkStoredSerial(t, s)
	}
	var buf [casign.MaxSerialOctets]byte
	s := []byte("e1:2b:91:6e:1a:19:4a:d2:32:f0:7e:73:e6:1b:cf:b0")
	if n := testing.AllocsPerRun(100, func() { _, _ = storedSerialBytes(buf[:0], s) }); n != 0 {
		t.Errorf("%v allocations reading a stored serial, want 0", n)
	}
}

func checkStoredSerial(t *testing.T, s string) {
	t.Helper()
	want, werr := x509util.ParseSerial(s)
	var buf [casign.MaxSerialOctets]byte
	got, gerr := storedSerialBytes(buf[:0], []byte(s))
	switch {
	case werr != nil || want.Sign() < 0:
		if gerr == nil {
			t.Fatalf("%q: storedSerialBytes = %x; ParseSerial = %v, %v", s, got, want, werr)
		}
	case gerr != nil || new(big.Int).SetBytes(got).Cmp(want) != 0:
		t.Fatalf("%q: storedSerialBytes = %x, %v; ParseSerial = %v", s, got, gerr, want)
	}
}

func FuzzStoredSerialBytes(f *testing.F) {
	f.Add("0a:1b")
	f.Add("e1:2b:91:6e:1a:19:4a:d2:32:f0:7e:73:e6:1b:cf:b0")
	f.Add("-01")
	f.Fuzz(checkStoredSerial)
}

// TestPartitionOf: a serial's partition is its low 16 bits.
func TestPartitionOf(t *testing.T) {
	for _, c := range []struct {
		serial string
		want   int
	}{{"", 0}, {"07", 7}, {"01:02", 0x102}, {"ff:01:02", 0x102}, {"12:34:56:78", 0x5678}} {
		b, _ := hex.DecodeString(strings.ReplaceAll(c.serial, ":", ""))
		if got := partitionOf(b); got != c.want {
			t.Errorf("partitionOf(%s) = %#x, want %#x", c.serial, got, c.want)
		}
	}
}

package authority

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestCRLFromIndexMatchesFullRecords: the CRL buildCRL signs from the
// revocation index (EachRevocation, each entry encoded as it is read) has
// byte for byte the TBSCertList of one built from the full serial records
// (ListRevoked, serials parsed by x509util.ParseSerial) in the same order,
// for the complete CRL and each partition of a PARTITIONED CA, small and
// above casign's spliced-list threshold; the complete one is also the one
// Go's bare x509.CreateRevocationList builds from those records.
func TestCRLFromIndexMatchesFullRecords(t *testing.T) {
	clk := newClock()
	s, root := partitionedRoot(t, clk, 3)
	var serials []string
	for i := range 10 {
		iss, err := issueLeaf(t, s, root, fmt.Sprintf("c%d", i), "p.test")
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, x509util.FormatSerial(iss.Certificate.SerialNumber))
	}
	check := func(round string) {
		t.Helper()
		r := reload(t, s, root.ID)
		for _, txn := range []struct {
			name string
			run  func(context.Context, func(localstore.Tx) error) error
		}{{"read", s.Vault.Store.View}, {"write", s.Vault.Store.Update}} {
			for part := -1; part < s.Partitions(r); part++ {
				if err := txn.run(t.Context(), func(tx localstore.Tx) error {
					cert, key, err := s.signer(tx, r)
					if err != nil {
						return err
					}
					got, err := s.buildCRL(tx, r, cert, key, 42, part, s.Now())
					if err != nil {
						return err
					}
					full, err := tx.ListRevoked(r.ID)
					if err != nil {
						return err
					}
					slices.SortFunc(full, func(a, b localstore.Serial) int { return strings.Compare(a.Serial, b.Serial) })
					var entries []casign.Revoked
					for _, f := range full {
						n, err := x509util.ParseSerial(f.Serial)
						if err != nil {
							return err
						}
						// The partition as the low 16 bits of the big.Int.
						if part < 0 || int(new(big.Int).And(n, big.NewInt(maxPartitions-1)).Int64()) == part {
							entries = append(entries, casign.Revoked{Serial: n, RevokedAt: f.RevokedAt, Reason: f.Reason})
						}
					}
					var list casign.CRLEntries
					for _, e := range entries {
						if err := list.Add(e.Serial.Bytes(), e.RevokedAt, e.Reason); err != nil {
							return err
						}
					}
					want, err := s.signCRL(r, cert, key, &list, 42, part, s.Now())
					if err != nil {
						return err
					}
					gotCRL, wantCRL := parseCRL(t, got, cert), parseCRL(t, want, cert)
					if !bytes.Equal(gotCRL.RawTBSRevocationList, wantCRL.RawTBSRevocationList) {
						t.Errorf("%s, %s, partition %d: the CRL from the index differs from the one from the full records", round, txn.name, part)
					}
					if len(gotCRL.RevokedCertificateEntries) != len(entries) {
						t.Errorf("%s, %s, partition %d: %d entries, want %d", round, txn.name, part, len(gotCRL.RevokedCertificateEntries), len(entries))
					}
					for i, e := range gotCRL.RevokedCertificateEntries {
						if i >= len(entries) {
							break
						}
						w := entries[i]
						if e.SerialNumber.Cmp(w.Serial) != 0 || !e.RevocationTime.Equal(w.RevokedAt.Truncate(time.Second)) || e.ReasonCode != w.Reason {
							t.Fatalf("%s, %s, partition %d: entry %d = %x %v %d, want %x %v %d", round, txn.name, part, i,
								e.SerialNumber, e.RevocationTime, e.ReasonCode, w.Serial, w.RevokedAt, w.Reason)
						}
					}
					hasIDP := false
					for _, e := range gotCRL.Extensions {
						hasIDP = hasIDP || (e.Id.String() == "2.5.29.28" && e.Critical && bytes.Contains(e.Value, []byte(s.CRLURL(r, part))))
					}
					if hasIDP != (part >= 0) {
						t.Errorf("%s, partition %d: critical IDP naming %s present: %v", round, part, s.CRLURL(r, part), hasIDP)
					}
					if part >= 0 {
						return nil
					}
					// The complete CRL: Go's bare CreateRevocationList on the same records.
					bareList := make([]x509.RevocationListEntry, len(entries))
					for i, e := range entries {
						bareList[i] = x509.RevocationListEntry{SerialNumber: e.Serial, RevocationTime: e.RevokedAt, ReasonCode: e.Reason}
					}
					now := s.Now()
					// Dated casign.Backdate before now, but not before
					// the latest revocation it lists (crlThisUpdate).
					thisUpdate := now.Add(-casign.Backdate)
					for _, e := range entries {
						if at := e.RevokedAt.Truncate(time.Second); at.After(thisUpdate) && !at.After(now) {
							thisUpdate = at
						}
					}
					bare, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
						SignatureAlgorithm: signatureAlgorithm(r, key.Public()), RevokedCertificateEntries: bareList,
						Number: big.NewInt(42), ThisUpdate: thisUpdate, NextUpdate: now.Add(crlExpiry(r))}, cert, key)
					if err != nil {
						return err
					}
					if !bytes.Equal(gotCRL.RawTBSRevocationList, parseCRL(t, bare, cert).RawTBSRevocationList) {
						t.Errorf("%s: the complete CRL differs from x509.CreateRevocationList's on the full records", round)
					}
					return nil
				}); err != nil {
					t.Fatalf("%s, %s, partition %d: %v", round, txn.name, part, err)
				}
			}
		}
	}
	check("none revoked")
	for i, reason := range []int{1, 0, 4, 10, 5, 3, 9} {
		clk.now = clk.now.Add(time.Minute + 123456789*time.Nanosecond)
		mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, serials[i], clk.now, reason) })
	}
	check("7 revoked")
	// Above casign's threshold, serials of 1 to 19 octets whose top bit is
	// set (DER adds a zero octet).
	mustUpdate(t, s, func(tx localstore.Tx) error {
		for i := range 700 {
			n := new(big.Int).Lsh(big.NewInt(1), uint(8*(i%19)+7))
			n.Add(n, big.NewInt(int64(i+1)))
			serial := x509util.FormatSerial(n)
			if err := tx.ReserveSerial(root.ID, serial, "", clk.now); err != nil {
				return err
			}
			if err := tx.RevokeSerial(root.ID, serial, clk.now.Add(time.Duration(i)*time.Second), []int{0, 1, 3, 4, 5, 9}[i%6]); err != nil {
				return err
			}
		}
		return nil
	})
	check("707 revoked")
}

func parseCRL(t *testing.T, der []byte, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.CheckSignatureFrom(issuer); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCRLOfCorruptRevocations: a revoked serial the vault holds that no
// CRL can list — not a serial, negative, zero, longer than 20 octets, or
// with an unknown reason — is corruption (ErrCorrupt, exit 6) naming the
// serial, not a CRL without it.
func TestCRLOfCorruptRevocations(t *testing.T) {
	for _, c := range []struct {
		serial string
		reason int
	}{{"zz", 1}, {"-01", 1}, {"00", 1}, {strings.TrimSuffix(strings.Repeat("7f:", 21), ":"), 1}, {"0a:0b", 7}} {
		clk := newClock()
		s := newTestService(t, clk)
		root := createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: x509util.ECPrime256v1, Subject: Subject{CommonName: "Root"}})
		mustUpdate(t, s, func(tx localstore.Tx) error {
			if err := tx.ReserveSerial(root.ID, c.serial, "", clk.now); err != nil {
				return err
			}
			return tx.RevokeSerial(root.ID, c.serial, clk.now, c.reason)
		})
		err := s.Vault.Store.Update(t.Context(), func(tx localstore.Tx) error {
			_, err := s.CRL(tx, reload(t, s, root.ID))
			return err
		})
		if !errors.Is(err, localstore.ErrCorrupt) || !strings.Contains(err.Error(), c.serial) {
			t.Errorf("serial %q, reason %d: %v, want ErrCorrupt naming the serial", c.serial, c.reason, err)
		}
	}
}

// TestCRLOfDeletedCA: a DELETED CA keeps signing its CRL within its
// restore window (its certificates still chain: their revocations stay
// published), and signs none once permanently deleted (exit 5, as the
// responder serves none); nor does a CA still waiting for its certificate.
func TestCRLOfDeletedCA(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	pending := createCA(t, s, CreateRequest{Type: TypeSubordinate, External: true, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "Pending"}})
	err := s.Vault.Store.Update(t.Context(), func(tx localstore.Tx) error {
		_, err := s.CRL(tx, reload(t, s, pending.ID))
		return err
	})
	if errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("CRL of a %s CA: %v (exit %d), want exit %d", pending.Status, err, errs.ExitCodeOf(err), errs.ExitRefused)
	}
	root := createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: x509util.ECPrime256v1, Subject: Subject{CommonName: "Root"}})
	crl := func() error {
		return s.Vault.Store.Update(t.Context(), func(tx localstore.Tx) error {
			_, err := s.CRL(tx, reload(t, s, root.ID))
			return err
		})
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r := reload(t, s, root.ID)
		if err := s.UpdateStatus(tx, r, StatusDisabled); err != nil {
			return err
		}
		return s.Delete(tx, r, 7)
	})
	if err := crl(); err != nil {
		t.Fatalf("CRL of a DELETED CA within its restore window: %v", err)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.Restore(tx, reload(t, s, root.ID)) })
	if err := crl(); err != nil {
		t.Fatalf("CRL of the restored CA: %v", err)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r := reload(t, s, root.ID)
		if err := s.UpdateStatus(tx, r, StatusDisabled); err != nil {
			return err
		}
		return s.Delete(tx, r, 7)
	})
	clk.now = clk.now.Add(8 * 24 * time.Hour)
	if err := crl(); errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "permanently deleted") {
		t.Fatalf("CRL of a permanently deleted CA: %v (exit %d), want exit %d", err, errs.ExitCodeOf(err), errs.ExitRefused)
	}
}

// TestResponderServesPartitionsAfterComplete: the responder (ca serve)
// keeps serving the partitions a CA opened after its CRL became COMPLETE
// at a new CNAME, each with the Issuing Distribution Point its
// certificates name; partitions it never opened stay 404.
func TestResponderServesPartitionsAfterComplete(t *testing.T) {
	s, root := partitionedRoot(t, newClock(), 2)
	var dps []string
	for i := range 3 {
		iss, err := issueLeaf(t, s, root, fmt.Sprintf("s%d", i), "p.test")
		if err != nil {
			t.Fatal(err)
		}
		dps = append(dps, iss.Certificate.CRLDistributionPoints...)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		return s.UpdateRevocation(tx, reload(t, s, root.ID), &RevocationConfiguration{
			CrlConfiguration: &CrlConfiguration{Enabled: true, CustomCname: "crl2.example.test", CrlType: CRLComplete}})
	})
	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(t.Context(), fn) }, nil, nil)
	for n, want := range []string{dps[0], dps[2]} {
		der, err := l.CRLPartition(root.ID, n)
		if err != nil {
			t.Fatalf("partition %d after COMPLETE: %v", n, err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		var idp string
		for _, e := range crl.Extensions {
			if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 28}) && strings.Contains(string(e.Value), want[len("http://"):]) {
				idp = want
			}
		}
		if idp == "" || !strings.Contains(want, "crl.example.test") {
			t.Errorf("partition %d: no IDP naming %s (certificates name %v)", n, want, dps)
		}
	}
	if _, err := l.CRLPartition(root.ID, 2); !errors.Is(err, casign.ErrNotFound) {
		t.Errorf("partition 2 (never opened): %v, want not found", err)
	}
}

// partitionedRoot is a service on clk whose CRL partitions hold size
// certificates and a root CA of it with a PARTITIONED CRL at
// crl.example.test.
func partitionedRoot(t *testing.T, clk *testClock, size int) (*Service, *Record) {
	t.Helper()
	s := newTestService(t, clk)
	s.CRLPartitionSize = size
	return s, createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "Partitioned Root"}, Revocation: &RevocationConfiguration{
			CrlConfiguration: &CrlConfiguration{Enabled: true, CustomCname: "crl.example.test", CrlType: CRLPartitioned}}})
}

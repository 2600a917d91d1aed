package pki

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestConcurrentIssuanceSerials runs 4 processes of 25 `request` calls each
// on one new vault (so the default CA is also created under contention):
// every call succeeds, there is exactly one default hierarchy, and the 100
// certificates carry 100 distinct positive serials of at most 20 octets,
// each recorded once in the issuer's serials table for its certificate.
func TestConcurrentIssuanceSerials(t *testing.T) {
	const procs, each = 4, 25
	v := newVault(t)
	var wg sync.WaitGroup
	arns := make(chan string, procs*each)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := v.Run("request", "--domain-name", fmt.Sprintf("p%d-%d.internal", p, i),
					"--certificate-authority-arn", "default", "--key-algorithm", "EC_prime256v1", "-o", "json")
				var res struct{ CertificateArn string }
				if r.Code != 0 || len(r.Stderr) != 0 || json.Unmarshal(r.Stdout, &res) != nil || res.CertificateArn == "" {
					t.Errorf("%v", r)
					return
				}
				arns <- res.CertificateArn
			}
		}()
	}
	wg.Wait()
	close(arns)
	if t.Failed() {
		return
	}
	ids := map[string]bool{}
	for a := range arns {
		ids[testbin.IDOf(a)] = true
	}
	if len(ids) != procs*each {
		t.Fatalf("%d distinct ARNs, want %d", len(ids), procs*each)
	}

	var cas struct{ CertificateAuthorities []struct{ Arn, Type string } }
	if err := json.Unmarshal(v.OK(t, "ca", "list", "-o", "json"), &cas); err != nil {
		t.Fatal(err)
	}
	if len(cas.CertificateAuthorities) != 2 {
		t.Fatalf("concurrent first use made %d private CAs, want one root and one issuing CA: %+v", len(cas.CertificateAuthorities), cas)
	}
	issuer := caID(t, v, "default")

	ctx := context.Background()
	vt, err := localstore.Open(ctx, v.Dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer vt.Close()
	serials := map[string]string{}
	err = vt.Store.View(ctx, func(tx localstore.Tx) error {
		for id := range ids {
			c, err := tx.GetCertificate(id)
			if err != nil {
				return fmt.Errorf("certificate %s: %w", id, err)
			}
			ver, err := tx.GetVersion(id, c.Version)
			if err != nil {
				return err
			}
			leaf := parseCert(t, ver.CertificatePEM)
			n := leaf.SerialNumber
			octets := len(n.Bytes())
			if octets > 0 && n.Bytes()[0]&0x80 != 0 {
				octets++ // DER's leading zero keeps the INTEGER positive
			}
			if n.Sign() <= 0 || octets > 20 {
				t.Errorf("certificate %s: serial %x not positive or over 20 octets", id, n)
			}
			s := x509util.FormatSerial(n)
			if other, dup := serials[s]; dup {
				t.Errorf("serial %s on both %s and %s", s, other, id)
			}
			serials[s] = id
			if c.Serial != s {
				t.Errorf("certificate %s records serial %s, carries %s", id, c.Serial, s)
			}
			rec, err := tx.GetSerial(issuer, s)
			if err != nil {
				return fmt.Errorf("serial %s of %s not in the serials table: %w", s, id, err)
			}
			if rec.CertID != id {
				t.Errorf("serials table gives %s to %q, want %s", s, rec.CertID, id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(serials) != procs*each {
		t.Fatalf("%d distinct serials, want %d", len(serials), procs*each)
	}
}

package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// TestConcurrentOrders runs complete orders from 16 stock clients at once:
// every order is valid straight from finalize (no polling), each gets its
// own certificate, and the counters add up.
func TestConcurrentOrders(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	const clients, each = 16, 3
	cs := make([]*acme.Client, clients)
	for i := range cs {
		cs[i], _ = f.register(newKey(t))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, clients*each)
	keys := make([]*ecdsa.PrivateKey, clients*each)
	for i := range keys {
		keys[i] = newKey(t)
	}
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				name := fmt.Sprintf("c%d-%d.lab.test", i, j)
				o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
				if err != nil {
					errc <- err
					return
				}
				if o.Status != acme.StatusReady {
					errc <- fmt.Errorf("%s: new order is %s", name, o.Status)
					return
				}
				der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, keys[i*each+j])
				if err != nil {
					errc <- err
					return
				}
				ders, _, err := c.CreateCertFromOrder(ctx, o, der, true)
				if err != nil || len(ders) < 2 {
					errc <- fmt.Errorf("%s: finalize: %d certificates, %v", name, len(ders), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{Origins: []string{inventory.OriginACME}})
		if err != nil {
			return err
		}
		if len(certs) != clients*each {
			t.Errorf("%d ACME certificates, want %d", len(certs), clients*each)
		}
		m, err := acmestate.GetMetrics(tx, f.ep.ID)
		if m.CertificateIssuanceSuccess != clients*each || m.CertificateIssuanceFailed != 0 {
			t.Errorf("metrics %+v", m)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.core.WriteGate); n != 0 {
		t.Errorf("write gate still held (%d)", n)
	}
}

// TestChangeWaitsForItsTurn: the server's core has a write gate of one;
// a change queued behind another gives up when its request is cancelled,
// without running.
func TestChangeWaitsForItsTurn(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	if f.core.WriteGate != nil || cap(f.srv.core.WriteGate) != 1 {
		t.Fatalf("write gate: given %v, server's capacity %d", f.core.WriteGate, cap(f.srv.core.WriteGate))
	}
	f.srv.core.WriteGate <- struct{}{} // another writer holds the turn
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := f.srv.change(ctx, "acct", "Test", func(*service.Op) error { ran = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("change while another writer holds the turn: %v, ran %v", err, ran)
	}
	<-f.srv.core.WriteGate
	if err := f.srv.change(context.Background(), "acct", "Test", func(*service.Op) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("change after release: %v, ran %v", err, ran)
	}
}

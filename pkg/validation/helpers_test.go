package validation

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation/validationtest"
	"github.com/certctl/certctl/pkg/x509util"
)

const testZone = "acm-validations.certctl.test"

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type fixture struct {
	t   *testing.T
	svc *Service
	clk *clock
	dns *validationtest.DNSServer
}

// newFixture opens a vault and a validation service whose resolver is a
// DNS server started for the test.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	v, err := localstore.Open(context.Background(), t.TempDir(), localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	// The key first, as a command's first change makes it: a vault that
	// holds data gets no new key (the fixture writes straight to the
	// store).
	if _, err := v.Sealer(); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	d := validationtest.StartDNS(t)
	svc := &Service{
		Vault:     v,
		Authority: authority.New(v, clk.Now, ""),
		Settings: Settings{Resolvers: []string{d.Addr}, Zone: testZone, HTTPPort: 80,
			CAAIdentities: []string{"certctl.local"}, Validity: 90 * 24 * time.Hour},
		Now: clk.Now,
		ARN: func(id string) string { return "arn:certctl:acm:local:000000000000:certificate/" + id },
	}
	return &fixture{t: t, svc: svc, clk: clk, dns: d}
}

func (f *fixture) emitter() *events.Emitter {
	return &events.Emitter{Region: "local", Account: "000000000000", Now: f.clk.Now}
}

// request stores a new ISSUED-type certificate pending validation.
func (f *fixture) request(method, alg string, names []string, opts ...DomainValidationOption) (*localstore.Certificate, []Message) {
	f.t.Helper()
	var c *localstore.Certificate
	var msgs []Message
	err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		c = inventory.NewIssuedRecord(uuid.NewString(), inventory.TypeIssued, "", nil, "ENABLED", "ENABLED", f.clk.Now())
		c.KeyAlgorithm = alg
		var err error
		msgs, err = f.svc.Prepare(tx, c, Request{Method: method, Names: names, Options: opts})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c, msgs
}

// advance checks the pending names of id and applies the result, as the
// validations service does (each step in its own transaction).
func (f *fixture) advance(id string) *Outcome {
	f.t.Helper()
	ctx := context.Background()
	ch, err := f.svc.CheckPending(ctx, f.get(id))
	if err != nil {
		f.t.Fatal(err)
	}
	var out *Outcome
	if err := f.svc.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		out, _, err = f.svc.ApplyChecks(tx, id, ch, f.emitter())
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// approve uses code as the validations service does: ReadApproval, the
// key made outside the write transaction, then Approve.
func (f *fixture) approve(code string) (*localstore.Certificate, string, error) {
	ctx := context.Background()
	var a *Approval
	if err := f.svc.Vault.Store.View(ctx, func(tx localstore.Tx) error {
		var err error
		a, err = f.svc.ReadApproval(tx, code)
		return err
	}); err != nil {
		return nil, "", err
	}
	var key crypto.Signer
	var forbidden *NameCheck
	if a.Issues {
		var err error
		if forbidden, err = f.svc.CAAForbidden(ctx, f.get(a.CertificateID)); err != nil {
			return nil, "", err
		}
		if key, err = x509util.GenerateKey(a.KeyAlgorithm); err != nil {
			return nil, "", err
		}
	}
	var c *localstore.Certificate
	var name string
	err := f.svc.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		c, name, err = f.svc.Approve(tx, code, key, f.emitter(), forbidden)
		return err
	})
	return c, name, err
}

func (f *fixture) get(id string) *localstore.Certificate {
	f.t.Helper()
	var c *localstore.Certificate
	if err := f.svc.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		c, err = tx.GetCertificate(id)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// leaf returns the current certificate of id.
func (f *fixture) leaf(id string) *x509.Certificate {
	f.t.Helper()
	var ver *localstore.CertificateVersion
	if err := f.svc.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		ver, err = tx.GetVersion(id, c.Version)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	b, _ := pem.Decode(ver.CertificatePEM)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		f.t.Fatal(err)
	}
	return cert
}

// addValidationRecords publishes the correct CNAME of every name of c.
func (f *fixture) addValidationRecords(c *localstore.Certificate) {
	f.t.Helper()
	for _, r := range Records(c) {
		f.dns.Add(f.t, r.Name+" 300 IN CNAME "+r.Value)
	}
}

func statuses(c *localstore.Certificate) map[string]string {
	m := map[string]string{}
	for _, v := range c.Validations {
		m[v.DomainName] = v.Status
	}
	return m
}

func exitOf(err error) errs.ExitCode { return errs.ExitCodeOf(err) }

var _ = x509util.RSA2048

package validation

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
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

func (f *fixture) advance(id string) *Outcome {
	f.t.Helper()
	out, err := f.svc.Advance(context.Background(), id, f.emitter())
	if err != nil {
		f.t.Fatal(err)
	}
	return out
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

func isNotFound(err error) bool { return errors.Is(err, localstore.ErrNotFound) }

var _ = x509util.RSA2048

package renewals

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/coretest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// newFixture is a vault holding a PRIVATE certificate for domain (req)
// and the service core over it, whose clock reads *now.
func newFixture(t *testing.T, domain string) (*localstore.Vault, *service.Core, *certificates.RequestResult, *time.Time) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	core := coretest.New(t, coretest.Config{Now: func() time.Time { return now },
		Actor: audit.Actor{Type: audit.ActorUser, ID: "t", Host: "h1"}})
	v := core.Vault
	req, err := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour}).Request(ctx,
		certificates.RequestInput{DomainName: domain, CertificateAuthority: "default", KeyAlgorithm: "EC_prime256v1"})
	if err != nil {
		t.Fatal(err)
	}
	return v, core, req, &now
}

// deployedFixture is newFixture with the certificate deployed to a target
// of host h1 (the vault's own), by s, the renewals service of h1.
func deployedFixture(t *testing.T, domain string) (*localstore.Vault, *service.Core, *certificates.RequestResult, *time.Time, *Service) {
	t.Helper()
	v, core, req, now := newFixture(t, domain)
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, Host: func() (deploy.Host, error) { return deploy.LocalHost(v.Dir, "h1") }})
	dir := t.TempDir()
	if _, err := s.Deploy(context.Background(), req.CertificateArn, deploy.Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}); err != nil {
		t.Fatal(err)
	}
	return v, core, req, now, s
}

// TestLatePassSuperseded: a pass that renewed a certificate and finds, at
// install, that another certctl of this host renewed it again meanwhile
// and installed the newer version reports the target INSTALLED, not a
// FAILED deployment (tester: two renewals at once, one exited 7 saying the
// store may have been restored from an older backup); a host record ahead
// of the store — what such a restore leaves — is still refused.
func TestLatePassSuperseded(t *testing.T) {
	ctx := context.Background()
	v, core, req, now := newFixture(t, "late.internal")
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, Host: func() (deploy.Host, error) { return deploy.LocalHost(v.Dir, "h1") }})
	dir := t.TempDir()
	if _, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}); err != nil {
		t.Fatal(err)
	}
	renew := func() (deploy.Material, deploy.Identity) {
		t.Helper()
		*now = now.Add(time.Hour)
		if _, err := s.Renew(ctx, req.CertificateArn); err != nil {
			t.Fatal(err)
		}
		var m deploy.Material
		var in deploy.Identity
		if err := s.core.Read(ctx, func(tx localstore.Tx) (err error) {
			c, err := tx.GetCertificate(req.ID)
			if err != nil {
				return err
			}
			m, in, err = s.material(tx, c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return m, in
	}
	m2, in2 := renew()
	_, in3 := renew()
	host, err := s.host()
	if err != nil {
		t.Fatal(err)
	}
	var all []deploy.Target
	if err := s.core.Read(ctx, func(tx localstore.Tx) (err error) {
		all, err = deploy.Targets(tx, req.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	unlock, err := host.LockInstalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale, _, _, left, refused := s.writeStale(ctx, host, req.ID, all, all, nil, m2, in2)
	unlock()
	if len(stale) != 0 || len(left) != 1 || left[0].Outcome != TargetInstalled || !strings.Contains(left[0].Reason, "newer than this pass's") || len(refused) != 0 {
		t.Fatalf("a late pass with version %d after %d was installed: stale %v, left %+v; want INSTALLED, superseded", in2.Version, in3.Version, stale, left)
	}
	// The host's record ahead of the store (a store restored from an
	// older backup): refused, a failed deployment.
	ahead := all[0]
	ahead.Version = in3.Version + 5
	if err := host.Remember(req.ID, ahead, deploy.Identity{Version: in3.Version + 5, NotBefore: *now}); err != nil {
		t.Fatal(err)
	}
	unlock, err = host.LockInstalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, left, refused = s.writeStale(ctx, host, req.ID, all, all, nil, m2, in2)
	unlock()
	if len(left) != 1 || left[0].Outcome != TargetFailed || len(refused) != 1 || refused[0].why != left[0].Reason {
		t.Fatalf("a host record ahead of the store: %+v, want FAILED", left)
	}
}

// failOnce is a store whose next write transaction fails, once armed.
type failOnce struct {
	localstore.Store
	armed *bool
}

func (f failOnce) Update(ctx context.Context, fn func(localstore.Tx) error) error {
	if *f.armed {
		*f.armed = false
		return localstore.ErrConnectionLost
	}
	return f.Store.Update(ctx, fn)
}

// TestDeployFirstRecordFails: when the store refuses the record made
// before the command runs, the command runs all the same (this host's
// record has it pending) and the target is recorded after it (review: the
// command was left to no one).
func TestDeployFirstRecordFails(t *testing.T) {
	ctx := context.Background()
	v, core, req, _ := newFixture(t, "first.internal")
	armed := false
	v.Store = failOnce{v.Store, &armed}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, AllowExec: true, Host: func() (deploy.Host, error) { return deploy.LocalHost(v.Dir, "h1") }})
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	armed = true
	res, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), Exec: "touch " + ran})
	if err != nil || len(res.InUseBy) != 1 {
		t.Fatalf("deploy with a first record refused: %+v, %v; want the target recorded after the command", res, err)
	}
	if _, err := os.Stat(ran); err != nil {
		t.Fatalf("the command did not run: %v", err)
	}
}

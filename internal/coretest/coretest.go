// Package coretest builds the service core the service tests run over: a
// fresh vault in a temporary directory, the tests' region and account,
// the vault's CA service, a clock and an actor.
package coretest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Names are the region and account of the tests' ARNs.
var Names = inventory.Names{Region: "local", Account: "000000000000"}

// Config chooses what New builds; its zero value is a vault on the
// embedded database, on the system clock, changed by a test user.
type Config struct {
	// Now is the core's clock (nil: time.Now); the CA service has it too.
	Now func() time.Time
	// Actor records the changes (zero: USER tester on testhost).
	Actor audit.Actor
	// StoreURL is the vault's store ("": its SQLite database).
	StoreURL string
	// CABaseURL is the CA service's base URL (CRL and OCSP locations).
	CABaseURL string
}

// New opens a vault in a temporary directory (closed when t ends) and
// returns the service core over it.
func New(t testing.TB, c Config) *service.Core {
	t.Helper()
	v, err := localstore.Open(context.Background(), t.TempDir(), localstore.Options{StoreURL: c.StoreURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Actor == (audit.Actor{}) {
		c.Actor = audit.Actor{Type: audit.ActorUser, ID: "tester", Host: "testhost"}
	}
	return &service.Core{Vault: v, Now: c.Now, Names: Names,
		Authority: authority.New(v, c.Now, c.CABaseURL), Actor: c.Actor}
}

// Meanwhile runs fn(0), fn(1), … in a goroutine until the returned stop is
// called (which waits for it), as another writer beside a test's own
// operations; an error from fn fails t and ends the loop.
func Meanwhile(t testing.TB, fn func(i int) error) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := fn(i); err != nil {
				t.Errorf("meanwhile, call %d: %v", i, err)
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

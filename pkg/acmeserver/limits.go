package acmeserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/service"
)

// Default rate limits (acme.orders_per_hour, acme.new_accounts_per_hour).
const (
	DefaultOrdersPerHour      = 300
	DefaultNewAccountsPerHour = 1000
)

// Limits are the rate limits of a server. They are counted in the store
// (acmestate.Admit), in the transaction of the order or account they
// admit, so that every server on one store shares them.
type Limits struct {
	// OrdersPerHour bounds the new orders of one account in any hour; 0
	// means DefaultOrdersPerHour.
	OrdersPerHour int
	// NewAccountsPerHour bounds the accounts registered at one endpoint in
	// any hour; 0 means DefaultNewAccountsPerHour.
	NewAccountsPerHour int
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// admit counts one event in the window key of op's transaction when the
// window has room for it, else refuses the change with rateLimited and a
// Retry-After of the seconds until a slot frees.
func admit(op *service.Op, key string, limit int, what string) error {
	wait, err := acmestate.Admit(op.Tx, key, limit, op.Now)
	if err != nil {
		return err
	}
	if wait == 0 {
		return nil
	}
	secs := strconv.Itoa(int(wait / time.Second))
	p := problem(errRateLimited, http.StatusTooManyRequests,
		"too many "+what+": at most "+strconv.Itoa(limit)+" an hour; retry after "+secs+" seconds")
	p.headers = map[string]string{"Retry-After": secs}
	return refuse(p)
}

// admitOrder counts a new order of account accountID of endpoint ep.
func (s *Server) admitOrder(op *service.Op, ep, accountID string) error {
	return admit(op, acmestate.OrdersRateKey(ep, accountID), orDefault(s.cfg.Limits.OrdersPerHour, DefaultOrdersPerHour), "new orders from this account")
}

// admitAccount counts a new account of endpoint ep.
func (s *Server) admitAccount(op *service.Op, ep string) error {
	return admit(op, acmestate.NewAccountsRateKey(ep), orDefault(s.cfg.Limits.NewAccountsPerHour, DefaultNewAccountsPerHour), "new accounts at this endpoint")
}

// Sweeping of expired orders, authorizations and rate windows.
const (
	// SweepInterval is how often RunSweeper sweeps.
	SweepInterval = 10 * time.Minute
	// SweepBatch bounds the records one sweep deletes (one transaction).
	SweepBatch = 500
)

// Sweep deletes at most SweepBatch of the orders and authorizations that
// expired more than acmestate.SweepGrace ago (by the server's clock) and
// of the rate windows that emptied (SweepAcmeResources, recorded as the
// scheduler; nothing is recorded when there is nothing to sweep). It
// returns how many it deleted.
func (s *Server) Sweep(ctx context.Context) (int, error) {
	n := 0
	actor := audit.Actor{Type: audit.ActorScheduler, ID: "endpoint serve", Host: s.host}
	_, err := s.core.As(actor).ChangeIf(ctx, "SweepAcmeResources", func(op *service.Op) error {
		var err error
		if n, err = acmestate.Sweep(op.Tx, op.Now, SweepBatch); err != nil {
			return err
		}
		if n == 0 {
			return service.ErrUnchanged
		}
		op.Param("Deleted", n)
		return nil
	})
	return n, err
}

// RunSweeper sweeps every interval until ctx ends; a sweep that deleted a
// full batch is followed by another at once. Failures are logged.
func (s *Server) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.logf("acme: sweep: %v", err)
				}
				break
			}
			if n < SweepBatch {
				break
			}
		}
	}
}

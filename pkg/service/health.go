package service

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// HealthTimeout bounds the store read of /healthz.
const HealthTimeout = 2 * time.Second

// Health is the /healthz of a server over a vault (`endpoint serve`,
// `ca serve`): 200 while the store answers a cheap read (a metadata row
// in a read transaction) and the vault's master key — the store's current
// one — has not become unusable here (localstore.Vault.KeyUnusable: the passphrase the server
// was given no longer opens the key another machine rotated to), 503
// otherwise — what a load balancer or a monitor asks of a server (tester:
// `ca serve`, the CRL and OCSP responder, had none).
type Health struct {
	core *Core
	logf func(format string, a ...any)
	// keyLogged is the unusable-key error last logged, so that a probe
	// every few seconds logs it once, not each time.
	keyLogged atomic.Value
}

// Health returns the /healthz handler of a server over c; logf (nil:
// none) is told why it answers 503. name ("": none) prefixes its log
// lines.
func (c *Core) Health(name string, logf func(format string, a ...any)) *Health {
	h := &Health{core: c, logf: func(string, ...any) {}}
	if logf != nil {
		prefix := "healthz: "
		if name != "" {
			prefix = name + ": " + prefix
		}
		h.logf = func(format string, a ...any) { logf(prefix+format, a...) }
	}
	return h
}

// ServeHTTP answers /healthz (GET or HEAD).
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), HealthTimeout)
	defer cancel()
	err := h.StoreAnswers(ctx)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		h.logf("store does not answer: %v", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("store unavailable\n"))
		return
	}
	// The key asked for, not only the last load's failure read: the
	// loaded key is compared with the store's at most once a second
	// (Vault.Sealer), and one another machine rotated is loaded again
	// now — so that a server whose passphrase no longer opens the store's
	// key answers 503 at once, not at its first request that needs the
	// key (team tester: 200 for minutes after the rotation). Its error
	// is KeyUnusable's when it is the key's.
	_, _ = h.core.Vault.Sealer()
	if err := h.core.Vault.KeyUnusable(); err != nil {
		if msg := err.Error(); h.keyLogged.Swap(msg) != msg {
			h.logf("the vault's master key cannot be used: %v (restart the server with the store's current passphrase)", err)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("master key unusable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// StoreAnswers is nil when the store answers a cheap read (a metadata
// row in a read transaction).
func (h *Health) StoreAnswers(ctx context.Context) error {
	return h.core.Vault.Store.View(ctx, func(tx localstore.Tx) error {
		_, err := tx.GetMeta("healthz")
		if errors.Is(err, localstore.ErrNotFound) {
			return nil
		}
		return err
	})
}

// ServerReady is nil when a server over c (`ca serve`, `endpoint serve`)
// can answer: its store answers a read and the vault's master key opens —
// asked for now at a terminal when no passphrase was given, not at the
// first request. Each server checks it before it listens, so that one over
// a locked vault, or given a wrong passphrase, refuses to start (exit 6)
// rather than serve errors to every request (tester: ca serve started on
// a locked vault and answered CRL GETs 500, OCSP internalError and
// /healthz 503, while endpoint serve refused, and only because it issued
// its serving certificate first).
func (c *Core) ServerReady(ctx context.Context) error {
	if err := c.Read(ctx, func(localstore.Tx) error { return nil }); err != nil {
		return err
	}
	if _, err := c.Vault.Sealer(); err != nil {
		return MapError(err)
	}
	return nil
}

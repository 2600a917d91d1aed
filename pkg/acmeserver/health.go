package acmeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// healthTimeout bounds the store read of /healthz.
const healthTimeout = 2 * time.Second

// handleHealthz answers 200 while the store answers a cheap read (a
// metadata row in a read transaction) and the vault's master key has not
// become unusable here (localstore.Vault.KeyUnusable: the passphrase this
// server was given no longer opens the key another machine rotated to),
// 503 otherwise: what a load balancer's health check asks before sending
// a server requests.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	err := s.storeAnswers(ctx)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		s.logf("acme: healthz: store does not answer: %v", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("store unavailable\n"))
		return
	}
	if err := s.core.Vault.KeyUnusable(); err != nil {
		if msg := err.Error(); s.keyLogged.Swap(msg) != msg {
			s.logf("acme: healthz: the vault's master key cannot be used: %v (restart the server with the store's current passphrase)", err)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("master key unusable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// storeAnswers is nil when the store answers a cheap read (a metadata row
// in a read transaction).
func (s *Server) storeAnswers(ctx context.Context) error {
	return s.core.Vault.Store.View(ctx, func(tx localstore.Tx) error {
		_, err := tx.GetMeta("healthz")
		if errors.Is(err, localstore.ErrNotFound) {
			return nil
		}
		return err
	})
}

// logRequests writes one line per request to the server's logger (stderr
// under `endpoint serve`) once it is answered: method, path, status, the
// ACME problem type of an error answer ("-" for none), the duration, the
// bytes of the body answered, the client's address (the proxy's, behind
// one) and its User-Agent, quoted (a client's text cannot forge a line).
func (s *Server) logRequests(next http.HandlerFunc) http.Handler {
	if s.cfg.Logger == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		s.cfg.Logger.Printf("acme: request method=%s path=%s status=%d problem=%s duration=%s bytes=%d remote=%s ua=%s",
			r.Method, r.URL.EscapedPath(), status, rec.problemType(), time.Since(start).Round(time.Microsecond),
			rec.bytes, r.RemoteAddr, strconv.Quote(r.UserAgent()))
	})
}

// statusRecorder remembers the status of a response and, for a problem
// document, its body (small: writeProblem writes it at once).
type statusRecorder struct {
	http.ResponseWriter
	status  int
	bytes   int
	problem bytes.Buffer
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 400 && w.problem.Len() < 4096 && strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
		w.problem.Write(b)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// problemType is the type of the problem document answered, without the
// ACME prefix, or "-".
func (w *statusRecorder) problemType() string {
	if w.problem.Len() == 0 {
		return "-"
	}
	var p struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(w.problem.Bytes(), &p) != nil || p.Type == "" {
		return "-"
	}
	return strings.TrimPrefix(p.Type, errPrefix)
}

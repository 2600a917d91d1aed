package acmeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/service"
)

// healthTimeout bounds the store read of /healthz (and of the check an
// internal error makes).
const healthTimeout = service.HealthTimeout

// storeAnswers is nil when the store answers a cheap read (see
// service.Health).
func (s *Server) storeAnswers(ctx context.Context) error { return s.health.StoreAnswers(ctx) }

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

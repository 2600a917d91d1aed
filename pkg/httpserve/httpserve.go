// Package httpserve runs certctl's HTTP servers — the CRL/OCSP responder
// (`ca serve`), the validation file server (`validate serve-http`) and the
// ACME server (`endpoint serve`) — with one set of timeouts and one
// graceful shutdown, so that none of them can be held open by a slow client.
package httpserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// The timeouts every server uses.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	// ShutdownTimeout bounds how long requests under way may finish after
	// the context is cancelled.
	ShutdownTimeout = 5 * time.Second
)

// NewLog is a server's log on w: a line per entry (a request, what went
// wrong), dated in UTC to the microsecond, as a log shipper reads it
// whatever the host's time zone. An entry of several lines — an error that
// joins others (a lost database connection's, with the driver's own) —
// is written on one, its lines separated by " | " (tester: bare lines
// without date or prefix).
func NewLog(w io.Writer) *log.Logger {
	return log.New(oneLine{w}, "", log.LstdFlags|log.LUTC|log.Lmicroseconds)
}

// oneLine writes each log entry (one Write, ending in a newline) on one
// line.
type oneLine struct{ w io.Writer }

func (o oneLine) Write(p []byte) (int, error) {
	body := bytes.TrimSuffix(p, []byte("\n"))
	if !bytes.Contains(body, []byte("\n")) {
		return o.w.Write(p)
	}
	line := append(bytes.ReplaceAll(body, []byte("\n"), []byte(" | ")), '\n')
	if _, err := o.w.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}

// New returns a server of h with certctl's timeouts; tlsConfig may be nil.
func New(h http.Handler, tlsConfig *tls.Config) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		TLSConfig:         tlsConfig,
	}
}

// Serve serves srv on ln (over TLS when srv has a TLS configuration) until
// ctx is cancelled, then shuts it down gracefully: requests under way get
// ShutdownTimeout to finish, and the connections still open after it are
// closed (a client sending its body slowly, an http-01 check of a slow
// host). It returns nil after a shutdown — a stop asked for is a
// success, for systemd as for a shell — and the server's error otherwise.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	done := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			done <- srv.ServeTLS(ln, "", "")
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		// Past the grace period: what is still open is cut.
		_ = srv.Close()
	}
	return nil
}

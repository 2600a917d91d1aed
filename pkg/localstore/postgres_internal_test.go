package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestBrokenConn: only what pgx says of a connection that ended or a
// network that failed is a broken connection (reported as
// ErrConnectionLost, with the hint that the server stopped); an error of
// certctl's own on the way — a schema it cannot use, a closed pool — is
// reported as itself (tester: a newer schema was a "lost connection").
func TestBrokenConn(t *testing.T) {
	ctx := context.Background()
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"end of file", fmt.Errorf("receive message failed: %w", io.ErrUnexpectedEOF), true},
		{"EOF", io.EOF, true},
		{"network error", opErr, true},
		{"conn closed", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), true},
		{"newer schema", checkSchemaVersion("store", 99, 12), false},
		{"negative schema", checkSchemaVersion("store", -1, 12), false},
		{"closed pool", errors.New("closed pool"), false},
		{"server's answer", &pgconn.PgError{Code: "57P01"}, false},
		{"conflict", fmt.Errorf("%w: x", ErrConflict), false},
		{"nil", nil, false},
	} {
		if got := brokenConn(ctx, tc.err); got != tc.want {
			t.Errorf("%s (%v): brokenConn %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if brokenConn(done, io.EOF) {
		t.Error("an error after the context ended: brokenConn, want not (the context's end closes the connection)")
	}
}

package localstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// How long a command waits on a PostgreSQL server that does not answer.
// A server that accepts connections but never answers — stopped (SIGSTOP),
// its disk hung — would otherwise hold every command, and every ACME
// request, for ever, and cron's renew --due would pile up behind it.
// (Variables: tests shorten them.)
var (
	// PostgresConnectTimeout bounds a connection (TCP, TLS, startup and
	// authentication) when the store URL sets no connect_timeout.
	PostgresConnectTimeout = 10 * time.Second
	// PostgresAnswerTimeout bounds each wait for the server's next bytes,
	// and for it to take the next bytes written, once a connection is up. Generous: a statement may wait that long
	// for a lock other hosts hold (the write lock's wait ends at 30 s,
	// the audit log's and a migration's advisory locks have no timeout),
	// or build an index of a large store's migration.
	PostgresAnswerTimeout = 2 * time.Minute
)

const (
	// postgresBusyWait is how long opening the store and beginning a
	// transaction retry a server with no free connection slot (53300)
	// or one starting up (57P03), as every host's cron at the same minute
	// may find it.
	postgresBusyWait = 10 * time.Second
)

// ErrConnectionLost is the error of a transaction whose connection to the
// PostgreSQL server broke (the server stopped or did not answer within
// PostgresAnswerTimeout): the store is unavailable. Whether a commit under
// way was applied is unknown — the server may have applied it without the
// answer arriving.
var ErrConnectionLost = errors.New("the connection to the PostgreSQL server was lost")

// boundWaits sets cfg's connect timeout (unless the store URL or
// PGCONNECT_TIMEOUT set one: 0 is libpq's "no limit") and makes every
// connection fail a read the server leaves unanswered for
// PostgresAnswerTimeout.
func boundWaits(cfg *pgxpool.Config, url string) {
	if cfg.ConnConfig.ConnectTimeout == 0 && !strings.Contains(url, "connect_timeout=") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		cfg.ConnConfig.ConnectTimeout = PostgresConnectTimeout
	}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &answerDeadline{Conn: c, wait: PostgresAnswerTimeout}, nil
	}
}

// answerDeadline is a connection whose every Read waits at most wait, or
// until the deadline its user set (pgconn sets one to interrupt a read
// when a context ends), whichever is sooner; and whose every Write does
// the same: a server that stops reading (stopped, or behind a link that
// went silent) fills the socket's buffer, and a write would otherwise wait
// for the kernel's retransmissions to give up, a quarter of an hour.
type answerDeadline struct {
	net.Conn
	wait time.Duration

	mu         sync.Mutex
	rset, wset time.Time // the user's read and write deadlines; zero for none
}

// bounded is the sooner of now+wait and the user's deadline set (zero:
// none).
func (c *answerDeadline) bounded(set time.Time) time.Time {
	d := time.Now().Add(c.wait)
	if !set.IsZero() && set.Before(d) {
		d = set
	}
	return d
}

func (c *answerDeadline) Read(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetReadDeadline(c.bounded(c.rset))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *answerDeadline) Write(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetWriteDeadline(c.bounded(c.wset))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *answerDeadline) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rset, c.wset = t, t
	return c.Conn.SetDeadline(t)
}

func (c *answerDeadline) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rset = t
	return c.Conn.SetReadDeadline(t)
}

func (c *answerDeadline) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wset = t
	return c.Conn.SetWriteDeadline(t)
}

// serverBusy reports whether err is the server refusing a connection for
// now: no free connection slot (53300) or starting up (57P03).
func serverBusy(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "53300" || pe.Code == "57P03")
}

// whileBusy runs fn again, with a growing random delay, while it fails
// because the server is busy (serverBusy), for up to postgresBusyWait.
func whileBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(postgresBusyWait)
	ceiling := 20 * time.Millisecond
	for {
		err := fn()
		if !serverBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(rand.N(ceiling) + ceiling/2):
		}
		ceiling = min(2*ceiling, time.Second)
	}
}

package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the shared store: one PostgreSQL database (or one schema of
// it, chosen by the search_path of the URL) serving the vaults of many
// machines.
//
// It talks to the server through a pgxpool.Pool rather than database/sql:
// pgx's native transactions take the isolation level and access mode as
// options, errors come back as *pgconn.PgError with their SQLSTATE (which
// the retry of serialization failures needs), and rows affected come with
// every command tag.
type Postgres struct {
	pool *pgxpool.Pool
	// maxAttempts bounds how often a transaction that keeps failing on
	// serialization conflicts is run.
	maxAttempts int
	// guard runs first in every write transaction (see writeGuarded).
	guard func(Tx) error
	// marks: whether the upgrade marks were read at open (upgrademark.go).
	marks upgradeMarks
}

var _ Store = (*Postgres)(nil)

// PostgresMaxAttempts is how many times Update runs a transaction that keeps
// failing on serialization conflicts before it gives up.
const PostgresMaxAttempts = 10

// Backoff between attempts: a random delay up to the current ceiling, which
// doubles from retryBase to retryMax.
const (
	retryBase = 5 * time.Millisecond
	retryMax  = 500 * time.Millisecond
)

// IsPostgresURL reports whether url names a PostgreSQL store.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// CheckStoreURL checks a store URL (--store, CERTCTL_STORE, config set
// store, vault migrate --to) as Open reads it, without opening it: the
// embedded database ("" or "sqlite", the vault's own; sqlite:PATH) or
// postgres://… (postgresql://…, CheckPostgresURL). Any other scheme, and
// SQLite's in-memory forms (which keep nothing from one command to the
// next), are refused; the message shows no password. Every caller
// reports a refusal alike: invalid input (exit 4).
func CheckStoreURL(u string) error {
	switch {
	case strings.HasPrefix(u, "sqlite::") || strings.HasPrefix(u, "sqlite:file:"):
		return fmt.Errorf("%q is not a store URL: sqlite:PATH takes a file path (an in-memory database keeps nothing between commands)", RedactURL(u))
	case u == "", u == "sqlite", strings.HasPrefix(u, "sqlite:"):
		return nil
	case IsPostgresURL(u):
		return CheckPostgresURL(u)
	}
	return fmt.Errorf("%q is not a store URL: want sqlite:PATH or postgres://…", RedactURL(u))
}

// CheckPostgresURL checks the PostgreSQL store URL url as OpenPostgres
// reads it, without connecting: a URL it could not parse (a bad port, an
// unknown sslmode, a parameter that is not a number) is refused, so that
// `config set store` never writes one (tester). A file it names that
// cannot be read here (sslrootcert…) is not its fault: it may be put
// there later.
func CheckPostgresURL(url string) error {
	if err := CheckUserinfo(url); err != nil {
		return err
	}
	var pe *fs.PathError
	if _, err := pgxpool.ParseConfig(url); err != nil && !errors.As(err, &pe) {
		// pgx redacts the password of the URL it quotes.
		return fmt.Errorf("%w: %v", ErrUnsupportedStore, err)
	}
	return nil
}

// OpenPostgres connects to the database at url (postgres:// or
// postgresql://, with libpq's parameters; search_path selects a schema) and
// brings its schema up to date.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	return openPostgres(ctx, url, func(p *Postgres) error {
		return whileBusy(ctx, func() error { return p.migrate(ctx) })
	})
}

// ErrSchemaNotCurrent: a store opened only to read (OpenPostgresCurrent,
// OpenSQLiteCurrent) whose schema is not this build's, or not there.
var ErrSchemaNotCurrent = errors.New("the store's schema is not this certctl's")

// OpenPostgresCurrent connects to the database at url as OpenPostgres
// does but writes nothing: a schema missing, behind or ahead of this
// build's is ErrSchemaNotCurrent, not migrated — for a reader that must
// change nothing, such as shell completion.
func OpenPostgresCurrent(ctx context.Context, url string) (*Postgres, error) {
	return openPostgres(ctx, url, func(p *Postgres) error {
		current, err := p.schemaIsCurrent(ctx)
		var pe *pgconn.PgError
		switch {
		case current:
			return nil
		case err == nil || errors.As(err, &pe):
			return ErrSchemaNotCurrent
		}
		return err
	})
}

// openPostgres connects to url and readies the store with ready.
func openPostgres(ctx context.Context, url string, ready func(*Postgres) error) (*Postgres, error) {
	if err := CheckUserinfo(url); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password of the URL it quotes.
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedStore, err)
	}
	boundWaits(cfg, url)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p := &Postgres{pool: pool, maxAttempts: PostgresMaxAttempts}
	if err := ready(p); err != nil {
		pool.Close()
		if brokenConn(ctx, err) {
			return nil, connectionLost(err)
		}
		return nil, err
	}
	return p, nil
}

// Close closes the connections.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// Pool exposes the connections for tests.
func (p *Postgres) Pool() *pgxpool.Pool { return p.pool }

// Update runs fn in a SERIALIZABLE transaction. When the transaction fails
// on a serialization conflict or a deadlock (another transaction changed
// what it read), it is rolled back and fn runs again, up to
// PostgresMaxAttempts times: so, as with SQLite's BEGIN IMMEDIATE, no
// read-then-write loses a concurrent update, and fn must be safe to re-run.
//
// Writers run in parallel on their first attempt: each holds the write_lock
// table in ROW EXCLUSIVE mode, which does not conflict with itself (so a
// transaction may run another, as the key loader does). A retried attempt
// holds it in EXCLUSIVE mode instead: it waits for the writers under way,
// new writers queue behind it, and it runs alone, as every SQLite writer
// does, so that a hot record (a counter, the serial space of a CA, the
// audit log's head) cannot make it fail again and again. Every recorded
// change extends the one audit chain, so concurrent changes conflict
// there and all but one are redone alone.
func (p *Postgres) Update(ctx context.Context, fn func(Tx) error) error {
	return p.run(ctx, txOptions(beginWrite), txOptions(beginRetry), guarded(p.guard, fn))
}

func (p *Postgres) setWriteGuard(g func(Tx) error) { p.guard = g }

// View runs fn in a READ ONLY transaction. REPEATABLE READ gives fn one
// snapshot for all its reads, as a SQLite read transaction does, and a
// read-only transaction at that level never fails on serialization.
func (p *Postgres) View(ctx context.Context, fn func(Tx) error) error {
	ro := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return p.run(ctx, ro, ro, fn)
}

// The BEGIN of write transactions. LOCK TABLE takes no snapshot, so the
// snapshot of the transaction (taken by its first query) is taken once the
// lock is held and includes what the previous holder committed. The lock
// timeout turns a wait that cannot end (an Update nested in another, while
// a third retries) into an error.
const (
	beginWrite = `BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE; SET LOCAL lock_timeout = '30s';
		LOCK TABLE write_lock IN ROW EXCLUSIVE MODE; SET LOCAL lock_timeout = DEFAULT`
	beginRetry = `BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE; SET LOCAL lock_timeout = '30s';
		LOCK TABLE write_lock IN EXCLUSIVE MODE; SET LOCAL lock_timeout = DEFAULT`
)

func txOptions(begin string) pgx.TxOptions {
	return pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadWrite, BeginQuery: begin}
}

// Check verifies that the database answers and holds the schema this build
// writes.
func (p *Postgres) Check(ctx context.Context) error {
	var v int
	if err := p.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return err
	}
	if v != len(pgMigrations) {
		return fmt.Errorf("%w: schema version %d, want %d", ErrCorrupt, v, len(pgMigrations))
	}
	return nil
}

// run runs fn in a transaction begun with first, then with retry while it
// fails on serialization.
func (p *Postgres) run(ctx context.Context, first, retry pgx.TxOptions, fn func(Tx) error) error {
	ceiling := retryBase
	opts := first
	for attempt := 1; ; attempt++ {
		// A server with no free slot refuses the connection before fn runs.
		err := whileBusy(ctx, func() error { return p.attempt(ctx, opts, fn) })
		if err == nil || !isRetryable(err) {
			return err
		}
		if attempt >= p.maxAttempts {
			return fmt.Errorf("transaction still conflicting after %d attempts: %w", attempt, err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(rand.N(ceiling) + 1):
		}
		ceiling = min(2*ceiling, retryMax)
		opts = retry
	}
}

// attempt runs fn once in a transaction.
func (p *Postgres) attempt(ctx context.Context, opts pgx.TxOptions, fn func(Tx) error) error {
	tx, err := p.pool.BeginTx(ctx, opts)
	if brokenConn(ctx, err) {
		// A pooled connection the server closed meanwhile (a backend
		// ended, the server restarted): once more, on a new one.
		tx, err = p.pool.BeginTx(ctx, opts)
	}
	if err != nil {
		if brokenConn(ctx, err) {
			return connectionLost(err)
		}
		return wrapPgErr(err)
	}
	rollback := func() error { return tx.Rollback(context.WithoutCancel(ctx)) }
	defer func() {
		if v := recover(); v != nil {
			_ = rollback()
			panic(v)
		}
	}()
	t := &pgTx{ctx: ctx, tx: tx}
	ferr := fn(t)
	// A serialization failure is retried even when fn swallowed it: the
	// transaction is aborted either way.
	if t.retry != nil {
		_ = rollback()
		return t.retry
	}
	if ferr != nil {
		if tx.Conn().IsClosed() && ctx.Err() == nil {
			_ = rollback() // gives the broken connection back to the pool
			return connectionLost(ferr)
		}
		if rbErr := rollback(); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			return errors.Join(ferr, rbErr)
		}
		return ferr
	}
	if err := tx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) && t.failed != nil {
			// fn went on after a failed statement, which aborted the
			// transaction: report what failed.
			return fmt.Errorf("transaction aborted: %w", t.failed)
		}
		if tx.Conn().IsClosed() && ctx.Err() == nil {
			return connectionLost(err)
		}
		return wrapPgErr(err)
	}
	return nil
}

// brokenConn reports whether err, from beginning a transaction or a
// statement outside one (opening the store), is the connection's failure:
// what pgx says when the connection ended or the network failed under it
// — an end of file, a network error (a read left unanswered past
// PostgresAnswerTimeout too), "conn closed" — and not the end of ctx, the
// server's answer (a PgError says why), a connection refused (a
// ConnectError: a storage error already, with its hint) or certctl's own
// refusal on the way (tester: a store schema newer than this certctl, a
// plain error of the migration, was reported as a lost connection with
// the hint that the server had stopped).
func brokenConn(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	if errors.As(err, &pe) || errors.As(err, &ce) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed)
}

// connectionLost is err, the failure of a transaction whose connection
// broke (not by the end of its context, which closes the connection
// too), as ErrConnectionLost (a storage error: exit 6) — pgx says only
// "conn closed" or "unexpected EOF", which read as certctl's own failure.
// A statement error of the server (a PgError, such as 57P01 when it shuts
// down) says more, and is kept.
func connectionLost(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) || errors.Is(err, ErrConnectionLost) {
		return err
	}
	return fmt.Errorf("%w (%v)", ErrConnectionLost, err)
}

// SQLSTATEs of PostgreSQL errors handled here.
const (
	sqlstateUniqueViolation      = "23505"
	sqlstateSerializationFailure = "40001"
	sqlstateDeadlockDetected     = "40P01"
	sqlstateLockNotAvailable     = "55P03" // lock_timeout
)

// isRetryable reports whether err means the transaction lost a race and
// should run again.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == sqlstateSerializationFailure || pe.Code == sqlstateDeadlockDetected
}

func wrapPgErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == sqlstateUniqueViolation {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// CheckUserinfo refuses a URL whose user or password holds a raw '@' (or
// '/'), which must be percent-encoded (%40, %2F): URL parsers disagree on
// where such a password ends, and pgx takes its tail for the host name and
// prints it in its connection errors.
func CheckUserinfo(url string) error {
	_, rest, ok := strings.Cut(url, "://")
	if !ok {
		return nil
	}
	authority, _, _ := strings.Cut(rest, "/")
	authority, _, _ = strings.Cut(authority, "?")
	if strings.Count(authority, "@") > 1 {
		return fmt.Errorf("%w: the store URL's user or password holds '@': write it percent-encoded (%%40)", ErrUnsupportedStore)
	}
	return nil
}

package localstore_test

import (
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestPostgresAnswerTimeout: a statement the server leaves unanswered
// longer than PostgresAnswerTimeout fails (as a stopped server would),
// and the store works again afterwards on a new connection.
func TestPostgresAnswerTimeout(t *testing.T) {
	postgresURL(t)
	defer func(d time.Duration) { localstore.PostgresAnswerTimeout = d }(localstore.PostgresAnswerTimeout)
	localstore.PostgresAnswerTimeout = 300 * time.Millisecond
	u := freshSchema(t)
	s := openPostgresAt(t, u)
	ctx := pgCtx(t)
	start := time.Now()
	_, err := s.Pool().Exec(ctx, "SELECT pg_sleep(5)")
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a statement unanswered past the timeout: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the unanswered statement held the caller %v", d)
	}
	if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("after", []byte("1")) }); err != nil {
		t.Fatalf("the store after the timeout: %v", err)
	}

	// A transaction kept waiting as long (here on a lock another session
	// holds) fails as a lost connection: exit 6, with a hint.
	admin := openPostgresAt(t, u)
	held, err := admin.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(ctx) //nolint:errcheck // test cleanup
	if _, err := held.Exec(ctx, "LOCK TABLE write_lock IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("blocked", []byte("1")) })
	if !errors.Is(err, localstore.ErrConnectionLost) || !localstore.IsStorageError(err) || localstore.StoreHint(err) == "" {
		t.Fatalf("a transaction unanswered past the timeout: %v", err)
	}
}

// TestPostgresConnectionLost: a transaction whose connection the server
// drops (its backend terminated, as when the server stops) fails with
// ErrConnectionLost, a storage error (exit 6) with a hint, not pgx's bare
// "conn closed" (exit 1).
func TestPostgresConnectionLost(t *testing.T) {
	postgresURL(t)
	u := freshSchema(t)
	app := "certctl-lost-" + strings.ReplaceAll(t.Name(), "/", "-")
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	s := openPostgresAt(t, u+sep+"application_name="+app)
	admin := openPostgresAt(t, u)
	ctx := pgCtx(t)
	err := s.Update(ctx, func(tx localstore.Tx) error {
		if _, err := admin.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		_, err := tx.GetMeta("anything")
		return err
	})
	if err == nil {
		t.Fatal("the transaction went on after its connection was terminated")
	}
	if !localstore.IsStorageError(err) || localstore.StoreHint(err) == "" {
		t.Fatalf("error %v: storage error %v, hint %q", err, localstore.IsStorageError(err), localstore.StoreHint(err))
	}
}

// TestPostgresConnectionCut: a transaction whose connection is cut with no
// word from the server (the network gone, the server's host down: pgx
// sees an end of file, then "conn closed") fails with ErrConnectionLost.
func TestPostgresConnectionCut(t *testing.T) {
	postgresURL(t)
	u, err := url.Parse(freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	server := u.Host
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", server)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			go func() { _, _ = io.Copy(s, c) }()
			go func() { _, _ = io.Copy(c, s) }()
		}
	}()
	cut := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	u.Host = ln.Addr().String()
	st := openPostgresAt(t, u.String())
	ctx := pgCtx(t)
	err = st.Update(ctx, func(tx localstore.Tx) error {
		cut()
		_, err := tx.GetMeta("anything")
		return err
	})
	if !errors.Is(err, localstore.ErrConnectionLost) || !localstore.IsStorageError(err) || localstore.StoreHint(err) == "" {
		t.Fatalf("a transaction whose connection was cut: %v", err)
	}

	// A pooled connection cut between transactions (a backend ended, the
	// server restarted): the next transaction begins on a new one.
	if err := st.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("a", []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	cut()
	if err := st.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("b", []byte("1")) }); err != nil {
		t.Fatalf("a transaction after its pooled connection was cut: %v", err)
	}
	// No server any more: a storage error (exit 6), not "conn closed".
	ln.Close()
	cut()
	err = st.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("c", []byte("1")) })
	if err == nil || !localstore.IsStorageError(err) {
		t.Fatalf("a transaction with the server gone: %v, want a storage error", err)
	}
}

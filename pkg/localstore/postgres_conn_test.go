package localstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestAnswerDeadline: a read the peer leaves unanswered fails after the
// wait; a deadline its user set sooner (pgconn's, when a context ends)
// still ends it at once; an answer is read.
func TestAnswerDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &answerDeadline{Conn: a, wait: 100 * time.Millisecond}
	buf := make([]byte, 4)

	start := time.Now()
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("unanswered read: %v, want a deadline error", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 5*time.Second {
		t.Fatalf("unanswered read ended after %v, want about the wait", d)
	}

	c.wait = time.Hour
	if err := c.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the user's deadline: %v, want a deadline error", err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go b.Write([]byte("pong")) //nolint:errcheck // the read below says
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("answered read: %q, %v", buf[:n], err)
	}
}

// TestAnswerDeadlineWrite: a write the peer does not read (a server that
// stopped reading) fails after the wait instead of waiting for the
// kernel to give up; the user's sooner write deadline still ends it; a
// write the peer reads goes through.
func TestAnswerDeadlineWrite(t *testing.T) {
	a, b := net.Pipe() // a Write waits until the other end reads it
	defer a.Close()
	defer b.Close()
	c := &answerDeadline{Conn: a, wait: 100 * time.Millisecond}

	start := time.Now()
	if _, err := c.Write([]byte("query")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("unread write: %v, want a deadline error", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 5*time.Second {
		t.Fatalf("unread write ended after %v, want about the wait", d)
	}

	c.wait = time.Hour
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("query")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the user's deadline: %v, want a deadline error", err)
	}
	// A read deadline of the user's does not bound writes.
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 8)
		n, _ := b.Read(buf)
		got <- string(buf[:n])
	}()
	if _, err := c.Write([]byte("query")); err != nil {
		t.Fatalf("read write: %v", err)
	}
	if s := <-got; s != "query" {
		t.Fatalf("the peer read %q", s)
	}
}

// TestConnectTimeout: a server that accepts the connection and never
// answers (a stopped PostgreSQL) fails the open after the connect timeout,
// as a storage error (exit 6), instead of holding the command for ever.
func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answered
		}
	}()
	defer func(d time.Duration) { PostgresConnectTimeout = d }(PostgresConnectTimeout)
	PostgresConnectTimeout = 300 * time.Millisecond

	start := time.Now()
	_, err = OpenPostgres(context.Background(), "postgres://u:p@"+ln.Addr().String()+"/db?sslmode=disable")
	if err == nil {
		t.Fatal("opened a store on a silent server")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the open took %v", d)
	}
	if !IsStorageError(err) {
		t.Fatalf("error %v is not a storage error", err)
	}
}

// TestWhileBusy: a server with no free connection slot (53300) or
// starting up (57P03) is tried again until it admits the connection;
// another error is returned at once.
func TestWhileBusy(t *testing.T) {
	calls := 0
	err := whileBusy(context.Background(), func() error {
		calls++
		switch calls {
		case 1:
			return &pgconn.PgError{Code: "53300"}
		case 2:
			return &pgconn.ConnectError{Config: &pgconn.Config{}}
		}
		return nil
	})
	if calls != 2 || err == nil {
		t.Fatalf("calls %d, err %v: want the second call's error returned", calls, err)
	}
	calls = 0
	err = whileBusy(context.Background(), func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("connect: %w", &pgconn.PgError{Code: []string{"53300", "57P03"}[calls-1]})
		}
		return nil
	})
	if calls != 3 || err != nil {
		t.Fatalf("calls %d, err %v: want success on the third", calls, err)
	}
}

package localstore_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestStoreHint: a PostgreSQL store that cannot be reached, refuses the
// credentials or has no such database gets a hint saying what to check,
// and the hint holds nothing of the URL (its password least of all).
func TestStoreHint(t *testing.T) {
	open := func(u string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		p, err := localstore.OpenPostgres(ctx, u)
		if err == nil {
			p.Close()
		}
		return err
	}
	check := func(what, u, want string) {
		t.Helper()
		err := open(u)
		if err == nil {
			t.Fatalf("%s: opened", what)
		}
		h := localstore.StoreHint(err)
		if !strings.Contains(h, want) {
			t.Errorf("%s: hint %q for %v, want it to say %q", what, h, err, want)
		}
		if strings.Contains(h, "s3cret") || strings.Contains(h, "127.0.0.1") || strings.Contains(h, "certctl@") {
			t.Errorf("%s: hint %q quotes the URL", what, h)
		}
	}
	// Nothing listens on port 1 of the loopback address.
	check("no server", "postgres://certctl:s3cret@127.0.0.1:1/certctl?sslmode=disable&connect_timeout=5", "running and reachable")

	// A server without TLS answers an SSLRequest with N.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var req [8]byte
			if _, err := io.ReadFull(c, req[:]); err == nil {
				c.Write([]byte("N"))
			}
			c.Close()
		}
	}()
	check("no TLS", "postgres://certctl:s3cret@"+ln.Addr().String()+"/certctl?sslmode=require&connect_timeout=5", "does not offer TLS")

	base, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	wrong := *base
	wrong.User = url.UserPassword(base.User.Username(), "s3cret-not-it")
	check("wrong password", wrong.String(), "user and password")
	missing := *base
	missing.Path = "/certctl_no_such_database"
	check("no such database", missing.String(), "does not exist")

	if h := localstore.StoreHint(context.Canceled); h != "" {
		t.Errorf("hint %q for an error that is not the store's", h)
	}
}

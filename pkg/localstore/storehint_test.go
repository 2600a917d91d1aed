package localstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
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
	check := func(what, u, want string) {
		t.Helper()
		err := openStoreAt(u)
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
	noTLS := fakePostgres(t, func(c net.Conn) {
		var req [8]byte
		if _, err := io.ReadFull(c, req[:]); err == nil {
			c.Write([]byte("N"))
		}
	})
	check("no TLS", "postgres://certctl:s3cret@"+noTLS+"/certctl?sslmode=require&connect_timeout=5", "does not offer TLS")

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
	noSchema := *base
	q := noSchema.Query()
	q.Set("search_path", "certctl_no_such_schema")
	noSchema.RawQuery = q.Encode()
	check("no such schema", noSchema.String(), "no schema of the store URL's search_path exists")

	if h := localstore.StoreHint(context.Canceled); h != "" {
		t.Errorf("hint %q for an error that is not the store's", h)
	}
}

// TestStoreHintServerRefusals: a server that refuses the start-up with
// pg_hba.conf's 28000, starting up's 57P03 or too many connections' 53300,
// and one whose TLS certificate the URL's sslmode=verify-full does not
// accept, each get the hint for what to check — fake servers on loopback
// that answer as PostgreSQL does.
func TestStoreHintServerRefusals(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{"28000", "pg_hba.conf"},
		{"57P03", "starting up"},
		{"53300", "no free connection"},
	} {
		addr := fakePostgres(t, func(c net.Conn) {
			// The start-up message (sslmode=disable: no SSLRequest
			// first), then an ErrorResponse with the code.
			if readStartup(c) != nil {
				return
			}
			c.Write(errorResponse(tc.code, "refused by the fake server"))
		})
		err := openStoreAt("postgres://certctl:s3cret@" + addr + "/certctl?sslmode=disable&connect_timeout=5")
		if err == nil {
			t.Fatalf("%s: opened", tc.code)
		}
		h := localstore.StoreHint(err)
		if !strings.Contains(h, tc.want) {
			t.Errorf("%s: hint %q for %v, want it to say %q", tc.code, h, err, tc.want)
		}
		if strings.Contains(h, "s3cret") || strings.Contains(h, "127.0.0.1") {
			t.Errorf("%s: hint %q quotes the URL", tc.code, h)
		}
	}

	// A server that offers TLS with a certificate of no authority the
	// client knows.
	cert, err := tls.X509KeyPair(localhostCert(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := fakePostgres(t, func(c net.Conn) {
		var req [8]byte
		if _, err := io.ReadFull(c, req[:]); err != nil {
			return
		}
		c.Write([]byte("S"))
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		tc.Handshake() //nolint:errcheck // the client refuses it
		tc.Close()
	})
	err = openStoreAt("postgres://certctl:s3cret@" + addr + "/certctl?sslmode=verify-full&connect_timeout=5")
	if err == nil {
		t.Fatal("untrusted TLS: opened")
	}
	if h := localstore.StoreHint(err); !strings.Contains(h, "TLS certificate was not accepted") {
		t.Errorf("untrusted TLS: hint %q for %v", h, err)
	}
}

// openStoreAt opens the PostgreSQL store at u and closes it again,
// returning why it did not open.
func openStoreAt(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := localstore.OpenPostgres(ctx, u)
	if err == nil {
		p.Close()
	}
	return err
}

// fakePostgres serves each connection to a loopback listener with serve,
// then closes it; it returns the listener's address.
func fakePostgres(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// readStartup reads one length-prefixed start-up message.
func readStartup(c net.Conn) error {
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return err
	}
	_, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(n[:]))-4)
	return err
}

// errorResponse is a PostgreSQL ErrorResponse message: severity FATAL,
// the SQLSTATE code and the message.
func errorResponse(code, msg string) []byte {
	var body []byte
	for _, f := range []struct {
		t byte
		v string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', code}, {'M', msg}} {
		body = append(body, f.t)
		body = append(append(body, f.v...), 0)
	}
	body = append(body, 0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(body)+4))
	return append(out, body...)
}

// localhostCert is a self-signed certificate and key for 127.0.0.1, in PEM.
func localhostCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake postgres"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

package httpserve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"sync"
	"time"
)

// CertCheckInterval is how often Certs looks at the files its certificate
// is read from, and how long it waits after a failed reload before trying
// again.
const CertCheckInterval = time.Minute

// Certs is the serving certificate of a long-running server, replaced
// while it serves (its GetCertificate goes in a tls.Config): a server
// started under systemd runs for longer than a certificate lives. One the
// server made itself (Renew) is made again at two thirds of its lifetime;
// one read from files (Files) is read again when a file changes, as
// certbot or `certctl deploy` replace them. A failed reload is logged and
// the certificate in use kept, to be tried again after CertCheckInterval.
type Certs struct {
	// Load makes or reads the certificate, its Leaf set.
	Load func() (*tls.Certificate, error)
	// Renew: Load makes a new certificate; call it at two thirds of the
	// lifetime of the one in use.
	Renew bool
	// Files: Load reads these; call it when one of them changes.
	Files []string
	// Now is the clock (time.Now when nil); Logf logs reloads and their
	// failures (nothing when nil).
	Now  func() time.Time
	Logf func(format string, a ...any)

	mu      sync.Mutex
	cur     *tls.Certificate
	stamps  []fileStamp
	checkAt time.Time // next look at the files, or next try after a failure
	// loading: a reload is under way, outside mu: the handshakes
	// meanwhile get the certificate in use, not a wait on the store.
	loading bool
}

type fileStamp struct {
	size    int64
	modTime time.Time
	ok      bool
}

// Start loads the first certificate: an error here stops the server.
func (c *Certs) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamps := c.stampFiles()
	cert, err := c.load()
	if err != nil {
		return err
	}
	c.cur, c.stamps, c.checkAt = cert, stamps, c.now().Add(CertCheckInterval)
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the certificate in use,
// replaced first when it is due.
func (c *Certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.Current(), nil
}

// Current returns the certificate in use, replaced first when it is due.
func (c *Certs) Current() *tls.Certificate {
	c.mu.Lock()
	now := c.now()
	if c.loading || now.Before(c.checkAt) {
		defer c.mu.Unlock()
		return c.cur
	}
	c.checkAt = now.Add(CertCheckInterval)
	due := c.Renew && !now.Before(renewAt(c.cur.Leaf))
	var stamps []fileStamp
	if len(c.Files) > 0 {
		stamps = c.stampFiles()
		due = due || !equalStamps(stamps, c.stamps)
	}
	if !due {
		defer c.mu.Unlock()
		return c.cur
	}
	// Loaded outside the lock: this handshake waits for it (a store
	// locked elsewhere bounds that, see Load), the others meanwhile get
	// the certificate in use (second tester: every handshake waited).
	c.loading = true
	c.mu.Unlock()
	cert, err := c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loading = false
	if err != nil {
		c.logf("serving certificate not replaced (the one in use, valid until %s, is kept; trying again in %s): %v",
			c.cur.Leaf.NotAfter.UTC().Format(time.RFC3339), CertCheckInterval, err)
		return c.cur
	}
	c.cur, c.stamps = cert, stamps
	c.logf("serving certificate replaced: serial %x, valid until %s", cert.Leaf.SerialNumber, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return c.cur
}

func (c *Certs) load() (*tls.Certificate, error) {
	cert, err := c.Load()
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if len(cert.Certificate) == 0 {
			return nil, errors.New("no certificate")
		}
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return cert, nil
}

// renewAt is when two thirds of leaf's lifetime have passed.
func renewAt(leaf *x509.Certificate) time.Time {
	// A third, twice: a lifetime near time.Duration's limit (Sub stops at
	// 292 years) doubled first would overflow to a time in the past.
	return leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 3 * 2)
}

func (c *Certs) stampFiles() []fileStamp {
	out := make([]fileStamp, len(c.Files))
	for i, f := range c.Files {
		if fi, err := os.Stat(f); err == nil {
			out[i] = fileStamp{size: fi.Size(), modTime: fi.ModTime(), ok: true}
		}
	}
	return out
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ok != b[i].ok || a[i].size != b[i].size || !a[i].modTime.Equal(b[i].modTime) {
			return false
		}
	}
	return true
}

func (c *Certs) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Certs) logf(format string, a ...any) {
	if c.Logf != nil {
		c.Logf(format, a...)
	}
}

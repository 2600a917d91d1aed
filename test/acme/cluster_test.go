package acme

// Many servers: `endpoint serve` processes on one store behind haproxy in
// http mode, balancing every request round robin, with certbot, lego and
// x/crypto/acme as clients.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
)

// lineCounter counts the request log lines of one server (not those of
// the balancer's health checks).
type lineCounter struct {
	mu       sync.Mutex
	requests int
	badNonce int
	lines    []string
}

func (c *lineCounter) add(line string) {
	if c == nil || !strings.Contains(line, "acme: request ") || strings.Contains(line, "path=/healthz ") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if strings.Contains(line, "problem=badNonce") {
		c.badNonce++
	}
	if len(c.lines) < 5 {
		c.lines = append(c.lines, line)
	}
}

func (c *lineCounter) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, c.badNonce
}

// cluster is n `endpoint serve` processes on one store behind haproxy.
type cluster struct {
	*server
	procs []*exec.Cmd
	addrs []string
	logs  []*lineCounter
	// lb is the balancer's address; clientRoots trusts its certificate
	// and the vault's roots.
	lb, clientRoots string
	storeURL        string
}

// newCluster starts n servers over one store: a fresh PostgreSQL schema
// when pg, else the vault's SQLite database.
func newCluster(t *testing.T, pg bool, n int) *cluster {
	t.Helper()
	haproxy := testbin.Tool(t, "haproxy")
	tmp := t.TempDir()
	c := &cluster{server: &server{vault: filepath.Join(tmp, "vault"), roots: filepath.Join(tmp, "roots.pem")}}
	if pg {
		c.storeURL = pgtest.FreshSchema(t)
		c.env = []string{"CERTCTL_STORE=" + c.storeURL}
	}
	c.setup(t)
	c.lb = freePort(t)
	base := "https://" + c.lb
	c.dir = base + "/" + c.id + "/directory"

	// The balancer's own certificate, from a throwaway CA the clients trust
	// beside the vault's roots.
	fePEM, caPEM := frontendCert(t)
	fe := filepath.Join(tmp, "frontend.pem")
	if err := os.WriteFile(fe, fePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	roots, _ := os.ReadFile(c.roots)
	c.clientRoots = filepath.Join(tmp, "client-roots.pem")
	if err := os.WriteFile(c.clientRoots, append(roots, caPEM...), 0o600); err != nil {
		t.Fatal(err)
	}

	var backends strings.Builder
	for i := range n {
		addr := freePort(t)
		lc := &lineCounter{}
		c.procs = append(c.procs, c.serveLog(t, addr, lc, "CERTCTL_ENDPOINT_BASE_URL="+base))
		c.addrs = append(c.addrs, addr)
		c.logs = append(c.logs, lc)
		fmt.Fprintf(&backends, "    server s%d %s ssl verify required ca-file %s check inter 300ms fall 2 rise 2\n", i, addr, c.roots)
	}
	// http mode, every request balanced on its own: http-server-close
	// closes each server connection after its response and http-reuse
	// never keeps none for another request.
	cfg := fmt.Sprintf(`global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-server-close
    http-reuse never
    option redispatch
    retries 3
frontend acme
    bind %s ssl crt %s
    default_backend servers
backend servers
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
%s`, c.lb, fe, backends.String())
	cfgFile := filepath.Join(tmp, "haproxy.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hp := exec.CommandContext(ctx, haproxy, "-db", "-f", cfgFile)
	var hpOut strings.Builder
	hp.Stdout, hp.Stderr = &hpOut, &hpOut
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = hp.Wait() })
	// Ready once every server answers its health check through it.
	hc := c.httpClient(t)
	deadline := time.Now().Add(20 * time.Second)
	for ok := 0; ok < 2*n; {
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not come up:\n%s", hpOut.String())
		}
		resp, err := hc.Get(base + "/healthz")
		if err == nil && resp.StatusCode == http.StatusOK {
			ok++
		} else {
			ok = 0
			time.Sleep(100 * time.Millisecond)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	return c
}

// httpClient trusts the balancer's certificate.
func (c *cluster) httpClient(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	b, err := os.ReadFile(c.clientRoots)
	if err != nil || !pool.AppendCertsFromPEM(b) {
		t.Fatalf("client roots: %v", err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// checkSpread fails the test unless every server answered requests and
// none answered badNonce.
func (c *cluster) checkSpread(t *testing.T) {
	t.Helper()
	for i, lc := range c.logs {
		req, bad := lc.counts()
		t.Logf("server %d: %d requests, %d badNonce", i, req, bad)
		if req == 0 {
			t.Errorf("server %d answered no request: the balancer did not spread them", i)
		}
		if bad != 0 {
			t.Errorf("server %d answered badNonce %d times", i, bad)
		}
	}
}

// frontendCert returns a PEM certificate and key for 127.0.0.1 and the PEM
// of the CA that issued it.
func frontendCert(t *testing.T) (certAndKey, ca []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "balancer test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certAndKey = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	return certAndKey, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// clusters are the store and server counts of the interop runs.
var clusters = []struct {
	name string
	pg   bool
	n    int
}{
	{"postgres-2", true, 2},
	{"postgres-3", true, 3},
	{"sqlite-2", false, 2},
}

// acmeCount counts the ACME certificates of the inventory named *.suffix.
func (c *cluster) acmeNames(t *testing.T) map[string]bool {
	t.Helper()
	var list struct {
		CertificateSummaryList []struct{ DomainName, KeyPairOrigin string }
	}
	if err := json.Unmarshal(c.certctl(t, "-o", "json", "list", "--certificate-key-pair-origins", "ACME"), &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range list.CertificateSummaryList {
		names[s.DomainName] = true
	}
	return names
}

// TestClusterCertbot: certbot completes 10 of 10 orders through the
// balancer.
func TestClusterCertbot(t *testing.T) {
	bin := testbin.Tool(t, "certbot")
	for _, cc := range clusters {
		t.Run(cc.name, func(t *testing.T) {
			c := newCluster(t, cc.pg, cc.n)
			d := t.TempDir()
			for i := range 10 {
				name := fmt.Sprintf("certbot%d.lab.test", i)
				run(t, d, []string{"REQUESTS_CA_BUNDLE=" + c.clientRoots}, bin, "certonly", "--server", c.dir,
					"--eab-kid", c.kid, "--eab-hmac-key="+c.mac, "--manual", "--manual-auth-hook", "/bin/true",
					"--preferred-challenges", "dns", "-d", name, "--config-dir", d+"/c", "--work-dir", d+"/w",
					"--logs-dir", d+"/l", "--non-interactive", "--agree-tos", "--register-unsafely-without-email")
				c.checkCert(t, d+"/c/live/"+name+"/fullchain.pem", name)
			}
			c.checkSpread(t)
		})
	}
}

// TestClusterLego: lego completes 10 of 10 orders through the balancer.
func TestClusterLego(t *testing.T) {
	bin := testbin.Tool(t, "lego")
	for _, cc := range clusters {
		t.Run(cc.name, func(t *testing.T) {
			c := newCluster(t, cc.pg, cc.n)
			d := t.TempDir()
			for i := range 10 {
				name := fmt.Sprintf("lego%d.lab.test", i)
				run(t, d, []string{"LEGO_CA_CERTIFICATES=" + c.clientRoots}, bin, "--server", c.dir, "--eab", "--kid", c.kid,
					"--hmac="+c.mac, "--email", "ops@lab.test", "--accept-tos", "--path", d, "--domains", name,
					"--http", "--http.port", freePort(t), "run")
				c.checkCert(t, d+"/certificates/"+name+".crt", name)
			}
			c.checkSpread(t)
		})
	}
}

// TestClusterKill9: 50 orders from x/crypto/acme clients through the
// balancer while one of two servers on PostgreSQL is killed with SIGKILL.
// The clients retry as clients do (badNonce inside x/crypto/acme, failed
// orders from the start). Every order that got a certificate is in the
// inventory, no order is left `processing`, and the survivor's /healthz
// answers 200 throughout.
func TestClusterKill9(t *testing.T) {
	c := newCluster(t, true, 2)
	const orders, workers = 50, 5
	hc := c.httpClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The survivor's health, polled directly until the end.
	survivor := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the survivor's own address
	var unhealthy atomic.Int32
	var healthErr atomic.Value
	stopHealth := make(chan struct{})
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		for {
			select {
			case <-stopHealth:
				return
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := survivor.Get("https://" + c.addrs[0] + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				unhealthy.Add(1)
				healthErr.Store(err.Error())
			}
		}
	}()

	var done atomic.Int32
	killed := make(chan struct{})
	var killOnce sync.Once
	var mu sync.Mutex
	got := map[string]bool{} // names that got a certificate
	var failures []string
	var wg sync.WaitGroup
	next := make(chan int, orders)
	for i := range orders {
		next <- i
	}
	close(next)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			cl := &acme.Client{Key: key, DirectoryURL: c.dir, HTTPClient: hc, UserAgent: "certctl-kill9"}
			mac, _ := base64URL(c.mac)
			if err := retry(ctx, func() error {
				_, err := cl.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: c.kid, Key: mac}}, acme.AcceptTOS)
				if errors.Is(err, acme.ErrAccountAlreadyExists) {
					return nil
				}
				return err
			}); err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("worker %d: register: %v", w, err))
				mu.Unlock()
				return
			}
			for i := range next {
				name := fmt.Sprintf("kill%d.lab.test", i)
				err := retry(ctx, func() error {
					o, err := cl.AuthorizeOrder(ctx, acme.DomainIDs(name))
					if err != nil {
						return err
					}
					ck, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
					csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, ck)
					ders, _, err := cl.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
					if err != nil {
						return err
					}
					if len(ders) == 0 {
						return errors.New("no certificate")
					}
					return nil
				})
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s: %v", name, err))
				} else {
					got[name] = true
				}
				mu.Unlock()
				if done.Add(1) >= 10 {
					killOnce.Do(func() {
						_ = c.procs[1].Process.Signal(syscall.SIGKILL)
						close(killed)
					})
				}
			}
		}()
	}
	wg.Wait()
	close(stopHealth)
	<-healthDone
	select {
	case <-killed:
	default:
		t.Fatal("server 1 was never killed")
	}
	for _, f := range failures {
		t.Error(f)
	}
	if len(got) != orders {
		t.Errorf("%d of %d orders got a certificate", len(got), orders)
	}
	inv := c.acmeNames(t)
	for name := range got {
		if !inv[name] {
			t.Errorf("%s got a certificate that the inventory lacks", name)
		}
	}
	// No order is left processing.
	v, err := localstore.Open(context.Background(), c.vault, localstore.Options{StoreURL: c.storeURL})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		objs, err := tx.ListObjects(acmestate.KindOrder)
		for _, o := range objs {
			var ord struct{ Status string }
			if err := json.Unmarshal(o.Data, &ord); err != nil {
				return err
			}
			if ord.Status == acmestate.AcmeProcessing {
				t.Errorf("order %s left processing", o.ID)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := unhealthy.Load(); n != 0 {
		t.Errorf("the survivor's /healthz failed %d times (last: %v)", n, healthErr.Load())
	}
	req0, _ := c.logs[0].counts()
	req1, _ := c.logs[1].counts()
	t.Logf("requests: survivor %d, killed %d; orders or registrations retried: %d", req0, req1, retries.Load())
	if req1 == 0 {
		t.Error("the killed server answered no request before it died")
	}
}

// retries counts the attempts retry repeated.
var retries atomic.Int32

// retry runs fn until it succeeds, as an ACME client retries a failed
// order: up to 20 times, 200 ms apart.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for range 20 {
		if err = fn(); err == nil {
			return nil
		}
		retries.Add(1)
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return err
}

// base64URL decodes an EAB MAC key as printed (base64url, padded or not).
func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// Command acme measures certctl's ACME server with the stock
// golang.org/x/crypto/acme client: orders completed per second and p50/p90
// order latency at 1, 4, 8, 16 and 32 concurrent clients, plus the server's
// CPU time per order, against `certctl endpoint serve` on 127.0.0.1; with
// -postgres, against one server on PostgreSQL and -cluster servers on it
// behind haproxy (cluster.go); and against Pebble when `pebble` is on PATH.
// certctl and Pebble take turns: each level is -rounds rounds, each server
// running its share of the level's orders in every round (see measure).
//
//	go run ./bench/acme                      # builds certctl into a temp dir
//	go run ./bench/acme -certctl ./certctl -orders 400 -levels 1,8,32
//	go run ./bench/acme -inprocess -cpuprofile cpu.out   # server in this process, for pprof
//
// Everything lives in a temporary directory removed at the end; only
// loopback addresses are used; every level is bounded by -orders and
// -max-time, and the server is stopped by its PID.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
)

type options struct {
	certctl    string
	levels     []int
	orders     int
	maxTime    time.Duration
	inprocess  bool
	cpuprofile string
	pebble     string
	keep       bool
	postgres   string
	cluster    int
	poll       time.Duration
	rounds     int
}

func main() {
	var o options
	var levels string
	flag.StringVar(&o.certctl, "certctl", "", "certctl binary (default: go build ./cmd/certctl from the module root)")
	flag.StringVar(&levels, "levels", "1,4,8,16,32", "comma-separated numbers of concurrent clients")
	flag.IntVar(&o.orders, "orders", 300, "orders per level and server, over its rounds (a round also stops after -max-time)")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per level: the servers compared take turns, round by round")
	flag.DurationVar(&o.maxTime, "max-time", 30*time.Second, "time limit of one round of one level and server")
	flag.BoolVar(&o.inprocess, "inprocess", false, "run the ACME server inside this process (for -cpuprofile)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured levels to this file")
	flag.StringVar(&o.pebble, "pebble", "auto", `"auto" (run Pebble if on PATH), "off", or a pebble binary`)
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.StringVar(&o.postgres, "postgres", firstEnv("CERTCTL_BENCH_POSTGRES_URL", "CERTCTL_TEST_POSTGRES_URL"),
		"PostgreSQL `URL` for the cluster figures: one server, then -cluster servers behind haproxy, each on a fresh schema (\"off\": skip)")
	flag.IntVar(&o.cluster, "cluster", 2, "number of servers behind haproxy on PostgreSQL")
	flag.DurationVar(&o.poll, "poll", 10*time.Millisecond,
		"the longest wait between two polls of a pending authorization or processing order, instead of its Retry-After (whole seconds): the first look after acting on it is at once, then waits of poll/10 doubling up to poll; 0: honour Retry-After")
	flag.Parse()
	for _, s := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			fatalf("bad -levels entry %q", s)
		}
		o.levels = append(o.levels, n)
	}
	if o.cluster < 2 || o.cluster > 16 {
		fatalf("-cluster must be 2 to 16")
	}
	if o.orders < 1 || o.maxTime <= 0 || o.rounds < 1 {
		fatalf("-orders, -rounds and -max-time must be positive")
	}
	if err := run(o); err != nil {
		fatalf("%v", err)
	}
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench/acme: "+format+"\n", a...)
	os.Exit(1)
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

// target is an ACME server under test.
type target struct {
	name    string
	dirURL  string
	roots   *x509.CertPool
	eab     *acme.ExternalAccountBinding
	domain  string // orders ask for <label>.<domain>
	pid     int    // server process for CPU accounting (0: none)
	pids    []int  // server processes when several (CPU summed)
	lbPID   int    // balancer in front of them (its CPU reported apart)
	stop    func()
	samples []result
}

func run(o options) error {
	work, err := os.MkdirTemp("", "certctl-acme-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	if o.certctl == "" {
		if o.certctl, err = buildCertctl(work); err != nil {
			return err
		}
	}
	if o.cpuprofile != "" && !o.inprocess {
		logf("note: -cpuprofile profiles this process; with the server in a subprocess that is the clients only (use -inprocess)")
	}
	tg, err := startCertctl(o, work)
	if err != nil {
		return err
	}
	defer tg.stop()
	fmt.Printf("certctl %s (server %s)\n", tg.dirURL, map[bool]string{true: "in-process", false: fmt.Sprintf("pid %d", tg.pid)}[o.inprocess])
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Pebble, when there is one, is measured beside certctl, level by
	// level and round by round (see measure).
	var pt *target
	pebbleBin := ""
	switch o.pebble {
	case "off":
	case "auto":
		pebbleBin, _ = exec.LookPath("pebble")
	default:
		pebbleBin = o.pebble
	}
	if pebbleBin != "" {
		if pt, err = startPebble(pebbleBin, work); err != nil {
			fmt.Printf("pebble: unusable here: %v\n", err)
			pt = nil
		} else {
			defer pt.stop()
			fmt.Printf("pebble %s (pid %d; PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0; clients poll every %v)\n", pt.dirURL, pt.pid, o.poll)
		}
	}
	if err := measure(o, tg, pt); err != nil {
		return err
	}
	switch {
	case o.pebble == "off":
		fmt.Println("\npebble: skipped (-pebble off)")
	case pebbleBin == "":
		fmt.Println("\npebble: not installed (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1)")
	case pt != nil && len(pt.samples) > 0:
		printVersus(os.Stdout, tg, pt)
	}
	switch o.postgres {
	case "", "off":
		fmt.Println("\npostgres cluster: skipped (no -postgres URL, CERTCTL_BENCH_POSTGRES_URL or CERTCTL_TEST_POSTGRES_URL)")
	default:
		if err := measureCluster(o, work); err != nil {
			return err
		}
	}
	return nil
}

// printVersus sets certctl's figures beside Pebble's at each level with
// the ratios the aims are stated in (issue 15): CPU per order at most
// 1.0x Pebble's, orders/s at least 2x Pebble's (fast-poll client).
func printVersus(out io.Writer, c, p *target) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	fmt.Fprintf(w, "\ncertctl vs pebble (aims: cpu <= 1.0x, orders/s >= 2.0x)\n")
	fmt.Fprintf(w, "%7s %13s %12s %9s %4s %13s %12s %9s %4s\n",
		"clients", "certctl cpu", "pebble cpu", "ratio", "", "certctl ord/s", "pebble ord/s", "ratio", "")
	for _, rc := range c.samples {
		for _, rp := range p.samples {
			if rp.clients != rc.clients {
				continue
			}
			cpu, cpuOK := "n/a", ""
			if rc.cpuPerOrder > 0 && rp.cpuPerOrder > 0 {
				x := float64(rc.cpuPerOrder) / float64(rp.cpuPerOrder)
				cpu, cpuOK = fmt.Sprintf("%.2fx", x), verdict(x <= 1.0)
			}
			rate, rateOK := "n/a", ""
			if rc.rate() > 0 && rp.rate() > 0 {
				x := rc.rate() / rp.rate()
				rate, rateOK = fmt.Sprintf("%.2fx", x), verdict(x >= 2.0)
			}
			note := ""
			if rc.failed > 0 || rp.failed > 0 {
				// A level where orders failed (a server that stalled until
				// the time limit) is not a measure of either: no ratio.
				cpu, cpuOK, rate, rateOK = "n/a", "", "n/a", ""
				note = fmt.Sprintf(" (failed orders: certctl %d, pebble %d)", rc.failed, rp.failed)
			}
			fmt.Fprintf(w, "%7d %10s ms %9s ms %9s %4s %13.1f %12.1f %9s %4s%s\n", rc.clients,
				msOrNA(rc.cpuPerOrder), msOrNA(rp.cpuPerOrder), cpu, cpuOK, rc.rate(), rp.rate(), rate, rateOK, note)
		}
	}
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

func msOrNA(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return ms(d)
}

// rate is the orders completed per second of the level.
func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.done) / r.elapsed.Seconds()
}

// ---------------------------------------------------------------- certctl

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(data), "module github.com/certctl/certctl\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the certctl module, or give -certctl")
		}
		dir = parent
	}
}

func buildCertctl(work string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(work, "certctl")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/certctl")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	logf("building certctl...")
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/certctl: %w", err)
	}
	return bin, nil
}

// certctlEnv is an environment with the vault and config under work only.
func certctlEnv(work string) []string {
	env := []string{"CERTCTL_VAULT=" + filepath.Join(work, "vault"), "HOME=" + filepath.Join(work, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(work, "home", ".config"), "XDG_DATA_HOME=" + filepath.Join(work, "home", ".local", "share"),
		"NO_COLOR=1",
		// Every level's orders of one account would pass the default
		// 300 an hour (a level's first client runs the most).
		"CERTCTL_ACME_ORDERS_PER_HOUR=1000000"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CERTCTL_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") {
			env = append(env, kv)
		}
	}
	return env
}

func certctlOut(bin, work string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = certctlEnv(work)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("certctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startCertctl makes a vault with one endpoint, a reusable EAB credential
// and a pre-validated domain, then serves it.
func startCertctl(o options, work string) (*target, error) {
	out, err := certctlOut(o.certctl, work, "endpoint", "create", "--authorization-behavior", "PRE_APPROVED",
		"--contact", "NOT_REQUIRED", "--name", "bench", "-o", "text")
	if err != nil {
		return nil, err
	}
	arn := strings.TrimSpace(string(out))
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if out, err = certctlOut(o.certctl, work, "endpoint", "eab", "create", id, "--reusable", "-o", "json"); err != nil {
		return nil, err
	}
	var eab struct {
		ExternalAccountBinding struct{ KeyId, MacKey string }
	}
	if err := json.Unmarshal(out, &eab); err != nil {
		return nil, fmt.Errorf("eab create output: %v", err)
	}
	mac, err := base64.RawURLEncoding.DecodeString(eab.ExternalAccountBinding.MacKey)
	if err != nil {
		return nil, fmt.Errorf("eab MAC key: %v", err)
	}
	if _, err := certctlOut(o.certctl, work, "endpoint", "domain", "add", id, "bench.test", "--pre-validated"); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	tg := &target{name: "certctl", dirURL: "https://" + addr + "/" + id + "/directory", domain: "bench.test",
		eab: &acme.ExternalAccountBinding{KID: eab.ExternalAccountBinding.KeyId, Key: mac}}
	if o.inprocess {
		// The serving certificate is issued (and the trust bundle read)
		// by the in-process server's setup.
		if tg.roots, tg.stop, err = serveInProcess(filepath.Join(work, "vault"), addr); err != nil {
			return nil, err
		}
	} else {
		cmd := exec.Command(o.certctl, "endpoint", "serve", "--listen", addr)
		cmd.Env = certctlEnv(work)
		logFile, err := os.Create(filepath.Join(work, "serve.log"))
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		tg.pid = cmd.Process.Pid
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
		tg.stop = func() { stopPID(tg.pid, done) }
		// The serving certificate is issued at start from the vault's
		// default CA; the trust bundle exists once the server is up.
		if err := waitUp(tg.dirURL, nil, done); err != nil {
			tg.stop()
			log, _ := os.ReadFile(filepath.Join(work, "serve.log"))
			return nil, fmt.Errorf("certctl endpoint serve: %v\n%s", err, log)
		}
		pem, err := certctlOut(o.certctl, work, "ca", "trust-bundle")
		if err != nil {
			tg.stop()
			return nil, err
		}
		tg.roots = x509.NewCertPool()
		if !tg.roots.AppendCertsFromPEM(pem) {
			tg.stop()
			return nil, errors.New("empty trust bundle")
		}
	}
	if err := waitUp(tg.dirURL, tg.roots, nil); err != nil {
		tg.stop()
		return nil, err
	}
	return tg, nil
}

// stopPID sends SIGTERM to pid, then SIGKILL after 5 s, and waits for done.
func stopPID(pid int, done <-chan struct{}) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-done
	}
}

// waitUp polls the directory (TLS verified when roots is set) for up to 20 s.
func waitUp(url string, roots *x509.CertPool, died <-chan struct{}) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, InsecureSkipVerify: roots == nil}}} //nolint:gosec // readiness probe before the trust bundle exists
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-died:
			return errors.New("server exited")
		default:
		}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("directory: HTTP %d", resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not up after 20s: %v", last)
}

// cpuTicks is utime+stime of pid in clock ticks (/proc/<pid>/stat fields
// 14 and 15); -1 when unreadable.
func cpuTicks(pid int) int64 {
	if pid == 0 {
		return -1
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: split after its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return u + st
}

// cpuTicks is the CPU time of the target's server processes.
func (tg *target) cpuTicks() int64 {
	if len(tg.pids) == 0 {
		return cpuTicks(tg.pid)
	}
	var sum int64
	for _, p := range tg.pids {
		t := cpuTicks(p)
		if t < 0 {
			return -1
		}
		sum += t
	}
	return sum
}

// clkTck is the kernel's USER_HZ (100 on every Linux architecture Go
// supports; getconf is asked when present).
func clkTck() int64 {
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}

// ---------------------------------------------------------------- clients

// countingTransport counts the HTTP requests a client makes and the time
// it sleeps between polls. With poll set it makes the stock client poll
// like a fast client:
//   - a response that leaves the client to poll (a pending authorization
//     or a processing order, or any answer with a Retry-After) is handed on
//     at once with a Retry-After in the past, so the client asks again at
//     once rather than after the whole seconds its Retry-After allows (or
//     the second it waits when there is none);
//   - a POST that asks again for the URL whose answer was just such a
//     response (the same URL, no other POST in between) is a repeat poll:
//     it is held until a wait has passed since that answer, a wait that
//     starts at poll/10 and doubles, up to poll, while the resource stays
//     pending (a server that is done a millisecond after it answered is
//     not charged the whole interval, and one that takes long is not
//     polled at a millisecond's pace); the first look at a resource after
//     acting on it is never held.
//
// Holding every pending answer instead put four waits of poll into each of
// Pebble's orders (its new order, its authorization, the challenge and
// finalize all answer pending or processing), 40 ms of sleep an order at
// 10 ms that were the client's, not Pebble's; and a fixed wait of poll for
// every repeat charged Pebble ~8 ms an order, since it issues a millisecond
// or two after it answers finalize "processing". Requests other than POST
// (the client's HEAD for a nonce) neither count as a poll nor interrupt
// one. One transport serves one client, whose requests follow one another.
type countingTransport struct {
	base  http.RoundTripper
	n     *atomic.Int64
	slept *atomic.Int64 // nanoseconds slept before repeat polls (nil: not counted)
	poll  time.Duration

	sleep func(time.Duration) // time.Sleep when nil (a test's recorder)

	mu       sync.Mutex
	lastURL  string        // the URL of the previous answer that left the client to poll
	lastWait time.Time     // when that answer came
	wait     time.Duration // the wait before the next repeat poll of lastURL
}

// pastDate is a Retry-After the client reads as "at once".
const pastDate = "Mon, 01 Jan 2001 00:00:00 GMT"

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	url := r.URL.String()
	post := r.Method == http.MethodPost
	if t.poll > 0 && post {
		t.mu.Lock()
		repeat, since, wait := t.lastURL == url, time.Since(t.lastWait), t.wait
		if repeat {
			t.wait = min(2*wait, t.poll)
		} else {
			t.wait = max(t.poll/10, 1)
		}
		t.lastURL = "" // set again below if this answer too leaves the client to poll
		t.mu.Unlock()
		if repeat && since < wait {
			d := wait - since
			if t.slept != nil {
				t.slept.Add(int64(d))
			}
			if t.sleep != nil {
				t.sleep(d)
			} else {
				time.Sleep(d)
			}
		}
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil || t.poll <= 0 || resp.StatusCode >= 300 {
		return resp, err
	}
	wait := resp.Header.Get("Retry-After") != ""
	if !wait && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var st struct{ Status string }
		wait = json.Unmarshal(body, &st) == nil && (st.Status == "pending" || st.Status == "processing")
	}
	if wait {
		resp.Header.Set("Retry-After", pastDate)
		if post {
			t.mu.Lock()
			t.lastURL, t.lastWait = url, time.Now()
			t.mu.Unlock()
		}
	}
	return resp, nil
}

// newClient is one stock client with its own connection and account key.
func newClient(tg *target, requests, slept *atomic.Int64, poll time.Duration) (*acme.Client, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tg.roots}, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}
	return &acme.Client{Key: key, DirectoryURL: tg.dirURL, UserAgent: "certctl-bench",
		HTTPClient: &http.Client{Transport: &countingTransport{base: tr, n: requests, slept: slept, poll: poll}, Timeout: time.Minute}}, nil
}

// order runs one complete order for name: new order, authorizations
// (accepting a challenge where one is pending, as for Pebble), finalize
// (the client polls the order if it is not valid at once) and download.
func order(ctx context.Context, c *acme.Client, name string) error {
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
	if err != nil {
		return fmt.Errorf("new order: %w", err)
	}
	for _, u := range o.AuthzURLs {
		z, err := c.GetAuthorization(ctx, u)
		if err != nil {
			return fmt.Errorf("authorization: %w", err)
		}
		if z.Status == acme.StatusValid {
			continue
		}
		var ch *acme.Challenge
		for _, x := range z.Challenges {
			if x.Type == "http-01" || ch == nil && x.Type == "dns-01" {
				ch = x
			}
		}
		if ch == nil {
			return fmt.Errorf("authorization %s has no usable challenge", z.Status)
		}
		if _, err := c.Accept(ctx, ch); err != nil {
			return fmt.Errorf("accept challenge: %w", err)
		}
		if _, err := c.WaitAuthorization(ctx, u); err != nil {
			return fmt.Errorf("wait authorization: %w", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return err
	}
	ders, _, err := c.CreateCertFromOrder(ctx, o, csr, true)
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if len(ders) == 0 {
		return errors.New("finalize: no certificate")
	}
	return nil
}

// result is the outcome of one level (its rounds added up).
type result struct {
	clients, done, failed int
	elapsed               time.Duration
	lat                   []time.Duration // of the orders done; finish sorts it
	p50, p90, max         time.Duration
	cpuPerOrder           time.Duration // -1: unknown
	lbCPUPerOrder         time.Duration // the balancer's; -1: none
	requestsPerOrder      float64
	sleptPerOrder         time.Duration // the clients' sleep before repeat polls
	firstErr              error
}

// bench is one target made ready to order: its accounts registered and
// warmed up.
type bench struct {
	tg       *target
	clients  []*acme.Client
	requests *atomic.Int64
	slept    *atomic.Int64 // nanoseconds the clients slept before repeat polls
	stopped  bool          // a level failed orders: no larger level runs
}

// prepare registers the largest level's accounts on tg and warms each up.
func prepare(o options, tg *target) (*bench, error) {
	ctx := context.Background()
	b := &bench{tg: tg, requests: new(atomic.Int64), slept: new(atomic.Int64)}
	maxN := slices.Max(o.levels)
	b.clients = make([]*acme.Client, maxN)
	regStart := time.Now()
	for i := range b.clients {
		c, err := newClient(tg, b.requests, b.slept, o.poll)
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = c.Register(rctx, &acme.Account{Contact: []string{"mailto:bench@bench.test"}, ExternalAccountBinding: tg.eab}, acme.AcceptTOS)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: register account %d: %w", tg.name, i+1, err)
		}
		b.clients[i] = c
	}
	logf("%s: registered %d accounts in %v", tg.name, maxN, time.Since(regStart).Round(time.Millisecond))
	// One warm-up order per client, one client at a time (the first
	// levels measured are the small ones; Pebble has stalled under 32 at
	// once): TLS sessions, directory, first nonce.
	for i := range b.clients {
		if err := runLevel(ctx, b.clients[i:i+1], tg, "warm", 1, 1, o.maxTime, &result{}); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// tally is what the rounds of one level add up: CPU ticks of the server(s)
// and of the balancer (-1: unknown) and requests sent.
type tally struct {
	ticks, lbTicks, requests, slept int64
}

// round runs one round of level n (orders orders) on b, adding to r and t.
func (b *bench) round(o options, n, orders, round int, r *result, t *tally) error {
	tg := b.tg
	before, lb0, req0, slept0 := tg.cpuTicks(), cpuTicks(tg.lbPID), b.requests.Load(), b.slept.Load()
	if err := runLevel(context.Background(), b.clients[:n], tg, fmt.Sprintf("c%dr%d", n, round), orders, n, o.maxTime, r); err != nil {
		return err
	}
	after, lb1 := tg.cpuTicks(), cpuTicks(tg.lbPID)
	if before < 0 || after < 0 {
		t.ticks = -1
	} else if t.ticks >= 0 {
		t.ticks += after - before
	}
	if lb0 < 0 || lb1 < 0 {
		t.lbTicks = -1
	} else if t.lbTicks >= 0 {
		t.lbTicks += lb1 - lb0
	}
	t.requests += b.requests.Load() - req0
	t.slept += b.slept.Load() - slept0
	return nil
}

// measure runs each level on each target, the targets taking turns: a
// level is o.rounds rounds, and in each round every target runs its share
// of the level's orders, the first target first in odd rounds and last in
// even ones. A machine whose speed drifts (a VM's neighbours, CPU
// frequency) then drifts under every target alike, where one target's
// levels run all before another's would give their ratio that drift. A
// target's figures at a level are its rounds summed: CPU time over orders,
// orders over time. A target whose level failed orders runs no larger
// level.
//
// The first target is the one under test: its failing to get ready is an
// error. The others are peers (nil: none): one that fails to get ready is
// reported and left out, since a peer failing is not certctl's failure.
func measure(o options, tgs ...*target) error {
	hz := clkTck()
	var benches []*bench
	var shown []*target
	for i, tg := range tgs {
		if tg == nil {
			continue
		}
		b, err := prepare(o, tg)
		if err != nil && i == 0 {
			return err
		}
		if err != nil {
			fmt.Printf("\n%s: failed: %v\n", tg.name, err)
			continue
		}
		benches = append(benches, b)
		shown = append(shown, tg)
	}
	perRound := (o.orders + o.rounds - 1) / o.rounds
	for _, n := range o.levels {
		rs := make([]result, len(benches))
		ts := make([]tally, len(benches))
		for i := range rs {
			rs[i] = result{clients: n, cpuPerOrder: -1, lbCPUPerOrder: -1}
		}
		for round := 1; round <= o.rounds; round++ {
			for k := range benches {
				i := k
				if round%2 == 0 {
					i = len(benches) - 1 - k
				}
				if b := benches[i]; !b.stopped && rs[i].failed == 0 {
					if err := b.round(o, n, perRound, round, &rs[i], &ts[i]); err != nil {
						return err
					}
				}
			}
		}
		for i, b := range benches {
			if b.stopped {
				continue
			}
			r, t := &rs[i], ts[i]
			r.finish()
			if t.ticks >= 0 && r.done > 0 {
				r.cpuPerOrder = time.Duration(t.ticks*int64(time.Second)/hz) / time.Duration(r.done)
			}
			if t.lbTicks >= 0 && b.tg.lbPID > 0 && r.done > 0 {
				r.lbCPUPerOrder = time.Duration(t.lbTicks*int64(time.Second)/hz) / time.Duration(r.done)
			}
			if r.done > 0 {
				r.requestsPerOrder = float64(t.requests) / float64(r.done)
				r.sleptPerOrder = time.Duration(t.slept / int64(r.done))
			}
			b.tg.samples = append(b.tg.samples, *r)
			logf("%s: %d clients: %d orders, %d failed in %v (%d rounds)", b.tg.name, n, r.done, r.failed, r.elapsed.Round(time.Millisecond), o.rounds)
			if r.failed > 0 {
				// A server that failed orders (stalled until the time limit)
				// would fail the larger levels too, a minute and a half each.
				logf("%s: stopping after %d clients: %v", b.tg.name, n, r.firstErr)
				b.stopped = true
			}
		}
	}
	for _, tg := range shown {
		fmt.Println()
		printTable(tg)
	}
	return nil
}

// runLevel runs total orders over the clients (n at a time), stopping
// early after maxTime, and adds its orders, failures, time and latencies
// to r.
func runLevel(ctx context.Context, clients []*acme.Client, tg *target, tag string, total, n int, maxTime time.Duration, r *result) error {
	var next atomic.Int64
	var mu sync.Mutex
	deadline := time.Now().Add(maxTime)
	lctx, cancel := context.WithDeadline(ctx, deadline.Add(30*time.Second))
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < n && w < len(clients); w++ {
		wg.Add(1)
		go func(c *acme.Client, w int) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) || time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				err := order(lctx, c, fmt.Sprintf("%s-%d-%d.%s", tag, w, i, tg.domain))
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					r.failed++
					if r.firstErr == nil {
						r.firstErr = err
					}
				} else {
					r.done++
					r.lat = append(r.lat, d)
				}
				mu.Unlock()
			}
		}(clients[w], w)
	}
	wg.Wait()
	r.elapsed += time.Since(start)
	if r.failed > 0 && tag == "warm" {
		return fmt.Errorf("%s: warm-up: %d of %d orders failed: %v", tg.name, r.failed, r.failed+r.done, r.firstErr)
	}
	return nil
}

// finish sets r's latency percentiles from the orders of all its rounds.
func (r *result) finish() {
	if len(r.lat) > 0 {
		slices.Sort(r.lat)
		r.p50, r.p90, r.max = pct(r.lat, 50), pct(r.lat, 90), r.lat[len(r.lat)-1]
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

func printTable(tg *target) {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "%-8s %7s %7s %6s %9s %9s %9s %9s %11s %9s %11s\n",
		"server", "clients", "orders", "errors", "orders/s", "p50 ms", "p90 ms", "max ms", "cpu ms/ord", "req/ord", "poll ms/ord")
	for _, r := range tg.samples {
		rate := r.rate()
		cpu := "n/a"
		if r.cpuPerOrder >= 0 {
			cpu = ms(r.cpuPerOrder)
		}
		if r.lbCPUPerOrder >= 0 {
			cpu += " +lb " + ms(r.lbCPUPerOrder)
		}
		fmt.Fprintf(w, "%-8s %7d %7d %6d %9.1f %9s %9s %9s %11s %9.1f %11s\n",
			tg.name, r.clients, r.done, r.failed, rate, ms(r.p50), ms(r.p90), ms(r.max), cpu, r.requestsPerOrder, ms(r.sleptPerOrder))
		if r.firstErr != nil {
			fmt.Fprintf(w, "         first error: %v\n", r.firstErr)
		}
	}
}

// ---------------------------------------------------------------- pebble

// startPebble runs Pebble on loopback with a serving certificate made here
// (go install does not fetch Pebble's test certificates).
func startPebble(bin, work string) (*target, error) {
	dir := filepath.Join(work, "pebble")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	roots, err := writeServingPair(dir)
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	mgmt, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": addr, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"domainBlocklist": []string{}, "retryAfter": map[string]int{"authz": 1, "order": 1},
		"certificateValidityPeriod": 7776000,
	}}
	data, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-config", cfgPath, "-dnsserver", "127.0.0.1:1")
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	logFile, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	tg := &target{name: "pebble", dirURL: "https://" + addr + "/dir", roots: roots, domain: "bench.test", pid: cmd.Process.Pid}
	tg.stop = func() { stopPID(tg.pid, done) }
	if err := waitUp(tg.dirURL, roots, done); err != nil {
		tg.stop()
		log, _ := os.ReadFile(filepath.Join(dir, "pebble.log"))
		return nil, fmt.Errorf("%v\n%s", err, log)
	}
	return tg, nil
}

// writeServingPair writes a self-signed 127.0.0.1 certificate and key for
// Pebble's listener and returns a pool that trusts it.
func writeServingPair(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, big128())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	tmpl.Subject.CommonName = "certctl bench pebble listener"
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pemBlock("CERTIFICATE", der), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pemBlock("PRIVATE KEY", kder), 0o600); err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool, nil
}

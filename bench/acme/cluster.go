package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/acme"
)

// Several servers on one PostgreSQL database behind haproxy (http mode,
// every request balanced round robin on its own server connection), beside
// one server on the same kind of database: what a second server adds.

// pgSchema creates a uniquely named schema in the database at base and
// returns a store URL selecting it and a function dropping it.
func pgSchema(base string) (string, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "certctl_bench_" + hex.EncodeToString(b[:])
	admin := func(ctx context.Context, q string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, q)
		return err
	}
	if err := admin(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			logf("dropping schema %s: %v", name, err)
		}
	}
	return u.String(), drop, nil
}

// setupEndpoint makes the bench endpoint, a reusable EAB credential and
// the pre-validated domain in the vault of env, and returns the endpoint ID
// and credential.
func setupEndpoint(bin string, env []string) (string, *acme.ExternalAccountBinding, error) {
	out, err := certctlEnvOut(bin, env, "endpoint", "create", "--authorization-behavior", "PRE_APPROVED",
		"--contact", "NOT_REQUIRED", "--name", "bench", "-o", "text")
	if err != nil {
		return "", nil, err
	}
	arn := strings.TrimSpace(string(out))
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if out, err = certctlEnvOut(bin, env, "endpoint", "eab", "create", id, "--reusable", "-o", "json"); err != nil {
		return "", nil, err
	}
	var eab struct {
		ExternalAccountBinding struct{ KeyId, MacKey string }
	}
	if err := json.Unmarshal(out, &eab); err != nil {
		return "", nil, fmt.Errorf("eab create output: %v", err)
	}
	mac, err := base64.RawURLEncoding.DecodeString(eab.ExternalAccountBinding.MacKey)
	if err != nil {
		return "", nil, fmt.Errorf("eab MAC key: %v", err)
	}
	if _, err := certctlEnvOut(bin, env, "endpoint", "domain", "add", id, "bench.test", "--pre-validated"); err != nil {
		return "", nil, err
	}
	return id, &acme.ExternalAccountBinding{KID: eab.ExternalAccountBinding.KeyId, Key: mac}, nil
}

func certctlEnvOut(bin string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("certctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// startPGCluster serves a fresh vault on the PostgreSQL store storeURL with
// n `endpoint serve` processes; n > 1 puts haproxy in front of them. The
// target's CPU is the servers' (haproxy's is reported apart).
func startPGCluster(o options, work, storeURL string, n int, haproxy string) (*target, error) {
	dir := filepath.Join(work, fmt.Sprintf("pg%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	env := append(certctlEnv(dir), "CERTCTL_STORE="+storeURL)
	id, eab, err := setupEndpoint(o.certctl, env)
	if err != nil {
		return nil, err
	}
	lb, err := freePort()
	if err != nil {
		return nil, err
	}
	name := "pg-1"
	if n > 1 {
		name = fmt.Sprintf("pg-%d+lb", n)
	}
	tg := &target{name: name, domain: "bench.test", eab: eab}
	var stops []func()
	tg.stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	var backends strings.Builder
	var first string
	for i := range n {
		addr, err := freePort()
		if err != nil {
			tg.stop()
			return nil, err
		}
		senv := env
		if n > 1 {
			senv = append(senv[:len(senv):len(senv)], "CERTCTL_ENDPOINT_BASE_URL=https://"+lb)
		}
		cmd := exec.Command(o.certctl, "endpoint", "serve", "--listen", addr)
		cmd.Env = senv
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("serve%d.log", i)))
		if err != nil {
			tg.stop()
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			tg.stop()
			return nil, err
		}
		pid := cmd.Process.Pid
		tg.pids = append(tg.pids, pid)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
		stops = append(stops, func() { stopPID(pid, done) })
		if err := waitUp("https://"+addr+"/healthz", nil, done); err != nil {
			tg.stop()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("certctl endpoint serve: %v\n%s", err, log)
		}
		fmt.Fprintf(&backends, "    server s%d %s ssl verify none check inter 1s\n", i, addr)
		if first == "" {
			first = addr
		}
	}
	pem, err := certctlEnvOut(o.certctl, env, "ca", "trust-bundle")
	if err != nil {
		tg.stop()
		return nil, err
	}
	if n == 1 {
		tg.dirURL = "https://" + first + "/" + id + "/directory"
		tg.roots = newPool(pem)
	} else {
		// haproxy's own certificate: a self-signed one for 127.0.0.1.
		hdir := filepath.Join(dir, "haproxy")
		if err := os.MkdirAll(hdir, 0o700); err != nil {
			tg.stop()
			return nil, err
		}
		roots, err := writeServingPair(hdir)
		if err != nil {
			tg.stop()
			return nil, err
		}
		c, _ := os.ReadFile(filepath.Join(hdir, "cert.pem"))
		k, _ := os.ReadFile(filepath.Join(hdir, "key.pem"))
		fe := filepath.Join(hdir, "frontend.pem")
		if err := os.WriteFile(fe, append(c, k...), 0o600); err != nil {
			tg.stop()
			return nil, err
		}
		cfg := fmt.Sprintf(`global
    maxconn 2048
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-server-close
    http-reuse never
frontend acme
    bind %s ssl crt %s
    default_backend servers
backend servers
    balance roundrobin
    option httpchk GET /healthz
%s`, lb, fe, backends.String())
		cfgFile := filepath.Join(hdir, "haproxy.cfg")
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			tg.stop()
			return nil, err
		}
		cmd := exec.Command(haproxy, "-db", "-f", cfgFile)
		logFile, err := os.Create(filepath.Join(hdir, "haproxy.log"))
		if err != nil {
			tg.stop()
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			tg.stop()
			return nil, err
		}
		tg.lbPID = cmd.Process.Pid
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
		stops = append(stops, func() { stopPID(tg.lbPID, done) })
		tg.dirURL = "https://" + lb + "/" + id + "/directory"
		tg.roots = roots
	}
	if err := waitUp(tg.dirURL, tg.roots, nil); err != nil {
		tg.stop()
		return nil, err
	}
	return tg, nil
}

// measureCluster measures one server and n servers behind haproxy, each on
// a fresh schema of the PostgreSQL database at o.postgres.
func measureCluster(o options, work string) error {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		fmt.Println("\npostgres cluster: haproxy not installed (apt-get install haproxy)")
		return nil
	}
	for _, n := range []int{1, o.cluster} {
		storeURL, drop, err := pgSchema(o.postgres)
		if err != nil {
			return err
		}
		tg, err := startPGCluster(o, work, storeURL, n, haproxy)
		if err != nil {
			drop()
			return err
		}
		what := "one server, direct"
		if n > 1 {
			what = fmt.Sprintf("%d servers behind haproxy (http mode, roundrobin per request; haproxy pid %d)", n, tg.lbPID)
		}
		fmt.Printf("\n%s on PostgreSQL: %s %s, server pids %v\n", tg.name, what, tg.dirURL, tg.pids)
		err = measure(o, tg)
		tg.stop()
		drop()
		if err != nil {
			return err
		}
	}
	return nil
}

func newPool(pem []byte) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		logf("warning: empty trust bundle")
	}
	return p
}

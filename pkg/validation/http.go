package validation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// HTTP check limits.
const (
	MaxHTTPRedirects = 10
	MaxHTTPBody      = 64 << 10
	HTTPTimeout      = 10 * time.Second
)

// wellKnownPath is where RedirectFrom files live.
const wellKnownPath = "/.well-known/pki-validation/"

// httpContentKey names the expected content of name's file in
// Certificate.Extra.
func httpContentKey(name string) string { return "validation.http." + name }

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// CheckHTTPBaseURL checks validation.http_base_url before HTTP validation
// is used.
func CheckHTTPBaseURL(base string) error {
	if base == "" {
		return errors.New("HTTP validation needs validation.http_base_url: the URL under which `certctl validate serve-http` is reachable")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("validation.http_base_url %q is not an http(s) URL", base)
	}
	return nil
}

// NewHTTPChallenge makes the redirect and the content proving control of
// name: RedirectFrom http://<name>/.well-known/pki-validation/<x>.txt must
// lead (by redirects) to RedirectTo <base>/<x>.txt, served by `validate
// serve-http`, whose body is content.
func NewHTTPChallenge(base, name string) (from, to, content string, err error) {
	if dnsname.IsWildcard(name) {
		return "", "", "", fmt.Errorf("%s: a wildcard name cannot be validated by HTTP (use DNS)", name)
	}
	x, err := randomHex(16)
	if err != nil {
		return "", "", "", err
	}
	if content, err = randomHex(32); err != nil {
		return "", "", "", err
	}
	from = "http://" + name + wellKnownPath + x + ".txt"
	to = strings.TrimSuffix(base, "/") + "/" + x + ".txt"
	return from, to, content, nil
}

// HTTPChecker fetches RedirectFrom URLs, resolving their host through the
// validation resolvers and connecting on the configured port.
type HTTPChecker struct {
	Resolver *Resolver
	// Port replaces port 80 when connecting to the validated name.
	Port int
	// Timeout bounds one check (all redirects); 0 means HTTPTimeout.
	Timeout time.Duration
	// StandardPortsOnly follows redirects to http and https URLs on ports
	// 80 and 443 only (ACME http-01, RFC 8555 section 8.3, as Let's
	// Encrypt does): a client must not be able to point the validator's
	// requests at any port of any host. Port 80 of the validated name is
	// still Port.
	StandardPortsOnly bool
	// Logf, when set, is told of a panic while connecting, with its
	// stack; the check fails with "internal error" only.
	Logf func(format string, a ...any)
}

// Check fetches from (following at most MaxHTTPRedirects redirects) and
// compares its body, without surrounding white space, with content. It
// returns whether it matched and, when not, why. Failures of the fetch are
// reasons, not errors: the user may fix them before the timeout.
func (h *HTTPChecker) Check(ctx context.Context, name, from, content string) (bool, string) {
	body, f := h.Fetch(ctx, name, from)
	if f != nil {
		return false, f.Detail
	}
	if strings.TrimSpace(string(body)) != content {
		return false, fmt.Sprintf("GET %s: the content does not match the expected token", from)
	}
	return true, ""
}

// lookupError is a failure to resolve a host name while fetching.
type lookupError struct{ err error }

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

// Fetch GETs from, following at most MaxHTTPRedirects redirects, resolving
// host names through the resolver and connecting to name on Port instead
// of 80, and returns the body of a 200 answer (at most MaxHTTPBody bytes).
// A failure says why, with its ACME problem type: dns (a name does not
// resolve), connection (no answer), unauthorized (an answer other than
// 200) or incorrectResponse (a body too large).
func (h *HTTPChecker) Fetch(ctx context.Context, name, from string) ([]byte, *ChallengeFailure) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = HTTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dialer := &net.Dialer{}
	tr := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (_ net.Conn, err error) {
			// http.Transport dials in a goroutine of its own, where
			// nothing recovers: a panic resolving or connecting would
			// end the whole process (`certctl endpoint serve` with it),
			// so it fails this fetch instead.
			defer func() {
				if p := recover(); p != nil {
					if h.Logf != nil {
						h.Logf("validation: panic connecting to %s: %v\n%s", addr, p, debug.Stack())
					}
					err = fmt.Errorf("internal error connecting to %s", addr)
				}
			}()
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if strings.EqualFold(host, name) && port == "80" && h.Port > 0 {
				port = strconv.Itoa(h.Port)
			}
			ips, err := h.Resolver.LookupIP(ctx, host)
			if err != nil {
				return nil, &lookupError{err}
			}
			var lastErr error
			for _, ip := range ips {
				c, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				if err == nil {
					return c, nil
				}
				lastErr = err
			}
			return nil, lastErr
		},
		ResponseHeaderTimeout: timeout,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxHTTPRedirects {
				return fmt.Errorf("more than %d redirects", MaxHTTPRedirects)
			}
			if h.StandardPortsOnly {
				return checkRedirectTarget(req.URL)
			}
			return nil
		},
	}
	fail := func(problem, format string, a ...any) ([]byte, *ChallengeFailure) {
		return nil, &ChallengeFailure{Problem: problem, Detail: fmt.Sprintf(format, a...)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, from, nil)
	if err != nil {
		return fail(ProblemMalformed, "GET %s: %v", from, err)
	}
	req.Header.Set("User-Agent", "certctl-validation")
	resp, err := client.Do(req)
	if err != nil {
		var le *lookupError
		if errors.As(err, &le) {
			return fail(ProblemDNS, "GET %s: %v", from, le.err)
		}
		return fail(ProblemConnection, "GET %s: %v", from, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(ProblemUnauthorized, "GET %s: %s answered %s", from, resp.Request.URL.Redacted(), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPBody+1))
	if err != nil {
		return fail(ProblemConnection, "GET %s: %v", from, err)
	}
	if len(body) > MaxHTTPBody {
		return fail(ProblemIncorrectResponse, "GET %s: the response is larger than %d KiB", from, MaxHTTPBody>>10)
	}
	return body, nil
}

// checkRedirectTarget admits a redirect of an ACME http-01 check: to an
// http URL on port 80 or an https URL on port 443.
func checkRedirectTarget(u *url.URL) error {
	want := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	if want == "" {
		return fmt.Errorf("redirect to %s: only http on port 80 and https on port 443 are followed", u.Redacted())
	}
	if p := u.Port(); p != "" && p != want {
		return fmt.Errorf("redirect to %s: only http on port 80 and https on port 443 are followed", u.Redacted())
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// HTTPHandler serves the content of every pending HTTP validation, and of
// every name of an ISSUED certificate validated by HTTP (its renewal checks
// the redirect again: Recheck), at the last path segment of its RedirectTo
// (`<x>.txt`), whatever the prefix, so it works behind a reverse proxy that
// maps validation.http_base_url. As in ACM, the RedirectTo of an issued
// certificate stays in place; once the certificate is revoked, expired (by
// now's clock: before a pass marks it EXPIRED) or gone, it is no longer
// served.
func HTTPHandler(st localstore.Store, now func() time.Time) http.Handler {
	files := &httpFiles{st: st, now: now}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		file := path.Base(r.URL.Path)
		if len(file) != 36 || !strings.HasSuffix(file, ".txt") {
			http.NotFound(w, r)
			return
		}
		content, err := files.content(r.Context(), file)
		if err != nil {
			http.Error(w, "vault unavailable", http.StatusServiceUnavailable)
			return
		}
		if content == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, content)
	})
}

// httpFiles finds the certificate whose validation a file name is, through
// an index of file names (file → certificate ID) read from the vault, so
// that a GET reads one certificate rather than every ISSUED-type one: a
// `renew --due` over n HTTP-validated certificates makes n GETs, which
// scanning would make n² record reads (review). A file comes to exist only
// through a recorded change (a request, whose audit record it follows), so
// the index is read again only on a miss, and only when the audit log has
// grown since it was read: a name that is not any validation's (a guess)
// costs one read of the last audit record, and guesses force at most one
// read of the index per record written meanwhile. What a hit names is checked on
// the certificate as it is now (servedContent), so a certificate revoked,
// expired, renewed to other validations or gone is not served from the
// index.
type httpFiles struct {
	st  localstore.Store
	now func() time.Time
	// scans counts the index's reads (tests).
	scans atomic.Int64

	mu    sync.Mutex
	ids   map[string]string // file name → certificate ID
	atSeq int64             // the last audit seq when ids was read
}

// content is the content to serve for file, "" when none.
func (h *httpFiles) content(ctx context.Context, file string) (string, error) {
	var content string
	now := h.now()
	err := h.st.View(ctx, func(tx localstore.Tx) error {
		h.mu.Lock()
		id, ok := h.ids[file]
		h.mu.Unlock()
		if ok {
			c, err := tx.GetCertificate(id)
			if err != nil && !errors.Is(err, localstore.ErrNotFound) {
				return err
			}
			if err == nil {
				if content = servedContent(c, file, now); content != "" {
					return nil
				}
			}
		}
		seq, err := lastAuditSeq(tx)
		if err != nil {
			return err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.ids != nil && seq == h.atSeq {
			return nil // nothing recorded since the index was read
		}
		// Domain-validated certificates only: ACME ones are ISSUED-type
		// too, but keyed by their client and validated by challenges
		// (review: a busy endpoint's certificates made each read of the
		// index as long as the vault's issued list).
		certs, err := tx.ListCertificates(localstore.CertificateFilter{Types: []string{inventory.TypeIssued},
			Origins:  []string{inventory.OriginVault},
			Statuses: []string{inventory.StatusPendingValidation, inventory.StatusIssued}})
		if err != nil {
			return err
		}
		h.scans.Add(1)
		ids := make(map[string]string, len(certs))
		for _, c := range certs {
			for _, v := range c.Validations {
				if v.Method == MethodHTTP && v.RedirectTo != "" {
					ids[path.Base(v.RedirectTo)] = c.ID
				}
			}
			if content == "" {
				content = servedContent(c, file, now)
			}
		}
		h.ids, h.atSeq = ids, seq
		return nil
	})
	return content, err
}

// servedContent is the content c serves at file at now, "" when none: a
// request serves its names still pending, an issued certificate every
// name, whatever its renewal found, until it expires (tester: served
// until a pass marked it EXPIRED).
func servedContent(c *localstore.Certificate, file string, now time.Time) string {
	if c.Type != inventory.TypeIssued || c.KeyPairOrigin != inventory.OriginVault {
		return ""
	}
	issued := c.Status == inventory.StatusIssued
	if issued && !c.NotAfter.IsZero() && !now.Before(c.NotAfter) {
		return ""
	}
	if !issued && c.Status != inventory.StatusPendingValidation {
		return ""
	}
	for _, v := range c.Validations {
		if v.Method == MethodHTTP && (issued || v.Status == StatusPending) && path.Base(v.RedirectTo) == file {
			return c.Extra[httpContentKey(v.DomainName)]
		}
	}
	return ""
}

// lastAuditSeq is the seq of the vault's last audit record, 0 when it has
// none.
func lastAuditSeq(tx localstore.Tx) (int64, error) {
	r, err := tx.LastAudit()
	if errors.Is(err, localstore.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return r.Seq, nil
}

// Package acmeserver is certctl's RFC 8555 ACME server: one directory per
// ACME endpoint of the vault, accounts bound by external account binding,
// pre-approved authorizations, synchronous finalization from the
// endpoint's vault CA or else the public-style CA, with the order's profile
// (acme-profiles draft: classic, tlsserver, shortlived), certificate
// download and revocation, and ACME Renewal Information (RFC 9773) with
// replacement orders. It serves the vault's CRL/OCSP responder and
// Prometheus counters beside them.
//
// Handlers are split by resource: directory and nonces, accounts, key
// change, orders and authorizations, challenges (challenge.go: on a
// CHALLENGE endpoint, names not pre-approved get http-01, dns-01 and
// tls-alpn-01 challenges, checked for real by pkg/validation, their state
// in the store), finalization, certificates and revocation, renewal
// information (renewalinfo.go). Every request
// body is read through http.MaxBytesReader and every JWS is checked
// (algorithm allow-list, url, single-use nonce, jwk or kid) in jws.go
// before a handler sees its payload.
//
// Every write is a change of the service core it is given (service.Core,
// see Server.change): one transaction with its events and its audit record,
// made by the ACME account that asked (NewAccount, UpdateAccount,
// DeactivateAccount, KeyChange, NewOrder, DeactivateAuthorization,
// FinalizeOrder, RevokeCertificate, RespondToChallenge, ValidateChallenge,
// InvalidateOrder); what the server keeps for itself — redeemed nonces, the
// count of failed issuances — is written unrecorded. A rule that
// refuses a request inside a change returns its problem through refuse, so
// that the refusal is recorded too; so is one found before the change
// (refused: a change aimed at another account's account, order or
// authorization, a status or validity the rules refuse, a key change
// naming another account or key), and a change asked for by a
// deactivated account, once its signature and nonce check (refuseAccount).
// A body that does not parse (malformed JSON, a certificate or inner JWS
// that does not decode or verify) is no change asked for, and not recorded.
// Requests that fail authentication record nothing: anyone can send them,
// and they would flood the log. `endpoint serve` gets its server from
// the endpoints service (pkg/service/endpoints).
package acmeserver

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/httpserve"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
)

// DefaultMaxBody is the largest request body accepted (64 KiB).
const DefaultMaxBody = 64 << 10

// Lifetimes of ACME objects.
const (
	OrderLifetime = 7 * 24 * time.Hour
	NonceLifetime = time.Hour
)

// Config configures a Server.
type Config struct {
	// Core is the service core the server makes its changes through: every
	// write is a recorded change (service.Core.Change) made by the ACME
	// account that asked, whose events the core delivers to the hook after
	// commit. Its Vault, Authority, Names and Now are the server's too.
	Core *service.Core
	// BaseURL is the scheme://host[:port] of the ACME URLs; empty derives it
	// from each request's Host (https).
	BaseURL string
	// Validity of issued certificates (certificate_validity).
	Validity time.Duration
	// DomainsPerCertificate is the quota of names of one order.
	DomainsPerCertificate int
	// Limits are the rate limits (acme.orders_per_hour,
	// acme.new_accounts_per_hour), shared through the store.
	Limits Limits
	// MaxBody bounds request bodies; 0 means DefaultMaxBody.
	MaxBody int64
	// Challenges checks the challenges of CHALLENGE endpoints
	// (validation.resolvers, validation.http_port, validation.tls_alpn_port,
	// validation.caa_identities); nil uses the system's resolvers and the
	// default ports.
	Challenges *validation.ChallengeChecker
	// Logger receives internal errors; nil discards them.
	Logger *log.Logger
}

// Server serves the ACME endpoints of a vault.
type Server struct {
	cfg Config
	// health answers /healthz (service.Health).
	health *service.Health
	// core is cfg.Core with a WriteGate: the server's writers queue in
	// process, in arrival order, instead of on SQLite's busy handler, whose
	// sleeps (growing to 100 ms) made order latency and throughput collapse
	// with 16 or more concurrent clients. Writers of other processes (the
	// CLI) still meet the store's busy timeout.
	core   *service.Core
	host   string
	nonces *NonceStore
	// keys holds parsed account keys (see keyCache).
	keys keyCache
	// refusals bounds how often one account's refusal is recorded
	// (see refusalLimiter); Close records the counts it holds.
	refusals refusalLimiter
	mux      *http.ServeMux
	ocsp     http.Handler
	// selfSigned caches which chain certificates are self-signed roots.
	selfSigned selfSignedCache
	// issuers caches the issuers part of the chains served.
	issuers issuersCache
	// basePath is the escaped path of cfg.BaseURL, without its last "/"
	// ("" for none): see httpserve.UnderBasePath.
	basePath string
	// handler is what ServeHTTP runs: the logging, the base path, serve.
	handler http.Handler
}

// New returns a server over cfg.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Validity <= 0 {
		cfg.Validity = 395 * 24 * time.Hour
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	core := *cfg.Core
	if core.WriteGate == nil {
		core.WriteGate = make(chan struct{}, 1)
	}
	host := core.Actor.Host // host.name when set
	if host == "" {
		host = service.Hostname()
	}
	s := &Server{cfg: cfg, core: &core, host: host}
	s.basePath = httpserve.BasePath(cfg.BaseURL)
	s.nonces = NewNonceStore(core.Vault.Store, core.Now, NonceLifetime, s.loadNonceKey)
	s.nonces.gate, s.nonces.logf = core.WriteGate, s.logf
	s.ocsp = core.Responder(s.logf)
	s.health = core.Health("acme", s.logf)
	s.refusals.flush = s.flushRefusals
	m := http.NewServeMux()
	m.HandleFunc("GET /{ep}/directory", s.handleDirectory)
	m.HandleFunc("HEAD /{ep}/new-nonce", s.handleNewNonce)
	m.HandleFunc("GET /{ep}/new-nonce", s.handleNewNonce)
	m.HandleFunc("POST /{ep}/new-account", s.handleNewAccount)
	m.HandleFunc("POST /{ep}/acct/{id}", s.handleAccount)
	m.HandleFunc("POST /{ep}/acct/{id}/orders", s.handleAccountOrders)
	m.HandleFunc("POST /{ep}/key-change", s.handleKeyChange)
	m.HandleFunc("POST /{ep}/new-order", s.handleNewOrder)
	m.HandleFunc("POST /{ep}/order/{id}", s.handleOrder)
	m.HandleFunc("POST /{ep}/order/{id}/finalize", s.handleFinalize)
	m.HandleFunc("POST /{ep}/authz/{id}", s.handleAuthz)
	m.HandleFunc("POST /{ep}/chall/{id}", s.handleChallenge)
	m.HandleFunc("POST /{ep}/chall/{id}/{type}", s.handleChallenge)
	m.HandleFunc("POST /{ep}/cert/{id}", s.handleCertificate)
	m.HandleFunc("POST /{ep}/revoke-cert", s.handleRevoke)
	m.HandleFunc("GET /{ep}/renewal-info/{certid}", s.handleRenewalInfo)
	s.routeMethods(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, &Problem{Type: errMalformed, Status: http.StatusNotFound, Detail: "no such resource"})
	})
	s.mux = m
	// Logged as the client asked it, the base path included (second
	// tester), and served without it; built once, not per request.
	s.handler = s.logRequests(httpserve.UnderBasePath(s.basePath, http.HandlerFunc(s.serve)).ServeHTTP)
	return s
}

// BaseURL is the scheme://host[:port] of the server's URLs ("" when they
// follow each request's Host).
func (s *Server) BaseURL() string { return s.cfg.BaseURL }

// Nonces exposes the nonce store (tests and metrics).
func (s *Server) Nonces() *NonceStore { return s.nonces }

// ServeHTTP logs the request (see logRequests), adds a fresh Replay-Nonce
// and no-store caching to every ACME response, then routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// loadNonceKey reads the store's nonce key (acmestate.NonceKey), storing
// it the first time a server of the store needs one, in a write
// transaction whose write guard and CheckSealer make sure that the key
// it opens the nonce key with is still the vault's (another process may
// have rotated it); refused so, it runs again under the new one.
func (s *Server) loadNonceKey() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v := s.core.Vault
	var key []byte
	err := afterRotation(func() error {
		sealer, err := v.Sealer()
		if err != nil {
			return err
		}
		return s.nonces.gated(ctx, func() error {
			return v.Store.Update(ctx, func(tx localstore.Tx) (err error) {
				if err := v.CheckSealer(sealer); err != nil {
					return err
				}
				key, err = acmestate.NonceKey(tx, sealer)
				return err
			})
		})
	})
	return key, err
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/crl/") || p == "/ocsp" || strings.HasPrefix(p, "/ocsp/"):
		s.ocsp.ServeHTTP(w, r)
		return
	case p == "/metrics":
		s.handleMetrics(w, r)
		return
	case p == "/healthz":
		s.health.ServeHTTP(w, r)
		return
	}
	// One deadline for all the request waits on the store (its change,
	// then the redemption of its nonce, …): a store locked elsewhere
	// answers 503 within StoreWait, not once per wait (second tester:
	// 20 s). What outlives the request (a challenge's validation) drops
	// it.
	ctx, cancel := context.WithTimeout(r.Context(), StoreWait)
	defer cancel()
	r = r.WithContext(ctx)
	if n, err := s.nonces.Issue(); err == nil {
		w.Header().Set("Replay-Nonce", n)
	}
	w.Header().Set("Cache-Control", "no-store")
	if ep, _, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/"); ok && ep != "" {
		w.Header().Add("Link", link(s.url(r, ep, "/directory"), "index"))
	}
	s.mux.ServeHTTP(w, r)
}

func link(url, rel string) string { return "<" + url + `>;rel="` + rel + `"` }

// base is the scheme://host of the URLs of request r.
func (s *Server) base(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	return "https://" + r.Host
}

// url builds the URL of a resource of endpoint ep.
func (s *Server) url(r *http.Request, ep, path string) string {
	return s.base(r) + "/" + ep + path
}

// endpointOf loads the ACTIVE endpoint named in the request path.
func (s *Server) endpointOf(r *http.Request) (*acmestate.Endpoint, *Problem) {
	return s.endpointWith(r, nil)
}

// endpointWith is endpointOf, running also (when set) in the transaction
// that read the endpoint.
func (s *Server) endpointWith(r *http.Request, also func(localstore.Tx, *acmestate.Endpoint)) (*acmestate.Endpoint, *Problem) {
	id := r.PathValue("ep")
	var e *acmestate.Endpoint
	err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		var err error
		if e, err = acmestate.Get(tx, id); err == nil && also != nil && e.Status == acmestate.StatusActive {
			also(tx, e)
		}
		return err
	})
	if errors.Is(err, localstore.ErrNotFound) || errs.ExitCodeOf(err) == errs.ExitNotFound {
		return nil, &Problem{Type: errMalformed, Status: http.StatusNotFound, Detail: "no such ACME endpoint"}
	}
	if err != nil {
		// Most often a store that does not answer (see internal): not
		// a reason to tell the client the endpoint does not exist.
		return nil, s.internal(err)
	}
	if e.Status != acmestate.StatusActive {
		return nil, &Problem{Type: errUnauthorized, Status: http.StatusForbidden, Detail: "ACME endpoint is " + e.Status}
	}
	return e, nil
}

// change runs fn as one recorded change named eventName (NewAccount,
// NewOrder, FinalizeOrder, …) made by the ACME account accountID, through
// the service core: one write transaction with its events and audit
// record, the events delivered to the hook after commit. A refusal (see
// refuse) rolls the transaction back and is recorded as a FAILURE.
func (s *Server) change(ctx context.Context, accountID, eventName string, fn func(*service.Op) error) error {
	ctx, cancel := storeWait(ctx)
	defer cancel()
	return s.as(accountID).Change(ctx, eventName, fn) // run again by the core after another process's key rotation
}

// actor is the ACME account accountID as the audit log names it, on this
// host.
func (s *Server) actor(accountID string) audit.Actor {
	return audit.Actor{Type: audit.ActorACMEAccount, ID: accountID, Host: s.host}
}

// as is the service core acting for the ACME account accountID.
func (s *Server) as(accountID string) *service.Core { return s.core.As(s.actor(accountID)) }

// storeWait bounds ctx by StoreWait (a store locked elsewhere: 503 within
// it) unless it has a deadline already — a request's, which serve set.
func storeWait(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, StoreWait)
}

// afterRotation runs change, and once more when it was refused because
// another process rotated the vault's master key (localstore.ErrKeyRotated:
// refused before it ran, nothing written, this process's stale key
// dropped), which a long-running server learns of so. Only for what takes
// its key material in its transaction (a sealer taken in change) or uses
// none (nonce redemptions), never before change: run again, it must run
// under the new key. The service core does the same for its changes
// (service.Core.Change); this is for the server's own transactions.
func afterRotation(change func() error) error {
	err := change()
	if errors.Is(err, localstore.ErrKeyRotated) {
		err = change()
	}
	return err
}

// refuse turns a problem found inside a change into the error that makes
// the change fail on a rule: rolled back, recorded as a FAILURE whose
// ErrorCode is the ACME error type, and answered with p (see answer).
func refuse(p *Problem) error {
	exit := errs.ExitInvalid
	switch {
	case p.Status >= 500:
		exit = errs.ExitFailure
	case p.Status == http.StatusNotFound:
		exit = errs.ExitNotFound
	case p.Status == http.StatusForbidden || p.Status == http.StatusConflict || p.Type == errAlreadyRevoked:
		exit = errs.ExitRefused
	}
	return &errs.Error{Exit: exit, Code: strings.TrimPrefix(p.Type, errPrefix), Err: p}
}

// refused answers p, the refusal of the change eventName that req (a
// verified request signed by an account) asks for, found before the change
// runs: recorded as that change refused (see refuse), made by the account,
// with resources — once req's deferred nonce is redeemed, so that a replay
// is badNonce and records nothing. A 5xx (the store, not a rule) is
// answered unrecorded.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, req *request, eventName string, p *Problem, resources ...string) {
	if np := s.settle(r, req); np != nil {
		writeProblem(w, np)
		return
	}
	writeProblem(w, s.recordRefusal(r, req.Account.ID, eventName, req.Payload, p, nil, resources...))
}

// recordRefusal records p as the refusal of the change eventName asked for
// by account accountID with payload (see refused) and returns the problem
// to answer — at most once a refusalWindow for the same refusal
// (refusalLimiter: account, change, problem type, resources and params),
// the refusals left out counted and recorded at the window's end. A payload that is empty or does not parse asks for no
// change, and is not recorded (review: a refusal found before the body
// was read was recorded; then, on the deactivated account's path, still).
// params are request parameters naming what was aimed at (a revocation's
// Serial), recorded with it.
func (s *Server) recordRefusal(r *http.Request, accountID, eventName string, payload []byte, p *Problem, params []refusalParam, resources ...string) *Problem {
	if p.Status >= 500 || !json.Valid(payload) {
		return p
	}
	rf := &refusal{account: accountID, event: eventName, problem: p, resources: resources, params: params}
	record, again, evicted := s.refusals.allow(rf, s.core.Now())
	if evicted != nil {
		// Another refusal's count: not this client's to cancel (review).
		s.recordRefusals(context.WithoutCancel(r.Context()), *evicted)
	}
	if !record {
		return p
	}
	return s.problemOf(s.writeRefusal(r.Context(), rf, again))
}

// problemOf is the problem document answering a failed change: the problem
// it was refused with; else, for a refusal by a rule of the service or
// domain packages (exit 3, 4 or 5) that carries no problem, ruleProblem's;
// else serverInternal (see internal).
func (s *Server) problemOf(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if p := ruleProblem(err); p != nil {
		return p
	}
	return s.internal(err)
}

// ruleProblem is the problem answering err when err is a refusal by a rule
// (an errs.Error of exit 3, 4 or 5), nil otherwise: a name a CA's name
// constraints forbid is rejectedIdentifier; any other rule is one of the
// server's own configuration or state, which no error type of RFC 8555
// 6.7 but serverInternal describes, answered with 403 Forbidden (RFC 8555
// 7.4's status for a server unwilling to issue) and the rule's message,
// never a bare "internal error". A 4xx rather than a 5xx: clients retry a
// 5xx as a passing failure (golang.org/x/crypto/acme retries every 5xx,
// and reports its last try's answer instead of this one), and asking
// again does not change a rule's answer.
func ruleProblem(err error) *Problem {
	var e *errs.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch {
	case e.Exit != errs.ExitNotFound && e.Exit != errs.ExitInvalid && e.Exit != errs.ExitRefused:
		return nil
	case e.Code == authority.ReasonDomainNotAllowed:
		return problem(errRejectedIdentifier, http.StatusBadRequest, "the certificate authority of this endpoint does not issue for this name: "+e.Error())
	case e.Code == inventory.ReasonKeyCompromised:
		// badCSR, as for any CSR key the server will not sign (see
		// finalize).
		return problem(errBadCSR, http.StatusBadRequest, e.Error())
	case e.Code == authority.ReasonInvalidDuration || e.Code == authority.ReasonInvalidState || e.Code == authority.ReasonNotFound:
		return problem(errServerInternal, http.StatusForbidden, "the certificate authority of this endpoint cannot issue this certificate: "+e.Error())
	}
	return problem(errServerInternal, http.StatusForbidden, e.Error())
}

// endpointARN, accountARN and orderARN name the resources of changes.
func (s *Server) endpointARN(id string) string { return s.core.Names.EndpointARN(id) }

func (s *Server) accountARN(a *acmestate.Account) string {
	return acmestate.AccountARN(s.core.Names, a.EndpointID, a.ID)
}

func (s *Server) orderARN(o *acmestate.Order) string {
	return acmestate.OrderARN(s.core.Names, o.EndpointID, o.ID)
}

func (s *Server) logf(format string, a ...any) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Printf(format, a...)
	}
}

// storeRetryAfter is the Retry-After, in seconds, of an answer given while
// the store does not answer.
const storeRetryAfter = "5"

// internal logs err and returns the serverInternal problem answering it:
// 503 with Retry-After when the store did not answer in time or was busy
// (localstore.IsBusy: a writer of another process holding its lock, say,
// while reads still answer), or does not answer now (checked as /healthz
// does, after the fact: err is then most likely the store's own), since
// the request may succeed once it does; else 500 without detail.
func (s *Server) internal(err error) *Problem {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	if errs.ExitCodeOf(err) == errs.ExitVaultUnavailable && !localstore.IsStorageError(err) {
		// A CA key that cannot be reached now (a PKCS#11 token that is
		// down): the order can be finalized again once it is back
		// (tester: 500 "internal error", no Retry-After).
		s.logf("acme: CA key unavailable: %v", err)
		return &Problem{Type: errServerInternal, Status: http.StatusServiceUnavailable,
			Detail: "the server cannot reach the CA's key; try again later", headers: map[string]string{"Retry-After": storeRetryAfter}}
	}
	if localstore.IsBusy(err) || s.storeAnswers(ctx) != nil {
		s.logf("acme: store unavailable: %v", err)
		return &Problem{Type: errServerInternal, Status: http.StatusServiceUnavailable,
			Detail: "the server cannot reach its store; try again later", headers: map[string]string{"Retry-After": storeRetryAfter}}
	}
	s.logf("acme: internal error: %v", err)
	return &Problem{Type: errServerInternal, Status: http.StatusInternalServerError, Detail: "internal error"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, &Problem{Type: errServerInternal, Status: http.StatusInternalServerError, Detail: "encoding failed"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

package acmeserver

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
)

// SignatureAlgorithms are the JWS algorithms accepted for account keys.
var SignatureAlgorithms = []string{"RS256", "ES256", "ES384", "ES512", "EdDSA"}

// minRSABits is the smallest RSA account key accepted.
const minRSABits = 2048

// keyMode says which of jwk and kid a resource requires.
type keyMode int

const (
	needKID   keyMode = iota // an account URL (most resources)
	needJWK                  // the request's own key (newAccount)
	eitherKey                // revokeCert
)

// request is a verified ACME POST.
type request struct {
	URL     string
	Payload []byte
	// PostAsGet is true when the payload is empty (RFC 8555 6.3).
	PostAsGet bool
	// Key is the key that signed the request: the embedded jwk, or the
	// key of Account.
	Key     *jose.JSONWebKey
	Account *acmestate.Account
	// nonce, when set, is the request's nonce, checked (MAC, expiry) but
	// not yet redeemed: the change the request makes redeems it in its
	// own transaction (redeemIn), or settle does (see authenticateDeferred).
	nonce        string
	nonceExpires time.Time
}

// flattenedJWS is the flattened JSON serialization (RFC 7515 7.2.2).
type flattenedJWS struct {
	Protected  string          `json:"protected"`
	Payload    *string         `json:"payload"`
	Signature  string          `json:"signature"`
	Header     json.RawMessage `json:"header"`
	Signatures json.RawMessage `json:"signatures"`
}

// protectedHeader is the part of the protected header ACME defines.
type protectedHeader struct {
	Alg   string          `json:"alg"`
	Nonce string          `json:"nonce"`
	URL   string          `json:"url"`
	Kid   string          `json:"kid"`
	JWK   json.RawMessage `json:"jwk"`
}

// readBody reads a JWS body through http.MaxBytesReader, refusing any other
// content type and any body over the limit without reading it all.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Problem) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/jose+json" {
		p := malformed("Content-Type must be application/jose+json")
		p.Status = http.StatusUnsupportedMediaType
		return nil, p
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			p := malformed("request body too large")
			p.Status = http.StatusRequestEntityTooLarge
			return nil, p
		}
		return nil, malformed("unreadable request body")
	}
	return body, nil
}

// parseJWS checks the structure and protected header of a JWS and returns
// it parsed. It does not verify the signature.
func parseJWS(body []byte) (*jose.JSONWebSignature, *protectedHeader, *Problem) {
	var f flattenedJWS
	if err := decodeExact(body, &f); err != nil {
		return nil, nil, malformed("request is not a JWS in flattened JSON serialization")
	}
	if f.Signatures != nil || f.Header != nil {
		return nil, nil, malformed("JWS must use the flattened serialization with a protected header only")
	}
	if f.Protected == "" || f.Payload == nil || f.Signature == "" {
		return nil, nil, malformed("JWS lacks protected, payload or signature")
	}
	raw, err := base64.RawURLEncoding.DecodeString(f.Protected)
	if err != nil {
		return nil, nil, malformed("JWS protected header is not base64url")
	}
	h, p := decodeProtected(raw)
	if p != nil {
		return nil, nil, p
	}
	if !slices.Contains(SignatureAlgorithms, h.Alg) {
		p := problem(errBadSignatureAlgorithm, http.StatusBadRequest, "JWS algorithm "+quote(h.Alg)+" is not supported")
		p.Algorithms = SignatureAlgorithms
		return nil, nil, p
	}
	jws, err := jose.ParseSigned(string(body))
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil, malformed("unparsable JWS")
	}
	return jws, h, nil
}

// decodeProtected decodes a protected header. Header parameter names are
// case-sensitive (RFC 7515 section 4) and go-jose, which verifies the
// signature, reads them so; encoding/json into a struct would also take
// "KID", "URL" or "Nonce" for kid, url and nonce, letting the server act
// on a header go-jose does not see. So the names are matched exactly, and
// one that differs from an ACME name only in case is refused.
func decodeProtected(raw []byte) (*protectedHeader, *Problem) {
	var h protectedHeader
	if err := decodeExact(raw, &h); err != nil {
		var ce caseError
		if errors.As(err, &ce) {
			return nil, malformed("JWS protected header has " + quote(string(ce)) + ": header parameter names are case-sensitive")
		}
		return nil, malformed("JWS protected header is not a JSON object")
	}
	return &h, nil
}

// caseError names a member that matches a field only case-insensitively.
type caseError string

func (e caseError) Error() string {
	return "member " + string(e) + " differs from a field name in case only"
}

// decodeExact decodes the JSON object data into the struct v (a pointer),
// matching member names to the fields' json tags exactly: a member that
// matches a tag only case-insensitively is a caseError; other members are
// ignored, as encoding/json does.
func decodeExact(data []byte, v any) error {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("not a JSON object")
	}
	rv := reflect.ValueOf(v).Elem()
	tags := fieldsOf(rv.Type())
	for k, val := range m {
		i, ok := tags[k]
		if !ok {
			for t := range tags {
				if strings.EqualFold(t, k) {
					return caseError(k)
				}
			}
			continue
		}
		if err := json.Unmarshal(val, rv.Field(i).Addr().Interface()); err != nil {
			return err
		}
	}
	return nil
}

// fieldTags maps a struct type to its fields' json names (index by name).
var fieldTags sync.Map // reflect.Type → map[string]int

// fieldsOf is the json name → field index map of struct type rt, built
// once a type. The map returned is shared: not to be modified.
func fieldsOf(rt reflect.Type) map[string]int {
	if m, ok := fieldTags.Load(rt); ok {
		return m.(map[string]int)
	}
	tags := make(map[string]int, rt.NumField())
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		tags[name] = i
	}
	fieldTags.Store(rt, tags)
	return tags
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// authenticate finds the request's endpoint and verifies its JWS in mode
// (see verify), writing the problem document and reporting false when
// either fails. The endpoint and the account a kid names are read in one
// store transaction; the problems come in the order verify gives them,
// after the endpoint's.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, mode keyMode) (*acmestate.Endpoint, *request, bool) {
	return s.authenticateWith(w, r, mode, false, nil)
}

// authenticateDeferred is authenticate for a request that makes one
// change: its nonce is checked but redeemed only in that change's write
// transaction (redeemIn, first thing), so that the nonce and the change
// cost one commit instead of two. Every other outcome of the request must
// go through settle (or settleChange) before its response is written, so
// that a nonce is still used at most once and a replayed one still gets
// badNonce before anything happens.
func (s *Server) authenticateDeferred(w http.ResponseWriter, r *http.Request, mode keyMode) (*acmestate.Endpoint, *request, bool) {
	return s.authenticateWith(w, r, mode, true, nil)
}

// readAhead reads, in the transaction that read the endpoint ep and the
// account acct a kid names, what the handler needs next (its order, its
// authorization), so that a request costs one read transaction. It runs
// before the signature and nonce are checked: it must only read, and what
// it read is used only once the request is verified.
type readAhead func(tx localstore.Tx, ep *acmestate.Endpoint, acct *acmestate.Account)

// authenticateWith is authenticate, or authenticateDeferred with
// deferNonce, running also (when set) in the read transaction of the
// endpoint and account when the kid names an account of the endpoint.
func (s *Server) authenticateWith(w http.ResponseWriter, r *http.Request, mode keyMode, deferNonce bool, also readAhead) (*acmestate.Endpoint, *request, bool) {
	ep, req, p := s.authenticated(w, r, mode, deferNonce, also)
	if p != nil {
		writeProblem(w, p)
		return nil, nil, false
	}
	return ep, req, true
}

func (s *Server) authenticated(w http.ResponseWriter, r *http.Request, mode keyMode, deferNonce bool, also readAhead) (*acmestate.Endpoint, *request, *Problem) {
	body, bodyP := s.readBody(w, r)
	var jws *jose.JSONWebSignature
	var h *protectedHeader
	jwsP := bodyP
	if bodyP == nil {
		jws, h, jwsP = parseJWS(body)
	}
	var pre *prefetched
	ep, p := s.endpointWith(r, func(tx localstore.Tx, ep *acmestate.Endpoint) {
		if jwsP != nil || h.Kid == "" {
			return
		}
		if id, ok := s.accountIDOf(r, ep, h.Kid); ok {
			pre = &prefetched{}
			pre.acct, pre.err = acmestate.GetAccount(tx, id)
			if also != nil && pre.err == nil && pre.acct.EndpointID == ep.ID {
				also(tx, ep, pre.acct)
			}
		}
	})
	if p != nil {
		return nil, nil, p
	}
	if jwsP != nil {
		return nil, nil, jwsP
	}
	req, p := s.verifyParsed(r, ep, mode, jws, h, pre, deferNonce)
	if p != nil {
		return nil, nil, p
	}
	return ep, req, nil
}

// prefetched is the account a kid names, read with the endpoint.
type prefetched struct {
	acct *acmestate.Account
	err  error
}

// verify authenticates an ACME POST for endpoint ep: structure, algorithm,
// url, jwk/kid rules, signature, then the single-use nonce.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, ep *acmestate.Endpoint, mode keyMode) (*request, *Problem) {
	body, p := s.readBody(w, r)
	if p != nil {
		return nil, p
	}
	jws, h, p := parseJWS(body)
	if p != nil {
		return nil, p
	}
	return s.verifyParsed(r, ep, mode, jws, h, nil, false)
}

// verifyParsed is verify after the body is parsed; pre, when set, is the
// account h.Kid names, read already. With deferNonce the nonce is checked
// and left to redeem (see authenticateDeferred).
func (s *Server) verifyParsed(r *http.Request, ep *acmestate.Endpoint, mode keyMode, jws *jose.JSONWebSignature, h *protectedHeader, pre *prefetched, deferNonce bool) (*request, *Problem) {
	want := s.base(r) + r.URL.Path
	if h.URL == "" || h.URL != want {
		return nil, unauthorized("JWS url header does not match the request URL")
	}
	hasJWK, hasKID := len(h.JWK) > 0 && string(h.JWK) != "null", h.Kid != ""
	switch {
	case hasJWK && hasKID:
		return nil, malformed("JWS has both jwk and kid")
	case !hasJWK && !hasKID:
		return nil, malformed("JWS has neither jwk nor kid")
	case mode == needKID && hasJWK:
		return nil, malformed("this resource requires a kid (account URL), not a jwk")
	case mode == needJWK && hasKID:
		return nil, malformed("this resource requires a jwk, not a kid")
	}
	req := &request{URL: want}
	if hasJWK {
		k := jws.Signatures[0].Protected.JSONWebKey
		if k == nil {
			return nil, malformed("unparsable jwk")
		}
		if p := checkAccountKey(k); p != nil {
			return nil, p
		}
		req.Key = k
	} else {
		acct, p := s.accountOf(r, ep, h.Kid, pre)
		if p != nil {
			return nil, p
		}
		k, err := s.keys.key(acct.JWK)
		if err != nil {
			return nil, s.internal(err)
		}
		req.Key, req.Account = k, acct
	}
	if p := checkKeyAlgorithm(req.Key, h.Alg); p != nil {
		return nil, p
	}
	payload, err := jws.Verify(req.Key)
	if err != nil {
		return nil, malformed("JWS signature does not verify")
	}
	if deferNonce {
		exp, err := s.nonces.check(h.Nonce)
		if p := s.nonceProblem(err); p != nil {
			return nil, p
		}
		req.nonce, req.nonceExpires = h.Nonce, exp.Add(sweepMargin)
	} else if p := s.nonceProblem(s.nonces.RedeemContext(r.Context(), h.Nonce)); p != nil {
		return nil, p
	}
	req.Payload, req.PostAsGet = payload, len(payload) == 0
	return req, nil
}

// nonceProblem is the problem of a nonce check or redemption; nil for nil.
func (s *Server) nonceProblem(err error) *Problem {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNonce):
		return problem(errBadNonce, http.StatusBadRequest, "JWS nonce is missing, unknown or already used")
	}
	return s.internal(fmt.Errorf("redeeming a nonce: %w", err))
}

// errReplayed is what redeemIn fails a change with when its nonce was
// redeemed before: nothing is recorded (not a rule failure).
var errReplayed = errors.New("acme: nonce already redeemed")

// redeemIn redeems req's deferred nonce in the transaction of the change
// the request makes; the change must fail with its error.
func redeemIn(tx localstore.Tx, req *request) error {
	if req.nonce == "" {
		return nil
	}
	ok, err := tx.RedeemNonce(req.nonce, req.nonceExpires)
	if err != nil {
		return err
	}
	if !ok {
		return errReplayed
	}
	return nil
}

// settle redeems req's deferred nonce, when not redeemed yet, on its own
// (batched with the other redemptions, as verify does): the problem to
// answer with instead of any other when it fails.
func (s *Server) settle(r *http.Request, req *request) *Problem {
	if req.nonce == "" {
		return nil
	}
	v := req.nonce
	req.nonce = ""
	ok, err := s.nonces.redeemBatched(r.Context(), v, req.nonceExpires)
	if err == nil {
		s.nonces.maybeSweep()
		if !ok {
			err = ErrNonce
		}
	}
	return s.nonceProblem(err)
}

// settleChange settles req's deferred nonce after the change that
// redeemed it in its transaction (redeemIn) returned err: committed with
// it when err is nil; replayed when err is errReplayed (badNonce);
// otherwise the transaction was rolled back and the nonce is redeemed on
// its own. It returns the problem to answer with, or nil for success.
func (s *Server) settleChange(r *http.Request, req *request, err error) *Problem {
	switch {
	case err == nil:
		if req.nonce != "" {
			req.nonce = ""
			s.nonces.maybeSweep()
		}
		return nil
	case errors.Is(err, errReplayed):
		req.nonce = ""
		return s.nonceProblem(ErrNonce)
	}
	if p := s.settle(r, req); p != nil {
		return p
	}
	return s.problemOf(err)
}

// fail answers with p, or with the problem of req's deferred nonce when
// redeeming it now fails.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, req *request, p *Problem) {
	if np := s.settle(r, req); np != nil {
		p = np
	}
	writeProblem(w, p)
}

// checkAccountKey accepts public RSA (2048 bits or more), ECDSA and Ed25519
// keys.
func checkAccountKey(k *jose.JSONWebKey) *Problem {
	if !k.Valid() || !k.IsPublic() {
		return problem(errBadPublicKey, http.StatusBadRequest, "jwk is not a valid public key")
	}
	if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < minRSABits {
		return problem(errBadPublicKey, http.StatusBadRequest, "RSA account keys must have at least 2048 bits")
	}
	return nil
}

// checkKeyAlgorithm refuses a JWS whose alg is not the one its key signs
// with (RFC 8555 section 6.2: badSignatureAlgorithm, listing the
// algorithms), before the signature is checked, so that a client is not
// told that a correct signature does not verify (Boulder's checkAlgorithm).
func checkKeyAlgorithm(k *jose.JSONWebKey, alg string) *Problem {
	want := ""
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		want = "RS256"
	case *ecdsa.PublicKey:
		switch key.Curve {
		case elliptic.P256():
			want = "ES256"
		case elliptic.P384():
			want = "ES384"
		case elliptic.P521():
			want = "ES512"
		}
	case ed25519.PublicKey:
		want = "EdDSA"
	}
	if alg == want {
		return nil
	}
	detail := "JWS algorithm " + quote(alg) + " does not fit the key"
	if want != "" {
		detail += ", which signs with " + want
	}
	p := problem(errBadSignatureAlgorithm, http.StatusBadRequest, detail)
	p.Algorithms = SignatureAlgorithms
	return p
}

// accountIDOf is the account ID of a kid URL of endpoint ep.
func (s *Server) accountIDOf(r *http.Request, ep *acmestate.Endpoint, kid string) (string, bool) {
	prefix := s.url(r, ep.ID, "/acct/")
	id, ok := strings.CutPrefix(kid, prefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// kidProblem is the detail of a kid that is no account URL of the
// endpoint: most often, one under another base URL, stored by the client
// before endpoint.base_url changed, which the check keeps refusing (an
// account URL is the account's identity, RFC 8555 7.3) but names.
func kidProblem(base, kid string) string {
	if !strings.HasPrefix(kid, base+"/") {
		return "kid " + quote(kid) + " is not under this server's base URL " + base +
			" (endpoint.base_url): an account URL from before the base URL changed names no account; newAccount with the same key answers its URL under this one"
	}
	return "kid is not an account of this endpoint"
}

// accountOf loads the valid account named by a kid URL of endpoint ep, or
// takes it from pre when it was read with the endpoint.
func (s *Server) accountOf(r *http.Request, ep *acmestate.Endpoint, kid string, pre *prefetched) (*acmestate.Account, *Problem) {
	id, ok := s.accountIDOf(r, ep, kid)
	if !ok {
		return nil, problem(errAccountDoesNotExist, http.StatusBadRequest, kidProblem(s.base(r), kid))
	}
	var a *acmestate.Account
	var err error
	if pre != nil {
		a, err = pre.acct, pre.err
	} else {
		err = s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
			var err error
			a, err = acmestate.GetAccount(tx, id)
			return err
		})
	}
	if errors.Is(err, localstore.ErrNotFound) || (err == nil && a.EndpointID != ep.ID) {
		return nil, problem(errAccountDoesNotExist, http.StatusBadRequest, "no such account")
	}
	if err != nil {
		return nil, s.internal(err)
	}
	if a.Status != acmestate.AcmeValid {
		return nil, unauthorized("account is " + a.Status)
	}
	return a, nil
}

// keyCache holds account keys parsed from their stored JWK, keyed by
// that JWK's text: a request signed with a kid verifies against the key
// the account has now (read with the account), without parsing it again.
// A parsed key is never modified. The cache forgets everything when full.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]*jose.JSONWebKey
}

const keyCacheMax = 4096

func (c *keyCache) key(jwk []byte) (*jose.JSONWebKey, error) {
	c.mu.Lock()
	k := c.keys[string(jwk)]
	c.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k = &jose.JSONWebKey{}
	if err := k.UnmarshalJSON(jwk); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= keyCacheMax {
		c.keys = make(map[string]*jose.JSONWebKey)
	}
	c.keys[string(jwk)] = k
	c.mu.Unlock()
	return k, nil
}

// thumbprint is the base64url SHA-256 JWK thumbprint (RFC 7638).
func thumbprint(k *jose.JSONWebKey) (string, error) {
	t, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// decodePayload unmarshals a JSON payload strictly enough to catch garbage.
func decodePayload(req *request, v any) *Problem {
	if err := json.Unmarshal(req.Payload, v); err != nil {
		return malformed("payload is not the expected JSON object")
	}
	return nil
}

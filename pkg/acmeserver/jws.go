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
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	// HasNonce is whether the header has a nonce member at all (empty
	// too): the JWS inside another — a key change's, an external
	// account binding — must have none (RFC 8555 7.3.4, 7.3.5).
	HasNonce bool `json:"-"`
	// HasCrit is whether the header has a crit member: it names
	// extensions the signer requires understood, and this server
	// understands none (RFC 7515 section 4.1.11).
	HasCrit bool `json:"-"`
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
		p := malformed("unreadable request body")
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			// The client did not send its body in time.
			p.Detail, p.Status = "the request body did not arrive in time", http.StatusRequestTimeout
		}
		return nil, p
	}
	return body, nil
}

// parseJWS checks the structure and protected header of a JWS and returns
// it parsed. It does not verify the signature.
func parseJWS(body []byte) (*jose.JSONWebSignature, *protectedHeader, *Problem) {
	var f flattenedJWS
	// Nothing but white space may follow the object, so that no reader of
	// the body (a proxy in front) can see another JWS in it.
	if end, err := decodeExactEnd(body, &f); err != nil || skipSpace(body, end) != len(body) {
		return nil, nil, malformed("request is not a JWS in flattened JSON serialization")
	}
	if f.Signatures != nil || f.Header != nil {
		return nil, nil, malformed("JWS must use the flattened serialization with a protected header only")
	}
	if f.Protected == "" || f.Payload == nil {
		return nil, nil, malformed("JWS lacks protected or payload")
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
	// After the algorithm: an unsecured JWS ("alg": "none", RFC 7515
	// A.5) has an empty signature, and is refused for its algorithm.
	if f.Signature == "" {
		return nil, nil, malformed("JWS lacks a signature")
	}
	c, ok := f.compact()
	if !ok {
		return nil, nil, malformed("JWS protected, payload or signature is not base64url")
	}
	jws, err := jose.ParseSigned(c)
	if err != nil || len(jws.Signatures) != 1 {
		// go-jose parses the header's jwk with the JWS: a key that is
		// no key (a point off its curve) is badPublicKey (RFC 8555
		// 6.7), as Boulder answers, not an unparsable JWS (tester).
		if len(h.JWK) > 0 {
			var k jose.JSONWebKey
			if k.UnmarshalJSON(h.JWK) != nil {
				return nil, nil, problem(errBadPublicKey, http.StatusBadRequest, "jwk is not a valid public key")
			}
		}
		return nil, nil, malformed("unparsable JWS")
	}
	return jws, h, nil
}

// compact is f in the compact serialization, for go-jose to parse and
// verify: made of exactly the three members this server decoded, so that
// the header go-jose verifies is the header the server acts on. Given the
// JSON body, go-jose reads it its own way: it first deletes every white
// space character, inside member names too, so to go-jose a body with a
// member "signa tures" beside protected, payload and signature is a JWS of
// the general serialization, whose signed header — an old, already used
// request's — is not the unsigned one decodeExact read (a replay under
// any nonce and url). Each member must be base64url without padding (RFC
// 7515 section 2), which also keeps a '.' or white space out of the
// compact form; ok is false otherwise.
func (f *flattenedJWS) compact() (c string, ok bool) {
	if !acmestate.IsBase64URL(f.Protected) || f.Payload == nil || !acmestate.IsBase64URL(*f.Payload) || !acmestate.IsBase64URL(f.Signature) {
		return "", false
	}
	return f.Protected + "." + *f.Payload + "." + f.Signature, true
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
	if h.HasCrit {
		// Refused as go-jose refuses it, but said why (tester: "JWS
		// signature does not verify" for a good signature).
		return nil, malformed("JWS protected header has crit: this server understands no header extension it could name (RFC 7515 section 4.1.11)")
	}
	return &h, nil
}

// caseError names a member that matches a field only case-insensitively.
type caseError string

func (e caseError) Error() string {
	return "member " + string(e) + " differs from a field name in case only"
}

// exactObject is a struct decodeExact fills: the exact (case-sensitive)
// names of its members and how to set the field of each from its JSON
// value, written out per type so that a request costs no reflection.
type exactObject interface {
	// exactNames are the member names, in field order.
	exactNames() []string
	// setExact sets the field of exactNames()[i] from raw, the value of
	// the member's last occurrence, as json.Unmarshal into the zero
	// field would.
	setExact(i int, raw []byte) error
}

var (
	flattenedNames = []string{"protected", "payload", "signature", "header", "signatures"}
	protectedNames = []string{"alg", "nonce", "url", "kid", "jwk", "crit"}
)

func (f *flattenedJWS) exactNames() []string { return flattenedNames }

func (f *flattenedJWS) setExact(i int, raw []byte) error {
	switch i {
	case 0:
		return setString(&f.Protected, raw)
	case 1:
		return setStringPtr(&f.Payload, raw)
	case 2:
		return setString(&f.Signature, raw)
	case 3:
		f.Header = bytes.Clone(raw)
	case 4:
		f.Signatures = bytes.Clone(raw)
	}
	return nil
}

func (h *protectedHeader) exactNames() []string { return protectedNames }

func (h *protectedHeader) setExact(i int, raw []byte) error {
	switch i {
	case 0:
		return setString(&h.Alg, raw)
	case 1:
		h.HasNonce = true
		return setString(&h.Nonce, raw)
	case 2:
		return setString(&h.URL, raw)
	case 3:
		return setString(&h.Kid, raw)
	case 4:
		h.JWK = bytes.Clone(raw)
	case 5:
		h.HasCrit = true
	}
	return nil
}

// plain reports whether the text b of a JSON string needs no decoding:
// no escape and nothing but ASCII (the string is valid JSON, so it holds
// no control character).
func plain(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plainString is the text of the JSON string raw when it is plain.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || !plain(raw[1:len(raw)-1]) {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// member is the index of the name key in names, exact reporting whether
// it matches exactly rather than case-insensitively only; -1 when none.
func member(names []string, key []byte) (n int, exact bool) {
	n = -1
	for i, name := range names {
		if name == string(key) {
			return i, true
		}
		if n < 0 && strings.EqualFold(name, string(key)) {
			n = i
		}
	}
	return n, false
}

// setString sets *dst from the JSON value raw as json.Unmarshal into an
// empty string would: null leaves it empty, a value of another type fails.
func setString(dst *string, raw []byte) error {
	*dst = ""
	if s, ok := plainString(raw); ok {
		*dst = s
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// setStringPtr is setString for an optional string: null leaves it nil.
func setStringPtr(dst **string, raw []byte) error {
	*dst = nil
	if s, ok := plainString(raw); ok {
		*dst = &s
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// errNotObject is decodeExact's error for data that is no JSON object.
var errNotObject = errors.New("not a JSON object")

// decodeExact decodes the first JSON value of data, which must be an
// object, into v, matching member names to v's exactly: a member whose
// name matches one only case-insensitively is a caseError; other members
// are ignored, as encoding/json does; of a repeated member the last
// counts. What follows the object is not read (as json.Decoder.Decode).
// It makes one pass over the object after checking it is valid JSON.
func decodeExact(data []byte, v exactObject) error {
	_, err := decodeExactEnd(data, v)
	return err
}

// decodeExactEnd is decodeExact, also returning where the object ends in
// data (for a caller that refuses what follows it).
func decodeExactEnd(data []byte, v exactObject) (int, error) {
	start := skipSpace(data, 0)
	if start == len(data) || data[start] != '{' {
		return 0, errNotObject
	}
	end := valueEnd(data, start)
	if end < 0 || !json.Valid(data[start:end]) {
		return 0, errNotObject
	}
	obj := data[start:end]
	names := v.exactNames()
	var last [8][]byte
	var caseErr error
	for i := skipSpace(obj, 1); obj[i] != '}'; {
		kEnd := valueEnd(obj, i)
		key := obj[i+1 : kEnd-1]
		if !plain(key) {
			var s string
			if err := json.Unmarshal(obj[i:kEnd], &s); err != nil {
				return 0, err
			}
			key = []byte(s)
		}
		vStart := skipSpace(obj, skipSpace(obj, kEnd)+1) // past the colon
		vEnd := valueEnd(obj, vStart)
		switch n, exact := member(names, key); {
		case exact:
			last[n] = obj[vStart:vEnd]
		case n >= 0 && caseErr == nil:
			caseErr = caseError(key)
		}
		i = skipSpace(obj, vEnd)
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	if caseErr != nil {
		return 0, caseErr
	}
	for n, raw := range last[:len(names)] {
		if raw != nil {
			if err := v.setExact(n, raw); err != nil {
				return 0, err
			}
		}
	}
	return end, nil
}

// skipSpace is the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd is the index just past the JSON value that starts at data[i],
// found by its structure alone (strings and brackets); -1 when it does
// not end. It does not validate: decodeExact checks the whole object with
// json.Valid first.
func valueEnd(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i // the end of the enclosing object or array
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	if depth == 0 {
		return i
	}
	return -1
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
// it read is used only once the request is verified — by then an account
// of another endpoint is refused, and the handler checks that what was
// read is the endpoint's and the account's (loadOrderFrom, loadAuthzFrom).
type readAhead func(tx localstore.Tx, ep *acmestate.Endpoint, acct *acmestate.Account)

// authenticateWith is authenticate, or authenticateDeferred with
// deferNonce, running also (when set) in the read transaction of the
// endpoint and account when the kid names an account that exists.
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
	} else if r.Context().Err() != nil {
		// The body was cut off and the request is over (a client too
		// slow, gone): its fault, answered as such, not a store read
		// failing on the request's context as an internal error.
		return nil, nil, bodyP
	}
	var pre *prefetched
	ep, p := s.endpointWith(r, func(tx localstore.Tx, ep *acmestate.Endpoint) {
		if jwsP != nil || h.Kid == "" {
			return
		}
		if id, ok := s.accountIDOf(r, ep, h.Kid); ok {
			pre = &prefetched{}
			pre.acct, pre.err = acmestate.GetAccount(tx, id)
			if also != nil && pre.err == nil {
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
	// The escaped path, which the router matched (a %2F stays inside its
	// segment there): the decoded one would let a url signed for .../a/b
	// reach the handler of .../a%2Fb.
	want := s.base(r) + r.URL.EscapedPath()
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		// The URL the request is sent to, its query included (RFC
		// 8555 6.4): a url signed without one is not this request's.
		want += "?" + r.URL.RawQuery
	}
	switch {
	case h.URL == "":
		// A required field missing is a malformed request (RFC 8555
		// 6.4), as Boulder answers it (tester: unauthorized).
		return nil, malformed("JWS protected header has no url")
	case h.URL != want:
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
	if req.Account != nil && req.Account.Status != acmestate.AcmeValid {
		// Signed by the account's own key: its holder asked, and is
		// refused (RFC 8555 7.3.6) — after its nonce is redeemed, so
		// that a replay is badNonce and records nothing.
		if p := s.nonceProblem(s.nonces.RedeemContext(r.Context(), h.Nonce)); p != nil {
			return nil, p
		}
		return nil, s.refuseAccount(r, ep, req.Account, payload)
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
	if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.E != rsaExponent {
		// As Boulder's key policy: every client makes 65537, and a
		// small exponent is the weak key of known attacks (tester: e=3
		// was taken).
		return problem(errBadPublicKey, http.StatusBadRequest, "RSA keys must have the public exponent 65537")
	}
	return nil
}

// rsaExponent is the only RSA public exponent accepted for account keys.
const rsaExponent = 65537

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
	return a, nil
}

// changeNames are the changes a request signed by an account asks for,
// by the route it is sent to; the other routes (an order, a certificate,
// the account's orders) only read, and new-account finds the account of
// a key that has one.
var changeNames = map[string]string{
	"POST /{ep}/acct/{id}":           "UpdateAccount",
	"POST /{ep}/key-change":          "KeyChange",
	"POST /{ep}/new-order":           "NewOrder",
	"POST /{ep}/order/{id}/finalize": "FinalizeOrder",
	"POST /{ep}/authz/{id}":          "DeactivateAuthorization",
	"POST /{ep}/chall/{id}":          "RespondToChallenge",
	"POST /{ep}/chall/{id}/{type}":   "RespondToChallenge",
	"POST /{ep}/revoke-cert":         "RevokeCertificate",
}

// refuseAccount is the problem answering a request that account a, which
// is not valid (deactivated), signed with its key: unauthorized. A
// request that asks for a change (its payload is not empty, and its route
// makes one: changeNames) is recorded as that change refused, as a
// refusal inside a change is (see refuse); a read (POST-as-GET) is not.
func (s *Server) refuseAccount(r *http.Request, ep *acmestate.Endpoint, a *acmestate.Account, payload []byte) *Problem {
	p := unauthorized("account is " + a.Status)
	name := changeNames[r.Pattern]
	if name == "" {
		return p
	}
	if name == "UpdateAccount" {
		var in accountUpdatePayload
		if json.Unmarshal(payload, &in) == nil && in.Status == acmestate.AcmeDeactivated {
			name = "DeactivateAccount"
		}
	}
	var params []refusalParam
	if name == "RevokeCertificate" {
		// Recorded with the serial of the certificate it named, as
		// every revocation is (review: two certificates' refused
		// revocations were one refusal, neither named).
		if serial := revokedSerial(payload); serial != "" {
			params = append(params, refusalParam{"Serial", serial})
		}
	}
	return s.recordRefusal(r, a.ID, name, payload, p, params, s.endpointARN(ep.ID), s.accountARN(a))
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

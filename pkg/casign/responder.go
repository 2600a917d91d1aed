package casign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certctl/certctl/pkg/errs"
)

// ErrNotFound is what a Lookup returns (wrapped) for a CA it does not know.
var ErrNotFound = errors.New("not found")

// IssuerInfo is a CA the responder answers for.
type IssuerInfo struct {
	ID     string            // the CA's identifier in URLs (/crl/<ID>.crl)
	Cert   *x509.Certificate // the CA certificate
	Signer crypto.Signer     // the CA key; it signs OCSP responses directly
	// SignatureAlgorithm is the CA's (its --signing-algorithm), with which
	// its OCSP responses are signed as its certificates and CRLs are;
	// unknown: its key's default (SignatureAlgorithm).
	SignatureAlgorithm x509.SignatureAlgorithm
}

// Status is what a Lookup knows of a certificate.
type Status struct {
	Known     bool // issued by this CA; false answers "unknown"
	Revoked   bool
	RevokedAt time.Time
	Reason    int // RFC 5280 reason code
}

// Lookup is the responder's view of the vault.
type Lookup interface {
	// CAs returns every CA the responder may answer for.
	CAs() ([]IssuerInfo, error)
	// Status returns the status of the certificate with this serial issued
	// by the CA caID.
	Status(caID string, serial *big.Int) (Status, error)
	// CRL returns the current DER CRL of the CA caID, or an error wrapping
	// ErrNotFound.
	CRL(caID string) ([]byte, error)
}

// PartitionLookup is a Lookup that also serves the partitions of a
// PARTITIONED CA's CRL at /crl/<ca-id>/<n>.crl.
type PartitionLookup interface {
	Lookup
	// CRLPartition returns partition n of the CA caID's CRL, or an error
	// wrapping ErrNotFound.
	CRLPartition(caID string, n int) ([]byte, error)
}

const (
	// maxOCSPRequest limits the body of an OCSP POST and the decoded GET
	// request; real requests are a few hundred bytes.
	maxOCSPRequest = 8 << 10
	// ocspValidity is how long a response lasts from when it is made
	// (nextUpdate - now; thisUpdate is Backdate earlier).
	ocspValidity = time.Hour
)

// NewResponder returns the HTTP handler of `certctl ca serve`:
//
//	GET  /crl/<ca-id>.crl        the CA's CRL in DER (application/pkix-crl)
//	GET  /crl/<ca-id>/<n>.crl    partition n of a PARTITIONED CA's CRL
//	POST /ocsp                   RFC 6960 OCSP, body application/ocsp-request
//	GET  /ocsp/<base64 request>  RFC 6960 appendix A.1 GET form
//
// OCSP responses are signed directly by the CA key, valid from now() for an
// hour, and echo the request's nonce. Malformed requests get a
// malformedRequest response, requests for an issuer the vault does not hold
// an unauthorized response. A vault or CA key that cannot be reached now
// (a PKCS#11 token that is down: exit 6) gets a tryLater response (a CRL,
// HTTP 503 with Retry-After), any other failure internalError (HTTP 500);
// either is given to logf, when not nil.
func NewResponder(l Lookup, now func() time.Time, logf func(format string, a ...any)) http.Handler {
	return &responder{lookup: l, now: now, logf: logf}
}

type responder struct {
	lookup Lookup
	now    func() time.Time
	logf   func(format string, a ...any)
}

// internal logs a failure to answer.
func (s *responder) internal(what string, err error) {
	if s.logf != nil {
		s.logf("%s: %v", what, err)
	}
}

// unavailable reports whether err is the vault or a CA key not reachable
// now (exit 6: a PKCS#11 token that is down), which a client may try again
// later (RFC 6960 tryLater; tester: internalError, for good).
func unavailable(err error) bool { return errs.ExitCodeOf(err) == errs.ExitVaultUnavailable }

// ocspFailure is the OCSP response to a failure to answer.
func ocspFailure(err error) []byte {
	if unavailable(err) {
		return ocsp.TryLaterErrorResponse
	}
	return ocsp.InternalErrorErrorResponse
}

func (s *responder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Routing is done by hand: http.ServeMux would redirect a base64 GET
	// request containing "//" to a cleaned, different path.
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/crl/"):
		s.serveCRL(w, r, strings.TrimPrefix(p, "/crl/"))
	case p == "/ocsp" || p == "/ocsp/":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOCSPRequest))
		if err != nil {
			writeOCSP(w, ocsp.MalformedRequestErrorResponse, false, time.Time{}, 0)
			return
		}
		s.serveOCSP(w, body, false)
	case strings.HasPrefix(p, "/ocsp/"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, http.MethodGet+", "+http.MethodHead)
			return
		}
		der, err := decodeOCSPGet(strings.TrimPrefix(p, "/ocsp/"))
		if err != nil {
			writeOCSP(w, ocsp.MalformedRequestErrorResponse, false, time.Time{}, 0)
			return
		}
		s.serveOCSP(w, der, true)
	default:
		http.NotFound(w, r)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// decodeOCSPGet decodes the path element of a GET request: the base64 DER
// request, URL-escaped (the server has already unescaped it). Clients differ
// on padding and on the URL-safe alphabet, so both are accepted, but each
// request has only those spellings: a cacheable response is cached under
// its URL, and a lenient decoder (CR/LF skipped, any number of '=',
// non-zero unused bits) would give one request any number of URLs. So no
// CR or LF, either no padding or exactly the right padding, and a strict
// decoder.
func decodeOCSPGet(s string) ([]byte, error) {
	if len(s) > base64.StdEncoding.EncodedLen(maxOCSPRequest) || strings.ContainsAny(s, "\r\n") {
		return nil, errMalformedOCSP
	}
	stdEnc, urlEnc := base64.RawStdEncoding, base64.RawURLEncoding
	if strings.HasSuffix(s, "=") {
		stdEnc, urlEnc = base64.StdEncoding, base64.URLEncoding
	}
	enc := stdEnc
	if strings.ContainsAny(s, "-_") {
		enc = urlEnc
	}
	return enc.Strict().DecodeString(s)
}

func (s *responder) serveCRL(w http.ResponseWriter, r *http.Request, file string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, http.MethodGet+", "+http.MethodHead)
		return
	}
	id, ok := strings.CutSuffix(file, ".crl")
	part := -1
	if dir, n, isPart := strings.Cut(id, "/"); ok && isPart {
		_, can := s.lookup.(PartitionLookup)
		v, err := strconv.Atoi(n)
		if !can || err != nil || v < 0 || strconv.Itoa(v) != n {
			http.NotFound(w, r)
			return
		}
		id, part = dir, v
	}
	if !ok || !validCAID(id) {
		http.NotFound(w, r)
		return
	}
	var der []byte
	var err error
	if part >= 0 {
		der, err = s.lookup.(PartitionLookup).CRLPartition(id, part)
	} else {
		der, err = s.lookup.CRL(id)
	}
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.internal("CRL of "+id, err)
		if unavailable(err) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "the CA's key cannot be reached now; try again later", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	if m, ok := readCRLMeta(der); ok {
		// Cacheable until its nextUpdate, for crlCacheAge at most: a
		// revocation reaches the caches in front (a CDN, a proxy) within
		// that, as the responder signs a new CRL at its next GET. The
		// entity tag answers conditional GETs (304).
		h.Set("ETag", m.etag())
		age := crlCacheAge
		if !m.nextUpdate.IsZero() {
			h.Set("Expires", m.nextUpdate.UTC().Format(http.TimeFormat))
			age = min(age, max(0, m.nextUpdate.Sub(s.now())))
		}
		h.Set("Cache-Control", "public, no-transform, max-age="+strconv.Itoa(int(age/time.Second)))
		// Revalidated by the entity tag alone: a date says too little —
		// two CRLs signed in one second, a server whose clock is behind
		// signing a higher number — so If-Modified-Since and a dated
		// If-Range get the whole CRL (no modification time given to
		// ServeContent), Last-Modified being for information.
		h.Set("Last-Modified", m.thisUpdate.UTC().Format(http.TimeFormat))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(der))
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(der)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(der)
}

// crlCacheAge is the longest a cache may keep a CRL served here without
// asking again.
const crlCacheAge = 5 * time.Minute

// validCAID accepts the identifiers certctl uses (UUIDs) and similar tokens.
func validCAID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *responder) serveOCSP(w http.ResponseWriter, der []byte, cacheable bool) {
	req, err := parseOCSPRequest(der)
	if err != nil {
		writeOCSP(w, ocsp.MalformedRequestErrorResponse, false, time.Time{}, 0)
		return
	}
	cas, err := s.lookup.CAs()
	if err != nil {
		s.internal("OCSP", err)
		writeOCSP(w, ocspFailure(err), false, time.Time{}, 0)
		return
	}
	// Every certificate asked about must come from the same issuer: the
	// response is signed by that issuer's key, which may only speak for
	// it. Several CAs of the vault can be that issuer (a re-issued root
	// imported next to the original has the same subject and key, so the
	// same CertID hashes); each serial is answered by the one that issued
	// it.
	var group []*IssuerInfo
	for i, id := range req.CertIDs {
		cas, err := matchIssuers(cas, id)
		if err != nil {
			s.internal("OCSP", err)
			writeOCSP(w, ocspFailure(err), false, time.Time{}, 0)
			return
		}
		if len(cas) == 0 || (i > 0 && !sameIssuers(cas, group)) {
			writeOCSP(w, ocsp.UnauthorizedErrorResponse, false, time.Time{}, 0)
			return
		}
		group = cas
	}
	answers := make([]singleAnswer, 0, len(req.CertIDs))
	var issuer *IssuerInfo
	for _, id := range req.CertIDs {
		st, from, err := s.status(group, id.Serial)
		if err != nil {
			s.internal("OCSP for "+from.ID, err)
			writeOCSP(w, ocspFailure(err), false, time.Time{}, 0)
			return
		}
		if issuer == nil && st.Known {
			issuer = from
		}
		answers = append(answers, singleAnswer{id: id, status: st})
	}
	// Any CA of the group may sign (same key, same subject in the responder
	// ID); the one that issued a serial asked about is preferred.
	if issuer == nil {
		issuer = group[0]
	}
	now := s.now()
	validity := answerValidity(issuer.Cert, now)
	resp, err := signOCSPResponse(*issuer, answers, req.Nonce, now, validity)
	if err != nil {
		s.internal("OCSP for "+issuer.ID, err)
		writeOCSP(w, ocspFailure(err), false, time.Time{}, 0)
		return
	}
	// A response to a request with a nonce is for that request only.
	writeOCSP(w, resp, cacheable && req.Nonce == nil, now, validity)
}

// answerValidity is how long from now an OCSP answer signed by the CA of
// cert holds: ocspValidity, but nothing past the CA certificate's NotAfter,
// as its CRLs (authority's crlNextUpdate; tester: the CRL's nextUpdate was
// capped, the OCSP answer's not). Its caching headers say the same (review).
func answerValidity(cert *x509.Certificate, now time.Time) time.Duration {
	now = now.UTC().Truncate(time.Second) // as the answer's times are
	if left := cert.NotAfter.Sub(now); left > 0 && left < ocspValidity {
		return left
	}
	return ocspValidity
}

// matchIssuers returns every CA whose name hash and key hash are those of
// id, in the lookup's order.
func matchIssuers(cas []IssuerInfo, id certID) ([]*IssuerInfo, error) {
	var out []*IssuerInfo
	for i := range cas {
		if cas[i].Cert == nil || cas[i].Signer == nil {
			continue
		}
		nameHash, keyHash, err := issuerHashes(cas[i].Cert, id.Hash)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(keyHash, id.IssuerKeyHash) && bytes.Equal(nameHash, id.IssuerNameHash) {
			out = append(out, &cas[i])
		}
	}
	return out, nil
}

// sameIssuers reports whether a and b are the same CAs in the same order.
func sameIssuers(a, b []*IssuerInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			return false
		}
	}
	return true
}

// status returns the status of serial among the CAs of group and the CA it
// comes from: the CA that knows the serial, "unknown" (from the first CA)
// when none does. Should two of them know it (a serial drawn twice under
// the same issuer name and key, which a relying party cannot tell apart),
// a revocation wins over good. When Status fails, the CA returned is the
// one that failed.
func (s *responder) status(group []*IssuerInfo, serial *big.Int) (Status, *IssuerInfo, error) {
	var st Status
	from := group[0]
	for _, ca := range group {
		got, err := s.lookup.Status(ca.ID, serial)
		if err != nil {
			return Status{}, ca, err
		}
		if got.Known && (!st.Known || got.Revoked && !st.Revoked) {
			st, from = got, ca
		}
	}
	return st, from, nil
}

// writeOCSP sends an OCSP response. Cacheable (GET, no nonce) responses get
// RFC 5019 caching headers, for validity (the answers' nextUpdate).
func writeOCSP(w http.ResponseWriter, resp []byte, cacheable bool, now time.Time, validity time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/ocsp-response")
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	if cacheable {
		h.Set("Cache-Control", "max-age="+strconv.Itoa(int(validity/time.Second))+", public, no-transform, must-revalidate")
		h.Set("Last-Modified", now.UTC().Format(http.TimeFormat))
		h.Set("Expires", now.Add(validity).UTC().Format(http.TimeFormat))
	} else {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

package acmeserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// eabAlgorithms are the MAC algorithms accepted in an external account
// binding (RFC 8555 7.3.4).
var eabAlgorithms = []string{"HS256", "HS384", "HS512"}

// checkEAB verifies an external account binding in the change op: a JWS
// MACed with the credential's key, whose kid is the KeyId, whose url is the
// newAccount URL and whose payload is the account's jwk. The credential
// must belong to ep and be usable (not revoked, expired or already used
// unless reusable). Its KeyId is recorded once it names a credential of
// ep; nothing else of the binding is. An error is the store's or the
// vault's, not the binding's.
func (s *Server) checkEAB(op *service.Op, sealer *localstore.Sealer, ep *acmestate.Endpoint, raw json.RawMessage, outer *request) (*acmestate.EAB, *Problem, error) {
	// Read as the outer JWS is (parseJWS): member names matched exactly,
	// and go-jose given only the members read here (flattenedJWS.compact).
	var f flattenedJWS
	if err := decodeExact(raw, &f); err != nil || f.Signatures != nil || f.Header != nil || f.Payload == nil {
		return nil, malformed("externalAccountBinding is not a flattened JWS"), nil
	}
	hdr, err := base64.RawURLEncoding.DecodeString(f.Protected)
	if err != nil {
		return nil, malformed("externalAccountBinding protected header is not base64url"), nil
	}
	h, p := decodeProtected(hdr)
	if p != nil {
		return nil, malformed("externalAccountBinding: " + p.Detail), nil
	}
	if !slices.Contains(eabAlgorithms, h.Alg) {
		p := problem(errBadSignatureAlgorithm, http.StatusBadRequest, "externalAccountBinding must be MACed with HS256, HS384 or HS512")
		p.Algorithms = eabAlgorithms
		return nil, p, nil
	}
	if h.HasNonce {
		return nil, malformed("externalAccountBinding must not carry a nonce"), nil
	}
	if h.URL != outer.URL {
		return nil, unauthorized("externalAccountBinding url does not match the newAccount URL"), nil
	}
	if h.Kid == "" {
		return nil, malformed("externalAccountBinding has no kid"), nil
	}
	b, err := acmestate.GetEAB(op.Tx, h.Kid)
	if err != nil && errs.ExitCodeOf(err) != errs.ExitNotFound {
		return nil, nil, err // the store's failure, not an unknown key ID
	}
	if err != nil || b.EndpointID != ep.ID {
		return nil, unauthorized("unknown external account binding key ID"), nil
	}
	op.Param("ExternalAccountBindingKeyId", b.KeyID)
	c, ok := f.compact()
	if !ok {
		return nil, malformed("externalAccountBinding protected, payload or signature is not base64url"), nil
	}
	jws, err := jose.ParseSigned(c)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, malformed("unparsable externalAccountBinding"), nil
	}
	key, err := b.MACKey(sealer)
	if err != nil {
		return nil, nil, err
	}
	payload, err := jws.Verify(key)
	clear(key)
	if err != nil {
		return nil, unauthorized("externalAccountBinding MAC does not verify"), nil
	}
	var bound jose.JSONWebKey
	if err := bound.UnmarshalJSON(payload); err != nil {
		return nil, malformed("externalAccountBinding payload is not a jwk"), nil
	}
	t1, err1 := thumbprint(&bound)
	t2, err2 := thumbprint(outer.Key)
	if err1 != nil || err2 != nil || t1 != t2 {
		return nil, unauthorized("externalAccountBinding binds another key"), nil
	}
	switch b.Status(op.Now) {
	case acmestate.EABRevoked:
		return nil, unauthorized("external account binding credential revoked"), nil
	case acmestate.EABExpired:
		return nil, unauthorized("external account binding credential expired"), nil
	case acmestate.EABUsed:
		return nil, unauthorized("external account binding credential already used"), nil
	}
	return b, nil, nil
}

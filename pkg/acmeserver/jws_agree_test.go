package acmeserver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v3"

	"github.com/certctl/certctl/pkg/acmestate"
)

// A request already answered, replayed with a fresh, unsigned protected
// header beside it and its signed parts in a member whose name go-jose
// reads as "signatures" once it has deleted the white space in it: the
// server must act on the header the signature covers, so the replay is
// refused. Before go-jose was handed only the members the server read,
// each such replay made a new order.
func TestReplayUnderAnUnsignedHeaderIsRefused(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	_, acct := f.register(key)
	no := f.url("/new-order")
	order := []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`)
	captured := signES256(t, key, map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": no, "kid": acct.URI}, order)
	if resp, body := f.rawPost(no, captured, "application/jose+json"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the original request: %d %s", resp.StatusCode, body)
	}
	resp, body := f.rawPost(no, captured, "application/jose+json")
	wantProblem(t, "plain replay", resp, body, errBadNonce, http.StatusBadRequest)
	var c map[string]string
	if err := json.Unmarshal(captured, &c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"signa tures", "signa\ttures", "signa\ntures", "signatures\u00a0"} {
		y, _ := json.Marshal(map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": no, "kid": acct.URI})
		member, _ := json.Marshal(name)
		forged := `{"protected":"` + base64.RawURLEncoding.EncodeToString(y) + `","payload":"` + c["payload"] +
			`","signature":"AAAA",` + string(member) + `:[{"protected":"` + c["protected"] + `","signature":"` + c["signature"] + `"}]}`
		resp, body := f.rawPost(no, []byte(forged), "application/jose+json")
		if resp.StatusCode < 400 {
			t.Errorf("member %q: the replay was accepted: %d %s", name, resp.StatusCode, body)
		}
	}
	// White space inside a member's base64url: go-jose would delete it,
	// the server's decoder would not.
	spaced := `{"protected":"` + c["protected"][:4] + ` ` + c["protected"][4:] + `","payload":"` + c["payload"] + `","signature":"` + c["signature"] + `"}`
	resp, body = f.rawPost(no, []byte(spaced), "application/jose+json")
	wantProblem(t, "white space in a member", resp, body, errMalformed, http.StatusBadRequest)
	// ... and in the signature of a fresh request, which only the
	// base64url check refuses (the header decodes; go-jose would verify
	// the signature with the white space, or the '.', taken out).
	for _, sep := range []string{" ", "\n", "."} {
		fresh := signES256(t, key, map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": no, "kid": acct.URI}, order)
		var fr map[string]string
		if err := json.Unmarshal(fresh, &fr); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"protected": fr["protected"], "payload": fr["payload"], "signature": fr["signature"][:8] + sep + fr["signature"][8:]})
		resp, got := f.rawPost(no, body, "application/jose+json")
		wantProblem(t, fmt.Sprintf("%q in the signature", sep), resp, got, errMalformed, http.StatusBadRequest)
	}
}

// The external account binding is read as the outer JWS is: a header
// member naming kid in another case is refused, as go-jose would not see
// it as the kid, and the binding's members are what go-jose verifies.
func TestEABHeaderReadExactly(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid, mac := f.eab(false, nil)
	nu := f.url("/new-account")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: mac},
		&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"KID": kid, "url": nu}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(jwkOf(t, key))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"termsOfServiceAgreed": true, "externalAccountBinding": json.RawMessage(obj.FullSerialize())})
	resp, body := f.signed(nu, key, "", b, nil)
	wantProblem(t, "EAB with KID", resp, body, errMalformed, http.StatusBadRequest)

	// A binding whose signed parts hide in a white-space member name
	// beside an unsigned header and a bogus MAC.
	good := eabJWS(t, kid, mac, nu, key)
	var g map[string]string
	if err := json.Unmarshal(good, &g); err != nil {
		t.Fatal(err)
	}
	y, _ := json.Marshal(map[string]any{"alg": "HS256", "kid": kid, "url": nu})
	forged := `{"protected":"` + base64.RawURLEncoding.EncodeToString(y) + `","payload":"` + g["payload"] +
		`","signature":"AAAA","signa tures":[{"protected":"` + g["protected"] + `","signature":"` + g["signature"] + `"}]}`
	b, _ = json.Marshal(map[string]any{"termsOfServiceAgreed": true, "externalAccountBinding": json.RawMessage(forged)})
	resp, body = f.signed(nu, key, "", b, nil)
	wantProblem(t, "EAB with a hidden signature", resp, body, errUnauthorized, http.StatusForbidden)

	// A member named in another case (encoding/json would take it for
	// protected; go-jose would not).
	cased, _ := json.Marshal(map[string]string{"Protected": g["protected"], "payload": g["payload"], "signature": g["signature"]})
	b, _ = json.Marshal(map[string]any{"termsOfServiceAgreed": true, "externalAccountBinding": json.RawMessage(cased)})
	resp, body = f.signed(nu, key, "", b, nil)
	wantProblem(t, "EAB with a Protected member", resp, body, errMalformed, http.StatusBadRequest)

	// The genuine binding still registers the account.
	resp, body = f.signed(nu, key, "", f.newAccountBody(kid, mac, key), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("genuine binding: %d %s", resp.StatusCode, body)
	}
}

// FuzzJWSHeaderAgreesWithJose: whatever body parseJWS accepts, the header
// it acts on (alg, kid, nonce, url) is the one go-jose verifies.
func FuzzJWSHeaderAgreesWithJose(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	signed := enc(`{"alg":"ES256","nonce":"old","url":"https://a/x","kid":"https://a/acct/1"}`)
	unsigned := enc(`{"alg":"ES256","nonce":"new","url":"https://a/y","kid":"https://a/acct/2"}`)
	f.Add([]byte(`{"protected":"` + signed + `","payload":"","signature":"AAAA"}`))
	f.Add([]byte(`{"protected":"` + unsigned + `","payload":"","signature":"AAAA","signa tures":[{"protected":"` + signed + `","signature":"AAAA"}]}`))
	f.Add([]byte(`{"protected":"` + enc(`{"alg":"ES256","nonce":"n","url":"u","kid":"k","kid":"k2"}`) + `","payload":"","signature":"AAAA"}`))
	f.Add([]byte(`{"protected":"` + enc(`{"alg":"ES256","nonce":"n","url":"u","k\u0069d":"k"}`) + `","payload":"","signature":"AAAA"}`))
	f.Add([]byte(`{"protected":"` + signed[:3] + " " + signed[3:] + `","payload":"","signature":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		jws, h, p := parseJWS(b)
		if p != nil {
			return
		}
		g := jws.Signatures[0].Protected
		url, _ := g.ExtraHeaders["url"].(string)
		if g.KeyID != h.Kid || g.Nonce != h.Nonce || string(g.Algorithm) != h.Alg || url != h.URL {
			t.Fatalf("%q: the server reads %+v, go-jose kid=%q nonce=%q alg=%q url=%q", b, h, g.KeyID, g.Nonce, g.Algorithm, url)
		}
	})
}

// nonceSpellings are the other strings the lenient base64url decoder reads
// as nonce n: its last character carries 4 bits of padding.
func nonceSpellings(n string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, n[len(n)-1])
	var out []string
	for low := 0; low < 16; low++ {
		if c := last&^0xf | low; c != last {
			out = append(out, n[:len(n)-1]+string(alphabet[c]))
		}
	}
	return out
}

// A nonce is used once whatever its spelling: the 15 other strings that
// decode to a used nonce are refused, on a request that redeems its nonce
// at once (POST to the account) and on one that redeems it in its change
// (newOrder). The lenient decoder took each spelling for a new nonce.
func TestNonceOnceWhateverItsSpelling(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	_, acct := f.register(key)
	order := []byte(`{"identifiers":[{"type":"dns","value":"a.lab.test"}]}`)
	for _, c := range []struct {
		url     string
		payload []byte
		ok      int
	}{{acct.URI, nil, http.StatusOK}, {f.url("/new-order"), order, http.StatusCreated}} {
		n := f.nonce()
		resp, body := f.signed(c.url, key, acct.URI, c.payload, func(h map[string]any) { h["nonce"] = n })
		if resp.StatusCode != c.ok {
			t.Fatalf("%s, first use: %d %s", c.url, resp.StatusCode, body)
		}
		for _, v := range nonceSpellings(n) {
			resp, body := f.signed(c.url, key, acct.URI, c.payload, func(h map[string]any) { h["nonce"] = v })
			wantProblem(t, c.url+" nonce "+v, resp, body, errBadNonce, http.StatusBadRequest)
		}
	}
}

// The url a request is signed for must be the URL it was routed by: a
// url signed for the account's orders list does not pass at .../acct/ID%2Forders,
// which the router hands to the account handler with the ID "ID/orders".
func TestURLCheckUsesTheRoutedPath(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	_, acct := f.register(key)
	resp, body := f.signed(acct.URI+"%2Forders", key, acct.URI, nil, func(h map[string]any) { h["url"] = acct.URI + "/orders" })
	wantProblem(t, "escaped slash", resp, body, errUnauthorized, http.StatusForbidden)
	if !strings.Contains(string(body), "url header does not match") {
		t.Errorf("refused for another reason: %s", body)
	}
}

// Nothing but white space may follow the JWS object in a request body.
func TestTrailingDataAfterTheJWSIsRefused(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	_, acct := f.register(key)
	jws := signES256(t, key, map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": acct.URI, "kid": acct.URI}, nil)
	resp, body := f.rawPost(acct.URI, append(jws, ` {"protected":"x"}`...), "application/jose+json")
	wantProblem(t, "trailing JWS", resp, body, errMalformed, http.StatusBadRequest)
	jws = signES256(t, key, map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": acct.URI, "kid": acct.URI}, nil)
	if resp, body := f.rawPost(acct.URI, append(jws, " \n\t"...), "application/jose+json"); resp.StatusCode != http.StatusOK {
		t.Errorf("trailing white space: %d %s", resp.StatusCode, body)
	}
}

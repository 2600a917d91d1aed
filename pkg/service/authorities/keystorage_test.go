package authorities

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// fakeToken is an hsm.Token in memory (software keys): the rules of the
// service around a token, without a PKCS#11 module.
type fakeToken struct {
	mu   sync.Mutex
	keys map[string]crypto.Signer // by label
	ids  map[string][]byte
	down error // when set, every operation and signature fails with it
}

func newFakeToken() *fakeToken {
	return &fakeToken{keys: map[string]crypto.Signer{}, ids: map[string][]byte{}}
}

func (f *fakeToken) Generate(alg, label string) (crypto.Signer, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys[label] != nil {
		return nil, nil, errs.Refusedf("label %q taken", label)
	}
	k, err := x509util.GenerateKey(alg)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	f.keys[label], f.ids[label] = k, id
	return &fakeKey{k, f}, id, nil
}

func (f *fakeToken) Find(label string, id []byte) (crypto.Signer, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, nil, f.down
	}
	k := f.keys[label]
	if k == nil || (len(id) > 0 && hex.EncodeToString(id) != hex.EncodeToString(f.ids[label])) {
		return nil, nil, errs.NotFoundf("no key %q", label)
	}
	return &fakeKey{k, f}, f.ids[label], nil
}

func (f *fakeToken) Delete(label string, id []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, label)
	delete(f.ids, label)
	return nil
}

func (f *fakeToken) labels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for l := range f.keys {
		out = append(out, l)
	}
	return out
}

type fakeKey struct {
	crypto.Signer
	f *fakeToken
}

// tokenService is newTestService whose CAs may keep keys in tok; open
// fails with openErr when set.
func tokenService(t *testing.T, tok *fakeToken, openErr *error) *Service {
	s := newTestService(t)
	open := func() (hsm.Token, error) {
		if *openErr != nil {
			return nil, *openErr
		}
		return tok, nil
	}
	s.set.Token = open
	s.core.Authority.Tokens = func() (authority.TokenKeys, error) { return open() }
	return s
}

// TestCreateInToken: a PKCS11 CA's key is made in the token (labelled
// certctl-ca-<id>, or as asked), nothing of it is sealed in the vault, and
// it signs what the CA issues; a CA that is not created takes its key out
// of the token again; an unavailable token (exit 6) changes nothing.
func TestCreateInToken(t *testing.T) {
	ctx := context.Background()
	tok := newFakeToken()
	var openErr error
	s := tokenService(t, tok, &openErr)
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Token Root"}, KeyStorage: hsm.StoragePKCS11, KeyLabel: "root"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "RSA_2048",
		Subject: authority.Subject{CommonName: "Token Sub"}, Parent: root, KeyStorage: hsm.StoragePKCS11})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Describe(ctx, sub)
	if err != nil || d.KeyStorage != "PKCS11" || d.KeyLabel != "certctl-ca-"+sub[strings.LastIndexByte(sub, '/')+1:] {
		t.Fatalf("describe: %+v %v", d, err)
	}
	if got := tok.labels(); len(got) != 2 {
		t.Errorf("token keys %v", got)
	}
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		for _, arn := range []string{root, sub} {
			if _, err := tx.GetSecret("ca/" + arn[strings.LastIndexByte(arn, '/')+1:] + "/key"); err == nil {
				t.Errorf("%s has a sealed key", arn)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Not created (its parent is unknown): the key leaves the token.
	if _, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Orphan"}, Parent: "00000000-0000-4000-8000-000000000000", KeyStorage: hsm.StoragePKCS11}); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("orphan: %v", err)
	}
	if got := tok.labels(); len(got) != 2 {
		t.Errorf("a CA that was not created left its key: %v", got)
	}

	// The token unavailable: exit 6, and nothing recorded.
	n := len(records(t, s))
	openErr = errs.VaultErrorf("pkcs11.pin_file: refused")
	if _, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Late"}, KeyStorage: hsm.StoragePKCS11}); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Errorf("create: %v", err)
	}
	if _, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Vault Sub"}, Parent: root}); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Errorf("a vault subordinate of a token root: %v", err)
	}
	if got := len(records(t, s)); got != n {
		t.Errorf("%d audit records written for changes that failed on the token", got-n)
	}
	openErr = nil

	// A key in the token that is not the CA's is refused (exit 6).
	tok.mu.Lock()
	tok.keys["root"], _ = x509util.GenerateKey("EC_prime256v1")
	tok.mu.Unlock()
	if _, err := s.Create(ctx, CreateRequest{Type: authority.TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Sub 2"}, Parent: root}); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), "not the key of its certificate") {
		t.Errorf("a swapped token key: %v", err)
	}
}

// TestCreateInTokenIdempotent: a retry of `ca create --key-storage PKCS11
// --idempotency-token T` returns the CA it created without making a key in
// the token again — even with its own --pkcs11-key-label, which the first
// creation took — and the same token with other arguments is refused
// (exit 5) without a key left in the token.
func TestCreateInTokenIdempotent(t *testing.T) {
	ctx := context.Background()
	tok := newFakeToken()
	var openErr error
	s := tokenService(t, tok, &openErr)
	for _, label := range []string{"idem root", ""} {
		req := CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Idem CA " + strings.TrimSpace("label "+label)},
			KeyStorage: hsm.StoragePKCS11, KeyLabel: label, IdempotencyToken: "token-" + strings.ReplaceAll(label, " ", "-")}
		first, err := s.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		keys := len(tok.labels())
		again, err := s.Create(ctx, req)
		if err != nil || again != first {
			t.Errorf("label %q: the retry gave %s, %v; want %s", label, again, err, first)
		}
		// The token is not even opened for a retry.
		openErr = errs.VaultErrorf("pkcs11.pin_file: refused")
		if again, err = s.Create(ctx, req); err != nil || again != first {
			t.Errorf("label %q: the retry opened the token: %s, %v", label, again, err)
		}
		openErr = nil
		other := req
		other.Subject.CommonName += " other"
		if _, err := s.Create(ctx, other); errs.ExitCodeOf(err) != errs.ExitRefused {
			t.Errorf("label %q: the token with other arguments: %v, want exit 5", label, err)
		}
		if got := len(tok.labels()); got != keys {
			t.Errorf("label %q: the token holds %d keys after the retries, want %d", label, got, keys)
		}
	}
}

// TestResponderTokenDown: the CRL and OCSP responder (ca serve, endpoint
// serve) still answers for the vault's other CAs when the token is
// unavailable, and answers for a token CA once the token is back.
func TestResponderTokenDown(t *testing.T) {
	ctx := context.Background()
	tok := newFakeToken()
	var openErr error
	s := tokenService(t, tok, &openErr)
	vaultCA, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Vault Root"}})
	if err != nil {
		t.Fatal(err)
	}
	tokenCA, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "Token Root"},
		KeyStorage: hsm.StoragePKCS11})
	if err != nil {
		t.Fatal(err)
	}
	// ocspStatus asks the responder about a certificate ca issues now.
	h, err := s.Responder(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	leafOf := func(ca string) (leaf, issuer *x509.Certificate) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.test"}, DNSNames: []string{"a.example.test"}}, key)
		issued, err := s.Issue(ctx, ca, IssueRequest{CSR: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), Template: "EndEntity",
			Validity: timeutil.Validity{Duration: timeutil.Day}})
		if err != nil {
			t.Fatal(err)
		}
		caPEM, err := s.GetCACertificate(ctx, ca)
		if err != nil {
			t.Fatal(err)
		}
		return parsePEM(t, issued.Certificate), parsePEM(t, caPEM.Certificate)
	}
	ask := func(leaf, issuer *x509.Certificate) (*ocsp.Response, error) {
		req, err := ocsp.CreateRequest(leaf, issuer, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/ocsp", bytes.NewReader(req)))
		return ocsp.ParseResponse(rec.Body.Bytes(), issuer)
	}
	vaultLeaf, vaultIssuer := leafOf(vaultCA)
	tokenLeaf, tokenIssuer := leafOf(tokenCA)

	openErr = errs.VaultErrorf("pkcs11.token_label: the token is not present")
	if r, err := ask(vaultLeaf, vaultIssuer); err != nil || r.Status != ocsp.Good {
		t.Errorf("OCSP of the vault CA with the token down: %+v, %v", r, err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/crl/"+idOf(vaultCA)+".crl", nil))
	if rec.Code != 200 {
		t.Errorf("CRL of the vault CA with the token down: %d %s", rec.Code, rec.Body)
	}
	if _, err := ask(tokenLeaf, tokenIssuer); err == nil {
		t.Errorf("OCSP of the token CA with the token down: a signed response")
	}
	openErr = nil
	if r, err := ask(tokenLeaf, tokenIssuer); err != nil || r.Status != ocsp.Good {
		t.Errorf("OCSP of the token CA with the token back: %+v, %v", r, err)
	}
}

// TestCreateInTokenLabelTaken: a PKCS11 creation the token refuses by a
// rule (its label already taken) is recorded as a FAILURE with the label
// asked for (tester: not recorded, though ca import's refusals are).
func TestCreateInTokenLabelTaken(t *testing.T) {
	ctx := context.Background()
	tok := newFakeToken()
	var openErr error
	s := tokenService(t, tok, &openErr)
	req := CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Taken"}, KeyStorage: hsm.StoragePKCS11, KeyLabel: "taken"}
	if _, err := s.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.Subject.CommonName = "Again"
	if _, err := s.Create(ctx, req); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("a label taken: %v, want exit 5", err)
	}
	r := last(t, s, 2, "CreateCertificateAuthority", audit.OutcomeFailure)
	if r.RequestParameters["KeyLabel"] != "taken" || r.RequestParameters["KeyStorage"] != hsm.StoragePKCS11 {
		t.Errorf("the refusal's parameters %v", r.RequestParameters)
	}
}

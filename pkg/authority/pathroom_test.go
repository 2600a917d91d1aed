package authority

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
)

// caCert is a CA certificate named cn with path length constraint n (-1:
// none), as the parser gives it.
func caCert(cn string, n int) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true, MaxPathLen: -1}
	if n >= 0 {
		c.MaxPathLen, c.MaxPathLenZero = n, n == 0
	}
	return c
}

// TestPathRoom: every constraint of the chain counts, at its distance
// from the CA; the tightest one names itself.
func TestPathRoom(t *testing.T) {
	root1, i, s := caCert("R", 1), caCert("I", -1), caCert("S", -1)
	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		chain []*x509.Certificate
		room  int
		by    string
	}{
		{"unconstrained", s, []*x509.Certificate{i, caCert("R", -1)}, noPathLimit, ""},
		{"own constraint", caCert("I", 2), []*x509.Certificate{caCert("R", -1)}, 2, "I"},
		{"the root's, one level up", i, []*x509.Certificate{root1}, 0, "R"},
		{"the root's, two levels up: too deep", s, []*x509.Certificate{i, root1}, -1, "R"},
		{"the tightest wins", caCert("S", 5), []*x509.Certificate{caCert("I", 1), caCert("R", 9)}, 0, "I"},
	} {
		room, by := pathRoom(tc.cert, tc.chain)
		name := ""
		if by != nil {
			name = by.Subject.CommonName
		}
		if room != tc.room || name != tc.by {
			t.Errorf("%s: room %d by %q, want %d by %q", tc.name, room, name, tc.room, tc.by)
		}
	}
}

// TestCheckSignRoom: a CA deeper than its chain allows (made before the
// rule, or under a chain tightened since) signs nothing, not even a leaf;
// one at the limit signs leaves but no CA; a CA certificate's own
// constraint must fit in the room left.
func TestCheckSignRoom(t *testing.T) {
	r := &Record{ID: "ca-1"}
	leaf := &x509.Certificate{}
	root1, i := caCert("R", 1), caCert("I", -1)
	deep, atLimit := caCert("S", -1), caCert("I", -1)
	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		chain []*x509.Certificate
		t     *x509.Certificate
		want  string
	}{
		{"leaf from a CA too deep", deep, []*x509.Certificate{i, root1}, leaf, "nothing it signs would verify"},
		{"leaf at the limit", atLimit, []*x509.Certificate{root1}, leaf, ""},
		{"CA at the limit", atLimit, []*x509.Certificate{root1}, caCert("X", 0), "may not sign CA certificates"},
		{"CA with room 2, pathlen 1", caCert("I", 2), nil, caCert("X", 1), ""},
		{"CA with room 2, pathlen 2", caCert("I", 2), nil, caCert("X", 2), "a path length of at most 1"},
		{"CA with room 2, unconstrained", caCert("I", 2), nil, caCert("X", -1), "a path length of at most 1"},
		{"CA under no limit", caCert("I", -1), nil, caCert("X", -1), ""},
	} {
		err := checkSignRoom(r, tc.cert, tc.chain, tc.t)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || errs.ExitCodeOf(err) != errs.ExitRefused):
			t.Errorf("%s: %v, want exit 5 with %q", tc.name, err, tc.want)
		}
	}
}

// TestIssuedBy: a chain link's issuer is known by names and a matching
// key identifier without a signature check, and by the signature when
// the identifiers are missing or differ (a CA renewed with its key under
// another identifier still issued what names the old one).
func TestIssuedBy(t *testing.T) {
	now := time.Now()
	root := testpki.NewRoot("IssuedBy Root", now)
	twin := testpki.NewRoot("IssuedBy Root", now) // same name, another key
	sub := root.Sub("IssuedBy Sub")

	// Without a subject key identifier in the issuer, Go writes no
	// authority key identifier into what it signs.
	bare := func(ca *testpki.CA) *x509.Certificate {
		p := *ca.Cert
		p.SubjectKeyId = nil
		return &p
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "IssuedBy Leaf"},
		NotBefore: now, NotAfter: now.Add(time.Hour)}
	noAKI := testpki.Must(x509.ParseCertificate(testpki.Must(x509.CreateCertificate(rand.Reader, tmpl, bare(root), testpki.ECKey().Public(), root.Key))))
	if len(noAKI.AuthorityKeyId) != 0 || len(sub.Cert.AuthorityKeyId) == 0 {
		t.Fatalf("fixtures: leaf AKI %x, sub AKI %x", noAKI.AuthorityKeyId, sub.Cert.AuthorityKeyId)
	}
	// Signed by the twin, but naming the root's key: the identifier decides.
	claimed := *tmpl
	claimed.AuthorityKeyId = root.Cert.SubjectKeyId
	lying := testpki.Must(x509.ParseCertificate(testpki.Must(x509.CreateCertificate(rand.Reader, &claimed, bare(twin), testpki.ECKey().Public(), twin.Key))))

	// The root renewed with its key under another subject key identifier
	// (an outside signer computing it another way): what the root signed
	// before names the old identifier, and was still issued by its key.
	renewedTmpl := *root.Cert
	renewedTmpl.SubjectKeyId = []byte{1, 2, 3, 4}
	renewed := testpki.Must(x509.ParseCertificate(testpki.Must(x509.CreateCertificate(rand.Reader, &renewedTmpl, &renewedTmpl, root.Key.Public(), root.Key))))
	if bytes.Equal(renewed.SubjectKeyId, sub.Cert.AuthorityKeyId) {
		t.Fatal("fixture: the renewed root kept its identifier")
	}

	for _, c := range []struct {
		name      string
		c, issuer *x509.Certificate
		want      bool
	}{
		{"sub by its root renewed under another identifier (signature)", sub.Cert, renewed, true},
		{"root by itself (no AKI: its signature)", root.Cert, root.Cert, true},
		{"root by its twin (no AKI: the twin's key did not sign it)", root.Cert, twin.Cert, false},
		{"sub by its root (key identifiers)", sub.Cert, root.Cert, true},
		{"sub by the root's twin (another key identifier)", sub.Cert, twin.Cert, false},
		{"sub by itself (another name)", sub.Cert, sub.Cert, false},
		{"leaf without AKI by its root (signature)", noAKI, root.Cert, true},
		{"leaf without AKI by the twin (signature fails)", noAKI, twin.Cert, false},
		{"leaf whose AKI names the root (identifier, not signature)", lying, root.Cert, true},
		{"leaf whose AKI names the root, by the twin that signed it (signature)", lying, twin.Cert, true},
	} {
		if got := issuedBy(c.c, c.issuer); got != c.want {
			t.Errorf("%s: issuedBy %v, want %v", c.name, got, c.want)
		}
	}
}

package authority

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestRevocationConfigurationMessages: a malformed --revocation-
// configuration is refused (exit 4) saying what was wanted where, not
// with encoding/json's Go type names, and a CNAME given as a URL is
// refused as one.
func TestRevocationConfigurationMessages(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[]`, "want a JSON object, not a list"},
		{`null`, ""}, // an empty configuration
		{`"x"`, "want a JSON object, not a string"},
		{`{"CrlConfiguration":{"Enabled":"yes"}}`, "CrlConfiguration.Enabled: want true or false, not a string"},
		{`{"CrlConfiguration":{"ExpirationInDays":"7"}}`, "CrlConfiguration.ExpirationInDays: want a number, not a string"},
		{`{"CrlConfiguration":[]}`, "CrlConfiguration: want an object, not a list"},
		{`{"CrlConfiguration":{"Enabled":true,"CustomCname":"http://crl.example.test"}}`, "want a host name without scheme or path"},
		{`{"CrlConfiguration":{"Enabled":true,"CustomCname":"crl.example.test/x"}}`, "want a host name without scheme or path"},
		// An explicit 0 is out of range like -1, not the default.
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":0}}`, "ExpirationInDays 0 (want 1 to 5000)"},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":-1}}`, "ExpirationInDays -1 (want 1 to 5000)"},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":5001}}`, "ExpirationInDays 5001 (want 1 to 5000)"},
		{`{"CrlConfiguration":{"Enabled":true}}`, ""},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":null}}`, ""},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":1}}`, ""},
		{`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":5000}}`, ""},
	} {
		_, err := ParseRevocationConfiguration([]byte(c.in))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
			}
			continue
		}
		if err == nil || errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "struct") {
			t.Errorf("%s: %v, want exit 4 saying %q", c.in, err, c.want)
		}
	}
}

// TestUpdateRevocationKeepsOmittedMember: as in AWS Private CA's
// UpdateCertificateAuthority, a member of the configuration given replaces
// the CA's, and a member omitted is kept; a CA created without a
// configuration keeps the default's (enabled, at ca.base_url).
func TestUpdateRevocationKeepsOmittedMember(t *testing.T) {
	s := newTestService(t, newClock())
	s.BaseURL = "http://pki.example.test"
	both := &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: true, CustomCname: "crl.example.test", CrlType: CRLComplete},
		OcspConfiguration: &OcspConfiguration{Enabled: true, OcspCustomCname: "ocsp.example.test"}}
	ca := createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: Subject{CommonName: "Revo"}, Revocation: both})
	plain := createRoot(t, s, "Plain", 0)
	updateRC := func(id string, rc *RevocationConfiguration) *Record {
		t.Helper()
		mustUpdate(t, s, func(tx localstore.Tx) error {
			r, err := Get(tx, id)
			if err != nil {
				return err
			}
			return s.UpdateRevocation(tx, r, rc)
		})
		return reload(t, s, id)
	}

	r := updateRC(ca.ID, &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: true, CustomCname: "crl2.example.test", CrlType: CRLComplete}})
	if o := s.EffectiveRevocation(r).OcspConfiguration; o == nil || !o.Enabled || o.OcspCustomCname != "ocsp.example.test" || s.OCSPURL(r) != "http://ocsp.example.test/ocsp" {
		t.Fatalf("OCSP after a CRL-only update: %+v, URL %q", o, s.OCSPURL(r))
	}
	if c := r.Revocation.CrlConfiguration; c.CustomCname != "crl2.example.test" {
		t.Fatalf("CRL after the update: %+v", c)
	}
	r = updateRC(ca.ID, &RevocationConfiguration{OcspConfiguration: &OcspConfiguration{Enabled: false}})
	if r.Revocation.OcspConfiguration.Enabled || s.OCSPURL(r) != "" || r.Revocation.CrlConfiguration.CustomCname != "crl2.example.test" {
		t.Fatalf("after turning OCSP off: %+v %+v", r.Revocation.CrlConfiguration, r.Revocation.OcspConfiguration)
	}

	// An OCSP-only update keeps the CRL as ca describe showed it, its
	// ExpirationInDays included (tester: it vanished from describe).
	before := s.EffectiveRevocation(plain).CrlConfiguration.ExpirationInDays
	if r := updateRC(plain.ID, &RevocationConfiguration{OcspConfiguration: &OcspConfiguration{Enabled: true}}); before == 0 ||
		s.EffectiveRevocation(r).CrlConfiguration.ExpirationInDays != before {
		t.Fatalf("ExpirationInDays %d before an OCSP-only update, %d after", before, s.EffectiveRevocation(r).CrlConfiguration.ExpirationInDays)
	}
	r = updateRC(plain.ID, &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: false}})
	if s.OCSPURL(r) != "http://pki.example.test/ocsp" || s.CRLURL(r, -1) != "" || !s.EffectiveRevocation(r).OcspConfiguration.Enabled {
		t.Fatalf("a default CA after a CRL-only update: OCSP %q CRL %q", s.OCSPURL(r), s.CRLURL(r, -1))
	}
}

// TestShortLivedRefusesRevocation: a SHORT_LIVED_CERTIFICATE CA's
// certificates carry no CRL distribution point and no OCSP location, so
// enabling either, at creation or by update, is refused (exit 4) naming
// it rather than accepted and ignored; a configuration that leaves both
// off is accepted.
func TestShortLivedRefusesRevocation(t *testing.T) {
	s := newTestService(t, newClock())
	s.BaseURL = "http://pki.example.test"
	req := func(cn string, rc *RevocationConfiguration) CreateRequest {
		return CreateRequest{Type: TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: Subject{CommonName: cn}, UsageMode: UsageShortLived, Revocation: rc}
	}
	both := &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: true, ExpirationInDays: 7}, OcspConfiguration: &OcspConfiguration{Enabled: true}}
	err := update(t, s, func(tx localstore.Tx) error {
		_, err := s.Create(tx, req("Short Both", both))
		return err
	})
	wantCode(t, err, errs.ExitInvalid, "")
	if !strings.Contains(err.Error(), "a CRL (CrlConfiguration) and OCSP (OcspConfiguration) cannot be enabled") {
		t.Fatalf("refusal %q does not say what cannot be enabled", err)
	}

	off := &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{}, OcspConfiguration: &OcspConfiguration{}}
	ca := createCA(t, s, req("Short Off", off))
	for _, rc := range []*RevocationConfiguration{
		{OcspConfiguration: &OcspConfiguration{Enabled: true}},
		{CrlConfiguration: &CrlConfiguration{Enabled: true}},
	} {
		err := update(t, s, func(tx localstore.Tx) error {
			r, err := Get(tx, ca.ID)
			if err != nil {
				return err
			}
			return s.UpdateRevocation(tx, r, rc)
		})
		wantCode(t, err, errs.ExitInvalid, "")
		if !strings.Contains(err.Error(), "is SHORT_LIVED_CERTIFICATE") {
			t.Fatalf("refusal %q does not name the usage mode", err)
		}
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, ca.ID)
		if err != nil {
			return err
		}
		return s.UpdateRevocation(tx, r, &RevocationConfiguration{OcspConfiguration: &OcspConfiguration{}})
	})
	if rc := s.EffectiveRevocation(reload(t, s, ca.ID)); rc.CrlConfiguration.Enabled || rc.OcspConfiguration.Enabled {
		t.Fatalf("effective configuration %+v %+v", rc.CrlConfiguration, rc.OcspConfiguration)
	}
}

// TestLocationOfTheCA: a host that sets no ca.base_url issues from a CA
// made on a host that does with the CA's CRL and OCSP locations, and says
// its revocation is on as that host does (team tester: its certificates
// carried neither, and ca describe said revocation was off there). A
// host's own ca.base_url still wins; a CA made where none was set takes
// the first one a host issues with, and keeps it.
func TestLocationOfTheCA(t *testing.T) {
	clk := newClock()
	a := newTestService(t, clk)
	a.BaseURL = "http://pki.team.test"
	b := New(a.Vault, clk.Now, "")
	ca := createRoot(t, a, "Team Root", 0)

	leaf, err := issueLeaf(t, b, reload(t, b, ca.ID), "b1", "b.team.test")
	if err != nil {
		t.Fatal(err)
	}
	if got := leaf.Certificate.CRLDistributionPoints; len(got) != 1 || got[0] != "http://pki.team.test/crl/"+ca.ID+".crl" {
		t.Errorf("CRL distribution points of host B's certificate: %q", got)
	}
	if got := leaf.Certificate.OCSPServer; len(got) != 1 || got[0] != "http://pki.team.test/ocsp" {
		t.Errorf("OCSP of host B's certificate: %q", got)
	}
	r := reload(t, b, ca.ID)
	if rc := b.EffectiveRevocation(r); !rc.CrlConfiguration.Enabled || !rc.OcspConfiguration.Enabled || b.UnlocatedRevocation(r) != "" {
		t.Errorf("host B's view of the CA's revocation: %+v %+v %q", rc.CrlConfiguration, rc.OcspConfiguration, b.UnlocatedRevocation(r))
	}

	// A host with its own location uses it.
	c := New(a.Vault, clk.Now, "http://pki-c.team.test")
	if leaf, err := issueLeaf(t, c, r, "c1", "c.team.test"); err != nil || leaf.Certificate.OCSPServer[0] != "http://pki-c.team.test/ocsp" {
		t.Fatalf("host C: %v %v", leaf, err)
	}
	if got := reload(t, b, ca.ID).BaseURL; got != "http://pki.team.test" {
		t.Errorf("an issue on host C changed the CA's location to %q", got)
	}

	// Made where no location is set, the CA takes the first issuer's.
	bare := createRoot(t, b, "Bare Root", 0)
	if leaf, err := issueLeaf(t, b, bare, "b2", "b2.team.test"); err != nil || len(leaf.Certificate.OCSPServer) != 0 {
		t.Fatalf("no location anywhere: %v %v", leaf, err)
	}
	if _, err := issueLeaf(t, c, reload(t, c, bare.ID), "c2", "c2.team.test"); err != nil {
		t.Fatal(err)
	}
	if leaf, err := issueLeaf(t, b, reload(t, b, bare.ID), "b3", "b3.team.test"); err != nil || len(leaf.Certificate.OCSPServer) != 1 || leaf.Certificate.OCSPServer[0] != "http://pki-c.team.test/ocsp" {
		t.Fatalf("after host C issued: %v %v", leaf, err)
	}
}

// TestCarriedCRLURL: what describe shows as the CRL location is what the
// certificates carry — none with OmitExtension.
func TestCarriedCRLURL(t *testing.T) {
	s := newTestService(t, newClock())
	s.BaseURL = "http://pki.example.test"
	ca := createRoot(t, s, "Carried", 0)
	if got := s.CarriedCRLURL(ca); got != "http://pki.example.test/crl/"+ca.ID+".crl" {
		t.Errorf("CarriedCRLURL %q", got)
	}
	omit := createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: Subject{CommonName: "Omit"},
		Revocation: &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: true, CrlType: CRLComplete,
			CrlDistributionPointExtensionConfiguration: &CdpExtensionConfiguration{OmitExtension: true}}}})
	leaf, err := issueLeaf(t, s, omit, "o1", "o.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CarriedCRLURL(omit); got != "" || len(leaf.Certificate.CRLDistributionPoints) != 0 {
		t.Errorf("with OmitExtension: CarriedCRLURL %q, certificate %q", got, leaf.Certificate.CRLDistributionPoints)
	}
}

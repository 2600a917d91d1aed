package validation

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

func TestDNSRecordShape(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	name, value := DNSRecord(secret, "Zone.Example.", "App.Example.TEST")
	if !regexp.MustCompile(`^_[0-9a-f]{32}\.app\.example\.test\.$`).MatchString(name) {
		t.Errorf("record name %q", name)
	}
	if !regexp.MustCompile(`^_[0-9a-f]{32}\.zone\.example\.$`).MatchString(value) {
		t.Errorf("record value %q", value)
	}
	wn, wv := DNSRecord(secret, "zone.example", "*.app.example.test")
	if wn != name || wv != value {
		t.Errorf("a wildcard must share its base name's record: %s %s vs %s %s", wn, wv, name, value)
	}
	on, ov := DNSRecord([]byte("another vault secret, 32 bytes!!"), "zone.example", "app.example.test")
	if on == name || ov == value {
		t.Error("two vaults give the same record")
	}
	if n2, _ := DNSRecord(secret, "zone.example", "www.app.example.test"); n2 == name {
		t.Error("two names share a record")
	}
}

// TestVaultSecretStable: one secret per vault, kept in the meta table, so
// every certificate for a name gets the same record.
func TestVaultSecretStable(t *testing.T) {
	f := newFixture(t)
	a, _ := f.request(MethodDNS, x509util.ECPrime256v1, []string{"stable.example.test"})
	b, _ := f.request(MethodDNS, x509util.ECPrime256v1, []string{"stable.example.test", "*.stable.example.test"})
	if a.Validations[0].RecordName != b.Validations[0].RecordName || a.Validations[0].RecordValue != b.Validations[0].RecordValue {
		t.Errorf("records differ between certificates: %+v vs %+v", a.Validations[0], b.Validations[0])
	}
	if b.Validations[1].RecordName != b.Validations[0].RecordName {
		t.Error("the wildcard does not share the record of its base name")
	}
	if got := len(Records(b)); got != 1 {
		t.Errorf("Records gave %d records for a name and its wildcard, want 1", got)
	}
	if !strings.HasSuffix(a.Validations[0].RecordValue, "."+testZone+".") || a.Validations[0].RecordType != "CNAME" {
		t.Errorf("record %+v", a.Validations[0])
	}
}

func TestTargetMatches(t *testing.T) {
	want := "_abc.zone.example."
	for _, tc := range []struct {
		got string
		ok  bool
	}{
		{"_abc.zone.example.", true},
		{"_ABC.Zone.Example", true},            // case, no trailing dot
		{"abc.zone.example.", true},            // no leading underscore
		{"_abc.zone.example.corp.test.", true}, // zone-file entry without the dot: origin appended
		{"_abd.zone.example.", false},
		{"_abc.zone.exampl.", false},
		{"x_abc.zone.example.", false},
		{"", false},
	} {
		if got := TargetMatches(tc.got, want); got != tc.ok {
			t.Errorf("TargetMatches(%q) = %v, want %v", tc.got, got, tc.ok)
		}
	}
}

// TestDNSValidationIssues: pending → (wrong value: still pending) → the
// CNAME appears → SUCCESS → ISSUED from the built-in public-style CA.
func TestDNSValidationIssues(t *testing.T) {
	f := newFixture(t)
	names := []string{"shop.example.test", "*.shop.example.test", "api.example.test"}
	c, msgs := f.request(MethodDNS, x509util.ECPrime256v1, names)
	if len(msgs) != 0 || c.Status != inventory.StatusPendingValidation {
		t.Fatalf("status %s, %d messages", c.Status, len(msgs))
	}

	out := f.advance(c.ID)
	if out.Certificate.Status != inventory.StatusPendingValidation {
		t.Fatalf("without records: %s", out.Certificate.Status)
	}
	if !strings.Contains(out.Checks[0].Detail, "no CNAME record") {
		t.Errorf("detail %q", out.Checks[0].Detail)
	}

	// A wrong value leaves the name pending.
	f.dns.Add(t, c.Validations[0].RecordName+" 300 IN CNAME _0000.wrong."+testZone+".")
	out = f.advance(c.ID)
	if s := statuses(out.Certificate); s["shop.example.test"] != StatusPending || out.Certificate.Status != inventory.StatusPendingValidation {
		t.Fatalf("wrong value: %v", s)
	}

	f.dns.Clear()
	f.addValidationRecords(c)
	// api.example.test has its record, but shop's is the only one added
	// for shop and *.shop: all three names validate.
	out = f.advance(c.ID)
	got := out.Certificate
	if got.Status != inventory.StatusIssued {
		t.Fatalf("status %s, checks %+v", got.Status, out.Checks)
	}
	for n, s := range statuses(got) {
		if s != StatusSuccess {
			t.Errorf("%s: %s", n, s)
		}
	}
	leaf := f.leaf(c.ID)
	if leaf.Subject.CommonName != "shop.example.test" || strings.Join(leaf.DNSNames, ",") != strings.Join(names, ",") {
		t.Errorf("leaf names %q %v", leaf.Subject.CommonName, leaf.DNSNames)
	}
	for _, eku := range leaf.ExtKeyUsage {
		if eku == x509.ExtKeyUsageClientAuth {
			t.Error("an ISSUED-type certificate must not carry clientAuth")
		}
	}
	if alg, _ := x509util.KeyAlgorithmOf(leaf.PublicKey); alg != x509util.ECPrime256v1 || got.KeyAlgorithm != alg {
		t.Errorf("key algorithm %s / %s", alg, got.KeyAlgorithm)
	}
	if leaf.Issuer.CommonName != "certctl ECDSA Issuing CA" {
		t.Errorf("issuer %q", leaf.Issuer.CommonName)
	}
	if got.Type != inventory.TypeIssued || got.ExportOption != "ENABLED" || got.CertificateAuthorityID == "" {
		t.Errorf("record %+v", got)
	}
	// One Certificate Available event, Action ISSUANCE.
	var evs []*events.Event
	if err := f.svc.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		rows, err := tx.ListEvents(0, time.Time{}, 0)
		for _, r := range rows {
			ev, _ := events.Decode(r.Data)
			evs = append(evs, ev)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].DetailType != events.Available || evs[0].Detail["Action"] != events.ActionIssuance {
		b, _ := json.Marshal(evs)
		t.Errorf("events %s", b)
	}
	// Advancing an issued certificate does nothing.
	if again := f.advance(c.ID); again.Certificate.Version != 1 || len(again.Checks) != 0 {
		t.Errorf("advance after issue: version %d", again.Certificate.Version)
	}
}

// TestRSAIssuedFromRSACA: the key is generated at issuance with the
// requested algorithm and signed by the matching built-in CA.
func TestRSAIssuedFromRSACA(t *testing.T) {
	f := newFixture(t)
	c, _ := f.request(MethodDNS, x509util.RSA2048, []string{"rsa.example.test"})
	f.addValidationRecords(c)
	if out := f.advance(c.ID); out.Certificate.Status != inventory.StatusIssued {
		t.Fatalf("%s %+v", out.Certificate.Status, out.Checks)
	}
	leaf := f.leaf(c.ID)
	if alg, _ := x509util.KeyAlgorithmOf(leaf.PublicKey); alg != x509util.RSA2048 || leaf.Issuer.CommonName != "certctl RSA Issuing CA" {
		t.Errorf("%s from %s", alg, leaf.Issuer.CommonName)
	}
}

func TestCNAMEChain(t *testing.T) {
	for _, tc := range []struct {
		links int
		ok    bool
	}{{1, true}, {5, true}, {6, false}} {
		f := newFixture(t)
		c, _ := f.request(MethodDNS, x509util.ECPrime256v1, []string{"chain.example.test"})
		v := c.Validations[0]
		from := v.RecordName
		for i := 1; i < tc.links; i++ {
			hop := "hop" + string(rune('0'+i)) + ".chain.example.test."
			f.dns.Add(t, from+" 300 IN CNAME "+hop)
			from = hop
		}
		f.dns.Add(t, from+" 300 IN CNAME "+v.RecordValue)
		out := f.advance(c.ID)
		if got := out.Certificate.Status == inventory.StatusIssued; got != tc.ok {
			t.Errorf("chain of %d: status %s %+v", tc.links, out.Certificate.Status, out.Checks)
		}
		if !tc.ok && !strings.Contains(out.Checks[0].Detail, "longer than 5") {
			t.Errorf("chain of %d: detail %q", tc.links, out.Checks[0].Detail)
		}
		// A chain that is too long is a definite failure, not a record
		// still to come: the name and the certificate fail (OTHER).
		if !tc.ok {
			c := out.Certificate
			if c.Status != inventory.StatusFailed || c.FailureReason != ReasonOther || c.Validations[0].Status != StatusFailed ||
				out.Checks[0].Status != StatusFailed || out.Checks[0].Reason != ReasonOther {
				t.Errorf("chain of %d: certificate %s (%s), name %s, check %+v", tc.links, c.Status, c.FailureReason, c.Validations[0].Status, out.Checks[0])
			}
		}
	}
}

func TestCAA(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records []string
		names   []string
		want    map[string]string
		issued  bool
	}{
		{"forbidding", []string{`caa.example.test. 300 IN CAA 0 issue ";"`}, []string{"caa.example.test"},
			map[string]string{"caa.example.test": StatusFailed}, false},
		{"forbidding at a parent (tree climbing)", []string{`example.test. 300 IN CAA 0 issue ";"`}, []string{"deep.caa.example.test"},
			map[string]string{"deep.caa.example.test": StatusFailed}, false},
		{"other CA only", []string{`caa.example.test. 300 IN CAA 0 issue "other-ca.example"`}, []string{"caa.example.test"},
			map[string]string{"caa.example.test": StatusFailed}, false},
		{"naming our identity", []string{`caa.example.test. 300 IN CAA 0 issue "other-ca.example"`, `caa.example.test. 300 IN CAA 0 issue "certctl.local; account=1"`},
			[]string{"caa.example.test", "*.caa.example.test"},
			map[string]string{"caa.example.test": StatusSuccess, "*.caa.example.test": StatusSuccess}, true},
		{"closest set wins", []string{`example.test. 300 IN CAA 0 issue ";"`, `caa.example.test. 300 IN CAA 0 issue "certctl.local"`},
			[]string{"caa.example.test"}, map[string]string{"caa.example.test": StatusSuccess}, true},
		{"issuewild without our identity blocks only the wildcard",
			[]string{`caa.example.test. 300 IN CAA 0 issue "certctl.local"`, `caa.example.test. 300 IN CAA 0 issuewild "other-ca.example"`},
			[]string{"caa.example.test", "*.caa.example.test"},
			map[string]string{"caa.example.test": StatusSuccess, "*.caa.example.test": StatusFailed}, false},
		{"unknown critical property", []string{`caa.example.test. 300 IN CAA 128 tbs "x"`}, []string{"caa.example.test"},
			map[string]string{"caa.example.test": StatusFailed}, false},
		{"iodef only", []string{`caa.example.test. 300 IN CAA 0 iodef "mailto:sec@example.test"`}, []string{"caa.example.test"},
			map[string]string{"caa.example.test": StatusSuccess}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.dns.Add(t, tc.records...)
			c, _ := f.request(MethodDNS, x509util.ECPrime256v1, tc.names)
			f.addValidationRecords(c)
			out := f.advance(c.ID)
			got := out.Certificate
			if s := statuses(got); len(s) != len(tc.want) {
				t.Fatalf("statuses %v", s)
			} else {
				for n, w := range tc.want {
					if s[n] != w {
						t.Errorf("%s: %s, want %s (%+v)", n, s[n], w, out.Checks)
					}
				}
			}
			if tc.issued {
				if got.Status != inventory.StatusIssued {
					t.Errorf("status %s", got.Status)
				}
				return
			}
			if got.Status != inventory.StatusFailed || got.FailureReason != ReasonCAA {
				t.Errorf("status %s reason %q, want FAILED CAA_ERROR", got.Status, got.FailureReason)
			}
		})
	}
}

func TestParseCAAValue(t *testing.T) {
	p, err := ParseCAAValue(" CA.Example. ; account=230123 ; policy = ev ")
	if err != nil || p.Issuer != "ca.example" || p.Parameters["account"] != "230123" || p.Parameters["policy"] != "ev" {
		t.Errorf("%+v %v", p, err)
	}
	if p, err := ParseCAAValue(";"); err != nil || p.Issuer != "" {
		t.Errorf("%+v %v", p, err)
	}
	for _, bad := range []string{"ca..example", "ca example", "ca.example; novalue", "c@"} {
		if _, err := ParseCAAValue(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// longName is a valid domain name of n octets (n ≥ 20) under example.test.
func longName(n int) string {
	suffix := ".example.test"
	var labels []string
	for left := n - len(suffix); left > 0; {
		l := min(63, left)
		if left-l == 1 {
			l-- // a lone octet cannot be a label after its dot
		}
		labels = append(labels, strings.Repeat("a", l))
		left -= l + 1
		if left == 0 {
			break
		}
	}
	name := strings.Join(labels, ".") + suffix
	for len(name) < n {
		name = "b" + name
	}
	return name
}

// TestDNSValidationNameLength: a name whose validation record
// (_<32 hex>.<name>) would pass 253 octets is refused for DNS validation
// (exit 4), saying how long a name may be; EMAIL takes it.
func TestDNSValidationNameLength(t *testing.T) {
	f := newFixture(t)
	fits, over := longName(219), longName(220)
	if len(fits) != 219 || len(over) != 220 {
		t.Fatalf("names of %d and %d octets", len(fits), len(over))
	}
	if _, err := f.svc.CheckRequest(Request{Method: MethodDNS, Names: []string{fits, "*." + fits[2:]}}); err != nil {
		t.Errorf("a name of 219 octets: %v", err)
	}
	rn, _ := DNSRecord([]byte("secret"), "zone.test", fits)
	if len(strings.TrimSuffix(rn, ".")) != 253 {
		t.Errorf("record of a name of 219 octets: %d octets", len(rn)-1)
	}
	_, err := f.svc.CheckRequest(Request{Method: MethodDNS, Names: []string{"ok.example.test", over}})
	if exitOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "too long for DNS validation") || !strings.Contains(err.Error(), "at most 219 octets") {
		t.Errorf("a name of 220 octets: exit %d, %v", exitOf(err), err)
	}
	if _, err := f.svc.CheckRequest(Request{Method: MethodEmail, Names: []string{over}}); err != nil {
		t.Errorf("EMAIL for a name of 220 octets: %v", err)
	}
	if !DNS01Fits(longName(237)) || DNS01Fits(longName(238)) {
		t.Error("dns-01 fits a name of at most 237 octets (_acme-challenge. is 16)")
	}
}

package deploy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/pemio"
)

// TestInstallRefusesMaterial: a version whose certificate is not one
// certificate that parses, whose chain does not parse, or whose
// certificate is not of its key writes no file and runs no command; text
// around a certificate's PEM block is not written.
func TestInstallRefusesMaterial(t *testing.T) {
	good := testMaterial(t, 2, time.Now())
	other := testMaterial(t, 2, time.Now())
	script := []byte("#!/bin/sh\ntouch /tmp/pwned\n")
	cases := map[string]func(m *Material){
		"script": func(m *Material) { m.CertificatePEM = script },
		"empty":  func(m *Material) { m.CertificatePEM = nil },
		"two certificates": func(m *Material) {
			m.CertificatePEM = append(append([]byte{}, m.CertificatePEM...), other.CertificatePEM...)
		},
		"chain not PEM":     func(m *Material) { m.ChainPEM = script },
		"another key's":     func(m *Material) { m.CertificatePEM = other.CertificatePEM },
		"a private key PEM": func(m *Material) { m.ChainPEM, _ = pemio.EncodePKCS8(m.Key) },
		"no key":            func(m *Material) { m.Key = nil },
		// Signatures, which parsing does not check.
		"another CA's chain": func(m *Material) { m.ChainPEM = other.ChainPEM },
		"re-dated, its signature broken": func(m *Material) {
			m.CertificatePEM = redated(t, m.CertificatePEM, 24*time.Hour)
		},
		"self-signed, re-dated": func(m *Material) {
			leaf := selfSigned(t, m.Key.(*ecdsa.PrivateKey), "app.internal", time.Now().Add(-time.Hour))
			m.CertificatePEM, m.ChainPEM = redated(t, pemio.EncodeCertificatesPEM(leaf), 30*time.Minute), nil
		},
		"valid only from the future": func(m *Material) {
			leaf := selfSigned(t, m.Key.(*ecdsa.PrivateKey), "app.internal", time.Now().Add(ClockSkew+time.Minute))
			m.CertificatePEM, m.ChainPEM = pemio.EncodeCertificatesPEM(leaf), nil
		},
	}
	for name, edit := range cases {
		dir := t.TempDir()
		ran := filepath.Join(dir, "ran")
		tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"),
			ChainFile: filepath.Join(dir, "chain.pem"), Exec: "touch " + ran}
		m := good
		edit(&m)
		_, err := m.Identify()
		if !IsRefusedMaterial(err) {
			t.Errorf("%s: Identify = %v, want a refusal", name, err)
		}
		// What does not parse is damage (an export of it exits 6), and
		// CheckParses alone says so; the rest is not.
		unparsed := map[string]bool{"script": true, "empty": true, "chain not PEM": true, "a private key PEM": true}[name]
		if IsDamagedMaterial(err) != unparsed || IsDamagedMaterial(m.CheckParses()) != unparsed {
			t.Errorf("%s: IsDamagedMaterial(%v) = %v, CheckParses %v; want %v", name, err, IsDamagedMaterial(err), m.CheckParses(), unparsed)
		}
		err = Install(context.Background(), tg, m, Hooks{Allow: true})
		if !IsRefusedMaterial(err) || !strings.Contains(err.Error(), "version 2 of arn:x not installed") {
			t.Errorf("%s: Install = %v, want a refusal", name, err)
		}
		if got := listDir(t, dir); len(got) != 0 {
			t.Errorf("%s: a refused install wrote %q", name, got)
		}
	}

	// Text around the blocks (a script around a real certificate) parses,
	// but only the certificates are written.
	dir := t.TempDir()
	tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), ChainFile: filepath.Join(dir, "chain.pem")}
	m := good
	m.CertificatePEM = append(append(append([]byte{}, script...), good.CertificatePEM...), script...)
	m.ChainPEM = append(append([]byte{}, good.ChainPEM...), script...)
	if err := Install(context.Background(), tg, m, Hooks{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][]byte{tg.CertFile: good.CertificatePEM, tg.ChainFile: good.ChainPEM} {
		if got, _ := os.ReadFile(p); string(got) != string(want) {
			t.Errorf("%s holds %q, want the certificates alone", filepath.Base(p), got)
		}
	}
}

// redated is the certificate of certPEM with its NotBefore moved by d in
// its bytes, its signature left as it was (so broken).
func redated(t *testing.T, certPEM []byte, d time.Duration) []byte {
	t.Helper()
	certs, err := pemio.ParseCertificatesPEM(certPEM)
	if err != nil || len(certs) != 1 {
		t.Fatalf("redated: %v", err)
	}
	const utcTime = "060102150405Z" // the DER form of a time before 2050
	from, to := certs[0].NotBefore.UTC().Format(utcTime), certs[0].NotBefore.Add(d).UTC().Format(utcTime)
	der := bytes.Replace(certs[0].Raw, []byte(from), []byte(to), 1)
	if bytes.Equal(der, certs[0].Raw) {
		t.Fatal("redated: NotBefore not found")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestDecide: what a host installs over what it installed, by its own
// record: a newer version, or after a restore a version whose number it
// had installed but whose certificate is newer; never an older
// certificate, nor another of the same number no newer; nothing when it
// holds the certificate already (another process installed it).
func TestDecide(t *testing.T) {
	h, err := LocalHost(t.TempDir(), "h")
	if err != nil {
		t.Fatal(err)
	}
	tg := h.Bind("c1", Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem"})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	installed := Identity{Version: 3, Fingerprint: "f3", Serial: "s3", NotBefore: t0}
	id := func(v int, fp string, nb time.Duration) Identity {
		return Identity{Version: v, Fingerprint: fp, Serial: "s" + fp, NotBefore: t0.Add(nb)}
	}
	cases := []struct {
		name    string
		rec     *Identity
		in      Identity
		install bool
		refused string
	}{
		{"no record", nil, id(1, "a", -time.Hour), true, ""},
		{"installed already", &installed, id(3, "f3", 0), false, ""},
		{"newer version", &installed, id(4, "b", time.Hour), true, ""},
		{"newer version, the same second", &installed, id(4, "b", 0), true, ""},
		{"newer version, older certificate", &installed, id(4, "b", -time.Hour), false, "older than"},
		{"restored, then renewed: the same number", &installed, id(3, "b", time.Hour), true, ""},
		{"restored, then renewed: a lower number", &installed, id(2, "b", time.Hour), true, ""},
		{"the same number, another certificate no newer", &installed, id(3, "b", 0), false, "no newer than"},
		{"an older version", &installed, id(2, "b", -time.Hour), false, "older than"},
		{"legacy record: the same version", &Identity{Version: 3}, id(3, "b", 0), false, ""},
		{"legacy record: a newer version", &Identity{Version: 3}, id(4, "b", 0), true, ""},
		{"legacy record: an older version", &Identity{Version: 3}, id(2, "b", time.Hour), false, "an older version than"},
		{"failed deploy: nothing older", &Identity{NotBefore: t0}, id(1, "b", -time.Hour), false, "older than"},
		{"failed deploy: retried", &Identity{NotBefore: t0}, id(1, "b", 0), true, ""},
		// A record of a certificate valid only from the future (made
		// elsewhere, installed before such ones were refused) is no
		// floor: the genuine renewal is installed.
		{"a recorded NotBefore far ahead: a newer version", &Identity{Version: 3, Fingerprint: "x", NotBefore: t0.AddDate(69, 0, 0)}, id(4, "b", 0), true, ""},
		{"a recorded NotBefore far ahead: no newer version", &Identity{Version: 3, Fingerprint: "x", NotBefore: t0.AddDate(69, 0, 0)}, id(3, "b", 0), false, "an older version than"},
		{"a recorded NotBefore ahead within the skew: still a floor", &Identity{Version: 3, Fingerprint: "x", NotBefore: t0.Add(time.Hour + time.Minute)}, id(4, "b", 0), false, "older than"},
	}
	now := t0.Add(time.Hour)
	for _, tc := range cases {
		if err := os.Remove(filepath.Join(h.dir, TargetsFile)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if tc.rec != nil {
			if err := h.Remember("c1", tg, *tc.rec); err != nil {
				t.Fatal(err)
			}
		}
		install, why, _ := h.Decide("c1", tg, tc.in, now)
		if install != tc.install || (tc.refused == "") != (why == "") || !strings.Contains(why, tc.refused) {
			t.Errorf("%s: Decide = %v %q, want %v %q", tc.name, install, why, tc.install, tc.refused)
		}
	}
	// Recorded anew (another seal) by a deploy since: that deploy
	// installed it.
	if err := h.Remember("c1", h.Bind("c1", Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem", Exec: "true"}), installed); err != nil {
		t.Fatal(err)
	}
	if install, why, _ := h.Decide("c1", tg, id(4, "b", time.Hour), now); install || why != "" {
		t.Errorf("a target recorded anew meanwhile: Decide = %v %q, want nothing to do", install, why)
	}
}

// TestStale: a target this host installed with its certificate identified
// is stale when the certificate's record names another version or
// another certificate of the same version (a restored store's renewal),
// whatever the store says of the target; others, as before, when their
// version is behind or their last attempt failed.
func TestStale(t *testing.T) {
	dir := t.TempDir()
	h, _ := LocalHost(dir, "h")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tg := h.Bind("c1", Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem"})
	if err := h.Remember("c1", tg, Identity{Version: 2, Fingerprint: "f", Serial: "s2", NotBefore: t0}); err != nil {
		t.Fatal(err)
	}
	h, _ = LocalHost(dir, "h") // a new process: reads the record
	cur := Identity{Version: 2, Serial: "s2", NotBefore: t0}
	failed := tg
	failed.Version, failed.LastError = 0, "written into the database"
	for _, c := range []struct {
		name  string
		t     Target
		cur   Identity
		stale bool
	}{
		{"current", tg, cur, false},
		{"current, the store saying it failed", failed, cur, false},
		{"a newer version", tg, Identity{Version: 3, Serial: "s3", NotBefore: t0.Add(time.Hour)}, true},
		{"the same version, another certificate", tg, Identity{Version: 2, Serial: "x", NotBefore: t0.Add(time.Hour)}, true},
		{"another host's, behind", Target{CertFile: "/y", HostID: "other", Version: 1}, cur, true},
		{"another host's, current", Target{CertFile: "/y", HostID: "other", Version: 2}, cur, false},
		{"unbound, failed", Target{CertFile: "/z", Version: 2, LastError: "x"}, cur, true},
	} {
		if got := h.Stale("c1", c.t, c.cur); got != c.stale {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.stale)
		}
	}
}

// FuzzIdentify: whatever bytes the store holds for a version's
// certificate and chain, Identify neither panics nor accepts anything but
// certificates of the key; what it accepts, Install writes as
// certificates alone.
func FuzzIdentify(f *testing.F) {
	m := testMaterial(f, 1, time.Now())
	f.Add(m.CertificatePEM, m.ChainPEM)
	f.Add([]byte("#!/bin/sh\n"), []byte(nil))
	f.Add(append([]byte("x\n"), m.CertificatePEM...), []byte("-----BEGIN CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, cert, chain []byte) {
		x := m
		x.CertificatePEM, x.ChainPEM = cert, chain
		c, err := x.check()
		if err != nil {
			if !IsRefusedMaterial(err) {
				t.Fatalf("an error that is not a refusal: %v", err)
			}
			return
		}
		if string(c.certPEM) != string(m.CertificatePEM) {
			t.Fatalf("accepted another certificate than the key's: %q", c.certPEM)
		}
		if len(c.chainPEM) > 0 {
			if _, err := pemio.ParseCertificatesPEM(c.chainPEM); err != nil {
				t.Fatalf("the chain written does not parse: %v", err)
			}
		}
	})
}

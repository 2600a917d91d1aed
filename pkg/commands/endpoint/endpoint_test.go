package endpoint

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
)

// usage asserts that every argument list is refused by the flag layer,
// before any run, with exit 2: the command's own checks say so, and
// cobra's (unknown flag, missing required flag) are usage errors that the
// root maps to 2.
func usage[O any](t *testing.T, build func(*cmdutil.Factory, func(*O) error) *cobra.Command, lists ...[]string) {
	t.Helper()
	for _, args := range lists {
		o, err := flagtest.Parse(t, build, args...)
		var ce *errs.Error
		if err == nil || o != nil || (errors.As(err, &ce) && ce.Exit != errs.ExitUsage) {
			t.Errorf("%q: exit %d (%v), options %+v; want a usage error and no run", args, errs.ExitCodeOf(err), err, o)
		}
	}
}

func TestCreateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCreate, "--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED",
		"--allowed-key-algorithms", "EC_prime256v1", "--allowed-key-algorithms", "EC_secp384r1,RSA_2048",
		"--certificate-tags", "env=lab", "--certificate-tags", "Key=team,Value=pki", "--tags", "owner=ops", "--name", "lab")
	if err != nil {
		t.Fatal(err)
	}
	if o.AuthorizationBehavior != "PRE_APPROVED" || o.Contact != "REQUIRED" || o.Name != "lab" ||
		!slices.Equal(o.AllowedKeyAlgorithms, []string{"EC_prime256v1", "EC_secp384r1", "RSA_2048"}) ||
		!slices.Equal(o.CertificateTags, []string{"env=lab", "Key=team,Value=pki"}) || !slices.Equal(o.Tags, []string{"owner=ops"}) {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdCreate, "--authorization-behavior", "PRE_APPROVED", "--contact", "NOT_REQUIRED")
	if err != nil || len(o.AllowedKeyAlgorithms) != 0 || o.CertificateTags != nil {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdCreate, "--authorization-behavior", "CHALLENGE", "--contact", "NOT_REQUIRED",
		"--challenge-types", "http-01,dns-01", "--challenge-types", "tls-alpn-01")
	if err != nil || o.AuthorizationBehavior != "CHALLENGE" || !slices.Equal(o.ChallengeTypes, []string{"http-01", "dns-01", "tls-alpn-01"}) {
		t.Errorf("CHALLENGE with --challenge-types: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdCreate, "--authorization-behavior", "CHALLENGE", "--contact", "NOT_REQUIRED")
	if err != nil || o.ChallengeTypes != nil {
		t.Errorf("CHALLENGE without --challenge-types (all offered): %+v, %v", o, err)
	}
	usage(t, NewCmdCreate,
		[]string{"--authorization-behavior", "CHALLENGE", "--contact", "REQUIRED", "--challenge-types", "http-02"},
		[]string{"--authorization-behavior", "CHALLENGE", "--contact", "REQUIRED", "--challenge-types", "dns-01,HTTP-01"},
		[]string{"--authorization-behavior", "CHALLENGE", "--contact", "REQUIRED", "--challenge-types", ""},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "--challenge-types", "dns-01"},
		[]string{"--authorization-behavior", "challenge", "--contact", "REQUIRED"},
		[]string{"--contact", "REQUIRED"},                    // no behaviour
		[]string{"--authorization-behavior", "PRE_APPROVED"}, // no contact
		[]string{"--authorization-behavior", "BOGUS", "--contact", "REQUIRED"},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "MAYBE"},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "--allowed-key-algorithms", "RSA_1024"},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "--bogus"},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "extra"},
	)
}

func TestDescribeAndListFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDescribe, "5f2c9e")
	if err != nil || o.Endpoint != "5f2c9e" {
		t.Errorf("describe: %+v, %v", o, err)
	}
	usage(t, NewCmdDescribe, []string{}, []string{"a", "b"}, []string{"a", "--bogus"})
	l, err := flagtest.Parse(t, NewCmdList)
	if err != nil || l == nil {
		t.Errorf("list: %+v, %v", l, err)
	}
	usage(t, NewCmdList, []string{"extra"}, []string{"--bogus"})
}

func TestUpdateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--contact", "NOT_REQUIRED", "--allowed-key-algorithms", "RSA_2048,EC_prime256v1",
		"--certificate-tags", "env=prod", "--name", "lab2")
	if err != nil {
		t.Fatal(err)
	}
	if o.Endpoint != "5f2c9e" || o.Contact == nil || *o.Contact != "NOT_REQUIRED" || o.Name == nil || *o.Name != "lab2" ||
		o.AllowedKeyAlgorithms == nil || !slices.Equal(*o.AllowedKeyAlgorithms, []string{"RSA_2048", "EC_prime256v1"}) ||
		o.CertificateTags == nil || !slices.Equal(*o.CertificateTags, []string{"env=prod"}) {
		t.Errorf("options %+v", o)
	}
	// What is not given stays nil (unchanged); an empty name is a change.
	o, err = flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--name", "")
	if err != nil || o.Name == nil || *o.Name != "" || o.Contact != nil || o.AllowedKeyAlgorithms != nil || o.CertificateTags != nil {
		t.Errorf("--name only: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--authorization-behavior", "CHALLENGE", "--challenge-types", "dns-01")
	if err != nil || o.AuthorizationBehavior == nil || *o.AuthorizationBehavior != "CHALLENGE" ||
		o.ChallengeTypes == nil || !slices.Equal(*o.ChallengeTypes, []string{"dns-01"}) || o.Contact != nil {
		t.Errorf("update to CHALLENGE: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--challenge-types", "tls-alpn-01,http-01")
	if err != nil || o.AuthorizationBehavior != nil || o.ChallengeTypes == nil || !slices.Equal(*o.ChallengeTypes, []string{"tls-alpn-01", "http-01"}) {
		t.Errorf("--challenge-types only: %+v, %v", o, err)
	}
	usage(t, NewCmdUpdate,
		[]string{"5f2c9e", "--authorization-behavior", "BOGUS"},
		[]string{"5f2c9e", "--challenge-types", "dns-02"},
		[]string{"5f2c9e", "--challenge-types", ""},
		[]string{"5f2c9e", "--authorization-behavior", "PRE_APPROVED", "--challenge-types", "dns-01"},
		[]string{"5f2c9e"}, // nothing to update
		[]string{"5f2c9e", "--contact", "SOMETIMES"},
		[]string{"5f2c9e", "--allowed-key-algorithms", "DSA_1024"},
		[]string{"5f2c9e", "--allowed-key-algorithms", ""},
		[]string{"--name", "x"},
	)
}

func TestDeleteFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDelete, "5f2c9e", "--yes")
	if err != nil || o.Endpoint != "5f2c9e" || !o.Yes || o.IO == nil {
		t.Errorf("delete --yes: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdDelete, "-y", "5f2c9e")
	if err != nil || !o.Yes {
		t.Errorf("delete -y: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdDelete, "5f2c9e")
	if err != nil || o.Yes {
		t.Errorf("delete: %+v, %v", o, err)
	}
	usage(t, NewCmdDelete, []string{}, []string{"a", "b"}, []string{"a", "--force"})
}

func TestEABFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdEABCreate, "5f2c9e", "--reusable", "--expires-in", "7d")
	if err != nil || o.Endpoint != "5f2c9e" || !o.Reusable || o.ExpiresIn != 7*24*time.Hour {
		t.Errorf("eab create: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdEABCreate, "5f2c9e")
	if err != nil || o.Reusable || o.ExpiresIn != 0 {
		t.Errorf("eab create defaults: %+v, %v", o, err)
	}
	usage(t, NewCmdEABCreate, []string{}, []string{"a", "b"},
		[]string{"a", "--expires-in", "soon"}, []string{"a", "--expires-in", "-1h"}, []string{"a", "--expires-in", "0s"})

	l, err := flagtest.Parse(t, NewCmdEABList, "5f2c9e")
	if err != nil || l.Endpoint != "5f2c9e" {
		t.Errorf("eab list: %+v, %v", l, err)
	}
	usage(t, NewCmdEABList, []string{}, []string{"a", "b"})

	r, err := flagtest.Parse(t, NewCmdEABRevoke, "5f2c9e", "0a1b2c3d")
	if err != nil || r.Endpoint != "5f2c9e" || r.KeyID != "0a1b2c3d" || r.DeactivateAccounts {
		t.Errorf("eab revoke: %+v, %v", r, err)
	}
	r, err = flagtest.Parse(t, NewCmdEABRevoke, "5f2c9e", "--deactivate-accounts", "0a1b2c3d")
	if err != nil || r.KeyID != "0a1b2c3d" || !r.DeactivateAccounts {
		t.Errorf("eab revoke --deactivate-accounts: %+v, %v", r, err)
	}
	usage(t, NewCmdEABRevoke, []string{"5f2c9e"}, []string{"a", "b", "c"}, []string{"a", "b", "--deactivate-accounts=maybe"})
}

func TestAccountFlags(t *testing.T) {
	l, err := flagtest.Parse(t, NewCmdAccountList, "5f2c9e")
	if err != nil || l.Endpoint != "5f2c9e" || l.Printer == nil || l.Endpoints == nil {
		t.Errorf("account list: %+v, %v", l, err)
	}
	usage(t, NewCmdAccountList, []string{}, []string{"a", "b"}, []string{"a", "--bogus"})

	d, err := flagtest.Parse(t, NewCmdAccountDeactivate, "5f2c9e", "7d1e4a90")
	if err != nil || d.Endpoint != "5f2c9e" || d.Account != "7d1e4a90" {
		t.Errorf("account deactivate: %+v, %v", d, err)
	}
	usage(t, NewCmdAccountDeactivate, []string{"5f2c9e"}, []string{}, []string{"a", "b", "c"}, []string{"a", "b", "--yes"})
}

func TestDomainFlags(t *testing.T) {
	a, err := flagtest.Parse(t, NewCmdDomainAdd, "5f2c9e", "lab.test", "--pre-validated")
	if err != nil || a.Endpoint != "5f2c9e" || a.Domain != "lab.test" || !a.PreValidated {
		t.Errorf("domain add: %+v, %v", a, err)
	}
	a, err = flagtest.Parse(t, NewCmdDomainAdd, "5f2c9e", "lab.test")
	if err != nil || a.PreValidated {
		t.Errorf("domain add: %+v, %v", a, err)
	}
	usage(t, NewCmdDomainAdd, []string{"5f2c9e"}, []string{"5f2c9e", "a.test", "--bogus"})

	c, err := flagtest.Parse(t, NewCmdDomainCheck, "5f2c9e", "lab.test")
	if err != nil || c.Endpoint != "5f2c9e" || c.Domain != "lab.test" || c.IO == nil {
		t.Errorf("domain check: %+v, %v", c, err)
	}
	usage(t, NewCmdDomainCheck, []string{"5f2c9e"}, []string{"5f2c9e", "a.test", "--pre-validated"})

	r, err := flagtest.Parse(t, NewCmdDomainRemove, "5f2c9e", "lab.test")
	if err != nil || r.Endpoint != "5f2c9e" || r.Domain != "lab.test" {
		t.Errorf("domain remove: %+v, %v", r, err)
	}
	usage(t, NewCmdDomainRemove, []string{"5f2c9e"}, []string{"a", "b", "c"})

	l, err := flagtest.Parse(t, NewCmdDomainList, "5f2c9e")
	if err != nil || l.Endpoint != "5f2c9e" {
		t.Errorf("domain list: %+v, %v", l, err)
	}
	usage(t, NewCmdDomainList, []string{}, []string{"a", "b"})
}

func TestServeFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdServe, "--listen", "127.0.0.1:9443", "--tls-cert", "c.pem", "--tls-key", "k.pem")
	if err != nil || o.Listen != "127.0.0.1:9443" || o.TLSCert != "c.pem" || o.TLSKey != "k.pem" || o.IO == nil {
		t.Errorf("serve: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdServe)
	if err != nil || o.Listen != "" || o.TLSCert != "" {
		t.Errorf("serve defaults: %+v, %v", o, err)
	}
	usage(t, NewCmdServe, []string{"--tls-cert", "c.pem"}, []string{"--tls-key", "k.pem"}, []string{"extra"})
}

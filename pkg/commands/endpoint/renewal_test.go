package endpoint

import (
	"errors"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestCreateCAAndProfileFlags: --certificate-authority-arn and
// --default-profile on create; an unknown profile or an empty CA is a
// usage error (exit 2) before any run.
func TestCreateCAAndProfileFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCreate, "--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED",
		"--certificate-authority-arn", "arn:aws:acm-pca:local:000000000000:certificate-authority/5f2c", "--default-profile", "shortlived")
	if err != nil {
		t.Fatal(err)
	}
	if o.CertificateAuthority != "arn:aws:acm-pca:local:000000000000:certificate-authority/5f2c" || o.DefaultProfile != "shortlived" {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdCreate, "--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED")
	if err != nil || o.CertificateAuthority != "" || o.DefaultProfile != "" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	usage(t, NewCmdCreate,
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "--default-profile", "longlived"},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "--default-profile", ""},
		[]string{"--authorization-behavior", "PRE_APPROVED", "--contact", "REQUIRED", "--certificate-authority-arn", ""},
	)
}

func TestUpdateCAAndProfileFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--certificate-authority-arn", "7d1e", "--default-profile", "tlsserver")
	if err != nil {
		t.Fatal(err)
	}
	if o.CertificateAuthority == nil || *o.CertificateAuthority != "7d1e" || o.DefaultProfile == nil || *o.DefaultProfile != "tlsserver" ||
		o.Contact != nil || o.Name != nil {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--default-profile", "classic")
	if err != nil || o.CertificateAuthority != nil || o.DefaultProfile == nil || *o.DefaultProfile != "classic" {
		t.Errorf("--default-profile only: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdUpdate, "5f2c9e", "--public-certificate-authority")
	if err != nil || o.CertificateAuthority != nil || !o.PublicCertificateAuthority {
		t.Errorf("--public-certificate-authority: %+v, %v", o, err)
	}
	usage(t, NewCmdUpdate,
		[]string{"5f2c9e", "--default-profile", "CLASSIC"},
		[]string{"5f2c9e", "--certificate-authority-arn", ""},
		[]string{"5f2c9e", "--certificate-authority-arn", "7d1e", "--public-certificate-authority"},
	)
}

func TestRenewalWindowSetFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRenewalWindowSet, "5f2c9e", "--serial", "4f:1a:02", "--start", "2026-12-03T10:00:00Z",
		"--end", "2026-12-03T12:00:00+01:00")
	if err != nil {
		t.Fatal(err)
	}
	if o.Endpoint != "5f2c9e" || o.Serial != "4f:1a:02" || o.All ||
		!o.Start.Equal(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)) || !o.End.Equal(time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdRenewalWindowSet, "5f2c9e", "--all", "--start", "2026-12-03T10:00:00Z", "--end", "2026-12-04T10:00:00Z")
	if err != nil || !o.All || o.Serial != "" {
		t.Errorf("--all: %+v, %v", o, err)
	}
	usage(t, NewCmdRenewalWindowSet,
		[]string{"5f2c9e", "--start", "2026-12-03T10:00:00Z", "--end", "2026-12-04T10:00:00Z"}, // neither --serial nor --all
		[]string{"5f2c9e", "--all", "--serial", "01", "--start", "2026-12-03T10:00:00Z", "--end", "2026-12-04T10:00:00Z"},
		[]string{"5f2c9e", "--all", "--end", "2026-12-04T10:00:00Z"},   // no start
		[]string{"5f2c9e", "--all", "--start", "2026-12-04T10:00:00Z"}, // no end
		[]string{"--all", "--start", "2026-12-03T10:00:00Z", "--end", "2026-12-04T10:00:00Z"},
		[]string{"5f2c9e", "--all", "--start", "2026-12-03T10:00:00Z", "--end", "2026-12-04T10:00:00Z", "--bogus"},
	)
	// A time that is not RFC 3339, or a window ending before it starts,
	// is invalid input (exit 4), refused before any run.
	for _, args := range [][]string{
		{"5f2c9e", "--all", "--start", "yesterday", "--end", "2026-12-04T10:00:00Z"},
		{"5f2c9e", "--all", "--start", "2026-12-03T10:00:00Z", "--end", "2026-12-04"},
		{"5f2c9e", "--all", "--start", "2026-12-04T10:00:00Z", "--end", "2026-12-03T10:00:00Z"},
	} {
		o, err := flagtest.Parse(t, NewCmdRenewalWindowSet, args...)
		var ce *errs.Error
		if o != nil || !errors.As(err, &ce) || ce.Exit != errs.ExitInvalid {
			t.Errorf("%q: exit %d (%v), options %+v; want exit 4", args, errs.ExitCodeOf(err), err, o)
		}
	}
}

package config

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestListFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdList)
	if err != nil || o == nil || o.Config == nil || o.Source == nil {
		t.Fatalf("list: %+v, %v", o, err)
	}
	if _, err := flagtest.Parse(t, NewCmdList, "region"); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("list with an argument: exit %d (%v), want 2", errs.ExitCodeOf(err), err)
	}
}

func TestGetFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdGet, "renewal.window")
	if err != nil || o.Key != "renewal.window" {
		t.Fatalf("get: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"region", "account"}} {
		if _, err := flagtest.Parse(t, NewCmdGet, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("get %q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	if o, err := flagtest.Parse(t, NewCmdGet, "nosuch"); errs.ExitCodeOf(err) != errs.ExitNotFound || o != nil {
		t.Errorf("get nosuch: exit %d (%v), want 3", errs.ExitCodeOf(err), err)
	}
}

func TestSetFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdSet, "quotas.domains_per_certificate", "100")
	if err != nil || o.Key != "quotas.domains_per_certificate" || o.Value != "100" {
		t.Fatalf("set: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"region"}, {"region", "a", "b"}} {
		if _, err := flagtest.Parse(t, NewCmdSet, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("set %q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	if o, err := flagtest.Parse(t, NewCmdSet, "nosuch", "1"); errs.ExitCodeOf(err) != errs.ExitNotFound || o != nil {
		t.Errorf("set nosuch: exit %d (%v), want 3", errs.ExitCodeOf(err), err)
	}
	// Values outside their key's type or range are refused before anything
	// runs (exit 4).
	for _, args := range [][]string{
		{"quotas.domains_per_certificate", "101"},
		{"certificate_validity", "0d"},
		{"validation.http_port", "65536"},
		{"validation.tls_alpn_port", "0"},
		{"acme.orders_per_hour", "0"},
		{"smtp.starttls", "perhaps"},
	} {
		if o, err := flagtest.Parse(t, NewCmdSet, args...); errs.ExitCodeOf(err) != errs.ExitInvalid || o != nil {
			t.Errorf("set %q: exit %d (%v), want 4", args, errs.ExitCodeOf(err), err)
		}
	}
}

func TestUnsetFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdUnset, "validation.resolvers")
	if err != nil || o.Key != "validation.resolvers" {
		t.Fatalf("unset: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"region", "account"}} {
		if _, err := flagtest.Parse(t, NewCmdUnset, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("unset %q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	// A name of no setting is taken: the config file may hold it, which
	// unset removes; not found (exit 3) only when the file does not
	// (config.txtar).
	if o, err := flagtest.Parse(t, NewCmdUnset, "nosuch"); err != nil || o.Key != "nosuch" {
		t.Errorf("unset nosuch: %+v, %v", o, err)
	}
}

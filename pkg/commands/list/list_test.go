package list

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// parse runs `list ARGS` through the flag layer and returns the options.
func parse(t *testing.T, args ...string) (*ListOptions, error) {
	t.Helper()
	return flagtest.Parse(t, NewCmdList, args...)
}

func TestListFlags(t *testing.T) {
	o, err := parse(t, "--certificate-statuses", "ISSUED,EXPIRED", "--certificate-statuses", "REVOKED",
		"--key-types", "RSA_2048", "--tag", "env=prod", "--tag", "Key=team", "--tag", "a=b:c",
		"--expiring-within", "30d", "--in-use=false", "--sort-by", "NOT_AFTER", "--max-items", "7", "--starting-token", "tok")
	if err != nil {
		t.Fatal(err)
	}
	in, err := o.Input()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(in.Statuses, ","); got != "ISSUED,EXPIRED,REVOKED" {
		t.Errorf("statuses %q", got)
	}
	if in.ExpiringWithin == nil || *in.ExpiringWithin != 30*24*time.Hour || in.InUse == nil || *in.InUse || in.Exportable != nil {
		t.Errorf("expiring %v in use %v exportable %v", in.ExpiringWithin, in.InUse, in.Exportable)
	}
	if in.Descending || in.SortBy != "NOT_AFTER" {
		t.Errorf("NOT_AFTER defaults to ascending: %+v", in)
	}
	if in.MaxItems != 7 || in.StartingToken != "tok" || strings.Join(in.KeyAlgorithms, ",") != "RSA_2048" {
		t.Errorf("input %+v", in)
	}
	want := []certificates.TagCondition{{Key: "env", Value: "prod", ValueGiven: true}, {Key: "team"}, {Key: "a", Value: "b:c", ValueGiven: true}}
	if len(in.Tags) != len(want) {
		t.Fatalf("tags %+v", in.Tags)
	}
	for i, w := range want {
		if in.Tags[i] != w {
			t.Errorf("tag %d: %+v, want %+v", i, in.Tags[i], w)
		}
	}
	// A tag is not split on commas, and no tag holds one: such a
	// condition is refused (exit 4), not one that selects nothing (tester).
	if _, err := parse(t, "--tag", "env=prod,team=web"); errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "--tag K=V --tag K2=V2") {
		t.Errorf("--tag env=prod,team=web: %v", err)
	}
	o, err = parse(t, "--key-usage", "DIGITAL_SIGNATURE,KEY_ENCIPHERMENT", "--key-usage", "ANY",
		"--extended-key-usage", "TLS_WEB_CLIENT_AUTHENTICATION", "--extended-key-usage", "NONE")
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := o.Input(); strings.Join(in.KeyUsages, ",") != "DIGITAL_SIGNATURE,KEY_ENCIPHERMENT,ANY" ||
		strings.Join(in.ExtendedKeyUsages, ",") != "TLS_WEB_CLIENT_AUTHENTICATION,NONE" {
		t.Errorf("usages: %+v", in)
	}
	o, _ = parse(t)
	if in, _ := o.Input(); !in.Descending || in.SortBy != "CREATED_AT" || in.ExpiringWithin != nil {
		t.Errorf("default sort: %+v", in)
	}
	// 0 is a filter (certificates already past NotAfter), not its absence;
	// --domain takes comma-separated globs as other list-valued flags do.
	o, _ = parse(t, "--expiring-within", "0d", "--domain", "a.example.test,*.b.example.test", "--domain", "c.example.test")
	if in, err := o.Input(); err != nil || in.ExpiringWithin == nil || *in.ExpiringWithin != 0 ||
		strings.Join(in.Domains, " ") != "a.example.test *.b.example.test c.example.test" {
		t.Errorf("--expiring-within 0d, --domain a,b: %+v %v", in, err)
	}
	o, _ = parse(t, "--sort-by", "DOMAIN_NAME", "--sort-order", "DESCENDING", "--certificate-key-pair-origins", "ACME", "--exportable=true")
	if in, _ := o.Input(); !in.Descending || in.SortBy != "DOMAIN_NAME" || len(in.Origins) != 1 || in.Exportable == nil || !*in.Exportable {
		t.Errorf("explicit sort and origin: %+v", in)
	}
}

func TestListFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--certificate-statuses", "ISSUED,BOGUS"},
		{"--key-types", "RSA_9999"},
		{"--type", "AMAZON_ISSUED"},
		{"--sort-by", "NAME"},
		{"--sort-order", "UP"},
		{"--expiring-within", "-1d"},
		{"extra"},
		{"--expiring-within", "soon"},
		{"--exportable", "maybe"},
		{"--tag", "=v"},
		{"--tag", "Key=a,Val=b"},
		{"--key-usage", "SIGNING"},
		{"--key-usage", "digital_signature"},
		{"--extended-key-usage", "SERVER_AUTH"},
		// An empty filter value is refused, never the whole inventory.
		{"--domain", ""},
		{"--domain", ","},
		{"--domain", "a.example.test,"},
		{"--certificate-statuses", ""},
		{"--certificate-statuses", "ISSUED,"},
		{"--key-types", " "},
		{"--type", ""},
		{"--certificate-key-pair-origins", ""},
		{"--renewal-eligibility", ""},
		{"--key-usage", ""},
		{"--extended-key-usage", ""},
		{"--exportable", ""},
		{"--in-use="},
		{"--expiring-within", ""},
	} {
		if o, err := parse(t, args...); errs.ExitCodeOf(err) != errs.ExitUsage || o != nil {
			t.Errorf("%v: %v, want a usage error before the command runs", args, err)
		}
	}
	// Refused by the flag itself (the app makes an "invalid argument" exit 2).
	for _, n := range []string{"-1", "0", "abc"} {
		if o, err := parse(t, "--max-items", n); o != nil || err == nil || !strings.Contains(err.Error(), "invalid argument") {
			t.Errorf("--max-items %s: %+v, %v; want a flag error", n, o, err)
		}
	}
}

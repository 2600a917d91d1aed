package request

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestRequestFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRequest, "--domain-name", "app.internal", "--subject-alternative-names", "a.internal,b.internal",
		"--subject-alternative-names", "c.internal", "--certificate-authority-arn", "default", "--key-algorithm", "EC_prime256v1",
		"--options", "Export=DISABLED", "--idempotency-token", "tok-1", "--tags", "Key=env,Value=prod", "--tags", "team=pki")
	if err != nil {
		t.Fatal(err)
	}
	in, timeout, err := o.Input()
	if err != nil {
		t.Fatal(err)
	}
	if in.DomainName != "app.internal" || strings.Join(in.SubjectAlternativeNames, ",") != "a.internal,b.internal,c.internal" ||
		in.CertificateAuthority != "default" || in.KeyAlgorithm != "EC_prime256v1" || in.IdempotencyToken != "tok-1" ||
		in.Export != "DISABLED" || in.CTLogging != "" || timeout != 0 {
		t.Errorf("input %+v, timeout %v", in, timeout)
	}
	if len(in.Tags) != 2 || in.Tags[0].Key != "env" || in.Tags[0].Value != "prod" || in.Tags[1].Key != "team" || in.Tags[1].Value != "pki" {
		t.Errorf("tags %+v", in.Tags)
	}

	// ISSUED-type: method, validation options, --wait.
	o, err = flagtest.Parse(t, NewCmdRequest, "--domain-name", "www.example.test", "--validation-method", "EMAIL",
		"--domain-validation-options", "DomainName=www.example.test,ValidationDomain=example.test", "--wait", "--timeout", "90s")
	if err != nil {
		t.Fatal(err)
	}
	in, timeout, err = o.Input()
	if err != nil || in.ValidationMethod != "EMAIL" || in.CertificateAuthority != "" || in.KeyAlgorithm != "RSA_2048" || timeout != 90*time.Second {
		t.Errorf("ISSUED-type input %+v, timeout %v, %v", in, timeout, err)
	}
	if len(in.DomainValidationOptions) != 1 || in.DomainValidationOptions[0].ValidationDomain != "example.test" {
		t.Errorf("validation options %+v", in.DomainValidationOptions)
	}
	o, _ = flagtest.Parse(t, NewCmdRequest, "--domain-name", "www.example.test")
	if in, _, _ := o.Input(); in.ValidationMethod != "DNS" {
		t.Errorf("default method %q", in.ValidationMethod)
	}

	// --domain-name is required (cobra's error; the app maps it to exit 2).
	if o, err := flagtest.Parse(t, NewCmdRequest); err == nil || o != nil || !strings.Contains(err.Error(), "domain-name") {
		t.Errorf("no --domain-name: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"--domain-name", "a.internal", "extra"},
		{"--domain-name", "a.internal", "--key-algorithm", "RSA_4096"},
		{"--domain-name", "a.internal", "--validation-method", "CARRIER_PIGEON"},
		{"--domain-name", "a.internal", "--options", "Export=MAYBE"},
		{"--domain-name", "a.internal", "--tags", "Key=a,Val=b"},
		{"--domain-name", "a.internal", "--domain-validation-options", "a.internal"},
		{"--domain-name", "a.internal", "--wait", "--timeout", "soon"},
		{"--domain-name", "a.internal", "--wait", "--timeout", "0s"},
	} {
		if _, err := flagtest.Parse(t, NewCmdRequest, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

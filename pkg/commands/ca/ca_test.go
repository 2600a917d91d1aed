package ca

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/timeutil"
)

const caARN = "arn:certctl:acm-pca:local:000000000000:certificate-authority/5f2c9e01-0000-4000-8000-000000000000"

// wantExit checks that every args is refused by build's flag layer with
// exit code want.
func wantExit[O any](t *testing.T, build func(*cmdutil.Factory, func(*O) error) *cobra.Command, want errs.ExitCode, argss ...[]string) {
	t.Helper()
	for _, args := range argss {
		o, err := flagtest.Parse(t, build, args...)
		if errs.ExitCodeOf(err) != want || o != nil {
			t.Errorf("%q: exit %d (%v), options %+v; want exit %d", args, errs.ExitCodeOf(err), err, o, want)
		}
	}
}

// wantRejected checks that cobra itself refuses every args (an unknown or
// incomplete flag, a required flag missing): app.Main gives those exit 2,
// as testdata/script/usage.txtar checks.
func wantRejected[O any](t *testing.T, build func(*cmdutil.Factory, func(*O) error) *cobra.Command, argss ...[]string) {
	t.Helper()
	for _, args := range argss {
		if o, err := flagtest.Parse(t, build, args...); err == nil || o != nil {
			t.Errorf("%q accepted: options %+v", args, o)
		}
	}
}

func TestCaCreateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaCreate, "--type", "SUBORDINATE", "--key-algorithm", "EC_prime256v1",
		"--subject", `CN=Smith\, John,O=Acme`, "--parent", "default", "--validity", "3y", "--tags", "env=prod")
	if err != nil {
		t.Fatal(err)
	}
	want := authorities.CreateRequest{Type: "SUBORDINATE", KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Smith, John", Organization: "Acme"}, Parent: "default",
		Validity: 3 * timeutil.Year, Tags: o.Request.Tags}
	if !reflect.DeepEqual(o.Request, want) || len(o.Request.Tags) != 1 || o.Request.Tags[0].Key != "env" || o.Request.Tags[0].Value != "prod" {
		t.Errorf("request %+v, want %+v", o.Request, want)
	}
	o, err = flagtest.Parse(t, NewCmdCaCreate, "--type", "SUBORDINATE", "--key-algorithm", "RSA_2048", "--subject", "CN=Ext", "--external")
	if err != nil || !o.Request.External || o.Request.Parent != "" || o.Request.Validity != 0 {
		t.Errorf("--external: %+v, %v", o, err)
	}
	wantRejected(t, NewCmdCaCreate,
		[]string{"--key-algorithm", "EC_prime256v1", "--subject", "CN=X"}, // no --type
		[]string{"--type", "ROOT", "--subject", "CN=X"},                   // no --key-algorithm
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1"},    // no --subject
	)
	wantExit(t, NewCmdCaCreate, errs.ExitUsage,
		[]string{"--type", "LEAF", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X"}, // unknown type
		[]string{"--type", "ROOT", "--key-algorithm", "DSA_1024", "--subject", "CN=X"},      // unknown algorithm
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--parent", "p"},
		[]string{"--type", "SUBORDINATE", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X"}, // neither parent nor external
		[]string{"--type", "SUBORDINATE", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--parent", "p", "--external"},
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--validity", "soon"},
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "extra"},
	)
	// A subject without CN, or a tag with an empty key, is invalid input
	// (exit 4).
	wantExit(t, NewCmdCaCreate, errs.ExitInvalid,
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "O=Acme"},
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--tags", "=v"},
	)
}

func TestCaListFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaList)
	if err != nil || o.All {
		t.Fatalf("%+v, %v", o, err)
	}
	if o, err = flagtest.Parse(t, NewCmdCaList, "--all"); err != nil || !o.All {
		t.Errorf("--all: %+v, %v", o, err)
	}
	wantExit(t, NewCmdCaList, errs.ExitUsage, []string{"x"})
	wantRejected(t, NewCmdCaList, []string{"--bogus"})
}

func TestCaDescribeFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaDescribe, "5f2c")
	if err != nil || o.CA != "5f2c" {
		t.Fatalf("%+v, %v", o, err)
	}
	if o, err = flagtest.Parse(t, NewCmdCaDescribe, "--certificate-authority-arn", caARN); err != nil || o.CA != caARN {
		t.Errorf("--certificate-authority-arn: %+v, %v", o, err)
	}
	wantExit(t, NewCmdCaDescribe, errs.ExitUsage, nil, []string{"a", "b"}, []string{"a", "--certificate-authority-arn", caARN})
}

func TestCaCSRFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaCSR, "default")
	if err != nil || o.CA != "default" {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaCSR, errs.ExitUsage, nil, []string{"a", "b"})
}

func TestCaImportCertificateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaImportCertificate, "5f2c", "--certificate", "ca.pem", "--certificate-chain", "chain.pem")
	if err != nil || o.CA != "5f2c" || o.CertFile != "ca.pem" || o.ChainFile != "chain.pem" {
		t.Fatalf("%+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdCaImportCertificate, "--certificate-authority-arn", caARN, "--certificate", "-")
	if err != nil || o.CA != caARN || o.CertFile != "-" || o.ChainFile != "" {
		t.Errorf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaImportCertificate, errs.ExitUsage, []string{"5f2c"}, []string{"--certificate", "ca.pem"})
}

func TestCaIssueFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaIssue, "5f2c", "--csr", "app.csr", "--validity", "90d")
	if err != nil {
		t.Fatal(err)
	}
	if o.CA != "5f2c" || o.CSRFile != "app.csr" || o.Template != "EndEntity" || o.TemplateName != "EndEntityCertificate" || o.Period.Duration != 90*24*time.Hour {
		t.Errorf("options %+v", o)
	}
	if o, err = flagtest.Parse(t, NewCmdCaIssue, "5f2c", "--csr", "s.csr", "--template", "SubordinateCA", "--validity", "3y"); err != nil || o.Template != "SubordinateCA" {
		t.Errorf("--template: %+v, %v", o, err)
	}
	wantExit(t, NewCmdCaIssue, errs.ExitUsage,
		[]string{"5f2c", "--validity", "90d"},                                           // no --csr
		[]string{"5f2c", "--csr", "app.csr"},                                            // no --validity
		[]string{"5f2c", "--csr", "app.csr", "--validity", "0d"},                        // not positive
		[]string{"5f2c", "--csr", "app.csr", "--validity", "90d", "--template", "Leaf"}, // unknown template
		[]string{"--csr", "app.csr", "--validity", "90d"},                               // no CA
	)
}

func TestCaUpdateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaUpdate, "5f2c", "--status", "DISABLED")
	if err != nil || o.CA != "5f2c" || o.Status != "DISABLED" {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaUpdate, errs.ExitUsage, []string{"5f2c", "--status", "DELETED"}, []string{"--status", "ACTIVE"})
	wantRejected(t, NewCmdCaUpdate, []string{"5f2c"}) // --status is required
}

func TestCaDeleteFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaDelete, "5f2c")
	if err != nil || o.CA != "5f2c" || o.Days != 30 || o.Yes {
		t.Fatalf("%+v, %v", o, err)
	}
	for _, yes := range []string{"--yes", "-y"} {
		o, err = flagtest.Parse(t, NewCmdCaDelete, "5f2c", "--permanent-deletion-time-in-days", "7", yes)
		if err != nil || o.Days != 7 || !o.Yes {
			t.Errorf("%s: %+v, %v", yes, o, err)
		}
	}
	wantExit(t, NewCmdCaDelete, errs.ExitUsage, nil,
		[]string{"5f2c", "--permanent-deletion-time-in-days", "6"},
		[]string{"5f2c", "--permanent-deletion-time-in-days", "31"})
}

func TestCaRestoreFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaRestore, "--certificate-authority-arn", caARN)
	if err != nil || o.CA != caARN {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaRestore, errs.ExitUsage, nil, []string{"a", "b"})
}

func TestCaCRLFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaCRL, "5f2c")
	if err != nil || o.CA != "5f2c" || o.DER {
		t.Fatalf("%+v, %v", o, err)
	}
	// flagtest's stdout is not a terminal: DER is allowed.
	if o, err = flagtest.Parse(t, NewCmdCaCRL, "5f2c", "--der"); err != nil || !o.DER {
		t.Errorf("--der: %+v, %v", o, err)
	}
	wantExit(t, NewCmdCaCRL, errs.ExitUsage, nil)
	wantRejected(t, NewCmdCaCRL, []string{"5f2c", "--der=maybe"})
}

func TestCaCRLRefusesDERToTerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	ios.SetTTY(true)
	f := cmdutil.New(ios, "test")
	ran := false
	cmd := NewCmdCaCRL(f, func(*CRLOptions) error { ran = true; return nil })
	cmd.SetArgs([]string{"5f2c", "--der"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); errs.ExitCodeOf(err) != errs.ExitUsage || ran {
		t.Errorf("DER to a terminal: exit %d (%v), ran %v", errs.ExitCodeOf(err), err, ran)
	}
}

// TestCaCRLRefusesDERInJSON: --der is binary, which -o json or yaml
// cannot wrap; without --der they print the PEM in JSON.
func TestCaCRLRefusesDERInJSON(t *testing.T) {
	for _, c := range []struct {
		output string
		der    bool
		exit   errs.ExitCode
	}{{"json", true, errs.ExitUsage}, {"yaml", true, errs.ExitUsage}, {"json", false, errs.ExitOK}, {"", true, errs.ExitOK}} {
		ios, _, _, _ := iostreams.Test()
		f := cmdutil.New(ios, "test")
		f.Globals.Output = c.output
		ran := false
		cmd := NewCmdCaCRL(f, func(*CRLOptions) error { ran = true; return nil })
		args := []string{"5f2c"}
		if c.der {
			args = append(args, "--der")
		}
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.Execute(); errs.ExitCodeOf(err) != c.exit || ran != (c.exit == errs.ExitOK) {
			t.Errorf("-o %q, --der %v: exit %d (%v), ran %v; want exit %d", c.output, c.der, errs.ExitCodeOf(err), err, ran, c.exit)
		}
	}
}

func TestCaTrustBundleFlags(t *testing.T) {
	if o, err := flagtest.Parse(t, NewCmdCaTrustBundle); err != nil || o == nil {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaTrustBundle, errs.ExitUsage, []string{"x"})
}

func TestCaServeFlags(t *testing.T) {
	// No --listen: the ca.listen setting (127.0.0.1:8080 by default)
	// decides, read when the server starts.
	o, err := flagtest.Parse(t, NewCmdCaServe)
	if err != nil || o.Listen != "" || o.Setting == nil {
		t.Fatalf("%+v, %v", o, err)
	}
	if o, err = flagtest.Parse(t, NewCmdCaServe, "--listen", ":9090"); err != nil || o.Listen != ":9090" {
		t.Errorf("--listen: %+v, %v", o, err)
	}
	wantExit(t, NewCmdCaServe, errs.ExitUsage, []string{"x"})
	wantRejected(t, NewCmdCaServe, []string{"--listen"})
}

// TestCaGroupUnknownVerb: `certctl ca nosuch` is a usage error naming the
// word, as for every command group; `certctl ca` alone prints its help on
// stderr and is a usage error too (a missing argument; tester: a script's
// `certctl ca "$SUB"` with SUB empty printed help where JSON was
// expected, and exited 0).
func TestCaGroupUnknownVerb(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	cmd := NewCmdCA(cmdutil.New(ios, "test"))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs([]string{"nosuch"})
	err := cmd.Execute()
	if errs.ExitCodeOf(err) != errs.ExitUsage || err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("ca nosuch: exit %d (%v)", errs.ExitCodeOf(err), err)
	}
	cmd.SetArgs(nil)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err = cmd.Execute()
	if errs.ExitCodeOf(err) != errs.ExitUsage || !strings.Contains(err.Error(), "missing command") ||
		out.Len() != 0 || !strings.Contains(errOut.String(), "Available Commands") {
		t.Errorf("ca alone: exit %d (%v)\nstdout %q\nstderr %q", errs.ExitCodeOf(err), err, out, errOut)
	}
}

func TestCaCreatePCAOptionFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaCreate, "--type", "ROOT", "--key-algorithm", "EC_secp521r1", "--subject", "CN=X",
		"--signing-algorithm", "SHA384WITHECDSA", "--idempotency-token", "t1", "--usage-mode", "SHORT_LIVED_CERTIFICATE",
		"--name-constraints", "file://nc.json", "--revocation-configuration", `{"CrlConfiguration":{"Enabled":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	r := o.Request
	if r.KeyAlgorithm != "EC_secp521r1" || r.SigningAlgorithm != "SHA384WITHECDSA" || r.IdempotencyToken != "t1" ||
		r.UsageMode != "SHORT_LIVED_CERTIFICATE" || o.NameConstraints != "file://nc.json" || o.RevocationConfiguration == "" {
		t.Errorf("options %+v", o)
	}
	if o, err = flagtest.Parse(t, NewCmdCaCreate, "--type", "ROOT", "--key-algorithm", "RSA_3072", "--subject", "CN=X"); err != nil || o.Request.KeyAlgorithm != "RSA_3072" {
		t.Errorf("RSA_3072: %+v %v", o, err)
	}
	wantExit(t, NewCmdCaCreate, errs.ExitUsage,
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--signing-algorithm", "MD5WITHRSA"},
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--usage-mode", "FOREVER"},
	)
	// A signing algorithm of the other family is invalid input (exit 4).
	wantExit(t, NewCmdCaCreate, errs.ExitInvalid,
		[]string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=X", "--signing-algorithm", "SHA256WITHRSA"},
		[]string{"--type", "ROOT", "--key-algorithm", "RSA_2048", "--subject", "CN=X", "--signing-algorithm", "SHA512WITHECDSA"},
	)
}

func TestCaIssuePCAFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaIssue, "5f2c", "--csr", "c.csr", "--template", "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen2/V1",
		"--validity", "Value=3,Type=MONTHS", "--validity-not-before", "2027-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if o.TemplateName != "SubordinateCACertificate_PathLen2" || o.Period.Months != 3 || o.NotBefore != time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdCaIssue, "5f2c", "--csr", "c.csr", "--template", "BlankEndEntityCertificate_APIPassthrough",
		"--validity", "2027-06-30T00:00:00Z", "--api-passthrough", "file://p.json")
	if err != nil || o.Period.End != time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC) || o.APIPassthrough != "file://p.json" {
		t.Errorf("passthrough: %+v %v", o, err)
	}
	wantExit(t, NewCmdCaIssue, errs.ExitUsage,
		[]string{"5f2c", "--csr", "c.csr", "--validity", "Value=3,Type=WEEKS"},
		[]string{"5f2c", "--csr", "c.csr", "--validity", "90d", "--validity-not-before", "Value=3,Type=DAYS"},
		[]string{"5f2c", "--csr", "c.csr", "--validity", "90d", "--template", "arn:aws:acm-pca:::template/Nope/V1"},
		[]string{"5f2c", "--csr", "c.csr", "--validity", "90d", "--api-passthrough", "{}"}, // EndEntity takes none
	)
}

func TestCaUpdateRevocationFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaUpdate, "5f2c", "--revocation-configuration", "file://rc.json")
	if err != nil || o.RevocationConfiguration != "file://rc.json" || o.Status != "" {
		t.Fatalf("%+v, %v", o, err)
	}
}

func TestCaCRLPartitionFlag(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaCRL, "5f2c", "--partition", "2")
	if err != nil || o.Partition != 2 {
		t.Fatalf("%+v, %v", o, err)
	}
	if o, err = flagtest.Parse(t, NewCmdCaCRL, "5f2c"); err != nil || o.Partition != -1 {
		t.Errorf("default: %+v %v", o, err)
	}
	if o, err = flagtest.Parse(t, NewCmdCaCRL, "5f2c", "--partition", "0"); err != nil || o.Partition != 0 {
		t.Errorf("--partition 0: %+v %v", o, err)
	}
	// -1 stood for "not given": given, it is no partition either.
	for _, n := range []string{"-1", "-3"} {
		wantExit(t, NewCmdCaCRL, errs.ExitUsage, []string{"5f2c", "--partition", n})
	}
}

// TestReadJSONArgInline: what starts as JSON does is JSON, not a file
// name (the parser then says what it should have been).
func TestReadJSONArgInline(t *testing.T) {
	for _, in := range []string{`{"a":1}`, ` []`, `null`, `"x"`} {
		got, err := readJSONArg(nil, "name-constraints", in)
		if err != nil || string(got) != strings.TrimSpace(in) {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
}

// TestCARowEscapesNames: a CA's common name (an imported CA's may hold
// anything) is escaped in its table row, even a colour sequence equal to
// certctl's own styles, which the table writer keeps (review).
func TestCARowEscapesNames(t *testing.T) {
	s := output.NewStyles(io.Discard, true)
	var d authorities.Description
	d.Arn = "arn:certctl:acm-pca:local:000000000000:certificate-authority/1"
	d.CertificateAuthorityConfiguration.Subject.CommonName = "evil" + s.Bad("X")
	for _, c := range caRow(s, d)[3:4] {
		if strings.Contains(c, "\x1b") {
			t.Errorf("common name cell %q holds a raw escape", c)
		}
	}
}

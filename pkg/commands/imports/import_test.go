package imports

import (
	"reflect"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

const arn = "arn:certctl:acm:local:000000000000:certificate/00000000-0000-4000-8000-000000000000"

func TestImportFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdImport, "--certificate", "c.pem", "--private-key", "file://k.pem",
		"--certificate-chain", "ch.pem", "--private-key-passphrase-file", "p.txt",
		"--tags", "Key=env,Value=prod", "--tags", "team=web,ops")
	if err != nil {
		t.Fatal(err)
	}
	if o.Certificate != "c.pem" || o.PrivateKey != "file://k.pem" || o.CertificateChain != "ch.pem" ||
		o.KeyPassphraseFile != "p.txt" || o.Bundle != "" || o.FromDir != "" || o.CertificateArn != "" {
		t.Errorf("options %+v", o)
	}
	// Tags are one per occurrence, never split on commas.
	if want := []string{"Key=env,Value=prod", "team=web,ops"}; !reflect.DeepEqual(o.Tags, want) {
		t.Errorf("tags %q, want %q", o.Tags, want)
	}

	o, err = flagtest.Parse(t, NewCmdImport, "--bundle", "-", "--tags", "a=b")
	if err != nil || o.Bundle != "-" || o.Certificate != "" || len(o.Tags) != 1 {
		t.Errorf("--bundle: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdImport, "--from-dir", "/etc/letsencrypt", "--tags", "src=certbot")
	if err != nil || o.FromDir != "/etc/letsencrypt" || o.Certificate != "" {
		t.Errorf("--from-dir: %+v, %v", o, err)
	}
	// --certificate-arn reimports, as in the AWS CLI.
	o, err = flagtest.Parse(t, NewCmdImport, "--certificate-arn", arn, "--certificate", "c.pem", "--private-key", "k.pem")
	if err != nil || o.CertificateArn != arn {
		t.Errorf("--certificate-arn: %+v, %v", o, err)
	}

	for _, args := range [][]string{
		{},                         // nothing to import
		{"--private-key", "k.pem"}, // no certificate
		{"--certificate", "c.pem"}, // no key
		{"--bundle", "b.pem", "--certificate", "c.pem"},                                                 // conflicting
		{"--bundle", "b.pem", "--certificate-chain", "ch"},                                              // conflicting
		{"--from-dir", "d", "--certificate", "c.pem"},                                                   // conflicting
		{"--from-dir", "d", "--certificate-arn", arn},                                                   // conflicting
		{"--certificate-arn", arn, "--certificate", "c.pem", "--private-key", "k.pem", "--tags", "a=b"}, // no tags on reimport
		{"c.pem", "--certificate", "c.pem", "--private-key", "k.pem"},                                   // no positional argument
	} {
		if _, err := flagtest.Parse(t, NewCmdImport, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

func TestReimportFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdReimport, "3f2a1b9c", "--certificate", "c.pem", "--private-key", "k.pem", "--certificate-chain", "ch.pem")
	if err != nil {
		t.Fatal(err)
	}
	if o.CertificateArn != "3f2a1b9c" || o.Certificate != "c.pem" || o.PrivateKey != "k.pem" || o.CertificateChain != "ch.pem" {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdReimport, "--certificate-arn", arn, "--bundle", "b.pem")
	if err != nil || o.CertificateArn != arn || o.Bundle != "b.pem" {
		t.Errorf("--certificate-arn alias: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"--certificate", "c.pem", "--private-key", "k.pem"},                                       // no certificate to reimport into
		{"3f2a1b9c", "--private-key", "k.pem"},                                                     // no certificate file
		{"3f2a1b9c", "--certificate", "c.pem", "--private-key", "k.pem", "--tags", "a"},            // tags are kept
		{"3f2a1b9c", "--certificate-arn", arn, "--certificate", "c.pem", "--private-key", "k.pem"}, // both forms
	} {
		if _, err := flagtest.Parse(t, NewCmdReimport, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

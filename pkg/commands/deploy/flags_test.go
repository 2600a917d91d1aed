package deploy

import (
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestDeployFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDeploy, "3f2a1b9c", "--cert-file", "tls/app.crt", "--key-file", "/etc/tls/app.key",
		"--chain-file", "chain.crt", "--fullchain-file", "full.crt", "--exec", "systemctl reload nginx")
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tg := o.Target
	if o.ID != "3f2a1b9c" || tg.CertFile != abs("tls/app.crt") || tg.KeyFile != "/etc/tls/app.key" ||
		tg.ChainFile != abs("chain.crt") || tg.FullchainFile != abs("full.crt") || tg.Exec != "systemctl reload nginx" {
		t.Fatalf("options %+v", o)
	}
	if o.Printer == nil || o.Renewals == nil {
		t.Fatalf("dependencies not set: %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdDeploy, "3f2a1b9c", "--cert-file", "/a.crt", "--key-file", "/a.key")
	if err != nil || o.Target.ChainFile != "" || o.Target.FullchainFile != "" || o.Target.Exec != "" {
		t.Fatalf("optional files: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"3f2a1b9c", "--cert-file", "/a.crt"},                                           // no key file
		{"3f2a1b9c", "--key-file", "/a.key"},                                            // no cert file
		{"--cert-file", "/a.crt", "--key-file", "/a.key"},                               // no certificate
		{"a", "b", "--cert-file", "/a.crt", "--key-file", "/a.key"},                     // two
		{"3f2a1b9c", "--cert-file", "/a.crt", "--key-file", "/a.key", "--host", "web1"}, // --host without --remove
		{"3f2a1b9c", "--remove"},                                                        // no cert file
		{"3f2a1b9c", "--remove", "--cert-file", "/a.crt", "--key-file", "/a.key"},       // a file it does not write
		{"3f2a1b9c", "--remove", "--cert-file", "/a.crt", "--exec", "true"},             // a command it does not run
		{"3f2a1b9c", "--remove", "--cert-file", "/a.crt", "--fullchain-file", "/f.crt"}, // idem
		{"--remove", "--cert-file", "/a.crt"},                                           // no certificate
	} {
		if _, err := flagtest.Parse(t, NewCmdDeploy, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

// TestDeployRemoveFlags: --remove takes the certificate file, absolute, and
// --host.
func TestDeployRemoveFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDeploy, "3f2a1b9c", "--remove", "--cert-file", "tls/app.crt", "--host", "758043a9")
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("tls/app.crt")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Remove || o.ID != "3f2a1b9c" || o.Target.CertFile != abs || o.Target.KeyFile != "" || o.Host != "758043a9" || o.IO == nil {
		t.Fatalf("options %+v", o)
	}
}

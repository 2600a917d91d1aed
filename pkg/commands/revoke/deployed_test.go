package revoke_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
)

// TestRevokeSaysWhereStillDeployed: revoking a certificate installed at a
// deploy target says, on stderr, that the target still serves it — for
// one certificate and in a selection's results — as nothing else would
// (tester: revoke and every renewal pass after it were silent while the
// servers kept presenting the revoked certificate). One not deployed
// gets no such word.
func TestRevokeSaysWhereStillDeployed(t *testing.T) {
	e := clitest.New(t)
	deployed := func(name string) (arn, cert string) {
		arn = e.RequestPrivate(name, "--tags", "Key=batch,Value=b")
		dir := t.TempDir()
		cert = filepath.Join(dir, "app.crt")
		e.MustRun("deploy", arn, "--cert-file", cert, "--key-file", filepath.Join(dir, "app.key"))
		return arn, cert
	}
	one, cert := deployed("one.internal")
	r := e.MustRun("revoke", one, "--revocation-reason", "SUPERSEDED")
	if want := one + " is still deployed to file:" + cert; !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "certctl deploy ARN --remove --cert-file PATH") {
		t.Fatalf("revoke of a deployed certificate: stderr %q, want %q and how to remove the target", r.Stderr, want)
	}
	// The notice's advice works: the target removed, another
	// certificate is deployed to its files (review: the advice was to
	// deploy another, which is refused while the target is there).
	other := e.RequestPrivate("other.internal")
	e.MustRun("deploy", one, "--remove", "--cert-file", cert)
	e.MustRun("deploy", other, "--cert-file", cert, "--key-file", filepath.Join(filepath.Dir(cert), "app.key"))

	// ca revoke-certificate of a deployed certificate says so too.
	three, cert3 := deployed("three.internal")
	e.MustRun("tags", "remove", three, "--tags", "Key=batch")
	var d struct {
		Certificate struct{ Serial, CertificateAuthorityArn string }
	}
	e.JSON(&d, "describe", three)
	r = e.MustRun("ca", "revoke-certificate", d.Certificate.CertificateAuthorityArn, "--certificate-serial", d.Certificate.Serial, "--revocation-reason", "SUPERSEDED")
	if want := three + " is still deployed to file:" + cert3; !strings.Contains(r.Stderr, want) {
		t.Fatalf("ca revoke-certificate of a deployed certificate: stderr %q, want %q", r.Stderr, want)
	}

	e.MustRun("tags", "remove", one, "--tags", "Key=batch")
	two, cert2 := deployed("two.internal")
	bare := e.RequestPrivate("bare.internal", "--tags", "Key=batch,Value=b")
	e.Export(bare)
	r = e.MustRun("revoke", "--query-terse", "tag:batch=b", "--revocation-reason", "SUPERSEDED", "--yes", "-o", "json")
	var out struct {
		Results []struct{ CertificateArn, Outcome, Reason string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || len(out.Results) != 2 {
		t.Fatalf("revoke --query-terse: %v (%v)", r, err)
	}
	for _, res := range out.Results {
		switch res.CertificateArn {
		case two:
			if res.Outcome != "REVOKED" || !strings.Contains(res.Reason, "still deployed to file:"+cert2) {
				t.Errorf("the deployed certificate's result %+v", res)
			}
		case bare:
			if res.Outcome != "REVOKED" || res.Reason != "" {
				t.Errorf("the certificate never deployed: %+v", res)
			}
		default:
			t.Errorf("unexpected result %+v", res)
		}
	}
	if r := e.MustRun("revoke", "--query-terse", "tag:batch=b", "--revocation-reason", "SUPERSEDED", "--yes", "-o", "json"); strings.Contains(r.Stdout, "still deployed") {
		t.Errorf("the certificates already revoked: %v", r)
	}
}

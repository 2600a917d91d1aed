package renewals

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestDeployOfACertificateDeletedMeanwhile: a certificate deleted (delete
// --force, by another process or host) once deploy has written its files
// and before the target is recorded: deploy runs no command, this host
// forgets the target, and the error (exit 3) says the files were written
// (tester: exit 3 "not found" after the command had run, the target left
// in this host's record for every pass to find).
func TestDeployOfACertificateDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	v, core, req, _ := newFixture(t, "gone.internal")
	host, err := deploy.LocalHost(v.Dir, "h1")
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, AllowExec: true, Host: func() (deploy.Host, error) { return host, nil }})
	certs := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour})
	id := req.CertificateArn[strings.LastIndexByte(req.CertificateArn, '/')+1:]
	s.written = func(string) {
		if _, err := certs.Delete(ctx, req.CertificateArn, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	cert := filepath.Join(dir, "c.pem")
	_, err = s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: cert, KeyFile: filepath.Join(dir, "k.pem"), Exec: "touch " + ran})
	if errs.ExitCodeOf(err) != errs.ExitNotFound || !strings.Contains(err.Error(), "deleted while it was being deployed") ||
		!strings.Contains(err.Error(), cert) || !strings.Contains(err.Error(), "its command was not run") {
		t.Fatalf("deploy of a certificate deleted meanwhile: %v (exit %d)", err, errs.ExitCodeOf(err))
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the command ran for a deleted certificate")
	}
	if _, err := os.Stat(cert); err != nil {
		t.Errorf("the files said to be written are not: %v", err)
	}
	if ids, err := host.OtherCertificates(""); err != nil || slices.Contains(ids, id) {
		t.Errorf("this host still names the deleted certificate's target: %v, %v", ids, err)
	}
}

package renewals

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// TestPassInstallOfACertificateDeletedMeanwhile: a renewal whose
// certificate is deleted (delete --force, by another process or host) once
// the pass has written its new version into the target's files, before
// the target's command runs: the command is not run, this host forgets the
// target, the target is reported HOOK_SKIPPED saying why, and the run is
// not failed by it — as deploy does (tester: the pass ran the command of a
// deleted certificate, then failed with "not found").
func TestPassInstallOfACertificateDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	v, core, req, now := newFixture(t, "gone-at-install.internal")
	host, err := deploy.LocalHost(v.Dir, "h1")
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, AllowExec: true, Host: func() (deploy.Host, error) { return host, nil }})
	certs := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour})
	id := req.CertificateArn[strings.LastIndexByte(req.CertificateArn, '/')+1:]
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	cert := filepath.Join(dir, "c.pem")
	if _, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: cert, KeyFile: filepath.Join(dir, "k.pem"), Exec: "touch " + ran}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ran); err != nil {
		t.Fatalf("the deploy's own command did not run: %v", err)
	}
	before, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	s.written = func(got string) {
		if got != id {
			return
		}
		deleted++
		if _, err := certs.Delete(ctx, req.CertificateArn, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	*now = now.Add(time.Hour)
	rep, err := s.Renew(ctx, req.CertificateArn)
	if err != nil {
		t.Fatalf("renew of a certificate deleted at install: %v", err)
	}
	if deleted != 1 {
		t.Fatalf("the pass wrote the files %d times, want 1", deleted)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the command ran for a deleted certificate")
	}
	if after, err := os.ReadFile(cert); err != nil || string(after) == string(before) {
		t.Errorf("the new version's files were not written (%v)", err)
	}
	if len(rep.Results) != 1 || len(rep.Results[0].Targets) != 1 {
		t.Fatalf("report %+v, want one result with one target", rep.Results)
	}
	res := rep.Results[0]
	if tr := res.Targets[0]; tr.Outcome != TargetHookSkipped || !strings.Contains(tr.Reason, "deleted") || !strings.Contains(tr.Reason, "not run") {
		t.Errorf("target %+v, want HOOK_SKIPPED saying the certificate was deleted and the command not run", tr)
	}
	if !strings.Contains(res.Reason, "deleted") || !strings.Contains(res.Reason, cert) {
		t.Errorf("result reason %q does not say the certificate was deleted and its files left", res.Reason)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("report error %v, want none: a certificate deleted meanwhile is not a failed deployment", err)
	}
	if ids, err := host.OtherCertificates(""); err != nil || slices.Contains(ids, id) {
		t.Errorf("this host still names the deleted certificate's target: %v, %v", ids, err)
	}
}

// TestPassGoesOnPastACertificateDeletedBeforeItsInstall: a certificate
// the due pass renewed and that is deleted before the pass installs it
// (between the renewals and the installs) is passed over: its command is
// not run and the pass goes on to install the others, exit 0.
func TestPassGoesOnPastACertificateDeletedBeforeItsInstall(t *testing.T) {
	ctx := context.Background()
	v, core, first, now := newFixture(t, "first-gone.internal")
	host, err := deploy.LocalHost(v.Dir, "h1")
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, AllowExec: true, Host: func() (deploy.Host, error) { return host, nil }})
	certs := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour})
	second, err := certs.Request(ctx, certificates.RequestInput{DomainName: "second-kept.internal", CertificateAuthority: "default", KeyAlgorithm: "EC_prime256v1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ran := map[string]string{}
	for i, arn := range []string{first.CertificateArn, second.CertificateArn} {
		d := filepath.Join(dir, strconv.Itoa(i))
		ran[arn] = d + ".ran"
		if _, err := s.Deploy(ctx, arn, deploy.Target{CertFile: d + ".crt", KeyFile: d + ".key", Exec: "touch " + ran[arn]}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(ran[arn]); err != nil {
			t.Fatal(err)
		}
	}
	// The pass reaches both certificates (renewing each) before it
	// installs either: the first reached is deleted as the pass reaches
	// the second.
	var reached []string
	s.reaching = func(id string) {
		reached = append(reached, id)
		if len(reached) == 2 {
			for _, arn := range []string{first.CertificateArn, second.CertificateArn} {
				if idOf(arn) == reached[0] {
					if _, err := certs.Delete(ctx, arn, true, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	*now = now.Add(time.Hour)
	rep, err := s.due(ctx, DueOptions{Within: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatalf("the pass stopped: %v", err)
	}
	if len(reached) != 2 {
		t.Fatalf("the pass reached %d certificates, want 2", len(reached))
	}
	for _, arn := range []string{first.CertificateArn, second.CertificateArn} {
		_, statErr := os.Stat(ran[arn])
		if idOf(arn) == reached[0] && statErr == nil {
			t.Errorf("%s: the command of the certificate deleted before its install ran", arn)
		}
		if idOf(arn) == reached[1] && statErr != nil {
			t.Errorf("%s: the other certificate's command did not run: the pass did not go on", arn)
		}
	}
	if err := rep.Err(); err != nil {
		t.Errorf("report error %v, want none", err)
	}
}

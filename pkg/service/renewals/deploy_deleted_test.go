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
	host, s, certs, req, _ := hookFixture(t, "gone.internal")
	id := req.CertificateArn[strings.LastIndexByte(req.CertificateArn, '/')+1:]
	s.written = func(string) {
		if _, err := certs.Delete(ctx, req.CertificateArn, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	cert := filepath.Join(dir, "c.pem")
	_, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: cert, KeyFile: filepath.Join(dir, "k.pem"), Exec: "touch " + ran})
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
// target, the target is reported DELETED saying why, and the run is
// not failed by it — as deploy does (tester: the pass ran the command of a
// deleted certificate, then failed with "not found").
func TestPassInstallOfACertificateDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	host, s, certs, req, now := hookFixture(t, "gone-at-install.internal")
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
	if tr := res.Targets[0]; tr.Outcome != TargetDeleted || !strings.Contains(tr.Reason, "deleted") || !strings.Contains(tr.Reason, "no command was run") {
		t.Errorf("target %+v, want DELETED saying the certificate was deleted and no command run", tr)
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

// TestPassGoesOnPastACertificateDeletedBeforeItsInstall: of two
// certificates the due pass renewed, the second is deleted while the pass
// installs the first (by the first's command, or another process): the
// pass reads it as gone — the error Read returns is the vault layer's not
// found to errors.Is (review: that check never matched, and the pass
// stopped, exit 3) — reports its target DELETED, runs no command of it,
// has this host forget it, and exits 0.
func TestPassGoesOnPastACertificateDeletedBeforeItsInstall(t *testing.T) {
	ctx := context.Background()
	host, s, certs, first, now := hookFixture(t, "first-kept.internal")
	second, err := certs.Request(ctx, certificates.RequestInput{DomainName: "second-gone.internal", CertificateAuthority: "default", KeyAlgorithm: "EC_prime256v1"})
	if err != nil {
		t.Fatal(err)
	}
	arns := []string{first.CertificateArn, second.CertificateArn}
	dir := t.TempDir()
	ran := map[string]string{}
	for i, arn := range arns {
		d := filepath.Join(dir, strconv.Itoa(i))
		ran[idOf(arn)] = d + ".ran"
		if _, err := s.Deploy(ctx, arn, deploy.Target{CertFile: d + ".crt", KeyFile: d + ".key", Exec: "touch " + d + ".ran"}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(d + ".ran"); err != nil {
			t.Fatal(err)
		}
	}
	// The first certificate the pass installs deletes the other.
	var kept, gone string
	s.written = func(id string) {
		if kept != "" {
			return
		}
		kept = id
		for _, arn := range arns {
			if idOf(arn) != id {
				gone = arn
				if _, err := certs.Delete(ctx, arn, true, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	*now = now.Add(time.Hour)
	rep, err := s.due(ctx, DueOptions{Within: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatalf("the pass stopped: %v", err)
	}
	if gone == "" {
		t.Fatal("the pass installed nothing")
	}
	if _, err := os.Stat(ran[kept]); err != nil {
		t.Errorf("the command of the certificate installed first did not run: %v", err)
	}
	if _, err := os.Stat(ran[idOf(gone)]); err == nil {
		t.Error("the command of the certificate deleted before its install ran")
	}
	for _, r := range rep.Results {
		if r.CertificateArn != gone {
			continue
		}
		if len(r.Targets) != 1 || r.Targets[0].Outcome != TargetDeleted || !strings.Contains(r.Reason, "deleted before it was installed") {
			t.Errorf("the deleted certificate's result %+v, want its target DELETED and the reason", r)
		}
	}
	if ids, err := host.OtherCertificates(""); err != nil || slices.Contains(ids, idOf(gone)) {
		t.Errorf("this host still names the deleted certificate's target: %v, %v", ids, err)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("report error %v, want none", err)
	}
}

// hookFixture is newFixture with the renewals service of host h1, whose
// hooks run (AllowExec), and the certificates service.
func hookFixture(t *testing.T, domain string) (deploy.Host, *Service, *certificates.Service, *certificates.RequestResult, *time.Time) {
	t.Helper()
	v, core, req, now := newFixture(t, domain)
	host, err := deploy.LocalHost(v.Dir, "h1")
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour, AllowExec: true, Host: func() (deploy.Host, error) { return host, nil }})
	return host, s, certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour}), req, now
}

package certificates_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// successes counts the successful audit records of event.
func successes(t *testing.T, recs []*audit.Record, event string) int {
	n := 0
	for _, r := range recs {
		if r.EventName == event && r.Outcome == audit.OutcomeSuccess {
			n++
		}
	}
	return n
}

// TestBulkInterruptedReportsWhatWasDone: a bulk operation whose context is
// cancelled (Ctrl-C, SIGTERM) starts no other change and returns its
// report all the same: every certificate done so far with its outcome,
// the others NOT_DONE, and exit 7 saying it was interrupted. An export
// whose files were written is recorded even so.
func TestBulkInterruptedReportsWhatWasDone(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	for i := 0; i < 5; i++ {
		storeVaultCertificate(t, core, fmt.Sprintf("h%d.int.example.test", i))
	}
	sel := certificates.Selection{Query: "san:*.int.example.test"}

	// Interrupted after the second export's files were written.
	ctx, cancel := context.WithCancel(context.Background())
	delivered := 0
	rep, err := svc.ExportSelected(ctx, certificates.BulkExportRequest{
		BulkOptions: certificates.BulkOptions{Selection: sel},
		WithKey:     true, Format: "pem",
		Passphrase: func() ([]byte, error) { return []byte("pass"), nil },
		Deliver: func(ex *certificates.Exported) (string, error) {
			delivered++
			if delivered == 2 {
				cancel()
			}
			return "/out/" + ex.ID, nil
		},
	})
	if err != nil {
		t.Fatalf("ExportSelected: %v, want its report", err)
	}
	if len(rep.Results) != 5 || rep.Count(certificates.OutcomeExported) != 2 || rep.Count(certificates.OutcomeNotDone) != 3 {
		t.Fatalf("report: %+v", rep.Results)
	}
	for _, r := range rep.Results {
		if (r.Outcome == certificates.OutcomeExported) != (r.Path != "") {
			t.Errorf("%s: %s with path %q", r.CertificateArn, r.Outcome, r.Path)
		}
	}
	if e := rep.Err(); errs.ExitCodeOf(e) != errs.ExitPartial || !strings.HasPrefix(e.Error(), "interrupted: 3 of 5 certificates not done") {
		t.Errorf("Err: %v, want exit 7 saying it was interrupted", e)
	}
	if n := successes(t, auditRecords(t, core), "ExportCertificate"); n != 2 {
		t.Errorf("%d exports recorded, want the 2 whose files were written", n)
	}

	// Interrupted before the first change: nothing changed or recorded.
	ctx, cancel = context.WithCancel(context.Background())
	before := len(auditRecords(t, core))
	rep, err = svc.AddTagsSelected(ctx, certificates.BulkOptions{Selection: sel, Confirm: func(*certificates.BulkReport) error {
		cancel()
		return nil
	}}, []string{"wave=1"})
	if err != nil {
		t.Fatalf("AddTagsSelected: %v, want its report", err)
	}
	if rep.Count(certificates.OutcomeNotDone) != 5 || errs.ExitCodeOf(rep.Err()) != errs.ExitPartial {
		t.Errorf("report %+v, Err %v", rep.Results, rep.Err())
	}
	if n := len(auditRecords(t, core)); n != before {
		t.Errorf("%d changes recorded after the interruption", n-before)
	}
}

// TestImportDirInterrupted: an import from a directory interrupted when
// its first file is done reports that file and every other as NOT_DONE,
// imports nothing more, and exits 7 saying it was interrupted.
func TestImportDirInterrupted(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	dir := t.TempDir()
	if err := testpki.WriteMany(dir, 3, now); err != nil {
		t.Fatal(err)
	}
	// A file that fails, done on its own (the good ones wait for their
	// batch): the interruption comes when it is done.
	if err := os.WriteFile(filepath.Join(dir, "bad.crt"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := svc.ImportDir(ctx, certificates.ImportDirRequest{Dir: dir, FileDone: func(bool) { cancel() }})
	if err != nil {
		t.Fatalf("ImportDir: %v, want its report", err)
	}
	if len(res.Results) != 4 || res.Failed != 1 || res.NotDone != 3 || res.Imported != 0 || !res.Interrupted {
		t.Fatalf("result %+v", res)
	}
	for _, r := range res.Results {
		if r.File == "" || (r.Status != certificates.FileFailed && r.Status != certificates.FileNotDone) {
			t.Errorf("result %+v", r)
		}
	}
	if e := res.Err(); errs.ExitCodeOf(e) != errs.ExitPartial || !strings.HasPrefix(e.Error(), "interrupted: 3 of 4 files not done") {
		t.Errorf("Err: %v", e)
	}
	if n := successes(t, auditRecords(t, core), "ImportCertificate"); n != 0 {
		t.Errorf("%d imports recorded after the interruption", n)
	}
}

// TestExportInterruptedAfterDeliveryIsRecorded: a key export interrupted
// (ctx cancelled) once its key was handed out — the files written, the key
// printed — is recorded and marks the certificate Exported all the same;
// one whose delivery failed under the interruption is recorded as a
// failure.
func TestExportInterruptedAfterDeliveryIsRecorded(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	arn := storeVaultCertificate(t, core, "out.int.example.test")
	pass := func() ([]byte, error) { return []byte("pass"), nil }

	ctx, cancel := context.WithCancel(context.Background())
	interrupted := errors.New("interrupted while writing")
	_, err := svc.Export(ctx, certificates.ExportRequest{Ref: arn, WithKey: true, Format: "pem", Passphrase: pass,
		Deliver: func(*certificates.Exported) error { cancel(); return interrupted }})
	if !errors.Is(err, interrupted) {
		t.Fatalf("export whose delivery failed: %v, want its error", err)
	}
	if n := failures(auditRecords(t, core), "ExportCertificate"); n != 1 {
		t.Errorf("%d failed exports recorded, want the one interrupted while delivering", n)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	ex, err := svc.Export(ctx, certificates.ExportRequest{Ref: arn, WithKey: true, Format: "pem", Passphrase: pass,
		Deliver: func(*certificates.Exported) error { cancel(); return nil }})
	if err != nil || ex.Unrecorded {
		t.Fatalf("export interrupted after delivery: %+v, %v, want it recorded", ex, err)
	}
	if n := successes(t, auditRecords(t, core), "ExportCertificate"); n != 1 {
		t.Errorf("%d exports recorded, want the one delivered", n)
	}
	if err := core.Read(context.Background(), func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(arn[strings.LastIndex(arn, "/")+1:])
		if err == nil && !c.Exported {
			t.Error("the certificate whose key was delivered is not marked Exported")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// failures counts the failed audit records of event.
func failures(recs []*audit.Record, event string) int {
	n := 0
	for _, r := range recs {
		if r.EventName == event && r.Outcome != audit.OutcomeSuccess {
			n++
		}
	}
	return n
}

// TestInterruptAfterTheLastItem: an interruption that comes after a batch
// did its last item stopped nothing: the batch's error is what it would
// be without it (nil, or the failures' exit 7), not "interrupted: 0 of N
// not done" (tester: import --from-dir of 2,000 files, all imported,
// exit 7).
func TestInterruptAfterTheLastItem(t *testing.T) {
	imp := &certificates.ImportDirResult{Results: make([]certificates.ImportFileResult, 3), Imported: 3, Interrupted: true}
	if err := imp.Err(); err != nil {
		t.Errorf("import --from-dir, every file done, then interrupted: %v, want nil", err)
	}
	imp.NotDone = 1
	if err := imp.Err(); errs.ExitCodeOf(err) != errs.ExitPartial || !strings.Contains(fmt.Sprint(err), "1 of 3 files not done") {
		t.Errorf("import --from-dir, one file not done: %v, want exit 7 naming it", err)
	}
	imp = &certificates.ImportDirResult{Results: make([]certificates.ImportFileResult, 3), Imported: 2, Failed: 1, Interrupted: true}
	if err := imp.Err(); errs.ExitCodeOf(err) != errs.ExitPartial || !strings.Contains(fmt.Sprint(err), "failed") {
		t.Errorf("import --from-dir, a file failed, then interrupted: %v, want its failure", err)
	}
	done := certificates.BulkResult{Outcome: certificates.OutcomeTagged}
	bulk := &certificates.BulkReport{Results: []certificates.BulkResult{done, done}, Interrupted: true}
	if err := bulk.Err(); err != nil {
		t.Errorf("bulk change, every certificate done, then interrupted: %v, want nil", err)
	}
	bulk.Results = append(bulk.Results, certificates.BulkResult{Outcome: certificates.OutcomeNotDone})
	if err := bulk.Err(); errs.ExitCodeOf(err) != errs.ExitPartial || !strings.Contains(fmt.Sprint(err), "1 of 3 certificates not done") {
		t.Errorf("bulk change, one not done: %v, want exit 7 naming it", err)
	}
}

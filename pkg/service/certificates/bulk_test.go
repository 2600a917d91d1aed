package certificates_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// A bulk change is one recorded change per certificate: a certificate that
// fails in the middle of a batch (deleted between the plan and the change)
// is reported and recorded as refused, and every other certificate of the
// batch is changed all the same. A dry run changes and records nothing.
func TestBulkChangeFailureUndoesNothingElse(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	var arns []string
	for i := 0; i < 6; i++ {
		arns = append(arns, storeVaultCertificate(t, core, fmt.Sprintf("h%d.bulk.example.test", i)))
	}
	sel := certificates.Selection{Query: "san:*.bulk.example.test"}

	dry, err := svc.AddTagsSelected(ctx, certificates.BulkOptions{Selection: sel, DryRun: true}, []string{"wave=1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Results) != 6 || dry.Count(certificates.OutcomeTagged) != 6 || !dry.DryRun || dry.Err() != nil {
		t.Fatalf("dry run: %+v", dry)
	}
	if n := len(auditRecords(t, core)); n != 0 {
		t.Fatalf("a dry run recorded %d changes", n)
	}

	victim := arns[3]
	rep, err := svc.AddTagsSelected(ctx, certificates.BulkOptions{Selection: sel, Confirm: func(plan *certificates.BulkReport) error {
		// Between the plan and the changes, another process deletes one.
		if len(plan.Results) != 6 {
			t.Errorf("plan: %+v", plan)
		}
		_, err := svc.Delete(ctx, victim, false, nil)
		return err
	}}, []string{"wave=1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(certificates.OutcomeTagged) != 5 || rep.Count(certificates.OutcomeRefused) != 1 {
		t.Fatalf("report: %+v", rep.Results)
	}
	for _, r := range rep.Results {
		if (r.CertificateArn == victim) != (r.Outcome == certificates.OutcomeRefused) {
			t.Errorf("%s: %s", r.CertificateArn, r.Outcome)
		}
	}
	if errs.ExitCodeOf(rep.Err()) != errs.ExitPartial {
		t.Errorf("Err: %v, want exit 7", rep.Err())
	}
	tagged := 0
	if err := core.Read(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{})
		for _, c := range certs {
			if inventory.HasTag(c.Tags, "wave", nil) {
				tagged++
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if tagged != 5 {
		t.Errorf("%d certificates tagged, want 5", tagged)
	}
	var ok, failed int
	for _, r := range auditRecords(t, core) {
		if r.EventName != "AddTagsToCertificate" {
			continue
		}
		if len(r.Resources) != 1 {
			t.Errorf("record %+v names %d resources", r, len(r.Resources))
		}
		switch r.Outcome {
		case audit.OutcomeSuccess:
			ok++
		case audit.OutcomeFailure:
			failed++
			if r.Resources[0] != victim || r.ErrorCode != "ResourceNotFoundException" {
				t.Errorf("failure recorded %+v", r)
			}
		}
	}
	if ok != 5 || failed != 1 {
		t.Errorf("recorded %d successes and %d failures, want 5 and 1", ok, failed)
	}

	// A confirmation that says no changes nothing.
	before := len(auditRecords(t, core))
	_, err = svc.RemoveTagsSelected(ctx, certificates.BulkOptions{Selection: sel, Confirm: func(*certificates.BulkReport) error {
		return errs.Refusedf("nothing changed")
	}}, []string{"wave"})
	if errs.ExitCodeOf(err) != errs.ExitRefused || len(auditRecords(t, core)) != before {
		t.Errorf("declined: %v, %d records (had %d)", err, len(auditRecords(t, core)), before)
	}
	// A bulk operation needs a selection.
	if _, err := svc.DeleteSelected(ctx, certificates.BulkOptions{}, false); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("no selection: %v, want exit 2", err)
	}
}

// The changes of a bulk tag read their certificates' tags for the whole
// batch at once: each certificate still gets its own tags merged with the
// given ones, also when the batch's first change (the one that reads for
// the others) fails and every change runs again on its own.
func TestBulkTagsKeepEachCertificatesOwnTags(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	svc, core := newAuditedService(t, now)
	own := map[string]string{}
	var arns []string
	for i := 0; i < 5; i++ {
		arn := storeVaultCertificate(t, core, fmt.Sprintf("h%d.bulk.example.test", i))
		if _, err := svc.AddTags(ctx, arn, []string{fmt.Sprintf("own=%d", i)}); err != nil {
			t.Fatal(err)
		}
		own[arn] = fmt.Sprint(i)
		arns = append(arns, arn)
	}
	sel := certificates.Selection{Query: "san:*.bulk.example.test"}
	check := func(deleted string) {
		t.Helper()
		err := core.Read(ctx, func(tx localstore.Tx) error {
			certs, err := tx.ListCertificates(localstore.CertificateFilter{})
			seen := map[string]bool{}
			for _, c := range certs {
				arn := core.Names.CertificateARN(c.ID)
				seen[arn] = true
				if arn == deleted {
					t.Errorf("%s is still there", arn)
				}
				want := []localstore.Tag{{Key: "own", Value: own[arn]}, {Key: "wave", Value: "1"}}
				if fmt.Sprint(c.Tags) != fmt.Sprint(want) {
					t.Errorf("%s: tags %v, want %v", arn, c.Tags, want)
				}
				if !c.UpdatedAt.Equal(now) {
					t.Errorf("%s: UpdatedAt %v, want %v", arn, c.UpdatedAt, now)
				}
			}
			for _, arn := range arns {
				if arn != deleted && !seen[arn] {
					t.Errorf("%s is gone", arn)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var first string
	rep, err := svc.AddTagsSelected(ctx, certificates.BulkOptions{Selection: sel, Confirm: func(plan *certificates.BulkReport) error {
		// The first certificate of the batch goes before the changes.
		first = plan.Results[0].CertificateArn
		_, err := svc.Delete(ctx, first, false, nil)
		return err
	}}, []string{"wave=1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(certificates.OutcomeTagged) != 4 || rep.Results[0].Outcome != certificates.OutcomeRefused {
		t.Fatalf("report: %+v", rep.Results)
	}
	check(first)
	// Again: nothing fails, the tags stay as they are (wave=1 replaced by
	// itself), each certificate's own.
	rep, err = svc.AddTagsSelected(ctx, certificates.BulkOptions{Selection: sel}, []string{"wave=1"})
	if err != nil || rep.Count(certificates.OutcomeTagged) != 4 {
		t.Fatalf("re-run: %v %+v", err, rep)
	}
	check(first)
}

// A bulk change tells its progress as it goes — every certificate,
// unchanged ones too, up to the selection's size — and a dry run tells
// none.
func TestBulkProgressCountsEveryCertificate(t *testing.T) {
	ctx := context.Background()
	svc, core := newAuditedService(t, time.Now().UTC().Truncate(time.Second))
	for i := 0; i < 5; i++ {
		storeVaultCertificate(t, core, fmt.Sprintf("p%d.progress.example.test", i))
	}
	sel := certificates.Selection{Query: "san:*.progress.example.test"}
	var told [][2]int
	progress := func(done, total int) { told = append(told, [2]int{done, total}) }
	if _, err := svc.RevokeSelected(ctx, certificates.BulkOptions{Selection: sel, DryRun: true, Progress: progress}, "SUPERSEDED"); err != nil {
		t.Fatal(err)
	}
	if len(told) != 0 {
		t.Fatalf("a dry run told progress %v", told)
	}
	// One of them revoked already: unchanged, and counted.
	if _, err := svc.RevokeSelected(ctx, certificates.BulkOptions{Selection: certificates.Selection{Query: "san:p0.progress.example.test"}},
		"SUPERSEDED"); err != nil {
		t.Fatal(err)
	}
	rep, err := svc.RevokeSelected(ctx, certificates.BulkOptions{Selection: sel, Progress: progress}, "SUPERSEDED")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(certificates.OutcomeUnchanged) != 1 || rep.Count("REVOKED") != 4 {
		t.Fatalf("report: %+v", rep.Results)
	}
	want := [][2]int{{1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}}
	if fmt.Sprint(told) != fmt.Sprint(want) {
		t.Errorf("progress told %v, want %v", told, want)
	}
}

// An export over a selection tells its progress as each certificate's
// files are written — with its key (counted when prepared, not when the
// batch recording it commits) and without — up to the selection's size.
func TestBulkExportTellsProgress(t *testing.T) {
	ctx := context.Background()
	svc, core := newAuditedService(t, time.Now().UTC().Truncate(time.Second))
	for i := 0; i < 3; i++ {
		storeVaultCertificate(t, core, fmt.Sprintf("e%d.progress.example.test", i))
	}
	for _, withKey := range []bool{true, false} {
		var told [][2]int
		delivered := 0
		rep, err := svc.ExportSelected(ctx, certificates.BulkExportRequest{
			BulkOptions: certificates.BulkOptions{Selection: certificates.Selection{Query: "san:*.progress.example.test"},
				Progress: func(done, total int) {
					if done > delivered {
						t.Errorf("withKey %v: told %d done after %d delivered", withKey, done, delivered)
					}
					told = append(told, [2]int{done, total})
				}},
			WithKey: withKey, Format: "pem",
			Passphrase: func() ([]byte, error) { return []byte("change-me"), nil },
			Deliver: func(*certificates.Exported) (string, error) {
				if len(told) < delivered {
					t.Errorf("withKey %v: %d delivered before this one, %d told", withKey, delivered, len(told))
				}
				delivered++
				return "dir", nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count(certificates.OutcomeExported) != 3 {
			t.Fatalf("withKey %v: %+v", withKey, rep.Results)
		}
		if want := "[[1 3] [2 3] [3 3]]"; fmt.Sprint(told) != want {
			t.Errorf("withKey %v: progress told %v, want %s", withKey, told, want)
		}
	}
}

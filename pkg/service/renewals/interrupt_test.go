package renewals

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestDueInterruptedInItsTransaction: a due pass interrupted while a
// renewal's transaction runs (Ctrl-C: the transaction is cancelled under
// its statements) reports that certificate not done, as those it did not
// reach — not FAILED with the driver's words (tester: "sql: transaction
// has already been committed or rolled back") — and renews nothing.
func TestDueInterruptedInItsTransaction(t *testing.T) {
	_, core, req, now := newFixture(t, "cut.internal")
	if _, err := certificates.New(core, certificates.Settings{}).Export(context.Background(), certificates.ExportRequest{Ref: req.CertificateArn, WithKey: true,
		Format: "pem", Passphrase: func() ([]byte, error) { return []byte("change-me"), nil }}); err != nil {
		t.Fatal(err)
	}
	s := New(core, Settings{Validity: 30 * 24 * time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.renewer.Now = func() time.Time {
		// In the renewal's transaction: the interruption arrives, and
		// database/sql rolls the transaction back under it.
		cancel()
		time.Sleep(100 * time.Millisecond)
		return *now
	}
	rep, err := s.due(ctx, DueOptions{Within: 365 * 24 * time.Hour}) // RenewDue, with this renewer
	if rep == nil || len(rep.Results) != 1 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	res := rep.Results[0]
	if res.Outcome != renewal.Failed || res.Reason != service.ReasonNotDone || strings.Contains(res.Reason, "sql:") {
		t.Errorf("result %+v, want FAILED %q", res, service.ReasonNotDone)
	}
	if err != nil || !rep.Interrupted || errs.ExitCodeOf(rep.Err()) != errs.ExitPartial {
		t.Errorf("error %v, interrupted %v, report error %v: want the interruption (exit 7)", err, rep.Interrupted, rep.Err())
	}
	if err := core.Read(context.Background(), func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(req.ID)
		if err == nil && c.Version != 1 {
			t.Errorf("after the interrupted pass the certificate is at version %d, want 1", c.Version)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

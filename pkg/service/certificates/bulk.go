package certificates

import (
	"context"
	"errors"
	"fmt"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Selection names the certificates a bulk operation acts on, in the
// search grammars: a filter statement (ACM's SearchCertificates JSON) or
// a terse query (`san:… status:… tag:K=V`). Exactly one must be given: a
// bulk operation never acts on the whole vault by default.
type Selection struct {
	FilterStatement []byte
	Query           string
}

// IsSet reports whether a statement or a query was given.
func (s Selection) IsSet() bool { return len(s.FilterStatement) > 0 || s.Query != "" }

// Selected is one certificate a selection matched, as it was when the
// selection was made (the change reads it again).
type Selected struct {
	ID             string
	CertificateArn string
	DomainName     string
	Cert           *localstore.Certificate
}

// Select returns the certificates of every origin that sel matches, as of
// now, newest first. It is the one selection of every bulk operation
// (revoke, renew, export, tags, delete), and the same as search's.
func (s *Service) Select(ctx context.Context, sel Selection) ([]Selected, error) {
	if !sel.IsSet() {
		return nil, errs.UsageErrorf("a bulk operation needs a selection: --filter-statement or --query-terse")
	}
	now := s.core.Now()
	stmt, err := SearchInput{FilterStatement: sel.FilterStatement, Query: sel.Query}.Statement(now)
	if err != nil {
		return nil, err
	}
	var out []Selected
	err = s.core.Read(ctx, func(tx localstore.Tx) error {
		out = []Selected{} // a read may run again
		f, none, err := s.narrowed(tx, stmt)
		if err != nil || none {
			return err
		}
		certs, err := tx.ListCertificates(f)
		for _, c := range certs {
			inventory.AsOf(c, now)
			if x := s.subject(c); stmt == nil || stmt.Match(&x) {
				out = append(out, Selected{ID: c.ID, CertificateArn: x.CertificateArn, DomainName: c.DomainName, Cert: c})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Bulk outcomes shared by every bulk operation; each operation also has
// its own word for a change made (REVOKED, EXPORTED, TAGGED, UNTAGGED,
// DELETED; renew reports renew's outcomes).
const (
	// OutcomeRefused: a rule refused the change (an IMPORTED certificate
	// revoked, a certificate in use deleted…); nothing changed.
	OutcomeRefused = "REFUSED"
	// OutcomeFailed: the change failed for another reason (the vault).
	OutcomeFailed = "FAILED"
	// OutcomeUnchanged: the certificate already was as asked (revoked,
	// for a revocation); nothing was changed or recorded. Not a failure,
	// so that running an interrupted operation again exits 0.
	OutcomeUnchanged = "UNCHANGED"
	// OutcomeNotDone: the operation was interrupted (Ctrl-C, SIGTERM)
	// before it reached this certificate, or while its change was being
	// made; nothing was changed or recorded (see service.OutcomeNotDone).
	OutcomeNotDone = service.OutcomeNotDone
)

// BulkResult is one certificate's outcome in a bulk operation.
type BulkResult struct {
	CertificateArn string `json:"CertificateArn"`
	DomainName     string `json:"DomainName,omitempty"`
	Outcome        string `json:"Outcome"`
	Reason         string `json:"Reason"`
	// Path is where an export wrote the certificate (export --out-dir).
	Path string `json:"Path,omitempty"`
	// ID is the certificate's UUID (for naming files and table rows).
	ID string `json:"-"`
}

// BulkReport is the outcome of a bulk operation, one result per selected
// certificate, in the selection's order.
type BulkReport struct {
	Results []BulkResult `json:"Results"`
	// DryRun reports that nothing was changed: the outcomes are what a
	// real run would have done, as of now.
	DryRun bool `json:"DryRun,omitempty"`
	// Interrupted reports that an interruption stopped the operation:
	// the certificates it did not reach are NOT_DONE.
	Interrupted bool `json:"-"`
}

// Count returns how many results have outcome.
func (r *BulkReport) Count(outcome string) int {
	n := 0
	for _, res := range r.Results {
		if res.Outcome == outcome {
			n++
		}
	}
	return n
}

// Failed is how many certificates were refused or failed.
func (r *BulkReport) Failed() int { return r.Count(OutcomeRefused) + r.Count(OutcomeFailed) }

// Err is exit 7 when an interruption left certificates not done, or some
// certificate was refused or failed (in a dry run: would be), else nil. An
// interruption after the last certificate was done stopped nothing.
func (r *BulkReport) Err() error {
	if n := r.Count(OutcomeNotDone); r.Interrupted && n > 0 {
		return service.Interrupted(n, len(r.Results), "certificates")
	}
	if n := r.Failed(); n > 0 {
		verb := "were refused or failed"
		if r.DryRun {
			verb = "would be refused"
		}
		return &errs.Error{Exit: errs.ExitPartial, Msg: fmt.Sprintf("%d of %d certificates %s (see the results)", n, len(r.Results), verb)}
	}
	return nil
}

// BulkOptions are what every bulk operation takes besides its own
// parameters.
type BulkOptions struct {
	Selection Selection
	// DryRun reports what would change and changes nothing.
	DryRun bool
	// Confirm, when set, is asked once what would change is known and
	// before anything changes, outside any transaction (it may prompt);
	// plan is the dry run's report. It is not asked when nothing would
	// change. An error from it cancels the operation and is returned.
	Confirm func(plan *BulkReport) error
	// Progress, when set, is told as the changes go how many of the
	// selected certificates are done with (changed, unchanged, refused
	// or failed), of how many; never in a dry run.
	Progress func(done, total int)
}

// Advanced tells Progress, when set, that done of total certificates are
// done with.
func (o BulkOptions) Advanced(done, total int) {
	if o.Progress != nil {
		o.Progress(done, total)
	}
}

// bulkOp is one kind of bulk change.
type bulkOp struct {
	// event is the AWS API name each change is recorded under.
	event string
	// done is the outcome of a change made; verb names it in a dry run
	// ("revoke").
	done, verb string
	// params records the operation's request parameters (never a secret).
	params func(op *service.Op)
	// unchanged, when set, tells why c, as selected, needs no change
	// ("" when it does).
	unchanged func(c *localstore.Certificate) string
	// load, when set, reads again in a change what check and apply need
	// of certificate id (GetCertificate otherwise: the whole record).
	load func(tx localstore.Tx, id string) (*localstore.Certificate, error)
	// loadBatch, when set with load, reads what load reads of several
	// certificates in one query (those that exist), for the changes of
	// one transaction.
	loadBatch func(tx localstore.Tx, ids []string) (map[string]*localstore.Certificate, error)
	// check applies the operation's rules to c, as selected (dry run,
	// plan) and again in the change (c as load read it), with tx, the
	// transaction c was read in, for a rule that reads more of the
	// store.
	check func(tx localstore.Tx, c *localstore.Certificate) error
	// checkReads: check reads the store (the plan then runs in a read
	// transaction; otherwise it is given none).
	checkReads bool
	// apply makes the change to c, read again in op's transaction (by
	// load) and checked; it stores what it changes.
	apply func(op *service.Op, c *localstore.Certificate) error
	// note, when set, is the Reason reported with a change made to c, as
	// apply was given it ("" for none).
	note func(tx localstore.Tx, c *localstore.Certificate) string
	// before, when set, runs for each certificate of a batch before the
	// batch's changes, outside any transaction: it hands out what the
	// change then records (an export's files) and returns where it put
	// it (BulkResult.Path). An error from it makes the certificate's
	// change fail, recorded (service.Recorded), and its outcome FAILED
	// (REFUSED for a rule's refusal).
	before func(id string) (path string, err error)
}

// bulkBatch is how many certificates' changes one transaction commits:
// each is still its own recorded change, and a failure in a batch makes
// every change of that batch run again on its own (service.ChangeBatch),
// so that one failure undoes nothing else. 2,000 rather than 500: a commit
// (its fsync, its WAL pages, the audit head) then serves four times as many
// changes, and tagging 100,000 certificates takes about 10% less CPU; a
// failure redoes at most 2,000 changes, and the plan has already set aside
// the certificates a rule refuses.
const bulkBatch = 2000

// runBulk selects the certificates, plans, confirms, and changes each one
// in a recorded change of its own (committed bulkBatch at a time). A
// certificate the plan found refused runs in a change of its own too, so
// that the refusal is recorded; it is checked again there, as is every
// certificate, against what it is at that moment. A re-run after an
// interruption finds the certificates already changed refused or
// unchanged and finishes the others.
func (s *Service) runBulk(ctx context.Context, o BulkOptions, b bulkOp) (*BulkReport, error) {
	sel, err := s.Select(ctx, o.Selection)
	if err != nil {
		return nil, err
	}
	plan := &BulkReport{Results: make([]BulkResult, len(sel)), DryRun: true}
	doable := 0
	would := "dry run: would " + b.verb
	planAll := func(tx localstore.Tx) error {
		doable = 0
		for i, c := range sel {
			r := BulkResult{CertificateArn: c.CertificateArn, DomainName: c.DomainName, ID: c.ID, Outcome: b.done, Reason: would}
			why := ""
			if b.unchanged != nil {
				why = b.unchanged(c.Cert)
			}
			if why != "" {
				r.Outcome, r.Reason = OutcomeUnchanged, why
			} else if err := b.check(tx, c.Cert); err != nil {
				if ce := (*errs.Error)(nil); b.checkReads && !errors.As(err, &ce) {
					return err // the store's, not a rule's
				}
				r.Outcome, r.Reason = OutcomeRefused, err.Error()
			} else {
				doable++
			}
			plan.Results[i] = r
		}
		return nil
	}
	if b.checkReads {
		err = s.core.Read(ctx, planAll)
	} else {
		err = planAll(nil)
	}
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		return plan, nil
	}
	// Each change reads its certificate again: the records as selected
	// are not needed any more, and over a large selection they would
	// only be garbage the collector scans at every cycle of the changes.
	for i := range sel {
		sel[i].Cert = nil
	}
	if o.Confirm != nil && doable > 0 {
		if err := o.Confirm(plan); err != nil {
			return nil, err
		}
	}
	rep := &BulkReport{Results: make([]BulkResult, len(sel))}
	// What before did for each certificate: where it put its output, or
	// why it failed.
	var paths []string
	var prepared []error
	notes := make([]string, len(sel)) // b.note's, for the changes made
	if b.before != nil {
		paths, prepared = make([]string, len(sel)), make([]error, len(sel))
	}
	load := b.load
	if load == nil {
		load = localstore.Tx.GetCertificate
	}
	// pre holds what the first change of a batch read, in its
	// transaction, for the batch's other changes (see flush).
	var pre struct {
		tx    localstore.Tx
		certs map[string]*localstore.Certificate
	}
	// change is certificate i's change; batch, when set, are the IDs of
	// the batch whose first change it is.
	change := func(i int, batch []string) func(*service.Op) error {
		id := sel[i].ID
		return func(op *service.Op) error {
			op.Param("CertificateArn", sel[i].CertificateArn)
			op.Resource(sel[i].CertificateArn)
			if b.params != nil {
				b.params(op)
			}
			if prepared != nil && prepared[i] != nil {
				if isRefusal(prepared[i]) {
					return prepared[i]
				}
				return service.Recorded(prepared[i])
			}
			if batch != nil {
				// Read every certificate of the batch now, in this
				// transaction: each change writes only its own
				// certificate, so what the others read later in it
				// is what they would read themselves. A change run
				// again on its own (in a transaction of its own) reads
				// for itself.
				certs, err := b.loadBatch(op.Tx, batch)
				if err != nil {
					return err
				}
				pre.tx, pre.certs = op.Tx, certs
			}
			c, ok := pre.certs[id]
			if !ok || pre.tx != op.Tx {
				var err error
				if c, err = load(op.Tx, id); err != nil {
					return err
				}
			}
			delete(pre.certs, id)
			if err := b.check(op.Tx, c); err != nil {
				return err
			}
			if b.note != nil {
				notes[i] = b.note(op.Tx, c)
			}
			return b.apply(op, c)
		}
	}
	// told marks the certificates progress has counted: one an export
	// prepared (its files written) is counted then, not again when the
	// batch that records it commits, which may be 2,000 later.
	done, told := 0, []bool(nil)
	if o.Progress != nil {
		told = make([]bool, len(sel))
	}
	tell := func(i int) {
		if told != nil && !told[i] {
			told[i] = true
			done++
			o.Advanced(done, len(sel))
		}
	}
	finish := func(i int, err error) {
		r := BulkResult{CertificateArn: sel[i].CertificateArn, DomainName: sel[i].DomainName, ID: sel[i].ID, Outcome: b.done, Reason: notes[i]}
		switch {
		case err != nil && service.Stopped(ctx) && b.before == nil:
			// Its change was not committed: the interruption cancelled
			// it (left without an outcome, it is NOT_DONE).
			return
		case err != nil && isRefusal(err):
			r.Outcome, r.Reason = OutcomeRefused, err.Error()
		case err != nil:
			r.Outcome, r.Reason = OutcomeFailed, err.Error()
		case paths != nil:
			r.Path = paths[i]
		}
		rep.Results[i] = r
		tell(i)
	}
	var batch []int
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if b.before != nil {
			for j, i := range batch {
				if service.Stopped(ctx) {
					// Not prepared, not changed: NOT_DONE.
					batch = batch[:j]
					break
				}
				paths[i], prepared[i] = b.before(sel[i].ID)
				if prepared[i] != nil && service.Stopped(ctx) {
					// Failed for the interruption: NOT_DONE too.
					paths[i], prepared[i] = "", nil
					batch = batch[:j]
					break
				}
				tell(i)
			}
		}
		fns := make([]func(*service.Op) error, len(batch))
		var ids []string
		if b.loadBatch != nil {
			ids = make([]string, len(batch))
			for j, i := range batch {
				ids[j] = sel[i].ID
			}
		}
		for j, i := range batch {
			if j == 0 {
				fns[j] = change(i, ids)
			} else {
				fns[j] = change(i, nil)
			}
		}
		cctx := ctx
		if b.before != nil {
			// What before handed out (an export's files, a key among
			// them) is out: the changes that record it are made even
			// when the operation is interrupted meanwhile.
			cctx = context.WithoutCancel(ctx)
		}
		for j, err := range s.core.ChangeBatch(cctx, b.event, fns) {
			finish(batch[j], err)
		}
		batch = batch[:0]
	}
	for i := range sel {
		if service.Stopped(ctx) {
			break
		}
		switch plan.Results[i].Outcome {
		case OutcomeUnchanged:
			rep.Results[i] = plan.Results[i]
			tell(i)
			continue
		case OutcomeRefused:
			finish(i, s.core.Change(ctx, b.event, change(i, nil)))
			continue
		}
		batch = append(batch, i)
		if len(batch) == bulkBatch {
			flush()
		}
	}
	flush()
	if service.Stopped(ctx) {
		rep.stop(sel)
	}
	return rep, nil
}

// stop marks every result of rep that has no outcome yet NOT_DONE (sel
// names them) and rep interrupted: see service.Stopped.
func (rep *BulkReport) stop(sel []Selected) {
	rep.Interrupted = true
	for i := range rep.Results {
		if rep.Results[i].Outcome == "" {
			c := sel[i]
			rep.Results[i] = BulkResult{CertificateArn: c.CertificateArn, DomainName: c.DomainName, ID: c.ID,
				Outcome: OutcomeNotDone, Reason: service.ReasonNotDone}
		}
	}
}

// isRefusal reports whether err is a rule's refusal (exit 3, 4 or 5), not
// a failure of the vault.
func isRefusal(err error) bool {
	switch errs.ExitCodeOf(err) {
	case errs.ExitNotFound, errs.ExitInvalid, errs.ExitRefused:
		return true
	}
	return false
}

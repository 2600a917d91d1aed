package certificates

import (
	"strings"

	"context"
	"sync"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Outcomes of the bulk operations of this service.
const (
	OutcomeRevoked  = "REVOKED"
	OutcomeDeleted  = "DELETED"
	OutcomeTagged   = "TAGGED"
	OutcomeUntagged = "UNTAGGED"
	OutcomeExported = "EXPORTED"
)

// RevokeSelected revokes every certificate o selects for reason, each in a
// RevokeCertificate change of its own; a certificate the revocation rules
// refuse (IMPORTED, ACME, never exported…) is reported REFUSED and the
// others are revoked all the same. One already revoked is UNCHANGED.
func (s *Service) RevokeSelected(ctx context.Context, o BulkOptions, reason string) (*BulkReport, error) {
	code, ok := casign.ReasonCode(reason)
	if !ok {
		return nil, &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--revocation-reason", reason, casign.ReasonNames())}
	}
	return s.runBulk(ctx, o, bulkOp{
		event: "RevokeCertificate", done: OutcomeRevoked, verb: "revoke",
		params: func(op *service.Op) { op.Param("RevocationReason", reason) },
		unchanged: func(c *localstore.Certificate) string {
			if c.Status == inventory.StatusRevoked {
				return "already revoked (" + c.RevocationReason + ")"
			}
			return ""
		},
		check:      CheckRevocable,
		checkReads: true, // an ACME certificate's endpoint
		apply: func(op *service.Op, c *localstore.Certificate) error {
			return op.Revoke(c, reason, code, true)
		},
		note: func(tx localstore.Tx, c *localstore.Certificate) string {
			return joinNotes(inventory.StillDeployed(c), authority.UnpublishedBy(tx, c.CertificateAuthorityID, s.core.Now()))
		},
	})
}

// DeleteSelected deletes every certificate o selects, each in a
// DeleteCertificate change of its own; one in use is refused unless
// force.
func (s *Service) DeleteSelected(ctx context.Context, o BulkOptions, force bool) (*BulkReport, error) {
	return s.runBulk(ctx, o, bulkOp{
		event: "DeleteCertificate", done: OutcomeDeleted, verb: "delete",
		params: func(op *service.Op) {
			if force {
				op.Param("Force", true)
			}
		},
		check: func(_ localstore.Tx, c *localstore.Certificate) error { return checkDeletable(c, force) },
		note:  func(_ localstore.Tx, c *localstore.Certificate) string { return leftOutside(c, s.core.Now()) },
		apply: func(op *service.Op, c *localstore.Certificate) error {
			if err := op.Tx.DeleteCertificate(c.ID); err != nil {
				return err
			}
			return deploy.RemoveTargets(op.Tx, c.ID)
		},
	})
}

// AddTagsSelected adds tags to every certificate o selects, each in an
// AddTagsToCertificate change of its own; a certificate the tags would
// take beyond ACM's limits is refused.
func (s *Service) AddTagsSelected(ctx context.Context, o BulkOptions, tags []string) (*BulkReport, error) {
	given, err := inventory.ParseTags(tags)
	if err != nil {
		return nil, err
	}
	if _, err := inventory.MergeTags(nil, given); err != nil {
		return nil, err
	}
	return s.runBulk(ctx, o, bulkOp{
		event: "AddTagsToCertificate", done: OutcomeTagged, verb: "tag",
		params:    func(op *service.Op) { op.Param("Tags", given) },
		load:      loadTags,
		loadBatch: loadTagsBatch,
		check: func(_ localstore.Tx, c *localstore.Certificate) error {
			_, err := inventory.MergeTags(c.Tags, given)
			return err
		},
		apply: func(op *service.Op, c *localstore.Certificate) error {
			tags, err := inventory.MergeTags(c.Tags, given)
			if err != nil {
				return err
			}
			return op.Tx.SetCertificateTags(c.ID, tags, op.Now)
		},
	})
}

// RemoveTagsSelected removes tags (by key, or key and value) from every
// certificate o selects, each in a RemoveTagsFromCertificate change of its
// own.
func (s *Service) RemoveTagsSelected(ctx context.Context, o BulkOptions, tags []string) (*BulkReport, error) {
	given, valueGiven, params, err := parseTagConditions(tags)
	if err != nil {
		return nil, err
	}
	return s.runBulk(ctx, o, bulkOp{
		event: "RemoveTagsFromCertificate", done: OutcomeUntagged, verb: "untag",
		params:    func(op *service.Op) { op.Param("Tags", params) },
		load:      loadTags,
		loadBatch: loadTagsBatch,
		check:     func(localstore.Tx, *localstore.Certificate) error { return nil },
		apply: func(op *service.Op, c *localstore.Certificate) error {
			return op.Tx.SetCertificateTags(c.ID, inventory.RemoveTags(c.Tags, given, valueGiven), op.Now)
		},
	})
}

// loadTagsBatch reads what loadTags reads of several certificates.
func loadTagsBatch(tx localstore.Tx, ids []string) (map[string]*localstore.Certificate, error) {
	tags, err := tx.ListCertificateTags(ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*localstore.Certificate, len(tags))
	for id, t := range tags {
		out[id] = &localstore.Certificate{ID: id, Tags: t}
	}
	return out, nil
}

// loadTags reads what a tag change needs of certificate id: its tags (the
// certificate holds nothing else), not its whole record.
func loadTags(tx localstore.Tx, id string) (*localstore.Certificate, error) {
	tags, err := tx.GetCertificateTags(id)
	if err != nil {
		return nil, err
	}
	return &localstore.Certificate{ID: id, Tags: tags}, nil
}

// BulkExportRequest is `export --out-dir DIR` with a selection.
type BulkExportRequest struct {
	BulkOptions
	// WithKey, Format, PlaintextKey and Passphrase are as in
	// ExportRequest; the passphrase is asked once, after the
	// confirmation, and serves every certificate.
	WithKey      bool
	Format       string
	PlaintextKey bool
	Passphrase   func() ([]byte, error)
	// Deliver receives each certificate's export before its change (it
	// writes the files) and returns where it put it; an error from it
	// makes that certificate's outcome FAILED, recorded, and leaves it
	// unmarked.
	Deliver func(*Exported) (string, error)
}

// ExportSelected exports every certificate req selects. With the key, each
// export is an ExportCertificate change of its own that marks the
// certificate Exported; a certificate whose key does not export is
// refused. Without the key, nothing is recorded.
func (s *Service) ExportSelected(ctx context.Context, req BulkExportRequest) (*BulkReport, error) {
	if req.Deliver == nil {
		return nil, errs.Failuref("export: nothing receives the exported certificates")
	}
	var pass []byte
	confirm := req.Confirm
	if req.WithKey && !req.DryRun {
		// The passphrase is asked after the confirmation, once.
		req.Confirm = func(plan *BulkReport) error {
			if confirm != nil {
				if err := confirm(plan); err != nil {
					return err
				}
			}
			if req.Passphrase == nil {
				return errs.UsageErrorf("export needs a passphrase")
			}
			p, err := req.Passphrase()
			if err != nil {
				return err
			}
			if err := CheckExportPassphrase(p, req.PlaintextKey); err != nil {
				return err
			}
			pass = p
			return nil
		}
	}
	// Each key is read, encoded and delivered before its change, which
	// then marks the certificate Exported and records the export: a
	// certificate whose files could not be written is not marked (SPEC:
	// a successful key export marks it).
	var mu sync.Mutex
	delivered := map[string]int{} // certificate ID → version delivered
	op := bulkOp{
		event: "ExportCertificate", done: OutcomeExported, verb: "export",
		params: func(op *service.Op) {
			op.Param("Format", req.Format)
			op.Param("KeyExported", false)
			if req.PlaintextKey {
				op.Param("InsecurePlaintextKey", true)
			}
		},
		check: func(_ localstore.Tx, c *localstore.Certificate) error { return CheckExportable(c) },
		before: func(id string) (string, error) {
			c, m, err := s.exportableKey(ctx, id)
			if err != nil {
				return "", err
			}
			ex, err := encodeExport(s.core.Names.CertificateARN(id), m, pass, ExportRequest{Format: req.Format, PlaintextKey: req.PlaintextKey})
			if err != nil {
				return "", err
			}
			ex.ID, ex.DomainName, ex.KeyCompromised = c.ID, c.DomainName, keyCompromised(c)
			path, err := req.Deliver(ex)
			if err != nil {
				return "", err
			}
			mu.Lock()
			delivered[id] = m.Version
			mu.Unlock()
			return path, nil
		},
		apply: func(op *service.Op, c *localstore.Certificate) error {
			op.Param("KeyExported", true)
			mu.Lock()
			n := delivered[c.ID]
			mu.Unlock()
			if c.Version != n {
				// Renewed since its key was delivered: that export is
				// recorded, and there is no certificate of that
				// version to mark.
				return nil
			}
			c.Exported = true
			c.UpdatedAt = op.Now
			inventory.UpdateEligibility(c, op.Now)
			return op.Tx.PutCertificate(c)
		},
	}
	if !req.WithKey {
		return s.exportCertificatesOnly(ctx, req)
	}
	return s.runBulk(ctx, req.BulkOptions, op)
}

// exportCertificatesOnly delivers the certificate and chain of every
// certificate req selects (no key: nothing changes, nothing is recorded).
func (s *Service) exportCertificatesOnly(ctx context.Context, req BulkExportRequest) (*BulkReport, error) {
	sel, err := s.Select(ctx, req.Selection)
	if err != nil {
		return nil, err
	}
	rep := &BulkReport{Results: make([]BulkResult, len(sel)), DryRun: req.DryRun}
	for i, c := range sel {
		r := BulkResult{CertificateArn: c.CertificateArn, DomainName: c.DomainName, ID: c.ID, Outcome: OutcomeExported}
		if req.DryRun {
			r.Reason = "dry run: would export"
		}
		if err := checkIssued(c.Cert); err != nil {
			r.Outcome, r.Reason = OutcomeRefused, err.Error()
		}
		rep.Results[i] = r
	}
	if req.DryRun {
		return rep, nil
	}
	if req.Confirm != nil && rep.Count(OutcomeExported) > 0 {
		if err := req.Confirm(rep); err != nil {
			return nil, err
		}
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Outcome != OutcomeExported {
			req.Advanced(i+1, len(rep.Results))
			continue
		}
		if service.Stopped(ctx) {
			r.Outcome, r.Reason = OutcomeNotDone, service.ReasonNotDone
			rep.Interrupted = true
			continue
		}
		var ver *localstore.CertificateVersion
		err := s.core.Read(ctx, func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(r.ID)
			if err != nil {
				return err
			}
			if err := checkIssued(c); err != nil {
				return err
			}
			ver, err = tx.GetVersion(c.ID, c.Version)
			return err
		})
		if err == nil {
			r.Path, err = req.Deliver(&Exported{CertificateArn: r.CertificateArn, ID: r.ID, DomainName: r.DomainName,
				Certificate: string(ver.CertificatePEM), CertificateChain: string(ver.ChainPEM)})
		}
		switch {
		case err != nil && service.Stopped(ctx):
			r.Outcome, r.Reason, r.Path = OutcomeNotDone, service.ReasonNotDone, ""
			rep.Interrupted = true
		case err != nil && isRefusal(err):
			r.Outcome, r.Reason = OutcomeRefused, err.Error()
		case err != nil:
			r.Outcome, r.Reason = OutcomeFailed, err.Error()
		}
		if !rep.Interrupted {
			req.Advanced(i+1, len(rep.Results))
		}
	}
	return rep, nil
}

// parseTagConditions parses `tags remove` values: a key, or a key and
// value; params is how they are recorded.
func parseTagConditions(tags []string) (given []localstore.Tag, valueGiven []bool, params []map[string]string, err error) {
	given = make([]localstore.Tag, len(tags))
	valueGiven = make([]bool, len(tags))
	for i, t := range tags {
		if given[i], valueGiven[i], err = inventory.ParseTagCondition(t); err != nil {
			return nil, nil, nil, err
		}
	}
	params = make([]map[string]string, len(given))
	for i, t := range given {
		params[i] = map[string]string{"Key": t.Key}
		if valueGiven[i] {
			params[i]["Value"] = t.Value
		}
	}
	return given, valueGiven, params, nil
}

// joinNotes joins the notices of one change ("" for none).
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

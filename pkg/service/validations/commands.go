package validations

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/x509util"
)

// What `validate check|approve|serve-http` and `resend-validation-email`
// call: each is one method that resolves its certificate, makes its
// recorded changes and returns what the command prints.

// CheckOptions are the inputs of Check.
type CheckOptions struct {
	// Wait checks again every PollInterval until the certificate leaves
	// PENDING_VALIDATION, or Timeout passes (exit 8).
	Wait    bool
	Timeout time.Duration
	// Progress, when set, is told how far validation got after each
	// check of a wait.
	Progress func(string)
}

// CheckResult is the certificate after its checks (as describe shows it)
// and what each check found.
type CheckResult struct {
	ID          string
	Status      string
	Certificate inventory.Detail
	// Checks has one entry per name (none when the certificate was not
	// pending validation).
	Checks []validation.NameCheck
}

// Check runs the validation checks of the certificate named by ref (ARN,
// UUID or prefix) now, or with o.Wait until it is issued. A wait that ends
// in another terminal status is refused (exit 5) and one that times out
// exits 8: the result, when there is one, is returned with that error.
func (s *Service) Check(ctx context.Context, ref string, o CheckOptions) (*CheckResult, error) {
	id, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out *validation.Outcome
	var waitErr error
	if o.Wait {
		out, waitErr = s.Wait(ctx, id, o.Timeout, o.Progress)
		if out == nil {
			return nil, waitErr
		}
		if waitErr == nil {
			waitErr = TerminalError(out.Certificate)
		}
	} else if out, err = s.Advance(ctx, id); err != nil {
		return nil, err
	}
	c := out.Certificate
	return &CheckResult{ID: c.ID, Status: c.Status, Certificate: s.detail(c), Checks: out.Checks}, waitErr
}

// ApproveResult is the certificate after an approval.
type ApproveResult struct {
	ID          string
	Status      string
	Certificate inventory.Detail
	// DomainName is the name approved.
	DomainName string
	// RenewalReady reports that every name of a pending renewal is now
	// approved: the next `renew --due` (or `renew ARN`) renews.
	RenewalReady bool
}

// Approve uses an approval code, as one change, ApproveDomainValidation
// (the code itself is never recorded): the name it was sent for is
// validated, and the certificate is issued when it was the last. A code
// that cannot be one is invalid (exit 4, not recorded); an unknown one is
// not found (exit 3); a used, replaced or expired one is refused (exit 5).
func (s *Service) Approve(ctx context.Context, code string) (*ApproveResult, error) {
	if err := validation.CheckCodeSyntax(code); err != nil {
		return nil, err
	}
	var a *validation.Approval
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		a, err = s.rules.ReadApproval(tx, code)
		return err
	})
	if err != nil && !ruleFailure(err) {
		return nil, err
	}
	// A refusal found now is met again, and recorded, in the change.
	var key crypto.Signer
	var forbidden *validation.NameCheck
	if a != nil && a.Issues {
		// CAA is read before the issue, outside the transaction (DNS).
		var c *localstore.Certificate
		if err := s.core.Read(ctx, func(tx localstore.Tx) error {
			var err error
			c, err = tx.GetCertificate(a.CertificateID)
			return err
		}); err != nil {
			return nil, err
		}
		if forbidden, err = s.rules.CAAForbidden(ctx, c); err != nil {
			return nil, err
		}
	}
	if a != nil && a.Issues && forbidden == nil {
		// RSA key generation is slow: not under the write lock.
		if key, err = x509util.GenerateKey(a.KeyAlgorithm); err != nil {
			return nil, service.MapError(err)
		}
	}
	var c *localstore.Certificate
	var name string
	err = s.core.Change(ctx, "ApproveDomainValidation", func(op *service.Op) error {
		var err error
		c, name, err = s.rules.Approve(op.Tx, code, key, op.Events, forbidden)
		if c != nil {
			op.Resource(s.core.Names.CertificateARN(c.ID))
		}
		if name != "" {
			op.Param("DomainName", name)
		}
		if err == nil && forbidden != nil && c.Status == inventory.StatusFailed {
			// The approval commits a certificate its CAA records
			// failed: a FAILURE with the reason, as a check that
			// fails it is (Advance), not a SUCCESS (tester).
			op.Param("Status", c.Status)
			op.Param("FailureReason", c.FailureReason)
			op.Failed(c.FailureReason, caaFailed(c, forbidden).Error())
		}
		return err
	})
	if err != nil {
		if a != nil && a.TimedOut {
			// The refusal is recorded; now record the timeout itself.
			if _, aerr := s.Advance(ctx, a.CertificateID); aerr != nil {
				return nil, aerr
			}
		}
		return nil, err
	}
	res := &ApproveResult{ID: c.ID, Status: c.Status, Certificate: s.detail(c), DomainName: name,
		RenewalReady: validation.RenewalPending(c) && validation.AllValidated(c)}
	if forbidden != nil && c.Status == inventory.StatusFailed {
		return res, caaFailed(c, forbidden)
	}
	return res, nil
}

// caaFailed is the refusal of an approval whose certificate its CAA
// records failed (forbidden names the name and what they say).
func caaFailed(c *localstore.Certificate, forbidden *validation.NameCheck) error {
	return errs.Refusedf("certificate %s FAILED (CAA_ERROR): %s: %s", c.ID, forbidden.DomainName, forbidden.Detail).WithCode(validation.ReasonCAA)
}

// ResendResult is what resend-validation-email sent.
type ResendResult struct {
	CertificateArn   string
	DomainName       string
	ValidationDomain string
	ValidationEmails []string
	// Outbox is the directory the messages were written to when no SMTP
	// server is configured ("" when they went through SMTP).
	Outbox string
}

// Resend sends the validation email of domain of the certificate named by
// ref again, with a new approval code (the previous one stops working), as
// one change, ResendValidationEmail. validationDomain, when set, chooses
// the addresses of this message only; it is not saved (as in ACM).
func (s *Service) Resend(ctx context.Context, ref, domain, validationDomain string) (*ResendResult, error) {
	var msgs []validation.Message
	err := s.core.Change(ctx, "ResendValidationEmail", func(op *service.Op) error {
		op.Param("DomainName", domain)
		if validationDomain != "" {
			op.Param("ValidationDomain", validationDomain)
		}
		id, err := inventory.ResolveCertificate(op.Tx, s.core.Names, ref, inventory.Validating)
		if err != nil {
			op.Param("CertificateArn", ref)
			return err
		}
		op.Resource(s.core.Names.CertificateARN(id))
		msgs, err = s.rules.Resend(op.Tx, id, domain, validationDomain)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.Send(ctx, msgs); err != nil {
		var e *errs.Error
		if errors.As(err, &e) { // the mailer's own: the outbox's, a setting's
			return nil, err
		}
		return nil, service.MapError(fmt.Errorf("validation email not sent: %w", err))
	}
	out := &ResendResult{Outbox: s.Outbox()}
	for i, m := range msgs {
		if i == 0 {
			out.CertificateArn, out.DomainName, out.ValidationDomain = m.CertificateARN, m.DomainName, m.ValidationDomain
		}
		out.ValidationEmails = append(out.ValidationEmails, m.To)
	}
	return out, nil
}

// Outbox is the directory validation email is written to, or "" when it
// goes through an SMTP server (smtp.addr).
func (s *Service) Outbox() string {
	if s.set.Mail.Addr != "" {
		return ""
	}
	return OutboxDir(s.core.Vault.Dir)
}

// HTTPHandler serves the content of every HTTP validation, pending or of
// an issued certificate, whose renewal checks it again (what `validate
// serve-http` runs).
func (s *Service) HTTPHandler() http.Handler {
	return validation.HTTPHandler(s.core.Vault.Store, s.core.Now)
}

// resolve finds the certificate ID of ref (ARN, UUID or prefix).
func (s *Service) resolve(ctx context.Context, ref string) (string, error) {
	var id string
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		id, err = inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Validating)
		return err
	})
	return id, err
}

// detail is c as describe shows it now.
func (s *Service) detail(c *localstore.Certificate) inventory.Detail {
	inventory.AsOf(c, s.core.Now())
	return inventory.NewDetail(s.core.Names, c, nil)
}

// ruleFailure reports whether err is a refusal by a rule (exit 3, 4 or 5)
// rather than a failure of the vault.
func ruleFailure(err error) bool {
	switch errs.ExitCodeOf(err) {
	case errs.ExitNotFound, errs.ExitInvalid, errs.ExitRefused:
		return true
	}
	return false
}

// Package validations is the service of domain validation for ISSUED-type
// certificates (SPEC section 4): advancing pending validations (checks,
// the 72-hour timeout, issuance), email approval, resending approval mail
// and waiting for a certificate to leave PENDING_VALIDATION. The rules
// themselves are pkg/validation's; this package owns the transactions, each
// a recorded change (service.Core.Change):
//
//	CheckDomainValidation    checks that changed a name's status, the 72-hour timeout, the issuance
//	ApproveDomainValidation  an approval code used (the code is never recorded)
//	ResendValidationEmail    a new approval code sent
package validations

import (
	"context"
	"errors"
	"fmt"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/shellarg"
	"os"
	"path/filepath"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/validation"
)

// MailSettings choose how approval mail is sent: through SMTP when Addr is
// set, else written to the vault's outbox.
type MailSettings struct {
	Addr, From, Username, PasswordFile string
	StartTLS                           bool
	// Warn, when set, is told that the password file can be read by
	// every user (fsutil.OpenToAll); it is read all the same.
	Warn func(string)
}

// Settings are the configuration the service acts on.
type Settings struct {
	Validation validation.Settings
	Mail       MailSettings
}

// Service advances and approves domain validations.
type Service struct {
	core  *service.Core
	set   Settings
	rules *validation.Service
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	s := &Service{core: core, set: set}
	s.rules = &validation.Service{
		Vault:     core.Vault,
		Authority: core.Authority,
		Settings:  set.Validation,
		Mailer:    &mailer{set: set.Mail, dir: OutboxDir(core.Vault.Dir), now: core.Now},
		Now:       core.Now,
		ARN:       core.Names.CertificateARN,
		Requester: authority.Requester(core.Actor),
	}
	return s
}

// Rules are the transaction-level validation rules (CheckRequest, Prepare,
// Resend, StartEmailRenewal) for other services to call inside their own
// changes.
func (s *Service) Rules() *validation.Service { return s.rules }

// OutboxDir is the vault's outbox, where validation email is written when
// no SMTP server is configured.
func OutboxDir(vaultDir string) string { return filepath.Join(vaultDir, "outbox") }

// mailer picks the SMTP server or the outbox when it sends, so that
// commands that send nothing never read the SMTP password file.
type mailer struct {
	set MailSettings
	dir string
	now func() time.Time
}

func (m *mailer) Send(ctx context.Context, msgs []validation.Message) error {
	c := m.set
	if c.Addr == "" {
		if err := (&validation.OutboxMailer{Dir: m.dir, From: c.From, Now: m.now}).Send(ctx, msgs); err != nil {
			// The outbox's failure, not the vault's (exit 1, not 6),
			// and where to look (verification tester).
			return (&errs.Error{Exit: errs.ExitFailure, Msg: "validation email not written to the outbox", Err: err}).
				WithHint("fix what keeps it from %s (or set smtp.addr), then send it again", m.dir)
		}
		return nil
	}
	sm := &validation.SMTPMailer{Addr: c.Addr, From: c.From, Username: c.Username, StartTLS: c.StartTLS, Now: m.now}
	if c.Username != "" && c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return errs.UsageErrorf("smtp.password_file: %v", err).WithoutHelpHint()
		}
		if mode, open := fsutil.OpenToAll(c.PasswordFile); open && c.Warn != nil {
			c.Warn(fsutil.OpenToAllWarning("smtp.password_file", c.PasswordFile, shellarg.Quote(c.PasswordFile), mode))
		}
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		sm.Password = string(b)
	}
	return sm.Send(ctx, msgs)
}

// Send delivers approval messages.
func (s *Service) Send(ctx context.Context, msgs []validation.Message) error {
	return s.rules.Send(ctx, msgs)
}

// Advance checks the pending names of certificate id now — the network
// checks outside any transaction — and records what it found as one
// change, CheckDomainValidation, when it changed anything (a name's status,
// the 72-hour timeout, a CAA failure, the issuance). A certificate that is
// not pending validation is returned as it is.
func (s *Service) Advance(ctx context.Context, id string) (*validation.Outcome, error) {
	var c *localstore.Certificate
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		c, err = tx.GetCertificate(id)
		return err
	}); err != nil {
		return nil, err
	}
	if !validation.Pending(c) {
		return &validation.Outcome{Certificate: c}, nil
	}
	checked, err := s.rules.CheckPending(ctx, c)
	if err != nil {
		return nil, service.MapError(err)
	}
	var out *validation.Outcome
	_, err = s.core.ChangeIf(ctx, "CheckDomainValidation", func(op *service.Op) error {
		op.Resource(s.core.Names.CertificateARN(id))
		o, changed, err := s.rules.ApplyChecks(op.Tx, id, checked, op.Events)
		if err != nil {
			return err
		}
		out = o
		o.Changed = changed
		if !changed {
			return service.ErrUnchanged
		}
		// The record says where the checks left the certificate, and a
		// validation that failed (CAA_ERROR, a timeout) is a FAILURE
		// with its reason (tester: SUCCESS, with no parameter).
		c := o.Certificate
		op.Param("Status", c.Status)
		switch c.Status {
		case inventory.StatusFailed, inventory.StatusValidationTimedOut:
			reason := c.FailureReason
			if reason == "" {
				reason = c.Status
			}
			op.Param("FailureReason", reason)
			op.Failed(reason, fmt.Sprintf("certificate %s is %s (%s)", c.ID, c.Status, reason))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AdvancePending advances snap when it is a pending ISSUED-type
// certificate (the `renew --due` pass: checks, 72-hour timeout, issuance)
// and returns the certificate as it is now, and whether this call ended
// its request (issued, failed or timed out: not another process, seen).
// A dry run changes nothing: it returns a copy of snap as the advance
// would leave it (validation.Foresee: the checks made, nothing stored or
// signed), and whether the advance would end its request.
func (s *Service) AdvancePending(ctx context.Context, snap *localstore.Certificate, dryRun bool) (*localstore.Certificate, bool, error) {
	if !validation.Pending(snap) {
		return snap, false, nil
	}
	if dryRun {
		c, ended, err := s.rules.Foresee(ctx, snap)
		return c, ended, service.MapError(err)
	}
	out, err := s.Advance(ctx, snap.ID)
	if err != nil {
		return nil, false, err
	}
	return out.Certificate, out.Changed && !validation.Pending(out.Certificate), nil
}

// PollInterval is how often Wait checks again.
var PollInterval = 5 * time.Second

// Wait advances the validation of certificate id until it is issued or
// reaches another terminal status, or until timeout (exit 8). progress,
// when set, is told how far validation got after each check.
func (s *Service) Wait(ctx context.Context, id string, timeout time.Duration, progress func(string)) (*validation.Outcome, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last *validation.Outcome
	for {
		out, err := s.Advance(wctx, id)
		if err != nil {
			if errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return last, timeoutErr(id, timeout)
			}
			return last, err
		}
		last = out
		if out.Certificate.Status != inventory.StatusPendingValidation {
			return out, nil
		}
		if progress != nil {
			progress(Progress(out))
		}
		select {
		case <-wctx.Done():
			if errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return last, timeoutErr(id, timeout)
			}
			return last, service.MapError(wctx.Err())
		case <-time.After(PollInterval):
		}
	}
}

func timeoutErr(id string, timeout time.Duration) error {
	return &errs.Error{Exit: errs.ExitTimeout, Msg: fmt.Sprintf("certificate %s was still pending validation after %s", id, timeutil.FormatDuration(timeout)),
		Hint: "create the validation records or approve the email, then run `certctl validate check " + id + "`"}
}

// Progress says how many names of o are validated.
func Progress(o *validation.Outcome) string {
	done := 0
	for _, v := range o.Certificate.Validations {
		if v.Status == validation.StatusSuccess {
			done++
		}
	}
	return fmt.Sprintf("waiting for domain validation: %d of %d names validated", done, len(o.Certificate.Validations))
}

// TerminalError is the error of a certificate that ended in a status other
// than ISSUED (exit 5), or nil.
func TerminalError(c *localstore.Certificate) error {
	switch c.Status {
	case inventory.StatusIssued, inventory.StatusPendingValidation:
		return nil
	}
	e := errs.Refusedf("certificate %s is %s", c.ID, c.Status)
	if c.FailureReason != "" {
		e = errs.Refusedf("certificate %s is %s (%s)", c.ID, c.Status, c.FailureReason).WithCode(c.FailureReason)
	}
	return e
}

package certificates

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/x509util"
)

// RequestInput is ACM's RequestCertificate request.
type RequestInput struct {
	// DomainName is the first name (the common name); every name is in
	// the SAN.
	DomainName              string
	SubjectAlternativeNames []string
	// KeyAlgorithm is RSA_2048 (the default), EC_prime256v1 or
	// EC_secp384r1.
	KeyAlgorithm string
	// CertificateAuthority, when set (ARN, UUID, prefix or "default"),
	// makes a PRIVATE certificate issued at once by that CA of the vault;
	// else the request is ISSUED-type, validated by ValidationMethod.
	CertificateAuthority string
	// ValidationMethod is DNS (the default), EMAIL or HTTP.
	ValidationMethod        string
	DomainValidationOptions []validation.DomainValidationOption
	// Export and CTLogging are ENABLED, DISABLED or "" (the type's
	// default: PRIVATE keys export, ISSUED-type ones do not).
	Export, CTLogging string
	// IdempotencyToken returns the same certificate for the same request
	// within an hour.
	IdempotencyToken string
	Tags             []localstore.Tag
}

// RequestResult is what a request made.
type RequestResult struct {
	CertificateArn string
	// ID is the certificate's UUID.
	ID string
	// Type is PRIVATE (issued) or ISSUED (pending validation).
	Type string
	// ValidationMethod is the method of an ISSUED-type request.
	ValidationMethod string
	// Messages is how many approval messages were sent (EMAIL).
	Messages int
	// MailError is why they could not be sent: the request stands, and
	// resend-validation-email sends them again.
	MailError error
	// Outbox is the directory the messages were written to when no SMTP
	// server is configured.
	Outbox string
	// Failed is set when the request was recorded but its certificate
	// FAILED, as ACM records it (FailureReason NO_AVAILABLE_CONTACTS or
	// DOMAIN_NOT_ALLOWED): a refusal (exit 5) carrying the reason as its
	// code. The certificate stays in the inventory, FAILED.
	Failed error
	// Repeated is set when the request repeated one made before with its
	// idempotency token: the result is that request's certificate, and
	// the answer that request had — Failed again when it was refused so,
	// and not when its certificate ended later (FAILED in validation,
	// VALIDATION_TIMED_OUT, revoked): the first request had succeeded.
	// Status and FailureReason are the certificate's now, and Moved says
	// whether that is not the status the first request left it in
	// (PENDING_VALIDATION for an ISSUED-type request, ISSUED for a
	// PRIVATE one): ended in validation, issued, revoked since.
	Repeated              bool
	Status, FailureReason string
	Moved                 bool
}

// Request requests a certificate (ACM's RequestCertificate, recorded as
// such): a PRIVATE certificate issued at once by a CA of the vault, or an
// ISSUED-type one pending domain validation, whose approval mail it sends
// after the change commits. Invalid names are invalid input (exit 4) and
// recorded as a failed request.
func (s *Service) Request(ctx context.Context, in RequestInput) (*RequestResult, error) {
	private := in.CertificateAuthority != ""
	if in.KeyAlgorithm == "" {
		in.KeyAlgorithm = x509util.RSA2048
	}
	res := &RequestResult{Type: inventory.TypeIssued}
	if private {
		res.Type = inventory.TypePrivate
	} else {
		res.ValidationMethod = in.ValidationMethod
		if res.ValidationMethod == "" {
			res.ValidationMethod = validation.MethodDNS
		}
	}
	export, ct := in.Export, in.CTLogging
	switch {
	case private && export == "":
		export = "ENABLED"
	case export == "":
		export = "DISABLED" // ACM: public certificates are not exportable unless asked
	}
	switch {
	case private && ct == "":
		ct = "DISABLED"
	case ct == "":
		ct = "ENABLED"
	}
	// What can be checked before the transaction is, so that a private
	// key is generated (slowly, for RSA) only for a request that can
	// succeed; a failed check is still recorded as a failed request.
	names, tags, check := s.checkRequest(in)
	var vreq validation.Request
	if check == nil && !private {
		vreq = validation.Request{Method: res.ValidationMethod, Names: names, Options: in.DomainValidationOptions}
		if s.set.Validations == nil {
			return nil, errors.New("certificates: no validation service")
		}
		_, check = s.set.Validations.Rules().CheckRequest(vreq)
	}
	var key crypto.Signer
	if check == nil && private {
		var err error
		if key, err = x509util.GenerateKey(in.KeyAlgorithm); err != nil {
			return nil, service.MapError(err)
		}
	}
	// The arguments an idempotency token is bound to, as the request
	// means them: the subject alternative names in any order, the CA by
	// its ID however named (ARN or UUID).
	var args map[string]any
	sameNames := names
	if len(names) > 1 {
		sameNames = append([]string{names[0]}, slices.Sorted(slices.Values(names[1:]))...)
	}
	if private {
		args = map[string]any{"names": sameNames, "alg": in.KeyAlgorithm, "ca": caArg(in.CertificateAuthority), "export": export, "ct": ct, "tags": tags}
	} else {
		args = map[string]any{"type": inventory.TypeIssued, "names": sameNames, "alg": in.KeyAlgorithm, "method": res.ValidationMethod,
			"dvo": in.DomainValidationOptions, "export": export, "ct": ct, "tags": tags}
	}
	var msgs []validation.Message
	err := s.core.Change(ctx, "RequestCertificate", func(op *service.Op) error {
		msgs = nil
		recordRequest(op, in, res.ValidationMethod, export, ct, tags)
		if check != nil {
			return check
		}
		id, refused, err := inventory.LookupIdempotent(op.Tx, in.IdempotencyToken, args, op.Now)
		if err != nil {
			return err
		}
		if id != "" {
			// The same request again: the same certificate, and the
			// same answer.
			res.ID, res.Repeated = id, true
			op.Resource(s.core.Names.CertificateARN(id))
			c, err := op.Tx.GetCertificate(id)
			if err != nil {
				return err
			}
			op.Resource(s.core.Names.CAARN(c.CertificateAuthorityID))
			res.Status, res.FailureReason = c.Status, c.FailureReason
			requested := inventory.StatusPendingValidation
			if private {
				requested = inventory.StatusIssued
			}
			res.Moved = refused == "" && c.Status != requested
			res.Failed = nil
			if refused != "" {
				// Refused at the first request (its certificate FAILED
				// at once): told again as the refusal it was (tester:
				// the first exited 5, the same request retried exited
				// 0). A certificate that ended later (FAILED in
				// validation, VALIDATION_TIMED_OUT) was requested
				// successfully, and is so again (review: a retry then
				// exited 5 or 0 by its status, not by the first
				// request's answer).
				res.Failed = failedRequest(id, refused, errors.New("requested before with this idempotency token"))
				op.FailedWith(res.Failed)
			}
			return nil
		}
		res.ID = uuid.NewString()
		certARN := s.core.Names.CertificateARN(res.ID)
		op.Resource(certARN)
		res.Failed, res.Repeated, res.Status, res.FailureReason, res.Moved = nil, false, "", "", false
		refused = ""
		if private {
			caID, err := s.issuePrivate(op, in, res.ID, names, key, tags, export, ct)
			if reason := recordedFailure(err); reason != "" {
				// As ACM does, the request stands and its certificate
				// is FAILED.
				c := inventory.NewIssuedRecord(res.ID, inventory.TypePrivate, caID, tags, export, ct, op.Now)
				c.DomainName, c.SubjectAlternativeNames, c.KeyAlgorithm = names[0], names, in.KeyAlgorithm
				c.Status, c.FailureReason = inventory.StatusFailed, reason
				res.Failed, refused = failedRequest(res.ID, reason, err), reason
				err = op.Tx.PutCertificate(c)
			} else if err != nil {
				op.DropResource(certARN) // refused: no certificate was made
			}
			if err != nil {
				return err
			}
		} else {
			c := inventory.NewIssuedRecord(res.ID, inventory.TypeIssued, "", tags, export, ct, op.Now)
			c.KeyAlgorithm = in.KeyAlgorithm
			if msgs, err = s.set.Validations.Rules().Prepare(op.Tx, c, vreq); err != nil {
				op.DropResource(certARN) // refused: no certificate was made
				return err
			}
			if c.Status == inventory.StatusFailed {
				var failed []string
				for _, v := range c.Validations {
					if v.Status == validation.StatusFailed {
						failed = append(failed, validation.EmailDomain(v.ValidationDomain))
					}
				}
				res.Failed, refused = failedRequest(res.ID, c.FailureReason,
					fmt.Errorf("no address of %s can receive validation email", strings.Join(failed, ", "))), c.FailureReason
			}
		}
		// A request whose certificate is FAILED is kept, and recorded as
		// the refusal it is (tester: SUCCESS, with no error code).
		op.FailedWith(res.Failed)
		return inventory.RecordIdempotent(op.Tx, in.IdempotencyToken, args, res.ID, refused, op.Now)
	})
	if err != nil {
		return nil, err
	}
	res.CertificateArn = s.core.Names.CertificateARN(res.ID)
	if len(msgs) > 0 {
		res.Messages = len(msgs)
		res.Outbox = s.set.Outbox
		res.MailError = s.set.Validations.Send(ctx, msgs)
	}
	return res, nil
}

// caArg is the CA argument of a request as an idempotency token binds it:
// the ID of a full ARN or UUID (in lower case), else as given ("default",
// a prefix).
func caArg(ref string) string {
	if r, err := arn.IDOf(arn.CertificateAuthority, ref); err == nil && r.Exact {
		return r.ID
	}
	return ref
}

// checkRequest checks the names (DNS rules, quota) and the tags of in.
func (s *Service) checkRequest(in RequestInput) (names []string, tags []localstore.Tag, err error) {
	names, err = dnsname.ValidateList(append([]string{in.DomainName}, in.SubjectAlternativeNames...), s.set.DomainsPerCertificate)
	if err != nil {
		e := errs.Invalidf("%v", err)
		var de *dnsname.Error
		if errors.As(err, &de) && de.Code != "" {
			e = e.WithCode(de.Code)
		}
		return nil, nil, e
	}
	if tags, err = inventory.MergeTags(nil, in.Tags); err != nil {
		return nil, nil, err
	}
	if err := inventory.CheckIdempotencyToken(in.IdempotencyToken); err != nil {
		return nil, nil, err
	}
	if in.CertificateAuthority != "" && in.Export == inventory.Disabled {
		// As update-certificate-options says: the option would be shown
		// DISABLED and not hold.
		return nil, nil, errs.Refusedf("the Export option applies only to domain-validated (ISSUED) certificates; a PRIVATE certificate's key always exports").
			WithHint("leave out Export=DISABLED, or request an ISSUED certificate (without --certificate-authority-arn)")
	}
	return names, tags, nil
}

// recordRequest records the request's parameters: never the idempotency
// token itself (it may be all that stands between a caller and another
// caller's certificate), only whether one was given.
func recordRequest(op *service.Op, in RequestInput, method, export, ct string, tags []localstore.Tag) {
	op.Param("DomainName", in.DomainName)
	if len(in.SubjectAlternativeNames) > 0 {
		op.Param("SubjectAlternativeNames", in.SubjectAlternativeNames)
	}
	op.Param("KeyAlgorithm", in.KeyAlgorithm)
	if in.CertificateAuthority != "" {
		op.Param("CertificateAuthorityArn", in.CertificateAuthority)
	} else {
		op.Param("ValidationMethod", method)
	}
	if len(in.DomainValidationOptions) > 0 {
		dvo := make([]map[string]any, 0, len(in.DomainValidationOptions))
		for _, o := range in.DomainValidationOptions {
			dvo = append(dvo, map[string]any{"DomainName": o.DomainName, "ValidationDomain": o.ValidationDomain})
		}
		op.Param("DomainValidationOptions", dvo)
	}
	op.Param("Options", map[string]any{"Export": export, "CertificateTransparencyLoggingPreference": ct})
	op.Param("IdempotencyTokenGiven", in.IdempotencyToken != "")
	if len(tags) > 0 {
		t := make([]map[string]any, 0, len(tags))
		for _, tag := range tags {
			t = append(t, map[string]any{"Key": tag.Key, "Value": tag.Value})
		}
		op.Param("Tags", t)
	}
}

// issuePrivate issues certificate id from the CA in.CertificateAuthority
// names (the default CA is created on first use) and stores it with key.
// It returns the CA's ID once the CA is found.
func (s *Service) issuePrivate(op *service.Op, in RequestInput, id string, names []string, key crypto.Signer, tags []localstore.Tag, export, ct string) (string, error) {
	caRec, err := authority.Resolve(op.Tx, s.core.Authority, s.core.Names, in.CertificateAuthority)
	if err != nil {
		return "", err
	}
	op.Resource(s.core.Names.CAARN(caRec.ID))
	if err := authority.CheckPrivateIssuer(op.Tx, caRec); err != nil {
		return caRec.ID, err
	}
	issued, err := s.core.Authority.IssueLeaf(op.Tx, caRec, authority.LeafParams{
		CertID: id, Names: names, PublicKey: key.Public(), Validity: s.set.CertificateValidity, ClientAuth: true,
		Requester: authority.Requester(s.core.Actor), GeneratedKey: true,
	})
	if err != nil {
		return caRec.ID, err
	}
	c := inventory.NewIssuedRecord(id, inventory.TypePrivate, caRec.ID, tags, export, ct, op.Now)
	if err := inventory.StoreIssued(op.Tx, s.core.Vault, c, issued.Certificate, issued.ChainPEM, key, op.Now); err != nil {
		return caRec.ID, err
	}
	return caRec.ID, op.Events.EmitAvailable(op.Tx, c, events.ActionIssuance)
}

// recordedFailure is the FailureReason of an issuance error that ACM
// records as a FAILED certificate rather than a refused request: a name
// the CA's name constraints forbid (DOMAIN_NOT_ALLOWED). "" for any other
// error.
func recordedFailure(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Code == authority.ReasonDomainNotAllowed {
		return e.Code
	}
	return ""
}

// failedRequest is the error of a request whose certificate was recorded
// FAILED for reason.
func failedRequest(id, reason string, cause error) error {
	return errs.Refusedf("certificate %s FAILED (%s): %v", id, reason, cause).WithCode(reason)
}

// WaitIssued waits until the ISSUED-type certificate id (ARN, UUID) leaves
// PENDING_VALIDATION, checking its validations again every
// validations.PollInterval; progress, when set, hears how far validation
// got. It fails after timeout (exit 8) or when the certificate ends in
// another status than ISSUED (exit 5).
func (s *Service) WaitIssued(ctx context.Context, id string, timeout time.Duration, progress func(string)) error {
	if s.set.Validations == nil {
		return errors.New("certificates: no validation service")
	}
	out, err := s.set.Validations.Wait(ctx, id, timeout, progress)
	if err != nil {
		return err
	}
	return validations.TerminalError(out.Certificate)
}

package authorities

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
)

// CreateRequest is what `ca create` asks for.
type CreateRequest struct {
	Type         string
	KeyAlgorithm string
	Subject      authority.Subject
	// Parent names the CA of the vault that signs a SUBORDINATE (ARN,
	// UUID, prefix or "default"); External leaves it PENDING_CERTIFICATE.
	Parent   string
	External bool
	// Template, with Parent, is the template the parent signs the
	// SUBORDINATE with (SubordinateCACertificate_PathLen0..3: its path
	// length constraint); "": the longest path the parent allows.
	Template string `json:",omitempty"`
	// Validity is 0 for the default: 10y for a root, 5y for a subordinate,
	// shortened to end before its parent.
	Validity time.Duration
	Tags     []localstore.Tag
	// SigningAlgorithm is AWS Private CA's name ("": the key's default).
	SigningAlgorithm string
	UsageMode        string
	NameConstraints  *authority.NameConstraints
	Revocation       *authority.RevocationConfiguration
	IdempotencyToken string
	// KeyStorage is VAULT ("" too) or PKCS11: the key pair is generated
	// in the token of the pkcs11.* settings, labelled KeyLabel (default
	// certctl-ca-<CA UUID>).
	KeyStorage string `json:",omitempty"`
	KeyLabel   string `json:",omitempty"`
}

// tokenKey is a CA key pair made in the token for a CA being created.
type tokenKey struct {
	tok   hsm.Token
	key   crypto.Signer
	id    []byte
	label string
}

// newTokenKey opens the token and generates the key pair of the CA caID
// there, before any write: a token that is missing or refuses the PIN
// leaves nothing behind in the vault (exit 6).
func (s *Service) newTokenKey(req CreateRequest, caID string) (*tokenKey, error) {
	if s.set.Token == nil {
		return nil, hsm.ErrUnsupported()
	}
	tok, err := s.set.Token()
	if err != nil {
		return nil, err
	}
	label := req.KeyLabel
	if label == "" {
		label = "certctl-ca-" + caID
	}
	key, id, err := tok.Generate(req.KeyAlgorithm, label)
	if err != nil {
		return nil, err
	}
	return &tokenKey{tok: tok, key: key, id: id, label: label}, nil
}

// Create creates a CA (CreateCertificateAuthority) and returns its ARN.
// A PKCS11 CA's key pair is generated in the token first, and removed
// from it again when the CA is not created (or an idempotent retry
// returned an earlier CA).
func (s *Service) Create(ctx context.Context, req CreateRequest) (string, error) {
	if err := inventory.CheckIdempotencyToken(req.IdempotencyToken); err != nil {
		return "", err
	}
	var tk *tokenKey
	// keyRefused is the token's refusal of the key by a rule (a label
	// already used): recorded by the change below, as every refusal of
	// a creation is (tester: not recorded).
	var keyRefused error
	newID := uuid.NewString()
	switch req.KeyStorage {
	case "", hsm.StorageVault:
		if req.KeyLabel != "" {
			return "", errs.UsageErrorf("a key label is for --key-storage PKCS11")
		}
	case hsm.StoragePKCS11:
		// A retry with an idempotency token already used returns its CA
		// (or is refused) in the change below: no key is made for it.
		var used bool
		if err := s.core.Read(ctx, func(tx localstore.Tx) (err error) {
			used, err = s.core.Authority.IdempotencyTokenUsed(tx, req.IdempotencyToken)
			return err
		}); err != nil {
			return "", err
		}
		if !used {
			var err error
			switch tk, err = s.newTokenKey(req, newID); errs.ExitCodeOf(err) {
			case 0:
			case errs.ExitNotFound, errs.ExitInvalid, errs.ExitRefused:
				keyRefused = err
			default:
				return "", err
			}
		}
	default:
		return "", errs.UsageErrorf("key storage %q (want VAULT or PKCS11)", req.KeyStorage)
	}
	var id string
	err := s.core.Change(ctx, "CreateCertificateAuthority", func(op *service.Op) error {
		op.Param("CertificateAuthorityType", req.Type)
		if tk != nil {
			op.Param("KeyStorage", hsm.StoragePKCS11)
			op.Param("KeyLabel", tk.label)
		}
		if keyRefused != nil {
			op.Param("KeyStorage", hsm.StoragePKCS11)
			if req.KeyLabel != "" {
				op.Param("KeyLabel", req.KeyLabel)
			}
			return keyRefused
		}
		conf := map[string]any{"KeyAlgorithm": req.KeyAlgorithm, "Subject": req.Subject}
		if req.SigningAlgorithm != "" {
			conf["SigningAlgorithm"] = req.SigningAlgorithm
		}
		if req.NameConstraints != nil {
			conf["NameConstraints"] = req.NameConstraints
		}
		op.Param("CertificateAuthorityConfiguration", conf)
		if req.UsageMode != "" {
			op.Param("UsageMode", req.UsageMode)
		}
		if req.Revocation != nil {
			op.Param("RevocationConfiguration", req.Revocation)
		}
		if req.IdempotencyToken != "" {
			op.Param("IdempotencyToken", req.IdempotencyToken)
		}
		if req.External {
			op.Param("External", true)
		}
		if req.Template != "" {
			op.Param("Template", req.Template)
		}
		if req.Validity > 0 {
			op.Param("Validity", timeutil.FormatDuration(req.Validity))
		}
		if len(req.Tags) > 0 {
			op.Param("Tags", req.Tags)
		}
		ar := authority.CreateRequest{Type: req.Type, KeyAlgorithm: req.KeyAlgorithm, Subject: req.Subject,
			External: req.External, Template: req.Template, Validity: req.Validity, Tags: req.Tags, SigningAlgorithm: req.SigningAlgorithm,
			UsageMode: req.UsageMode, NameConstraints: req.NameConstraints, Revocation: req.Revocation,
			IdempotencyToken: req.IdempotencyToken, Requester: authority.Requester(s.core.Actor), ID: newID}
		if req.KeyStorage == hsm.StoragePKCS11 {
			// Without tk (an idempotent retry) the CA is found by its
			// token, or the creation fails for want of a token key.
			ar.KeyStorage = hsm.StoragePKCS11
		}
		if tk != nil {
			ar.Key, ar.KeyLabel, ar.KeyID = tk.key, tk.label, tk.id
		}
		if req.IdempotencyToken != "" {
			// The digest of the request as asked: a subordinate's default
			// validity, fitted below its parent, depends on the time.
			asked := req
			asked.IdempotencyToken = ""
			b, err := json.Marshal(asked)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			ar.IdempotencyKey = hex.EncodeToString(sum[:])
		}
		if req.Parent != "" {
			parent, err := s.resolve(op, req.Parent)
			if err != nil {
				return err
			}
			ar.ParentID = parent.ID
			// A default validity never goes beyond the parent; a parent
			// with less than that left is said to be (not the 5 years
			// the user never asked for).
			end, _ := parent.IssueEnd()
			if left := end.Sub(op.Now); req.Validity == 0 && time.Duration(5*timeutil.Year) > left {
				if left <= 2*time.Hour {
					return errs.Refusedf("the parent CA %s (or its chain) expires at %s: too soon for a subordinate CA under it", parent.ID, timeutil.RFC3339(end)).
						WithCode(authority.ReasonInvalidDuration).WithHint("renew the parent CA first (a new certificate for its key: certctl ca issue and ca import-certificate)")
				}
				ar.Validity = left - time.Hour
			}
		}
		r, err := s.core.Authority.Create(op.Tx, ar)
		if err != nil {
			return err
		}
		id = r.ID
		op.Resource(s.core.Names.CAARN(id))
		return nil
	})
	if tk != nil && (err != nil || id != newID) {
		// The CA was not made with this key: take it out of the token.
		if derr := tk.tok.Delete(tk.label, tk.id); derr != nil && err == nil {
			err = derr
		}
	}
	if err != nil {
		return "", err
	}
	return s.core.Names.CAARN(id), nil
}

// change runs fn on the CA named by ref as one change named eventName and
// returns the CA's ARN.
func (s *Service) change(ctx context.Context, eventName, ref string, fn func(op *service.Op, r *authority.Record) error) (string, error) {
	return s.changeFound(ctx, eventName, ref, s.resolve, fn)
}

// changeExisting is change for a CA that must exist already (findIn: the
// default private CA is not made for it).
func (s *Service) changeExisting(ctx context.Context, eventName, ref string, fn func(op *service.Op, r *authority.Record) error) (string, error) {
	return s.changeFound(ctx, eventName, ref, s.findIn, fn)
}

func (s *Service) changeFound(ctx context.Context, eventName, ref string, resolve func(*service.Op, string) (*authority.Record, error), fn func(op *service.Op, r *authority.Record) error) (string, error) {
	var id string
	err := s.core.Change(ctx, eventName, func(op *service.Op) error {
		r, err := resolve(op, ref)
		if err != nil {
			return err
		}
		id = r.ID
		return fn(op, r)
	})
	if err != nil {
		return "", err
	}
	return s.core.Names.CAARN(id), nil
}

// CAChange is a CA after a change that may limit what it does.
type CAChange struct {
	Arn string
	// Notices name what the change leaves unable to issue (the ACME
	// endpoints that issue from the CA, while it is not ACTIVE), or what
	// a CA brought in cannot do (sign CRLs). Empty ones are skipped.
	Notices []string
}

// UpdateInput is what UpdateCertificateAuthority changes of a CA: its
// status (ACTIVE or DISABLED), its revocation configuration, or both.
type UpdateInput struct {
	Status     string
	Revocation *authority.RevocationConfiguration
}

// Update changes the CA named by ref as in (UpdateCertificateAuthority):
// both changes in one transaction with one audit record, so that a refused
// status change leaves the revocation configuration as it was too.
// Certificates issued from then on carry the new CRL and OCSP locations.
func (s *Service) Update(ctx context.Context, ref string, in UpdateInput) (*CAChange, error) {
	var unlocated string
	res, err := s.stateChange(ctx, "UpdateCertificateAuthority", ref, func(op *service.Op, r *authority.Record) error {
		if in.Revocation != nil {
			op.Param("RevocationConfiguration", in.Revocation)
			if err := s.core.Authority.UpdateRevocation(op.Tx, r, in.Revocation); err != nil {
				return err
			}
			unlocated = s.core.Authority.UnlocatedRevocation(r)
		}
		if in.Status != "" {
			op.Param("Status", in.Status)
			return s.core.Authority.UpdateStatus(op.Tx, r, in.Status)
		}
		return nil
	})
	if err == nil && unlocated != "" {
		res.Notices = append(res.Notices, unlocated)
	}
	return res, err
}

// stateChange runs fn, a change of the CA named by ref that may stop it
// issuing, and names in the result the endpoints it leaves unable to.
func (s *Service) stateChange(ctx context.Context, eventName, ref string, fn func(op *service.Op, r *authority.Record) error) (*CAChange, error) {
	var notices []string
	a, err := s.changeExisting(ctx, eventName, ref, func(op *service.Op, r *authority.Record) error {
		if err := fn(op, r); err != nil {
			return err
		}
		var err error
		notices, err = s.endpointNotices(op.Tx, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &CAChange{Arn: a, Notices: notices}, nil
}

// endpointNotices are the notices of the ACME endpoints that issue from r
// when r cannot issue.
func (s *Service) endpointNotices(tx localstore.Tx, r *authority.Record) ([]string, error) {
	if s.core.Authority.CheckCanIssue(r) == nil {
		return nil, nil
	}
	eps, err := acmestate.List(tx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ep := range eps {
		if ep.CertificateAuthorityID != r.ID || ep.Status != acmestate.StatusActive {
			continue
		}
		a := s.core.Names.EndpointARN(ep.ID)
		out = append(out, fmt.Sprintf("ACME endpoint %s issues from certificate authority %s, which is now %s: its orders fail (%s) until the CA is ACTIVE again or the endpoint names another (certctl endpoint update %s --certificate-authority-arn CA)",
			a, r.ID, r.EffectiveStatus(s.core.Now()), authority.ReasonInvalidState, a))
	}
	return out, nil
}

// Delete marks the CA named by ref DELETED, restorable for days (7 to 30)
// (DeleteCertificateAuthority). confirm, when set, is asked with the CA
// found, outside any transaction (it may prompt); an error from it, or
// from finding the CA, cancels the delete and is returned. The CA confirmed is the one deleted,
// whatever a prefix names meanwhile.
func (s *Service) Delete(ctx context.Context, ref string, days int, confirm func(*Description) error) (*CAChange, error) {
	if confirm != nil {
		d, err := s.Describe(ctx, ref)
		if err != nil {
			return nil, err
		}
		if err := confirm(d); err != nil {
			return nil, err
		}
		ref = d.Arn
	}
	return s.stateChange(ctx, "DeleteCertificateAuthority", ref, func(op *service.Op, r *authority.Record) error {
		op.Param("PermanentDeletionTimeInDays", days)
		return s.core.Authority.Delete(op.Tx, r, days)
	})
}

// Restore returns the deleted CA named by ref to the status it had before
// (RestoreCertificateAuthority) and returns its ARN. A built-in CA whose
// role went to another CA meanwhile comes back as an ordinary CA: the
// record says so (ReleasedBuiltInRole).
func (s *Service) Restore(ctx context.Context, ref string) (string, error) {
	return s.changeExisting(ctx, "RestoreCertificateAuthority", ref, func(op *service.Op, r *authority.Record) error {
		role := r.BuiltIn
		if err := s.core.Authority.Restore(op.Tx, r); err != nil {
			return err
		}
		if role != "" && r.BuiltIn == "" {
			op.Param("ReleasedBuiltInRole", role)
		}
		return nil
	})
}

// ImportCertificate installs a CA certificate in the CA named by ref
// (ImportCertificateAuthorityCertificate) and returns its ARN, with a
// notice when that certificate cannot sign CRLs: it activates a
// PENDING_CERTIFICATE CA with the certificate signed for its CSR, or
// renews an ACTIVE or DISABLED CA in place with a new certificate for the
// same key and subject (see authority.Service.ImportCertificate). The
// record names the new certificate's serial, and whether it was a renewal.
func (s *Service) ImportCertificate(ctx context.Context, ref string, in authority.CertificateImport) (*CAChange, error) {
	var notice, outlive string
	a, err := s.changeExisting(ctx, "ImportCertificateAuthorityCertificate", ref, func(op *service.Op, r *authority.Record) error {
		renewal := r.Status != authority.StatusPendingCertificate
		if err := s.core.Authority.ImportCertificate(op.Tx, r, in); err != nil {
			return err
		}
		op.Param("Serial", r.Serial)
		if renewal {
			op.Param("Renewal", true)
		}
		if r.ParentID != "" {
			op.Param("ParentArn", s.core.Names.CAARN(r.ParentID))
		}
		notice = r.CRLNotice()
		if renewal {
			n, err := outliving(op.Tx, r, op.Now)
			if err != nil {
				return err
			}
			if n > 0 {
				cert, _ := r.Certificate()
				outlive = fmt.Sprintf("%d certificates the CA issued end after its new certificate does (%s): they stop verifying then, and renewing them after that fails — renew them before (certctl renew ARN; those of ca issue, issue them again), or give the CA a certificate that lasts longer", n, timeutil.RFC3339(cert.NotAfter))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CAChange{Arn: a, Notices: []string{notice, outlive}}, nil
}

// outliving counts the certificates r issued, neither revoked nor expired
// at now, that end after r's certificate does: a CA renewed in place with
// a shorter certificate (tester: nothing said so, and they stayed ISSUED
// and not due while their chain no longer verified). Of the inventory's
// certificates, the current versions only (review: superseded versions
// and deleted certificates were counted); of those `ca issue` signed,
// every one but a root's own certificates (its RootCA templates).
func outliving(tx localstore.Tx, r *authority.Record, now time.Time) (int, error) {
	cert, err := r.Certificate()
	if err != nil || cert == nil {
		return 0, err
	}
	list, err := tx.ListIssued(r.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, is := range list {
		if !is.RevokedAt.IsZero() || !is.NotAfter.After(cert.NotAfter) || !is.NotAfter.After(now) {
			continue
		}
		if is.CertID == "" {
			if !strings.Contains(is.Template, "RootCA") {
				n++
			}
			continue
		}
		c, err := tx.GetCertificate(is.CertID)
		if errors.Is(err, localstore.ErrNotFound) {
			continue // deleted
		}
		if err != nil {
			return 0, err
		}
		if c.Serial == is.Serial && c.CertificateAuthorityID == r.ID {
			n++
		}
	}
	return n, nil
}

// ImportCARequest is an existing CA to bring into the vault with its key:
// PEM certificate (its issuers' chain may follow it, issuer first), an
// optional separate chain, and the private key. Source names where it
// came from (a file), for the record; nothing of the key is recorded.
type ImportCARequest struct {
	CertificatePEM, ChainPEM, PrivateKeyPEM []byte
	Source                                  string
	Tags                                    []localstore.Tag
}

// ImportCA makes an existing CA certificate and its key a CA of the vault
// (ImportCertificateAuthority; AWS Private CA has no such call): ACTIVE,
// its key sealed, a ROOT when self-signed. Non-CA certificates and keys
// that do not match are refused (exit 4, recorded). A CA the vault already
// holds is not imported again: its ARN comes back with imported false, and
// nothing is recorded.
func (s *Service) ImportCA(ctx context.Context, req ImportCARequest) (arn string, imported bool, err error) {
	certs, perr := pemio.ParseCertificatesPEM(req.CertificatePEM)
	var chain []*x509.Certificate
	var key crypto.Signer
	if perr == nil {
		chain = certs[1:]
		if len(req.ChainPEM) > 0 {
			chain, perr = pemio.ParseCertificatesPEM(req.ChainPEM)
		}
	}
	if perr == nil {
		key, perr = pemio.ParsePrivateKeyPEM(req.PrivateKeyPEM, nil)
	}
	var id string
	changed, err := s.core.ChangeIf(ctx, "ImportCertificateAuthority", func(op *service.Op) error {
		if req.Source != "" {
			op.Param("Source", req.Source)
		}
		if len(req.Tags) > 0 {
			op.Param("Tags", req.Tags)
		}
		if perr != nil {
			return errs.Invalidf("%s: %v", req.Source, perr)
		}
		r, created, err := s.core.Authority.ImportCA(op.Tx, authority.ImportCARequest{Certificate: certs[0], Chain: chain, Key: key, Tags: req.Tags})
		if err != nil {
			return err
		}
		id = r.ID
		if !created {
			return service.ErrUnchanged
		}
		op.Resource(s.core.Names.CAARN(r.ID))
		op.Param("CertificateAuthorityType", r.Type)
		op.Param("Subject", r.Subject)
		return nil
	})
	if err != nil {
		return "", false, err
	}
	return s.core.Names.CAARN(id), changed, nil
}

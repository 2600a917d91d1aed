// Package endpoints is the ACME endpoints' service: endpoints, EAB
// credentials, pre-approved domains, and the ACME server that `endpoint
// serve` runs (pkg/acmeserver, whose accounts, orders, issuance and
// revocation are changes of the same service core). The persisted resources
// and their transaction-level rules are pkg/acmestate's; this package
// owns the transactions, each one recorded change (service.Core.Change).
package endpoints

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Settings are the configuration the service acts on.
type Settings struct {
	// BaseURL is endpoint.base_url: the scheme://host[:port] clients see.
	BaseURL string
	// Listen is endpoint.listen, the default address of `endpoint serve`.
	Listen string
	// Zone is validation.dns_zone, the target zone of validation CNAMEs.
	Zone string
	// Resolvers and CAAIdentities are validation.resolvers and
	// validation.caa_identities (`endpoint domain check`).
	Resolvers     []string
	CAAIdentities []string
	// HTTPPort and TLSALPNPort are validation.http_port and
	// validation.tls_alpn_port, where the http-01 and tls-alpn-01
	// challenges of CHALLENGE endpoints are checked.
	HTTPPort    int
	TLSALPNPort int
	// Validity is certificate_validity, the lifetime of issued certificates.
	Validity time.Duration
	// DomainsPerCertificate is quotas.domains_per_certificate.
	DomainsPerCertificate int
	// OrdersPerHour and NewAccountsPerHour are acme.orders_per_hour (per
	// account) and acme.new_accounts_per_hour (per endpoint); 0 means the
	// server's defaults.
	OrdersPerHour      int
	NewAccountsPerHour int
}

// Service is the endpoints service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}

// base is the base of the EndpointUrl of every endpoint described.
func (s *Service) base() string { return acmestate.BaseURL(s.set.BaseURL, s.set.Listen) }

func (s *Service) arn(id string) string { return s.core.Names.EndpointARN(id) }

// read runs fn on the endpoint named by ref (ARN, UUID or unique prefix)
// in a read transaction.
func (s *Service) read(ctx context.Context, ref string, fn func(tx localstore.Tx, ep *acmestate.Endpoint) error) error {
	return s.core.Read(ctx, func(tx localstore.Tx) error {
		ep, err := acmestate.Resolve(tx, s.core.Names, ref)
		if err != nil {
			return err
		}
		return fn(tx, ep)
	})
}

// change runs fn on the endpoint named by ref as one recorded change named
// eventName, whose resources include the endpoint's ARN.
func (s *Service) change(ctx context.Context, eventName, ref string, fn func(op *service.Op, ep *acmestate.Endpoint) error) error {
	return s.core.Change(ctx, eventName, func(op *service.Op) error {
		ep, err := acmestate.Resolve(op.Tx, s.core.Names, ref)
		if err != nil {
			op.Param("AcmeEndpointArn", ref)
			return err
		}
		op.Resource(s.arn(ep.ID))
		return fn(op, ep)
	})
}

// describe builds the description of ep in tx.
func (s *Service) describe(tx localstore.Tx, ep *acmestate.Endpoint) (acmestate.Description, error) {
	m, err := acmestate.GetMetrics(tx, ep.ID)
	if err != nil {
		return acmestate.Description{}, err
	}
	d := acmestate.Describe(s.core.Names, s.base(), ep, m)
	if d.Status == acmestate.StatusActive {
		if reason, _, err := s.caFailure(tx, ep); err != nil {
			return acmestate.Description{}, err
		} else if reason != "" {
			// Its orders fail at finalize until the CA can issue again:
			// the endpoint says so, as ACM does of a certificate whose
			// private CA cannot issue.
			d.Status, d.FailureReason = acmestate.StatusFailed, reason
		}
	}
	return d, nil
}

// caFailure is why the private CA ep issues from cannot issue now
// (PCA_RESOURCE_NOT_FOUND, PCA_INVALID_STATE), "" when it can or ep
// issues from the public-style hierarchy; r is that CA when it can.
func (s *Service) caFailure(tx localstore.Tx, ep *acmestate.Endpoint) (reason string, r *authority.Record, err error) {
	if ep.CertificateAuthorityID == "" {
		return "", nil, nil
	}
	r, err = authority.Get(tx, ep.CertificateAuthorityID)
	if authority.IsNotFound(err) {
		return authority.ReasonNotFound, nil, nil
	} else if err != nil {
		return "", nil, err
	}
	if s.core.Authority.CheckCanIssue(r) != nil {
		return authority.ReasonInvalidState, nil, nil
	}
	return "", r, nil
}

// parseTags parses tags given as `Key=K,Value=V` or `K=V` (what names them
// goes into the error).
func parseTags(what string, vals []string) ([]localstore.Tag, error) {
	tg, err := inventory.ParseTags(vals)
	if err != nil {
		return nil, errs.Invalidf("%s: %v", what, err)
	}
	tg, err = inventory.MergeTags(nil, tg)
	if err != nil {
		return nil, errs.Invalidf("%s: %v", what, err)
	}
	return tg, nil
}

// CreateInput describes a new endpoint. Tags are `Key=K,Value=V` or `K=V`.
type CreateInput struct {
	Name                  string
	AuthorizationBehavior string
	// ChallengeTypes narrow a CHALLENGE endpoint's challenges (nil: all).
	ChallengeTypes       []string
	Contact              string
	AllowedKeyAlgorithms []string
	CertificateTags      []string
	Tags                 []string
	// CertificateAuthority names a CA of the vault to issue from (ARN,
	// UUID, unique prefix or "default"); empty: the public-style hierarchy.
	CertificateAuthority string
	// DefaultProfile is the profile of orders that name none (empty:
	// classic).
	DefaultProfile string
}

// issuingCA resolves ref to a CA of the vault that can issue now (exit 3
// when there is none, 5 when it is not ACTIVE).
func (s *Service) issuingCA(op *service.Op, ref string) (*authority.Record, error) {
	op.Param("CertificateAuthorityArn", ref)
	r, err := authority.Resolve(op.Tx, s.core.Authority, s.core.Names, ref)
	if err != nil {
		return nil, err
	}
	if err := authority.CheckPrivateIssuer(op.Tx, r); err != nil {
		return nil, err
	}
	if err := s.core.Authority.CheckCanIssue(r); err != nil {
		return nil, fmt.Errorf("an ACME endpoint cannot issue from it: %w", err)
	}
	op.Resource(s.core.Names.CAARN(r.ID))
	return r, nil
}

// caLifeNotice warns, when the CA r that ep issues from expires before a
// certificate of ep's default profile issued now would, or issues none so
// long (SHORT_LIVED_CERTIFICATE), that ep's orders
// fail at finalize (PCA_INVALID_DURATION); "" when it does not. A warning,
// not a refusal: certificate_validity is each serving process's setting,
// an order may name a shorter profile (shortlived), and finalize refuses
// any order the CA cannot cover anyway, with that reason.
func (s *Service) caLifeNotice(r *authority.Record, ep *acmestate.Endpoint, now time.Time) string {
	prof, ok := acmestate.LookupProfile(ep.Profile())
	if !ok || r.NotAfter.IsZero() {
		return ""
	}
	v := prof.Validity(s.set.Validity)
	if r.UsageMode == authority.UsageShortLived && v > authority.ShortLivedMax {
		// A CA of 7-day certificates (tester: accepted without a word,
		// and no order could complete).
		return fmt.Sprintf("warning: certificate authority %s is %s: it issues certificates of at most %s, shorter than one of %s (certificate_validity, profile %s): "+
			"the endpoint's orders fail at finalize (%s) except orders of the shortlived profile; give the endpoint --default-profile shortlived",
			r.ID, authority.UsageShortLived, timeutil.FormatDuration(authority.ShortLivedMax), timeutil.FormatDuration(v), prof.Name, authority.ReasonInvalidDuration)
	}
	end, by := r.IssueEnd()
	if !now.Add(v).After(end) {
		return ""
	}
	what := "expires"
	if by != "" {
		what = "has a chain that expires (" + by + ")"
	}
	return fmt.Sprintf("warning: certificate authority %s %s %s, before a certificate of %s (certificate_validity, profile %s) issued now would: "+
		"the endpoint's orders fail at finalize (%s) until the CA is renewed or the endpoint names another, except orders of a profile short enough (shortlived)",
		r.ID, what, timeutil.RFC3339(end), timeutil.FormatDuration(v), prof.Name, authority.ReasonInvalidDuration)
}

// domainNotices warns of each domain of ep that the CA r, which ep is to
// issue from, issues no name under (the rule `endpoint domain add`
// refuses such a domain by, checkDomainCA). A warning, not a refusal: the
// domains were added under another CA, and the administrator may mean to
// remove them; meanwhile orders under them are rejected.
func (s *Service) domainNotices(tx localstore.Tx, r *authority.Record, ep *acmestate.Endpoint) ([]string, error) {
	ds, err := acmestate.ListDomains(tx, ep.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		err := s.core.Authority.CheckDomain(tx, r, d.DomainName)
		if errs.CodeNameOf(err) == authority.ReasonDomainNotAllowed {
			out = append(out, "warning: "+err.Error()+"; orders under it are rejected (rejectedIdentifier): remove it with certctl endpoint domain remove")
		} else if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Create makes an ACTIVE endpoint (CreateAcmeEndpoint) and returns its ARN,
// with notices for the user (caLifeNotice).
func (s *Service) Create(ctx context.Context, in CreateInput) (string, []string, error) {
	var id string
	var notices []string
	err := s.core.Change(ctx, "CreateAcmeEndpoint", func(op *service.Op) error {
		notices = nil
		op.Param("AuthorizationBehavior", in.AuthorizationBehavior)
		if in.ChallengeTypes != nil {
			op.Param("ChallengeTypes", in.ChallengeTypes)
		}
		op.Param("Contact", in.Contact)
		if in.Name != "" {
			op.Param("Name", in.Name)
		}
		if len(in.AllowedKeyAlgorithms) > 0 {
			op.Param("AllowedKeyAlgorithms", in.AllowedKeyAlgorithms)
		}
		if len(in.CertificateTags) > 0 {
			op.Param("CertificateTags", in.CertificateTags)
		}
		if len(in.Tags) > 0 {
			op.Param("Tags", in.Tags)
		}
		if in.DefaultProfile != "" {
			op.Param("DefaultProfile", in.DefaultProfile)
		}
		ct, err := parseTags("certificate tags", in.CertificateTags)
		if err != nil {
			return err
		}
		tg, err := parseTags("tags", in.Tags)
		if err != nil {
			return err
		}
		var ca *authority.Record
		var caID string
		if in.CertificateAuthority != "" {
			if ca, err = s.issuingCA(op, in.CertificateAuthority); err != nil {
				return err
			}
			caID = ca.ID
		}
		ep, err := acmestate.Create(op.Tx, acmestate.CreateParams{Name: in.Name, AuthorizationBehavior: in.AuthorizationBehavior, ChallengeTypes: in.ChallengeTypes,
			Contact: in.Contact, AllowedKeyAlgorithms: in.AllowedKeyAlgorithms, CertificateTags: ct, Tags: tg,
			CertificateAuthorityID: caID, DefaultProfile: in.DefaultProfile}, op.Now)
		if err != nil {
			return err
		}
		if ca != nil {
			if n := s.caLifeNotice(ca, ep, op.Now); n != "" {
				notices = append(notices, n)
			}
		}
		id = ep.ID
		op.Resource(s.arn(id))
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return s.arn(id), notices, nil
}

// Describe describes the endpoint named by ref.
func (s *Service) Describe(ctx context.Context, ref string) (acmestate.Description, error) {
	var d acmestate.Description
	err := s.read(ctx, ref, func(tx localstore.Tx, ep *acmestate.Endpoint) error {
		var err error
		d, err = s.describe(tx, ep)
		return err
	})
	return d, err
}

// List describes every endpoint, oldest first.
func (s *Service) List(ctx context.Context) ([]acmestate.Description, error) {
	out := []acmestate.Description{}
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		out = out[:0]
		eps, err := acmestate.List(tx)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			d, err := s.describe(tx, ep)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// UpdateInput names what an update changes; nil leaves a setting as it is.
// CertificateTags replace the current ones as a whole.
type UpdateInput struct {
	// AuthorizationBehavior and ChallengeTypes change how names are
	// authorized: switching to CHALLENGE without ChallengeTypes offers
	// every type; ChallengeTypes alone need a CHALLENGE endpoint.
	AuthorizationBehavior *string
	ChallengeTypes        *[]string
	Contact               *string
	AllowedKeyAlgorithms  *[]string
	CertificateTags       *[]string
	Name                  *string
	// CertificateAuthority names the vault CA to issue from from now on
	// (see CreateInput).
	CertificateAuthority *string
	// PublicCertificateAuthority moves the endpoint back to the built-in
	// public-style hierarchy (not with CertificateAuthority).
	PublicCertificateAuthority bool
	DefaultProfile             *string
}

// Update changes an endpoint's settings (UpdateAcmeEndpoint) and returns
// its description, with notices for the user (caLifeNotice).
func (s *Service) Update(ctx context.Context, ref string, in UpdateInput) (acmestate.Description, []string, error) {
	var d acmestate.Description
	var notices []string
	err := s.change(ctx, "UpdateAcmeEndpoint", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		notices = nil
		if in.Contact != nil {
			op.Param("Contact", *in.Contact)
			if !slices.Contains(acmestate.Contacts, *in.Contact) {
				return errs.Invalidf("invalid contact requirement %q", *in.Contact)
			}
			ep.Contact = *in.Contact
		}
		if in.AuthorizationBehavior != nil || in.ChallengeTypes != nil {
			if err := s.setAuthorization(op, ep, in.AuthorizationBehavior, in.ChallengeTypes); err != nil {
				return err
			}
		}
		if in.AllowedKeyAlgorithms != nil {
			algs := *in.AllowedKeyAlgorithms
			op.Param("AllowedKeyAlgorithms", algs)
			if len(algs) == 0 {
				return errs.Invalidf("allowed key algorithms: give at least one")
			}
			if err := acmestate.CheckKeyAlgorithms(algs); err != nil {
				return err
			}
			ep.AllowedKeyAlgorithms = algs
		}
		if in.CertificateTags != nil {
			op.Param("CertificateTags", *in.CertificateTags)
			ct, err := parseTags("certificate tags", *in.CertificateTags)
			if err != nil {
				return err
			}
			ep.CertificateTags = ct
		}
		if in.Name != nil {
			op.Param("Name", *in.Name)
			if err := acmestate.CheckName(*in.Name); err != nil {
				return err
			}
			ep.Name = *in.Name
		}
		if in.PublicCertificateAuthority {
			op.Param("PublicCertificateAuthority", true)
			if in.CertificateAuthority != nil {
				return errs.UsageErrorf("give either a certificate authority or the public-style hierarchy, not both")
			}
			ep.CertificateAuthorityID = ""
		}
		var ca *authority.Record
		if in.CertificateAuthority != nil {
			var err error
			if ca, err = s.issuingCA(op, *in.CertificateAuthority); err != nil {
				return err
			}
			ep.CertificateAuthorityID = ca.ID
		}
		if in.DefaultProfile != nil {
			op.Param("DefaultProfile", *in.DefaultProfile)
			if err := acmestate.CheckProfile(*in.DefaultProfile); err != nil {
				return err
			}
			ep.DefaultProfile = *in.DefaultProfile
		}
		if ca != nil {
			if n := s.caLifeNotice(ca, ep, op.Now); n != "" {
				notices = append(notices, n)
			}
			ns, err := s.domainNotices(op.Tx, ca, ep)
			if err != nil {
				return err
			}
			notices = append(notices, ns...)
		} else if in.DefaultProfile != nil && ep.CertificateAuthorityID != "" {
			// A new default profile is judged against the CA the
			// endpoint keeps, as a new CA is (tester: a SHORT_LIVED CA's
			// endpoint moved to classic without a word).
			if kept, err := authority.Get(op.Tx, ep.CertificateAuthorityID); err == nil {
				if n := s.caLifeNotice(kept, ep, op.Now); n != "" {
					notices = append(notices, n)
				}
			}
		}
		ep.UpdatedAt = op.Now
		if err := acmestate.Put(op.Tx, ep); err != nil {
			return err
		}
		var err error
		d, err = s.describe(op.Tx, ep)
		return err
	})
	if err != nil {
		return d, nil, err
	}
	return d, notices, nil
}

// setAuthorization applies an update's authorization behaviour and
// challenge types to ep.
func (s *Service) setAuthorization(op *service.Op, ep *acmestate.Endpoint, behavior *string, types *[]string) error {
	b := ep.AuthorizationBehavior
	if behavior != nil {
		op.Param("AuthorizationBehavior", *behavior)
		b = *behavior
	}
	var t []string
	if types != nil {
		op.Param("ChallengeTypes", *types)
		if behavior == nil && b != acmestate.BehaviorChallenge {
			// Types alone on an endpoint that stays PRE_APPROVED: valid
			// input that the endpoint's state refuses.
			return errs.Refusedf("challenge types apply to --authorization-behavior %s endpoints only; this endpoint is %s", acmestate.BehaviorChallenge, b).
				WithHint("give --authorization-behavior %s in the same update", acmestate.BehaviorChallenge)
		}
		t = *types
		if t == nil {
			t = []string{}
		}
	} else if b == acmestate.BehaviorChallenge && ep.Challenges() {
		t = ep.ChallengeTypes // staying CHALLENGE keeps the types offered
	}
	return ep.SetAuthorization(b, t)
}

// Deletion is what Delete did: the endpoint's ARN, and how many
// certificates it issued are still valid (ISSUED, not expired) — its
// clients can no longer revoke them through it; `certctl revoke` does
// (tester: nothing said so).
type Deletion struct {
	Arn        string
	StillValid int
}

// Delete removes an endpoint with its EAB credentials, domain validations,
// accounts, orders and authorizations (DeleteAcmeEndpoint). Certificates
// it issued stay in the inventory. confirm, when set, is asked with the
// endpoint's ARN once it is found, outside any transaction (it may
// prompt); an error from it cancels the delete and is returned.
func (s *Service) Delete(ctx context.Context, ref string, confirm func(arn string) error) (*Deletion, error) {
	if confirm != nil {
		// An endpoint not found is not asked about: the change below
		// refuses it, and the refusal is recorded.
		var a string
		if err := s.read(ctx, ref, func(_ localstore.Tx, ep *acmestate.Endpoint) error {
			a = s.arn(ep.ID)
			return nil
		}); err == nil {
			if err := confirm(a); err != nil {
				return nil, err
			}
			ref = a
		}
	}
	d := &Deletion{}
	err := s.change(ctx, "DeleteAcmeEndpoint", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		d.Arn = s.arn(ep.ID)
		certs, err := op.Tx.ListCertificates(localstore.CertificateFilter{Origins: []string{inventory.OriginACME}, Statuses: []string{inventory.StatusIssued}})
		if err != nil {
			return err
		}
		d.StillValid = 0
		for _, c := range certs {
			if c.AcmeEndpointID == ep.ID && inventory.EffectiveStatus(c, op.Now) == inventory.StatusIssued {
				d.StillValid++
			}
		}
		deleted, err := acmestate.Delete(op.Tx, ep.ID)
		if err != nil {
			return err
		}
		// What went with the endpoint, in its record (tester: the
		// record's parameters were empty): counts only, never a MAC key.
		op.Param("DeletedAcmeAccounts", deleted[acmestate.KindAccount])
		op.Param("DeletedExternalAccountBindings", deleted[acmestate.KindEAB])
		op.Param("DeletedDomainValidations", deleted[acmestate.KindDomain])
		op.Param("StillValidCertificates", d.StillValid)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

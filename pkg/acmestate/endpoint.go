// Package acmestate holds the persisted resources of certctl's ACME endpoints
// (the ACM ACME endpoint analogue): endpoints, their external account binding
// credentials, domain validations, and the ACME accounts, orders and
// authorizations the server keeps. It knows nothing of HTTP or the command
// line; every function works inside the caller's transaction.
package acmestate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/x509util"
)

// Store kinds of the records of this package.
const (
	KindEndpoint   = "acme-endpoint"
	KindEAB        = "acme-eab"
	KindDomain     = "acme-domain"
	KindAccount    = "acme-account"
	KindAccountKey = "acme-account-key"
	KindOrder      = "acme-order"
	KindAuthz      = "acme-authz"
	KindMetrics    = "acme-metrics"
	KindReissue    = "acme-reissue"
)

// Endpoint statuses.
const (
	StatusActive   = "ACTIVE"
	StatusDeleting = "DELETING"
	StatusFailed   = "FAILED"
)

// Statuses lists the endpoint statuses.
var Statuses = []string{StatusActive, StatusDeleting, StatusFailed}

// Authorization behaviours: PRE_APPROVED endpoints authorize only the
// names their domain validations pre-approve; CHALLENGE endpoints also
// offer RFC 8555 challenges for the others.
const (
	BehaviorPreApproved = "PRE_APPROVED"
	BehaviorChallenge   = "CHALLENGE"
)

// AuthorizationBehaviors are the accepted authorization behaviours.
var AuthorizationBehaviors = []string{BehaviorPreApproved, BehaviorChallenge}

// ChallengeTypes are the challenge types a CHALLENGE endpoint may offer
// (checked by pkg/validation); it offers all of them unless narrowed.
var ChallengeTypes = []string{validation.ChallengeHTTP01, validation.ChallengeDNS01, validation.ChallengeTLSALPN01}

// Contact requirements.
const (
	ContactRequired    = "REQUIRED"
	ContactNotRequired = "NOT_REQUIRED"
)

// Contacts lists the contact requirements.
var Contacts = []string{ContactRequired, ContactNotRequired}

// KeyAlgorithms are the key algorithms an endpoint may allow; the default
// allows all of them.
var KeyAlgorithms = []string{x509util.RSA2048, x509util.ECPrime256v1, x509util.ECSecp384r1}

// Endpoint is an ACME endpoint as stored in the vault.
type Endpoint struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name,omitempty"`
	Status                string   `json:"status"`
	AuthorizationBehavior string   `json:"authorizationBehavior"`
	Contact               string   `json:"contact"`
	AllowedKeyAlgorithms  []string `json:"allowedKeyAlgorithms"`
	// ChallengeTypes are the challenges a CHALLENGE endpoint offers
	// (empty for PRE_APPROVED).
	ChallengeTypes  []string         `json:"challengeTypes,omitempty"`
	CertificateTags []localstore.Tag `json:"certificateTags,omitempty"`
	Tags            []localstore.Tag `json:"tags,omitempty"`
	CreatedAt       time.Time        `json:"createdAt"`
	UpdatedAt       time.Time        `json:"updatedAt"`
	FailureReason   string           `json:"failureReason,omitempty"`
	// CertificateAuthorityID is the vault CA the endpoint issues from
	// (--certificate-authority-arn); empty for the built-in public-style
	// hierarchy.
	CertificateAuthorityID string `json:"certificateAuthorityId,omitempty"`
	// DefaultProfile is the profile of orders that name none (empty:
	// classic).
	DefaultProfile string `json:"defaultProfile,omitempty"`
}

// AllowsKeyAlgorithm reports whether alg is allowed for certificates.
func (e *Endpoint) AllowsKeyAlgorithm(alg string) bool {
	return slices.Contains(e.AllowedKeyAlgorithms, alg)
}

// Challenges reports whether e offers challenges for names it does not
// pre-approve (AuthorizationBehavior CHALLENGE).
func (e *Endpoint) Challenges() bool { return e.AuthorizationBehavior == BehaviorChallenge }

// ChallengesFor are the challenge types e offers for name: none on a
// PRE_APPROVED endpoint, dns-01 only for a wildcard (RFC 8555 section
// 7.1.3), else every type the endpoint offers — dns-01 only where its
// record fits in a DNS name (validation.DNS01Fits).
func (e *Endpoint) ChallengesFor(name string, wildcard bool) []string {
	if !e.Challenges() {
		return nil
	}
	dns01 := slices.Contains(e.ChallengeTypes, validation.ChallengeDNS01) && validation.DNS01Fits(name)
	if wildcard {
		if dns01 {
			return []string{validation.ChallengeDNS01}
		}
		return nil
	}
	out := slices.Clone(e.ChallengeTypes)
	if !dns01 {
		out = slices.DeleteFunc(out, func(t string) bool { return t == validation.ChallengeDNS01 })
	}
	return out
}

// CheckChallengeTypes validates a --challenge-types list (exit 2 for an
// unknown type or an empty list).
func CheckChallengeTypes(types []string) error {
	if len(types) == 0 {
		return errs.UsageErrorf("--challenge-types needs at least one of %s", strings.Join(ChallengeTypes, ", "))
	}
	for _, t := range types {
		if err := enum.Error("--challenge-types", t, ChallengeTypes); err != nil {
			return &errs.Error{Exit: errs.ExitUsage, Err: err}
		}
	}
	return nil
}

// SetAuthorization sets e's authorization behaviour and challenge types:
// a CHALLENGE endpoint offers types (every type when nil); a PRE_APPROVED
// one takes none (exit 4 when some are given).
func (e *Endpoint) SetAuthorization(behavior string, types []string) error {
	if !slices.Contains(AuthorizationBehaviors, behavior) {
		return errs.UsageErrorf("invalid authorization behavior %q (use one of %s)", behavior, strings.Join(AuthorizationBehaviors, ", "))
	}
	if behavior != BehaviorChallenge {
		if types != nil {
			return errs.Invalidf("challenge types apply to --authorization-behavior %s endpoints only", BehaviorChallenge)
		}
		e.AuthorizationBehavior, e.ChallengeTypes = behavior, nil
		return nil
	}
	if types == nil {
		types = ChallengeTypes
	}
	if err := CheckChallengeTypes(types); err != nil {
		return err
	}
	e.AuthorizationBehavior, e.ChallengeTypes = behavior, ordered(types)
	return nil
}

// ordered is types without duplicates, in the order of ChallengeTypes.
func ordered(types []string) []string {
	var out []string
	for _, t := range ChallengeTypes {
		if slices.Contains(types, t) {
			out = append(out, t)
		}
	}
	return out
}

// CreateParams describe a new endpoint.
type CreateParams struct {
	Name                  string
	AuthorizationBehavior string
	// ChallengeTypes narrow a CHALLENGE endpoint's challenges (nil: all).
	ChallengeTypes       []string
	Contact              string
	AllowedKeyAlgorithms []string
	CertificateTags      []localstore.Tag
	Tags                 []localstore.Tag
	// CertificateAuthorityID is a CA of the vault the caller checked can
	// issue (empty: the public-style hierarchy).
	CertificateAuthorityID string
	DefaultProfile         string
}

// CheckKeyAlgorithms validates a list of allowed key algorithms.
func CheckKeyAlgorithms(algs []string) error {
	for _, a := range algs {
		if !slices.Contains(KeyAlgorithms, a) {
			return errs.UsageErrorf("invalid value %q for --allowed-key-algorithms (use one of %s)", a, strings.Join(KeyAlgorithms, ", "))
		}
	}
	return nil
}

// MaxNameLength is the longest endpoint name, in characters.
const MaxNameLength = 256

// CheckName checks an endpoint's name (--name): optional, valid UTF-8, at
// most MaxNameLength characters, without control characters — an escape
// sequence in a name would reach every terminal that lists endpoints,
// as a tag's would (tags refuse them too).
func CheckName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return errs.Invalidf("invalid endpoint name %q: not valid UTF-8", name)
	case utf8.RuneCountInString(name) > MaxNameLength:
		return errs.Invalidf("invalid endpoint name: longer than %d characters", MaxNameLength)
	case strings.ContainsFunc(name, casign.IsControl):
		return errs.Invalidf("invalid endpoint name %q: control characters are not allowed", name)
	}
	return nil
}

// Create stores a new ACTIVE endpoint.
func Create(tx localstore.Tx, p CreateParams, now time.Time) (*Endpoint, error) {
	if err := CheckName(p.Name); err != nil {
		return nil, err
	}
	var auth Endpoint
	if err := auth.SetAuthorization(p.AuthorizationBehavior, p.ChallengeTypes); err != nil {
		return nil, err
	}
	if !slices.Contains(Contacts, p.Contact) {
		return nil, errs.UsageErrorf("invalid contact requirement %q (use one of %s)", p.Contact, strings.Join(Contacts, ", "))
	}
	algs := p.AllowedKeyAlgorithms
	if len(algs) == 0 {
		algs = slices.Clone(KeyAlgorithms)
	}
	if err := CheckKeyAlgorithms(algs); err != nil {
		return nil, err
	}
	if p.DefaultProfile != "" {
		if err := CheckProfile(p.DefaultProfile); err != nil {
			return nil, err
		}
	}
	e := &Endpoint{
		ID: uuid.NewString(), Name: p.Name, Status: StatusActive,
		AuthorizationBehavior: auth.AuthorizationBehavior, ChallengeTypes: auth.ChallengeTypes, Contact: p.Contact,
		AllowedKeyAlgorithms: dedupe(algs), CertificateTags: p.CertificateTags, Tags: p.Tags,
		CreatedAt: now, UpdatedAt: now,
		CertificateAuthorityID: p.CertificateAuthorityID, DefaultProfile: p.DefaultProfile,
	}
	return e, Put(tx, e)
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Put writes an endpoint.
func Put(tx localstore.Tx, e *Endpoint) error { return putJSON(tx, KindEndpoint, e.ID, e, e.UpdatedAt) }

// Get reads an endpoint by exact ID.
func Get(tx localstore.Tx, id string) (*Endpoint, error) {
	o, err := tx.GetObject(KindEndpoint, id)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, errs.NotFoundf("ACME endpoint %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	return endpointCache.decode(o)
}

// Resolve finds an endpoint from an identifier argument (ARN of the
// region and account n names, UUID or unique prefix; see
// inventory.Names.IDOf).
func Resolve(tx localstore.Tx, n inventory.Names, arg string) (*Endpoint, error) {
	id, err := inventory.ResolveObject(tx, n, KindEndpoint, arn.AcmeEndpoint, "ACME endpoint", arg)
	if err != nil {
		return nil, err
	}
	return Get(tx, id)
}

// List reads every endpoint, oldest first.
func List(tx localstore.Tx) ([]*Endpoint, error) {
	out, err := listJSON[Endpoint](tx, KindEndpoint)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Endpoint) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Delete removes an endpoint with its EAB credentials, domain validations,
// accounts (and their key index), orders, authorizations, counters and
// rate windows, and returns how many of each kind it deleted (the counts
// of KindEAB, KindDomain, KindAccount, KindOrder and KindAuthz).
// Certificates already issued stay in the inventory.
func Delete(tx localstore.Tx, id string) (map[string]int, error) {
	if _, err := Get(tx, id); err != nil {
		return nil, err
	}
	deleted := map[string]int{}
	for _, kind := range []string{KindEAB, KindDomain, KindAccount, KindOrder, KindAuthz} {
		objs, err := tx.ListObjects(kind)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			var head struct {
				EndpointID string `json:"endpointId"`
			}
			if err := json.Unmarshal(o.Data, &head); err != nil {
				return nil, fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, kind, o.ID, err)
			}
			if head.EndpointID == id {
				if err := tx.DeleteObject(kind, o.ID); err != nil {
					return nil, err
				}
				deleted[kind]++
			}
		}
	}
	for _, kind := range []string{KindAccountKey, KindReissue, KindRate, KindRenewalWindow, KindReplacement} {
		ids, err := tx.FindObjectIDs(kind, id+"/", maxList)
		if err != nil {
			return nil, err
		}
		for _, k := range ids {
			if err := tx.DeleteObject(kind, k); err != nil {
				return nil, err
			}
		}
	}
	if err := deleteIfExists(tx, KindMetrics, id); err != nil {
		return nil, err
	}
	return deleted, tx.DeleteObject(KindEndpoint, id)
}

func deleteIfExists(tx localstore.Tx, kind, id string) error {
	err := tx.DeleteObject(kind, id)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil
	}
	return err
}

func putJSON(tx localstore.Tx, kind, id string, v any, at time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutObject(&localstore.Object{Kind: kind, ID: id, Data: data, UpdatedAt: at})
}

func getJSON(tx localstore.Tx, kind, id string, v any) error {
	o, err := tx.GetObject(kind, id)
	if err != nil {
		return err
	}
	return decodeObject(o, v)
}

// decodeObject decodes the JSON of an object read from the store.
func decodeObject(o *localstore.Object, v any) error {
	if err := json.Unmarshal(o.Data, v); err != nil {
		return fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, o.Kind, o.ID, err)
	}
	return nil
}

func listJSON[T any](tx localstore.Tx, kind string) ([]*T, error) {
	objs, err := tx.ListObjects(kind)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(objs))
	for _, o := range objs {
		v := new(T)
		if err := json.Unmarshal(o.Data, v); err != nil {
			return nil, fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, kind, o.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// maxList bounds prefix scans that must see every match.
const maxList = 1 << 30

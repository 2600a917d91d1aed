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

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
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

// AuthorizationBehaviors are the accepted authorization behaviours.
var AuthorizationBehaviors = []string{"PRE_APPROVED"}

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
	ID                    string           `json:"id"`
	Name                  string           `json:"name,omitempty"`
	Status                string           `json:"status"`
	AuthorizationBehavior string           `json:"authorizationBehavior"`
	Contact               string           `json:"contact"`
	AllowedKeyAlgorithms  []string         `json:"allowedKeyAlgorithms"`
	CertificateTags       []localstore.Tag `json:"certificateTags,omitempty"`
	Tags                  []localstore.Tag `json:"tags,omitempty"`
	CreatedAt             time.Time        `json:"createdAt"`
	UpdatedAt             time.Time        `json:"updatedAt"`
	FailureReason         string           `json:"failureReason,omitempty"`
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

// CreateParams describe a new endpoint.
type CreateParams struct {
	Name                  string
	AuthorizationBehavior string
	Contact               string
	AllowedKeyAlgorithms  []string
	CertificateTags       []localstore.Tag
	Tags                  []localstore.Tag
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

// Create stores a new ACTIVE endpoint.
func Create(tx localstore.Tx, p CreateParams, now time.Time) (*Endpoint, error) {
	if !slices.Contains(AuthorizationBehaviors, p.AuthorizationBehavior) {
		return nil, errs.UsageErrorf("invalid authorization behavior %q (use one of %s)", p.AuthorizationBehavior, strings.Join(AuthorizationBehaviors, ", "))
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
		AuthorizationBehavior: p.AuthorizationBehavior, Contact: p.Contact,
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
	e := &Endpoint{}
	if err := getJSON(tx, KindEndpoint, id, e); err != nil {
		if errors.Is(err, localstore.ErrNotFound) {
			return nil, errs.NotFoundf("ACME endpoint %s not found", id)
		}
		return nil, err
	}
	return e, nil
}

// Resolve finds an endpoint from an identifier argument (ARN, UUID or
// unique prefix).
func Resolve(tx localstore.Tx, arg string) (*Endpoint, error) {
	id, err := inventory.ResolveObject(tx, KindEndpoint, arn.AcmeEndpoint, "ACME endpoint", arg)
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
// rate windows.
// Certificates already issued stay in the inventory.
func Delete(tx localstore.Tx, id string) error {
	if _, err := Get(tx, id); err != nil {
		return err
	}
	for _, kind := range []string{KindEAB, KindDomain, KindAccount, KindOrder, KindAuthz} {
		objs, err := tx.ListObjects(kind)
		if err != nil {
			return err
		}
		for _, o := range objs {
			var head struct {
				EndpointID string `json:"endpointId"`
			}
			if err := json.Unmarshal(o.Data, &head); err != nil {
				return fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, kind, o.ID, err)
			}
			if head.EndpointID == id {
				if err := tx.DeleteObject(kind, o.ID); err != nil {
					return err
				}
			}
		}
	}
	for _, kind := range []string{KindAccountKey, KindReissue, KindRate, KindRenewalWindow, KindReplacement} {
		ids, err := tx.FindObjectIDs(kind, id+"/", maxList)
		if err != nil {
			return err
		}
		for _, k := range ids {
			if err := tx.DeleteObject(kind, k); err != nil {
				return err
			}
		}
	}
	if err := deleteIfExists(tx, KindMetrics, id); err != nil {
		return err
	}
	return tx.DeleteObject(KindEndpoint, id)
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
	if err := json.Unmarshal(o.Data, v); err != nil {
		return fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, kind, id, err)
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

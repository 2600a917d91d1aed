package acmestate

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// Domain validation statuses.
const (
	DomainPending = "PENDING"
	DomainValid   = "VALID"
	DomainFailed  = "FAILED"
)

// Domain is the validation of one domain for an endpoint. A VALID domain D
// pre-approves D, its subdomains and *.D.
type Domain struct {
	EndpointID   string    `json:"endpointId"`
	DomainName   string    `json:"domainName"`
	Status       string    `json:"status"`
	RecordName   string    `json:"recordName"`
	RecordType   string    `json:"recordType"`
	RecordValue  string    `json:"recordValue"`
	PreValidated bool      `json:"preValidated,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

func domainID(endpointID, name string) string { return endpointID + "/" + name }

// NormalizeDomain validates an endpoint domain (no wildcard) and returns it
// in lower case.
func NormalizeDomain(name string) (string, error) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	if dnsname.IsWildcard(name) {
		return "", errs.Invalidf("domain %q: give the base domain; a validation of D also covers *.D", name)
	}
	if err := dnsname.Validate(name); err != nil {
		return "", errs.Invalidf("domain %q: %v", name, err)
	}
	return dnsname.Normalize(name), nil
}

func randomLabel() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "_" + hex.EncodeToString(b), nil
}

// RecordFunc returns the validation CNAME (record name, target) of a
// domain.
type RecordFunc func(name string) (recordName, value string, err error)

// RandomRecord is a RecordFunc giving a random record under zone (used when
// no vault-stable naming is supplied).
func RandomRecord(zone string) RecordFunc {
	return func(name string) (string, string, error) {
		l1, err := randomLabel()
		if err != nil {
			return "", "", err
		}
		l2, err := randomLabel()
		if err != nil {
			return "", "", err
		}
		return l1 + "." + name + ".", l2 + "." + strings.TrimSuffix(zone, ".") + ".", nil
	}
}

// AddDomain records a domain validation for e: VALID at once when
// preValidated, else PENDING with the CNAME record given by record.
// Adding a domain that exists returns it, upgraded to VALID when
// preValidated. It refuses a domain for an endpoint that is not ACTIVE
// (exit 5), then a name that is not one, then whatever a rule of allowed
// (the caller's, given the normalized name) refuses: a refusal names the
// first thing wrong.
func AddDomain(tx localstore.Tx, e *Endpoint, name string, record RecordFunc, preValidated bool, now time.Time, allowed ...func(name string) error) (*Domain, error) {
	if e.Status != StatusActive {
		return nil, errs.Refusedf("ACME endpoint %s is %s", e.ID, e.Status)
	}
	name, err := NormalizeDomain(name)
	if err != nil {
		return nil, err
	}
	for _, allow := range allowed {
		if err := allow(name); err != nil {
			return nil, err
		}
	}
	d, err := GetDomain(tx, e.ID, name)
	if err != nil && errs.ExitCodeOf(err) != errs.ExitNotFound {
		return nil, err
	}
	if d == nil {
		rn, rv, err := record(name)
		if err != nil {
			return nil, err
		}
		d = &Domain{EndpointID: e.ID, DomainName: name, Status: DomainPending,
			RecordName: rn, RecordType: "CNAME", RecordValue: rv, CreatedAt: now}
	}
	if preValidated {
		d.Status, d.PreValidated = DomainValid, true
	}
	d.UpdatedAt = now
	return d, PutDomain(tx, d)
}

// PutDomain writes a domain validation.
func PutDomain(tx localstore.Tx, d *Domain) error {
	return putJSON(tx, KindDomain, domainID(d.EndpointID, d.DomainName), d, d.UpdatedAt)
}

// GetDomain reads the validation of name for an endpoint.
func GetDomain(tx localstore.Tx, endpointID, name string) (*Domain, error) {
	d := &Domain{}
	if err := getJSON(tx, KindDomain, domainID(endpointID, dnsname.Normalize(strings.TrimSuffix(name, "."))), d); err != nil {
		if errors.Is(err, localstore.ErrNotFound) {
			return nil, errs.NotFoundf("domain %s is not registered with ACME endpoint %s", name, endpointID)
		}
		return nil, err
	}
	return d, nil
}

// RemoveDomain deletes the validation of name.
func RemoveDomain(tx localstore.Tx, endpointID, name string) error {
	if _, err := GetDomain(tx, endpointID, name); err != nil {
		return err
	}
	return tx.DeleteObject(KindDomain, domainID(endpointID, dnsname.Normalize(strings.TrimSuffix(name, "."))))
}

// ListDomains returns an endpoint's domain validations sorted by name.
func ListDomains(tx localstore.Tx, endpointID string) ([]*Domain, error) {
	objs, err := tx.FindObjects(KindDomain, endpointID+"/", maxList)
	if err != nil {
		return nil, err
	}
	out := make([]*Domain, 0, len(objs))
	for _, o := range objs {
		d := &Domain{}
		if err := decodeObject(o, d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *Domain) int { return strings.Compare(a.DomainName, b.DomainName) })
	return out, nil
}

// Approved reports whether name is pre-approved by one of the VALID domains.
func Approved(domains []*Domain, name string) bool {
	for _, d := range domains {
		if d.Status == DomainValid && dnsname.Covers(d.DomainName, name) {
			return true
		}
	}
	return false
}

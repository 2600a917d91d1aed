package acmestate

import (
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// PublicCA is the CertificateAuthority.PublicCertificateAuthority field.
type PublicCA struct {
	AllowedKeyAlgorithms []string `json:"AllowedKeyAlgorithms"`
}

// PrivateCA is the CertificateAuthority.PrivateCertificateAuthority field:
// the endpoint issues from a CA of the vault.
type PrivateCA struct {
	CertificateAuthorityArn string   `json:"CertificateAuthorityArn"`
	AllowedKeyAlgorithms    []string `json:"AllowedKeyAlgorithms"`
}

// CAConfig is the CertificateAuthority field of an endpoint description:
// one of its two members is set.
type CAConfig struct {
	PublicCertificateAuthority  *PublicCA  `json:"PublicCertificateAuthority,omitempty"`
	PrivateCertificateAuthority *PrivateCA `json:"PrivateCertificateAuthority,omitempty"`
}

// AllowedKeyAlgorithms are the key algorithms of whichever CA is set.
func (c CAConfig) AllowedKeyAlgorithms() []string {
	if c.PrivateCertificateAuthority != nil {
		return c.PrivateCertificateAuthority.AllowedKeyAlgorithms
	}
	if c.PublicCertificateAuthority != nil {
		return c.PublicCertificateAuthority.AllowedKeyAlgorithms
	}
	return nil
}

// CAArn is the ARN of the endpoint's vault CA ("" for the public-style
// hierarchy).
func (c CAConfig) CAArn() string {
	if c.PrivateCertificateAuthority != nil {
		return c.PrivateCertificateAuthority.CertificateAuthorityArn
	}
	return ""
}

// Description is the JSON form of an endpoint (`endpoint describe`).
type Description struct {
	AcmeEndpointArn       string `json:"AcmeEndpointArn"`
	Name                  string `json:"Name,omitempty"`
	EndpointURL           string `json:"EndpointUrl"`
	Status                string `json:"Status"`
	AuthorizationBehavior string `json:"AuthorizationBehavior"`
	// ChallengeTypes are the challenges a CHALLENGE endpoint offers (SPEC
	// names no field for them; absent for PRE_APPROVED).
	ChallengeTypes       []string             `json:"ChallengeTypes,omitempty"`
	Contact              string               `json:"Contact"`
	CertificateAuthority CAConfig             `json:"CertificateAuthority"`
	DefaultProfile       string               `json:"DefaultProfile"`
	CertificateTags      []localstore.Tag     `json:"CertificateTags"`
	Tags                 []localstore.Tag     `json:"Tags"`
	CreatedAt            *inventory.Timestamp `json:"CreatedAt,omitempty"`
	UpdatedAt            *inventory.Timestamp `json:"UpdatedAt,omitempty"`
	FailureReason        string               `json:"FailureReason,omitempty"`
	Metrics              Metrics              `json:"Metrics"`
}

// BaseURL is the base of every endpoint URL: baseURL when configured, else
// https://<listen>.
func BaseURL(baseURL, listen string) string {
	if baseURL != "" {
		return strings.TrimRight(baseURL, "/")
	}
	return "https://" + listen
}

// DirectoryURL is the ACME directory URL of endpoint id under base.
func DirectoryURL(base, id string) string {
	return strings.TrimRight(base, "/") + "/" + id + "/directory"
}

func tagsOrEmpty(t []localstore.Tag) []localstore.Tag {
	if t == nil {
		return []localstore.Tag{}
	}
	return t
}

// JoinTags is tags as K=V,K=V (for tables).
func JoinTags(tags []localstore.Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = inventory.TagString(t)
	}
	return strings.Join(s, ",")
}

// Describe builds the description of e.
func Describe(n inventory.Names, base string, e *Endpoint, m Metrics) Description {
	return Description{
		AcmeEndpointArn: n.EndpointARN(e.ID), Name: e.Name, EndpointURL: DirectoryURL(base, e.ID),
		Status: e.Status, AuthorizationBehavior: e.AuthorizationBehavior, ChallengeTypes: e.ChallengeTypes, Contact: e.Contact,
		CertificateAuthority: caConfig(n, e), DefaultProfile: e.Profile(),
		CertificateTags: tagsOrEmpty(e.CertificateTags), Tags: tagsOrEmpty(e.Tags),
		CreatedAt: inventory.TS(e.CreatedAt), UpdatedAt: inventory.TS(e.UpdatedAt),
		FailureReason: e.FailureReason, Metrics: m,
	}
}

func caConfig(n inventory.Names, e *Endpoint) CAConfig {
	if e.CertificateAuthorityID != "" {
		return CAConfig{PrivateCertificateAuthority: &PrivateCA{CertificateAuthorityArn: n.CAARN(e.CertificateAuthorityID),
			AllowedKeyAlgorithms: e.AllowedKeyAlgorithms}}
	}
	return CAConfig{PublicCertificateAuthority: &PublicCA{AllowedKeyAlgorithms: e.AllowedKeyAlgorithms}}
}

// EABView is the JSON form of a credential; MacKey only at creation.
type EABView struct {
	KeyID           string               `json:"KeyId"`
	MacKey          string               `json:"MacKey,omitempty"`
	AcmeEndpointArn string               `json:"AcmeEndpointArn"`
	CreatedAt       *inventory.Timestamp `json:"CreatedAt,omitempty"`
	ExpiresAt       *inventory.Timestamp `json:"ExpiresAt"`
	Reusable        bool                 `json:"Reusable"`
	Status          string               `json:"Status,omitempty"`
	AccountCount    int                  `json:"AccountCount"`
}

// ViewEAB builds the JSON form of b (never its MAC key).
func ViewEAB(n inventory.Names, b *EAB, now time.Time) EABView {
	return EABView{KeyID: b.KeyID, AcmeEndpointArn: n.EndpointARN(b.EndpointID), CreatedAt: inventory.TS(b.CreatedAt),
		ExpiresAt: inventory.TS(b.ExpiresAt), Reusable: b.Reusable, Status: b.Status(now), AccountCount: len(b.Accounts)}
}

// DomainView is the JSON form of a domain validation.
type DomainView struct {
	DomainName     string                   `json:"DomainName"`
	Status         string                   `json:"Status"`
	ResourceRecord inventory.ResourceRecord `json:"ResourceRecord"`
	PreValidated   bool                     `json:"PreValidated"`
	UpdatedAt      *inventory.Timestamp     `json:"UpdatedAt,omitempty"`
}

// ViewDomain builds the JSON form of d.
func ViewDomain(d *Domain) DomainView {
	return DomainView{DomainName: d.DomainName, Status: d.Status,
		ResourceRecord: inventory.ResourceRecord{Name: d.RecordName, Type: d.RecordType, Value: d.RecordValue},
		PreValidated:   d.PreValidated, UpdatedAt: inventory.TS(d.UpdatedAt)}
}

// AccountARN names an ACME account of an endpoint in the audit log: a
// sub-resource of the endpoint's ARN, as PCA names the certificates a CA
// issued (<ca-arn>/certificate/<serial>).
func AccountARN(n inventory.Names, endpointID, accountID string) string {
	return n.EndpointARN(endpointID) + "/account/" + accountID
}

// OrderARN names an ACME order of an endpoint in the audit log.
func OrderARN(n inventory.Names, endpointID, orderID string) string {
	return n.EndpointARN(endpointID) + "/order/" + orderID
}

// AuthzARN names an ACME authorization of an endpoint in the audit log.
func AuthzARN(n inventory.Names, endpointID, authzID string) string {
	return n.EndpointARN(endpointID) + "/authz/" + authzID
}

package acmestate

import (
	"errors"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/promtext"
)

// ACME resource statuses (RFC 8555 section 7.1.6).
const (
	AcmeValid       = "valid"
	AcmeDeactivated = "deactivated"
	AcmeRevoked     = "revoked"
	AcmePending     = "pending"
	AcmeReady       = "ready"
	AcmeProcessing  = "processing"
	AcmeInvalid     = "invalid"
)

// Account is an ACME account of an endpoint.
type Account struct {
	ID         string    `json:"id"`
	EndpointID string    `json:"endpointId"`
	Status     string    `json:"status"`
	Contact    []string  `json:"contact,omitempty"`
	JWK        []byte    `json:"jwk"`
	Thumbprint string    `json:"thumbprint"`
	EABKeyID   string    `json:"eabKeyId"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// PutAccount writes an account.
func PutAccount(tx localstore.Tx, a *Account) error {
	return putJSON(tx, KindAccount, a.ID, a, a.UpdatedAt)
}

// GetAccount reads an account; ErrNotFound when missing.
func GetAccount(tx localstore.Tx, id string) (*Account, error) {
	o, err := tx.GetObject(KindAccount, id)
	if err != nil {
		return nil, err
	}
	return accountCache.decode(o)
}

func accountKeyID(endpointID, thumbprint string) string { return endpointID + "/" + thumbprint }

// AccountByKey finds the account of an endpoint whose key has thumbprint;
// nil when none.
func AccountByKey(tx localstore.Tx, endpointID, thumbprint string) (*Account, error) {
	o, err := tx.GetObject(KindAccountKey, accountKeyID(endpointID, thumbprint))
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return GetAccount(tx, string(o.Data))
}

// IndexAccountKey records that thumbprint is the key of account a.
func IndexAccountKey(tx localstore.Tx, a *Account) error {
	return tx.PutObject(&localstore.Object{Kind: KindAccountKey, ID: accountKeyID(a.EndpointID, a.Thumbprint), Data: []byte(a.ID), UpdatedAt: a.UpdatedAt})
}

// UnindexAccountKey forgets a key thumbprint.
func UnindexAccountKey(tx localstore.Tx, endpointID, thumbprint string) error {
	return deleteIfExists(tx, KindAccountKey, accountKeyID(endpointID, thumbprint))
}

// Identifier is an ACME identifier.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Order is an ACME order.
type Order struct {
	ID             string       `json:"id"`
	EndpointID     string       `json:"endpointId"`
	AccountID      string       `json:"accountId"`
	Status         string       `json:"status"`
	Identifiers    []Identifier `json:"identifiers"`
	Authorizations []string     `json:"authorizations"`
	Expires        time.Time    `json:"expires"`
	NotBefore      time.Time    `json:"notBefore,omitzero"`
	NotAfter       time.Time    `json:"notAfter,omitzero"`
	// CertificateID and CertificateVersion name the inventory version
	// issued for the order once it is valid.
	CertificateID      string `json:"certificateId,omitempty"`
	CertificateVersion int    `json:"certificateVersion,omitempty"`
	// Profile is the profile the order was made with (acme-profiles).
	Profile string `json:"profile,omitempty"`
	// Replaces is the ARI certID of the certificate the order replaces
	// (RFC 9773), and ReplacesCertificateID that certificate's inventory
	// record, which gets the new certificate as its next version.
	Replaces              string `json:"replaces,omitempty"`
	ReplacesCertificateID string `json:"replacesCertificateId,omitempty"`
	// Error is why the order became invalid (a failed challenge).
	Error     *Problem  `json:"error,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// PutOrder writes an order.
func PutOrder(tx localstore.Tx, o *Order) error { return putJSON(tx, KindOrder, o.ID, o, o.UpdatedAt) }

// GetOrder reads an order; ErrNotFound when missing.
func GetOrder(tx localstore.Tx, id string) (*Order, error) {
	o := &Order{}
	return o, getJSON(tx, KindOrder, id, o)
}

// ListOrders returns the orders of an account.
func ListOrders(tx localstore.Tx, accountID string) ([]*Order, error) {
	all, err := listJSON[Order](tx, KindOrder)
	if err != nil {
		return nil, err
	}
	var out []*Order
	for _, o := range all {
		if o.AccountID == accountID {
			out = append(out, o)
		}
	}
	return out, nil
}

// Authz is an ACME authorization. Pre-approved names are valid at creation,
// with one valid dns-01 challenge shown for clients that look for one; on
// a CHALLENGE endpoint the other names are pending with Challenges.
type Authz struct {
	ID         string     `json:"id"`
	EndpointID string     `json:"endpointId"`
	AccountID  string     `json:"accountId"`
	Status     string     `json:"status"`
	Identifier Identifier `json:"identifier"`
	Wildcard   bool       `json:"wildcard,omitempty"`
	Expires    time.Time  `json:"expires"`
	Token      string     `json:"token"`
	ValidAt    time.Time  `json:"validAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	// OrderID is the order the authorization was made for.
	OrderID string `json:"orderId,omitempty"`
	// Challenges are those offered for a name not pre-approved.
	Challenges []Challenge `json:"challenges,omitempty"`
}

// PutAuthz writes an authorization.
func PutAuthz(tx localstore.Tx, a *Authz) error { return putJSON(tx, KindAuthz, a.ID, a, a.UpdatedAt) }

// GetAuthz reads an authorization; ErrNotFound when missing.
func GetAuthz(tx localstore.Tx, id string) (*Authz, error) {
	a := &Authz{}
	return a, getJSON(tx, KindAuthz, id, a)
}

// Metrics are an endpoint's issuance counters.
type Metrics struct {
	CertificateIssuanceSuccess int64 `json:"CertificateIssuanceSuccess"`
	CertificateIssuanceFailed  int64 `json:"CertificateIssuanceFailed"`
}

// GetMetrics reads an endpoint's counters (zero when none yet).
func GetMetrics(tx localstore.Tx, endpointID string) (Metrics, error) {
	var m Metrics
	err := getJSON(tx, KindMetrics, endpointID, &m)
	if errors.Is(err, localstore.ErrNotFound) {
		err = nil
	}
	return m, err
}

// CountIssuance adds one success or one failure to an endpoint's counters.
func CountIssuance(tx localstore.Tx, endpointID string, success bool, now time.Time) error {
	m, err := GetMetrics(tx, endpointID)
	if err != nil {
		return err
	}
	if success {
		m.CertificateIssuanceSuccess++
	} else {
		m.CertificateIssuanceFailed++
	}
	return putJSON(tx, KindMetrics, endpointID, m, now)
}

// ReissueKey indexes the inventory certificate an account got for a set of
// names and a key algorithm, so that a re-issue updates the same ARN.
func ReissueKey(endpointID, accountID, keyAlgorithm string, names []string) string {
	return endpointID + "/" + accountID + "/" + keyAlgorithm + "/" + strings.Join(names, ",")
}

// ReissueTarget returns the certificate ID recorded under key ("" if none).
func ReissueTarget(tx localstore.Tx, key string) (string, error) {
	o, err := tx.GetObject(KindReissue, key)
	if errors.Is(err, localstore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(o.Data), nil
}

// SetReissueTarget records certID under key.
func SetReissueTarget(tx localstore.Tx, key, certID string, now time.Time) error {
	return tx.PutObject(&localstore.Object{Kind: KindReissue, ID: key, Data: []byte(certID), UpdatedAt: now})
}

// Prometheus names of the per-endpoint issuance counters. `endpoint serve`
// exports them at /metrics and `certctl metrics` prints them, with the same
// names, help, type (counter) and one label, MetricLabel, the endpoint's
// ARN.
const (
	MetricIssuanceSuccess     = "certctl_acme_certificate_issuance_success_total"
	MetricIssuanceSuccessHelp = "Certificates issued by an ACME endpoint."
	MetricIssuanceFailed      = "certctl_acme_certificate_issuance_failed_total"
	MetricIssuanceFailedHelp  = "Finalizations an ACME endpoint refused or failed."
	MetricLabel               = "arn"
)

// EndpointMetrics are the counters of one endpoint.
type EndpointMetrics struct {
	EndpointID string
	Metrics
}

// AllMetrics returns the counters of every endpoint (zero for one that has
// none yet), oldest endpoint first.
func AllMetrics(tx localstore.Tx) ([]EndpointMetrics, error) {
	eps, err := List(tx)
	if err != nil {
		return nil, err
	}
	out := make([]EndpointMetrics, 0, len(eps))
	for _, e := range eps {
		m, err := GetMetrics(tx, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, EndpointMetrics{EndpointID: e.ID, Metrics: m})
	}
	return out, nil
}

// MetricFamilies renders the issuance counters of every endpoint as
// Prometheus families, labelled with the endpoint ARN arnOf gives; both
// `certctl metrics` and the server's /metrics print them.
func MetricFamilies(all []EndpointMetrics, arnOf func(id string) string) []promtext.Family {
	ok := promtext.Family{Name: MetricIssuanceSuccess, Help: MetricIssuanceSuccessHelp, Type: "counter"}
	bad := promtext.Family{Name: MetricIssuanceFailed, Help: MetricIssuanceFailedHelp, Type: "counter"}
	for _, m := range all {
		l := []promtext.Label{promtext.L(MetricLabel, arnOf(m.EndpointID))}
		ok.Samples = append(ok.Samples, promtext.Sample{Labels: l, Value: float64(m.CertificateIssuanceSuccess)})
		bad.Samples = append(bad.Samples, promtext.Sample{Labels: l, Value: float64(m.CertificateIssuanceFailed)})
	}
	return []promtext.Family{ok, bad}
}

// Package inventory is the certificate inventory: importing certificates,
// resolving identifiers, filtering, tagging, and the ACM-shaped views that
// commands print. It knows nothing of the command line.
package inventory

// Certificate statuses (SPEC section 1).
const (
	StatusPendingValidation  = "PENDING_VALIDATION"
	StatusIssued             = "ISSUED"
	StatusInactive           = "INACTIVE"
	StatusExpired            = "EXPIRED"
	StatusValidationTimedOut = "VALIDATION_TIMED_OUT"
	StatusRevoked            = "REVOKED"
	StatusFailed             = "FAILED"
)

// Statuses lists every certificate status.
var Statuses = []string{StatusPendingValidation, StatusIssued, StatusInactive, StatusExpired,
	StatusValidationTimedOut, StatusRevoked, StatusFailed}

// Certificate types.
const (
	TypeIssued   = "ISSUED"
	TypePrivate  = "PRIVATE"
	TypeImported = "IMPORTED"
)

// Types lists every certificate type.
var Types = []string{TypeIssued, TypePrivate, TypeImported}

// Key pair origins.
const (
	OriginVault    = "VAULT"
	OriginImported = "IMPORTED"
	OriginACME     = "ACME"
)

// Origins lists every key pair origin.
var Origins = []string{OriginVault, OriginImported, OriginACME}

// Renewal eligibility.
const (
	Eligible   = "ELIGIBLE"
	Ineligible = "INELIGIBLE"
)

// Eligibilities lists the renewal eligibility values.
var Eligibilities = []string{Eligible, Ineligible}

// Sort keys of list.
var SortKeys = []string{"CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"}

// SortOrders of list.
var SortOrders = []string{"ASCENDING", "DESCENDING"}

// Tag limits (ACM's).
const (
	MaxTags           = 50
	MaxTagKeyLen      = 127
	MaxTagValueLen    = 255
	ReservedTagPrefix = "certctl:"
)

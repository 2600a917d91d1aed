package acmestate

import (
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/errs"
)

// Profile is a certificate profile an endpoint offers (the IETF
// acme-profiles draft, as Let's Encrypt serves it): newOrder names one
// with "profile"; the directory lists them in meta.profiles.
type Profile struct {
	Name        string
	Description string
	// ClientAuth adds the clientAuth extended key usage to serverAuth.
	ClientAuth bool
	// MaxValidity caps the lifetime of the certificates of the profile
	// (0: the endpoint's certificate_validity).
	MaxValidity time.Duration
}

// Validity is the lifetime of the certificates of p issued by an endpoint
// whose certificate_validity is configured.
func (p Profile) Validity(configured time.Duration) time.Duration {
	if p.MaxValidity > 0 && p.MaxValidity < configured {
		return p.MaxValidity
	}
	return configured
}

// Built-in profile names.
const (
	ProfileClassic    = "classic"
	ProfileTLSServer  = "tlsserver"
	ProfileShortLived = "shortlived"
)

// ShortLivedValidity is the lifetime of a shortlived certificate: 160
// hours, as Let's Encrypt's, under the 7 days of a short-lived certificate.
const ShortLivedValidity = 160 * time.Hour

// Profiles are the built-in profiles, classic (the default of an endpoint
// with no --default-profile) first. A Description says nothing of being a
// default: the directory marks the endpoint's own (DescribeProfile).
var Profiles = []Profile{
	{Name: ProfileClassic, ClientAuth: true,
		Description: "The classic profile: serverAuth and clientAuth extended key usages, the endpoint's certificate validity."},
	{Name: ProfileTLSServer,
		Description: "TLS servers only: the serverAuth extended key usage and no clientAuth, the endpoint's certificate validity."},
	{Name: ProfileShortLived, MaxValidity: ShortLivedValidity,
		Description: "Short-lived certificates for TLS servers: as tlsserver (serverAuth only), valid 160 hours (under 7 days)."},
}

// ProfileNames lists the names of the built-in profiles.
func ProfileNames() []string {
	out := make([]string, len(Profiles))
	for i, p := range Profiles {
		out[i] = p.Name
	}
	return out
}

// LookupProfile finds a profile by name.
func LookupProfile(name string) (Profile, bool) {
	i := slices.IndexFunc(Profiles, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, false
	}
	return Profiles[i], true
}

// CheckProfile refuses an unknown profile name for --default-profile
// (exit 2, an enumerated value unknown).
func CheckProfile(name string) error {
	if _, ok := LookupProfile(name); !ok {
		return errs.UsageErrorf("invalid value %q for --default-profile (use one of %s)", name, strings.Join(ProfileNames(), ", "))
	}
	return nil
}

// Profile is the endpoint's default profile (classic unless set).
func (e *Endpoint) Profile() string {
	if e.DefaultProfile == "" {
		return ProfileClassic
	}
	return e.DefaultProfile
}

// DescribeProfile is p's description in the directory of endpoint e
// (meta.profiles): the endpoint's default profile says so.
func (e *Endpoint) DescribeProfile(p Profile) string {
	if p.Name == e.Profile() {
		return p.Description + " The default of this endpoint, for orders that name no profile."
	}
	return p.Description
}

// Package arn formats and parses certctl's identifiers, which follow the
// shape of AWS ARNs: arn:certctl:<service>:<region>:<account>:<type>/<uuid>.
package arn

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Resource kinds.
const (
	Certificate          = "certificate"
	CertificateAuthority = "certificate-authority"
	AcmeEndpoint         = "acme-endpoint"
)

// service is the ARN service of each resource kind.
var service = map[string]string{
	Certificate:          "acm",
	CertificateAuthority: "acm-pca",
	AcmeEndpoint:         "acm",
}

// Format builds the ARN of a resource.
func Format(kind, region, account, id string) string {
	// Concatenated, not Sprintf: list formats one for every certificate.
	return "arn:certctl:" + service[kind] + ":" + region + ":" + account + ":" + kind + "/" + id
}

// ARN is a parsed identifier.
type ARN struct {
	Service, Region, Account, Kind, ID string
}

var arnRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:certctl:([a-z-]+):([^:]*):([^:]*):([a-z-]+)/([0-9a-fA-F-]+)$`)
}) // compiled on first use, not at start-up

// CheckComponent checks a region or account: 1 to 64 letters, digits,
// '-', '_' or '.', so that an ARN stays one parseable, printable word (no
// ':' or '/', no control character, no space). The configured region and
// account are checked so (config.CheckARNComponent); an ARN's may be
// anything but a ':'.
func CheckComponent(v string) error {
	if v == "" || len(v) > 64 {
		return fmt.Errorf("%q must be 1 to 64 characters", v)
	}
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("%q may hold only letters, digits, '-', '_' and '.'", v)
		}
	}
	return nil
}

// MaxIdentifier is the longest identifier argument looked at: far above a
// full ARN (a region and account are at most 64 bytes each, see
// CheckComponent), so longer input is refused before it reaches
// the store or an error message.
const MaxIdentifier = 256

// CheckLength refuses an identifier longer than MaxIdentifier, without
// echoing it.
func CheckLength(s string) error {
	if len(s) > MaxIdentifier {
		return fmt.Errorf("identifier is too long (%d bytes; an ARN, UUID or UUID prefix has at most %d)", len(s), MaxIdentifier)
	}
	return nil
}

// Parse parses a full ARN.
func Parse(s string) (ARN, error) {
	if err := CheckLength(s); err != nil {
		return ARN{}, err
	}
	m := arnRE().FindStringSubmatch(s)
	if m == nil {
		if ca, _, ok := strings.Cut(s, "/certificate/"); ok && arnRE().MatchString(ca) {
			// What `ca issue` and `ca revoke-certificate` print.
			return ARN{}, fmt.Errorf("%q names a certificate a CA issued, which is not in the inventory: use certctl ca get-certificate or ca revoke-certificate with --certificate-arn", s)
		}
		return ARN{}, fmt.Errorf("%q is not a certctl ARN", s)
	}
	a := ARN{Service: m[1], Region: m[2], Account: m[3], Kind: m[4], ID: strings.ToLower(m[5])}
	if want, ok := service[a.Kind]; !ok || want != a.Service {
		return ARN{}, fmt.Errorf("%q is not a certctl ARN: unknown resource %s:%s", s, a.Service, a.Kind)
	}
	return a, nil
}

// uuidPrefix reports whether s can begin a UUID: hexadecimal digits and
// hyphens, a digit first (tester: "-993cfa" was looked up, and not found,
// rather than refused as no identifier). A prefix of digits past where a
// UUID has its first hyphen is looked up, and found nowhere (exit 3).
func uuidPrefix(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// wholeUUID reports whether s is a UUID in its text form: 36 characters,
// hexadecimal digits with hyphens at 8, 13, 18 and 23.
func wholeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// MinPrefix is the shortest UUID prefix accepted as an identifier.
const MinPrefix = 6

// Ref is an identifier argument taken apart by IDOf.
type Ref struct {
	// ID is the UUID or UUID prefix, in lower case.
	ID string
	// Exact reports whether ID is a whole UUID.
	Exact bool
	// FullARN reports whether the argument was a full ARN; Region and
	// Account are then the ARN's (a bare UUID or prefix names neither).
	FullARN         bool
	Region, Account string
}

// withArticle is kind after its indefinite article: "an acme-endpoint"
// (tester: "a acme-endpoint ARN").
func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// IDOf takes apart an identifier argument of the given kind: a full ARN,
// a bare UUID, or a prefix of at least MinPrefix characters. Whether a
// full ARN's region and account are the vault's is for the caller, which
// knows the configured ones (inventory.Names.IDOf).
func IDOf(kind, s string) (Ref, error) {
	if err := CheckLength(s); err != nil {
		return Ref{}, err
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "arn:") {
		a, err := Parse(s)
		if err != nil {
			return Ref{}, err
		}
		if a.Kind != kind {
			return Ref{}, fmt.Errorf("%q is %s ARN, not %s ARN", s, withArticle(a.Kind), withArticle(kind))
		}
		// A full ARN names its resource whole: one cut short (half
		// pasted) is refused, not taken for a prefix, which only a bare
		// UUID prefix is (tester: delete acted on such an ARN).
		if !wholeUUID(a.ID) {
			return Ref{}, fmt.Errorf("%q is not a whole ARN: its ID %q is not a UUID (give the full ARN, the bare UUID, or a UUID prefix of at least %d characters)", s, a.ID, MinPrefix)
		}
		return Ref{ID: strings.ToLower(a.ID), Exact: true, FullARN: true, Region: a.Region, Account: a.Account}, nil
	}
	if !uuidPrefix(s) {
		return Ref{}, fmt.Errorf("%q is not an ARN, a UUID or a UUID prefix", s)
	}
	if len(s) < MinPrefix {
		return Ref{}, fmt.Errorf("identifier prefix %q is too short (at least %d characters)", s, MinPrefix)
	}
	s = strings.ToLower(s)
	return Ref{ID: s, Exact: len(s) == 36}, nil
}

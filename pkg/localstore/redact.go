package localstore

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// dsnPassword matches the value of a password (or sslpassword) word of a
// libpq key=value connection string, quoted or not; compiled when first
// needed (no start-up cost for every command).
var dsnPassword = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:\\.|\S)*)`)
})

// urlScheme matches what starts a URL: a scheme, then "://".
var urlScheme = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)
})

// RedactURL hides the secrets of a store URL — the password of its user
// information and a password= parameter (libpq's form) — so that it can be
// printed, logged or used as a name. Anything that is not such a URL is
// returned unchanged.
func RedactURL(s string) string {
	if !urlScheme().MatchString(strings.TrimSpace(s)) {
		// libpq's key=value form ("host=db password=…") holds its
		// password as a word of its own (which may itself hold "://").
		return dsnPassword().ReplaceAllString(s, "${1}xxxxx")
	}
	u, err := url.Parse(s)
	if err != nil {
		// An unparseable URL may still hold a password: show its scheme only.
		scheme, _, _ := strings.Cut(s, "://")
		return scheme + "://xxxxx"
	}
	q := u.Query()
	changed := false
	for k := range q {
		if secretParam(k) {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	out := u.String()
	if u.User != nil {
		out = u.Redacted()
	}
	// A query Go does not parse (a ';' between parameters) keeps its
	// password= words as written: mask them too.
	return queryPassword().ReplaceAllString(out, "${1}xxxxx")
}

// secretParam reports whether a store URL's query parameter k holds a
// secret: password, or sslpassword (a client key's).
func secretParam(k string) bool {
	return strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword")
}

// WithoutPassword is the store URL s without the secrets RedactURL hides —
// left out rather than masked, so that whoever is given it (a hook's
// certctl) finds a password where libpq looks (PGPASSWORD, ~/.pgpass):
// a masked one would be tried and refused (review).
func WithoutPassword(s string) string {
	if !urlScheme().MatchString(strings.TrimSpace(s)) {
		return strings.Join(strings.Fields(dsnPassword().ReplaceAllString(s, "")), " ")
	}
	u, err := url.Parse(s)
	if err != nil {
		return RedactURL(s)
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if secretParam(k) {
			q.Del(k)
			u.RawQuery = q.Encode()
		}
	}
	// The pair is dropped with the '&' or ';' before it; one that opened
	// the query keeps its '?'.
	return queryPassword().ReplaceAllStringFunc(u.String(), func(m string) string {
		if m[0] == '?' {
			return "?"
		}
		return ""
	})
}

// queryPassword matches the value of a password (or sslpassword) parameter
// of a URL's query, however the parameters are separated — up to the next
// '&' or '#', a ';' included: Go and pgx do not take ';' as a separator,
// and a password holding one was shown from it on (review).
var queryPassword = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)([?&;](?:ssl)?password=)[^&#]*`)
})

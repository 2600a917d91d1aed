// Package dnsname holds the rules that every name put in a certificate must
// follow. They are shared by `certctl request`, `certctl import` and the ACME
// server so that the three agree on what a valid name is.
//
// The rules mirror AWS Certificate Manager's: DNS-compliant labels, a wildcard
// only as the whole leftmost label, ACM's punycode rules for labels with
// hyphens in the 3rd and 4th positions, no Unicode U-labels, no IP addresses,
// no public suffixes or single-label names (INVALID_PUBLIC_DOMAIN), a common
// name of at most 64 octets and a quota of names per certificate. Unlike ACM,
// names under reserved or internal suffixes (.test, .example, .internal,
// .local, .lan, .localhost, .invalid, .home.arpa) are allowed, because a vault
// also serves private networks.
//
// Names are compared and stored in lower case; Normalize folds ASCII letters
// only, so no Unicode case folding can turn a rejected name into an accepted
// one.
package dnsname

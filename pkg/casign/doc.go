// Package casign is the signing core of certctl's built-in
// certificate authority (the analogue of AWS Private CA).
//
// It is pure domain code: it builds certificate templates, signs them,
// produces CRLs and answers OCSP requests, but it never persists anything and
// never reads the clock. Callers pass keys, serial numbers, times and lookups
// in, and store what comes out. In particular a caller must persist a serial
// number (see NewSerial) before it calls Sign, so that a crash can never lead
// to the same serial being issued twice.
package casign

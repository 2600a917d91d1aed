package acmeserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"net"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
)

// ServingValidity is the lifetime of a serving certificate issued at start.
const ServingValidity = 30 * 24 * time.Hour

// ServingCertificate issues, in tx, a TLS serving certificate for hosts
// (DNS names or IP literals) from the vault's default private CA, with a
// fresh P-256 key held only in memory. Clients trust it through
// `certctl ca trust-bundle`.
func ServingCertificate(tx localstore.Tx, svc *authority.Service, hosts []string) (*tls.Certificate, error) {
	caRec, err := svc.EnsureDefault(tx)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	issued, err := svc.IssueLeaf(tx, caRec, authority.LeafParams{Names: hosts, PublicKey: key.Public(), Validity: ServingValidity, GeneratedKey: true})
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{PrivateKey: key, Leaf: issued.Certificate}
	c.Certificate = append(c.Certificate, issued.Certificate.Raw)
	for _, ch := range issued.Chain {
		c.Certificate = append(c.Certificate, ch.Raw)
	}
	return c, nil
}

// ServingHosts are the names a serving certificate for listen address addr
// must carry: its host (or, for a wildcard address, localhost and the
// loopback addresses) plus any extra names.
func ServingHosts(addr string, extra ...string) []string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	var out []string
	if host == "" || host == "0.0.0.0" || host == "::" {
		out = []string{"localhost", "127.0.0.1", "::1"}
	} else {
		out = []string{host}
	}
	for _, e := range extra {
		if e != "" && !contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

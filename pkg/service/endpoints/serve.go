package endpoints

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net/url"
	"strings"

	"github.com/certctl/certctl/pkg/acmeserver"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/x509util"
)

// Listen is the address `endpoint serve` listens on when given none
// (endpoint.listen).
func (s *Service) Listen() string { return s.set.Listen }

// ServingCertificate issues a TLS serving certificate for listen address
// addr from the vault's default private CA (created on first use), its key
// held in memory only (IssueCertificate).
func (s *Service) ServingCertificate(ctx context.Context, addr string) (*tls.Certificate, error) {
	hosts := acmeserver.ServingHosts(addr)
	var cert *tls.Certificate
	err := s.core.Change(ctx, "IssueCertificate", func(op *service.Op) error {
		op.Param("Purpose", "endpoint serve TLS certificate")
		op.Param("DomainNames", hosts)
		ca, err := s.core.Authority.EnsureDefault(op.Tx)
		if err != nil {
			return err
		}
		op.Resource(s.core.Names.CAARN(ca.ID))
		if cert, err = acmeserver.ServingCertificate(op.Tx, s.core.Authority, hosts); err != nil {
			return err
		}
		op.Param("Serial", x509util.FormatSerial(cert.Leaf.SerialNumber))
		return nil
	})
	return cert, err
}

// challengeChecker checks the challenges of CHALLENGE endpoints through
// validation.resolvers on validation.http_port and
// validation.tls_alpn_port, CAA against validation.caa_identities. nil
// when no resolver can be found (each challenge then fails with a dns
// problem saying why).
func (s *Service) challengeChecker(logger *log.Logger) *validation.ChallengeChecker {
	r, err := validation.NewResolver(s.set.Resolvers)
	if err != nil {
		if logger != nil {
			logger.Printf("acme: challenges cannot be checked: %v", err)
		}
		return nil
	}
	c := &validation.ChallengeChecker{Resolver: r, HTTPPort: s.set.HTTPPort, TLSALPNPort: s.set.TLSALPNPort,
		CAAIdentities: s.set.CAAIdentities}
	if logger != nil {
		c.Logf = logger.Printf
	}
	return c
}

// Server returns the ACME server of every endpoint, with URLs under
// endpoint.base_url or else https://<addr> (the address it listens on),
// and the directory URL of each ACTIVE endpoint. Its changes go through
// this service's core, recorded as made by the ACME account that asked;
// its rate limits are acme.orders_per_hour and acme.new_accounts_per_hour.
// Until ctx ends, the server sweeps expired orders, authorizations and
// rate windows every acmeserver.SweepInterval.
func (s *Service) Server(ctx context.Context, addr string, logger *log.Logger) (*acmeserver.Server, []string, error) {
	if err := CheckBaseURL(s.set.BaseURL); err != nil {
		return nil, nil, errs.Invalidf("endpoint.base_url: %v", err).WithHint("certctl config set endpoint.base_url https://HOST[:PORT][/PATH]")
	}
	base := acmestate.BaseURL(s.set.BaseURL, addr)
	var dirs []string
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		dirs = dirs[:0]
		eps, err := acmestate.List(tx)
		for _, ep := range eps {
			if ep.Status == acmestate.StatusActive {
				dirs = append(dirs, acmestate.DirectoryURL(base, ep.ID))
			}
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	srv := acmeserver.New(acmeserver.Config{Core: s.core, BaseURL: base, Validity: s.set.Validity,
		DomainsPerCertificate: s.set.DomainsPerCertificate, Logger: logger, Challenges: s.challengeChecker(logger),
		Limits: acmeserver.Limits{OrdersPerHour: s.set.OrdersPerHour, NewAccountsPerHour: s.set.NewAccountsPerHour}})
	go srv.RunSweeper(ctx, acmeserver.SweepInterval)
	return srv, dirs, nil
}

// CheckBaseURL checks endpoint.base_url for endpoint serve: unset, or an
// https:// URL without a query or fragment — ACME clients use HTTPS only
// (RFC 8555 section 6.1) and endpoint serve serves TLS (a proxy in front
// passes it through or re-encrypts), and the server appends paths to it.
// The setting itself is loaded as any http(s) URL, so that a value set
// before this rule stops only the server, not every command (renew --due
// among them).
func CheckBaseURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https:// URL: ACME clients use HTTPS only, and endpoint serve serves TLS", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, "?#") {
		return fmt.Errorf("%q has a query or fragment: a base URL is scheme, host, port and path", v)
	}
	return nil
}

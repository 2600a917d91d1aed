package endpoints

import (
	"context"
	"crypto/tls"
	"log"

	"github.com/certctl/certctl/pkg/acmeserver"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
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
	if err := s.CheckBaseURL(); err != nil {
		return nil, nil, err
	}
	// A server's events are delivered as they come, every one: no later
	// pass delivers those a rest would skip (see events.HookRest).
	events.RunHookAlways()
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

// DrainEvents waits, at most events.HookTimeout, for the event hook runs
// the server queued (events.RunHookAlways): once it stopped taking
// requests, the events of its last ones are delivered too. The events it
// could not wait for are said (logger), to find in certctl events.
func (s *Service) DrainEvents(logger *log.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), events.HookTimeout)
	defer cancel()
	if n := events.WaitHooks(ctx); n > 0 && logger != nil {
		logger.Printf("acme: stopped with %d event(s) not delivered to the event hook (certctl events lists them)", n)
	}
}

// Ready is checked by endpoint serve before it listens or issues its
// serving certificate: endpoint.base_url is one it can serve (CheckBaseURL,
// exit 4) and it can answer from the vault (service.Core.ServerReady: a
// locked vault, exit 6 — also with --tls-cert, which issues nothing).
func (s *Service) Ready(ctx context.Context) error {
	if err := s.CheckBaseURL(); err != nil {
		return err
	}
	return s.core.ServerReady(ctx)
}

// CheckBaseURL refuses (exit 4) an endpoint.base_url endpoint serve cannot
// serve (config.CheckHTTPSBaseURL). The setting is loaded as any http(s)
// URL — a value written before the rule stops no other command, renew
// --due among them — so the server checks it before it does anything.
func (s *Service) CheckBaseURL() error {
	if err := config.CheckHTTPSBaseURL(s.set.BaseURL); err != nil {
		return errs.Invalidf("endpoint.base_url: %v", err).WithHint("certctl config set endpoint.base_url https://HOST[:PORT][/PATH]")
	}
	return nil
}

package endpoint

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmeserver"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/httpserve"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/service/endpoints"
)

// ServeOptions are the inputs of `endpoint serve`.
type ServeOptions struct {
	IO        *iostreams.IOStreams
	Endpoints func(context.Context) (*endpoints.Service, error)

	Listen  string
	TLSCert string
	TLSKey  string
	// Quiet (-q): no banner.
	Quiet func() bool
}

// NewCmdServe builds `certctl endpoint serve`.
func NewCmdServe(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: f.IO, Endpoints: cmdutil.Serving(f, f.Endpoints), Quiet: func() bool { return f.Globals.Quiet }}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--tls-cert F --tls-key F]",
		Short: "Serve every ACME endpoint over HTTPS",
		Long: `Run the RFC 8555 ACME server for every endpoint of the vault, at
https://HOST:PORT/<endpoint-uuid>/directory, with the vault's CRLs (/crl/<ca-uuid>.crl),
OCSP responder (/ocsp) and issuance counters (/metrics, Prometheus text).

The serving certificate is issued at start from the vault's default private CA
for the listen host (or localhost and the loopback addresses for a wildcard
address), so clients trust ` + "`certctl ca trust-bundle`" + `, and issued again at two
thirds of its 30-day lifetime while the server runs; --tls-cert/--tls-key supply
another, read again when either file changes (looked at every minute). URLs use endpoint.base_url when set — an https:// URL without a query or
fragment, else the server does not start (exit 4): ACME clients use HTTPS only, and
a proxy in front passes TLS through or re-encrypts — else https://<listen address>.
--listen defaults to endpoint.listen (127.0.0.1:8443). CRLs are served as ca serve
serves them (ETag, Expires, Cache-Control; 304 to If-None-Match). Runs until
interrupted; a stop waits 5 s for requests under way, then closes them (exit 0).

This process checks the challenges of CHALLENGE endpoints: http-01 on
validation.http_port (default 80), tls-alpn-01 on validation.tls_alpn_port
(default 443), names, TXT and CAA records through validation.resolvers (default
the system's), CAA naming one of validation.caa_identities.` + cmdutil.ServerExitStatus(0, 1, 2, 4, 5, 6),
		Example: `  certctl ca trust-bundle > roots.pem
  certctl endpoint serve --listen 127.0.0.1:8443
  REQUESTS_CA_BUNDLE=roots.pem certbot certonly --server https://127.0.0.1:8443/<uuid>/directory ...`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (opts.TLSCert == "") != (opts.TLSKey == "") {
				return errs.UsageErrorf("--tls-cert and --tls-key go together")
			}
			if runF != nil {
				return runF(opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", "", "`address` to listen on (default endpoint.listen, 127.0.0.1:8443)")
	cmdutil.MarkNonEmpty(fl, "listen", "endpoint.listen")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "serving certificate chain `file` (PEM)")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "serving private key `file` (PEM)")
	_ = cmd.MarkFlagFilename("tls-cert")
	_ = cmd.MarkFlagFilename("tls-key")
	return cmd
}

// runServe listens, gets a serving certificate (issued by the service, or
// read from --tls-cert/--tls-key), and serves the endpoints service's ACME
// server with httpserve's timeouts until ctx ends.
func runServe(ctx context.Context, o *ServeOptions) error {
	svc, err := o.Endpoints(ctx)
	if err != nil {
		return err
	}
	// Before anything is issued or bound: a base URL the server cannot
	// serve stops it (exit 4) with no serving certificate made, and so
	// does a vault it cannot answer from (locked: exit 6).
	if err := svc.Ready(ctx); err != nil {
		return err
	}
	listen := o.Listen
	if listen == "" {
		// The setting is checked here, where it is used: --listen
		// overrides a bad one.
		listen = svc.Listen()
		if err := config.CheckListenAddr(listen); err != nil {
			return errs.Invalidf("endpoint.listen: %v", err).WithHint("certctl config set endpoint.listen HOST:PORT, or give --listen")
		}
	}
	ln, err := cmdutil.Listen(listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	logger := httpserve.NewLog(o.IO.ErrOut)
	certs := servingCertificate(ctx, o, svc, listen)
	certs.Logf = logger.Printf
	if err := certs.Start(); err != nil {
		return err
	}
	srv, dirs, err := svc.Server(ctx, ln.Addr().String(), logger)
	if err != nil {
		return err
	}
	if o.Quiet == nil || !o.Quiet() {
		fmt.Fprintf(o.IO.ErrOut, "Serving ACME endpoints on %s (listening on %s)\n", srv.BaseURL(), ln.Addr())
		for _, d := range dirs {
			fmt.Fprintf(o.IO.ErrOut, "  %s\n", d)
		}
	}
	hs := httpserve.New(srv, &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12})
	hs.ErrorLog = logger // TLS handshake errors and the like, dated as the rest
	err = httpserve.Serve(ctx, hs, ln)
	// It takes no more requests: the refusals it counted and has not
	// recorded yet are recorded now (review: lost at shutdown).
	srv.Close()
	svc.DrainEvents(logger)
	if err != nil {
		return errs.Failuref("serve: %v", err)
	}
	// The log says why it ended (SIGINT, SIGTERM from systemctl stop).
	logger.Printf("acme: stopped (interrupted)")
	return nil
}

// servingCertificate is the serving certificate of the server: read from
// --tls-cert/--tls-key, and read again when they change (as certbot or
// `certctl deploy` replace them); or issued by the service for the listen
// address, and issued again at two thirds of its lifetime.
func servingCertificate(ctx context.Context, o *ServeOptions, svc *endpoints.Service, listen string) *httpserve.Certs {
	if o.TLSCert == "" {
		return &httpserve.Certs{Renew: true, Load: func() (*tls.Certificate, error) {
			// A store locked elsewhere: the certificate in use is kept,
			// and the issue tried again after a minute.
			ctx, cancel := context.WithTimeout(ctx, acmeserver.StoreWait)
			defer cancel()
			return svc.ServingCertificate(ctx, listen)
		}}
	}
	c := &httpserve.Certs{Load: func() (*tls.Certificate, error) {
		certPEM, err := cmdutil.ReadFileArg(o.IO, "tls-cert", o.TLSCert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := cmdutil.ReadFileArg(o.IO, "tls-key", o.TLSKey)
		if err != nil {
			return nil, err
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		clear(keyPEM)
		if err != nil {
			return nil, errs.Invalidf("--tls-cert/--tls-key: %v", err)
		}
		return &c, nil
	}}
	if o.TLSCert != "-" && o.TLSKey != "-" {
		// The files the arguments name (file://P and fileb://P too,
		// review: their stamps never changed).
		c.Files = []string{cmdutil.FileArgName(o.TLSCert), cmdutil.FileArgName(o.TLSKey)}
	}
	return c
}

package endpoint

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	acmeep "github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/acmeserver"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// ServeOptions are the flags of `endpoint serve`.
type ServeOptions struct {
	Listen  string
	TLSCert string
	TLSKey  string
}

// NewCmdServe builds `certctl endpoint serve`.
func NewCmdServe(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--tls-cert F --tls-key F]",
		Short: "Serve every ACME endpoint over HTTPS",
		Long: `Run the RFC 8555 ACME server for every endpoint of the vault, at
https://HOST:PORT/<endpoint-uuid>/directory, with the vault's CRLs (/crl/<ca-uuid>.crl),
OCSP responder (/ocsp) and issuance counters (/metrics, Prometheus text).

The serving certificate is issued at start from the vault's default private CA
for the listen host (or localhost and the loopback addresses for a wildcard
address), so clients trust ` + "`certctl ca trust-bundle`" + `; --tls-cert/--tls-key supply
another. URLs use endpoint.base_url when set, else https://<listen address>.
--listen defaults to endpoint.listen (127.0.0.1:8443). Runs until interrupted.` + cmdutil.ExitStatus(0, 1, 2, 6),
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
			return runServe(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", "", "`address` to listen on (default endpoint.listen, 127.0.0.1:8443)")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "serving certificate chain `file` (PEM)")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "serving private key `file` (PEM)")
	return cmd
}

func runServe(ctx context.Context, f *cmdutil.Factory, opts *ServeOptions) error {
	e, err := open(ctx, f)
	if err != nil {
		return err
	}
	listen := opts.Listen
	if listen == "" {
		listen = e.Cfg.EndpointListen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return errs.Failuref("listen on %s: %v", listen, err)
	}
	defer ln.Close()
	var cert *tls.Certificate
	if opts.TLSCert != "" {
		certPEM, err := cmdutil.ReadFileArg(f.IO, opts.TLSCert)
		if err != nil {
			return errs.Invalidf("--tls-cert: %v", err)
		}
		keyPEM, err := cmdutil.ReadFileArg(f.IO, opts.TLSKey)
		if err != nil {
			return errs.Invalidf("--tls-key: %v", err)
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		clear(keyPEM)
		if err != nil {
			return errs.Invalidf("--tls-cert/--tls-key: %v", err)
		}
		cert = &c
	} else {
		err = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
			cert, err = acmeserver.ServingCertificate(tx, e.Authority, acmeserver.ServingHosts(listen))
			return err
		})
		if err != nil {
			return cmdutil.VaultError(err)
		}
	}
	base := e.Cfg.EndpointBaseURL
	if base == "" {
		base = "https://" + ln.Addr().String()
	}
	core, err := f.Core(ctx)
	if err != nil {
		return err
	}
	srv := acmeserver.New(acmeserver.Config{
		Core: core, BaseURL: base,
		Validity: e.Cfg.CertificateValidity, DomainsPerCertificate: e.Cfg.DomainsPerCertificate,
		Logger: log.New(f.IO.ErrOut, "", log.LstdFlags),
	})
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12},
	}
	fmt.Fprintf(f.IO.ErrOut, "Serving ACME endpoints on %s\n", base)
	_ = e.V.Store.View(ctx, func(tx localstore.Tx) error {
		eps, err := acmeep.List(tx)
		for _, ep := range eps {
			if ep.Status == acmeep.StatusActive {
				fmt.Fprintf(f.IO.ErrOut, "  %s\n", acmeep.DirectoryURL(base, ep.ID))
			}
		}
		return err
	})
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		return errs.Failuref("serve: %v", err)
	}
	return nil
}

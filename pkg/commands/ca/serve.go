package ca

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/httpserve"
)

// ServeOptions are the inputs of `ca serve`.
type ServeOptions struct {
	Deps

	Listen string
	// Setting is the ca.listen setting, for a serve without --listen.
	Setting func() (string, error)
	// Quiet (-q): no banner.
	Quiet func() bool
}

// NewCmdCaServe builds `certctl ca serve`.
func NewCmdCaServe(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{Deps: newDeps(f)}
	opts.Authorities = cmdutil.Serving(f, f.Authorities)
	opts.Quiet = func() bool { return f.Globals.Quiet }
	opts.Setting = func() (string, error) {
		cfg, err := f.Config()
		if err != nil {
			return "", err
		}
		return cfg.CAListen, nil
	}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR]",
		Short: "Serve CRLs and OCSP over HTTP",
		Long: `Serve every CA's CRL at /crl/<ca-uuid>.crl (DER), each CRL partition of a
PARTITIONED CA at /crl/<ca-uuid>/<n>.crl, and an OCSP responder at /ocsp
(RFC 6960 GET and POST, nonce echoed), for the URLs that issued certificates
carry when ca.base_url is set — for a CA whose revocation configuration turned
CRL or OCSP off too, since the certificates it issued before still carry them
(new ones do not); /healthz answers 200 while the store answers
and the vault's key is usable, 503 otherwise (as endpoint serve's does). A CRL is signed when it is asked for and
served again, the same CRL, while it is less than an hour old and neither a
revocation nor a change to its CA (ca crl, ca update, its status, a new CA
certificate) has come since: the next GET after a revocation lists it.
The servers of one store (ca serve, endpoint serve) record in it the number
and date of the CRLs they sign and sign theirs with the highest recorded,
so they serve the same CRL number, and one server's numbers only grow.
A GET never waits for the store: while it cannot be written (another
process holds its write lock), each server serves a new CRL under its own
number, higher than its last; they agree again within a GET or two of each
after (servers whose clocks differ: once the slower clock reaches the date of
the CRL recorded, at most an hour).
Its CRLs and OCSP responses are dated (thisUpdate) a minute before they are
signed, as certificates are, for clocks a little behind.
A CRL carries an ETag (its number and date), Last-Modified (thisUpdate),
Expires (nextUpdate) and Cache-Control max-age of 5 minutes at most, so that
a cache in front (a CDN, a proxy) serves it and a revocation reaches it within
that; a GET naming its ETag (If-None-Match) gets 304.
Runs until interrupted.` + cmdutil.ServerExitStatus(0, 1, 2, 4, 5, 6),
		Example: `  certctl config set ca.base_url http://pki.internal:8080
  certctl ca serve --listen :8080`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "`address` to listen on (default ca.listen: 127.0.0.1:8080)")
	// Empty, it would serve where the setting says (tester: validate
	// serve-http refuses it, endpoint serve served the default).
	cmdutil.MarkNonEmpty(cmd.Flags(), "listen", "ca.listen")
	return cmd
}

func runCaServe(ctx context.Context, o *ServeOptions) error {
	_, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	listen := o.Listen
	if listen == "" && o.Setting != nil {
		// The setting is checked here, where it is used: --listen
		// overrides a bad one.
		if listen, err = o.Setting(); err != nil {
			return err
		}
		if err := config.CheckListenAddr(listen); err != nil {
			return errs.Invalidf("ca.listen: %v", err).WithHint("certctl config set ca.listen HOST:PORT, or give --listen")
		}
	}
	// A request that cannot be answered (the token of a PKCS11 CA down)
	// says why on stderr, naming the setting to fix. A vault it cannot
	// answer from (locked) stops it before it listens (exit 6).
	h, err := svc.Responder(ctx, func(format string, a ...any) {
		fmt.Fprintf(o.IO.ErrOut, "certctl: ca serve: "+format+"\n", a...)
	})
	if err != nil {
		return err
	}
	ln, err := cmdutil.Listen(listen)
	if err != nil {
		return err
	}
	srv := httpserve.New(h, nil)
	if o.Quiet == nil || !o.Quiet() {
		fmt.Fprintf(o.IO.ErrOut, "Serving CRLs and OCSP on http://%s\n", ln.Addr())
	}
	if err := httpserve.Serve(ctx, srv, ln); err != nil {
		return &errs.Error{Exit: errs.ExitFailure, Msg: "serve", Err: err}
	}
	// Its log says why it ended (SIGINT, SIGTERM from systemctl stop).
	fmt.Fprintln(o.IO.ErrOut, "ca serve: stopped (interrupted)")
	return nil
}

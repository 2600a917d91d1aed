package validate

import (
	"context"
	"errors"
	"fmt"
	stdio "io"
	"net"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/httpserve"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/validations"
)

func usageErr(msg string) error { return errs.UsageErrorf("%s", msg) }

// ApproveOptions are the inputs of validate approve: its dependencies, as
// functions that tests replace, and its flag values.
type ApproveOptions struct {
	Printer     func() (*output.Printer, error)
	Validations func(context.Context) (*validations.Service, error)
	IO          *iostreams.IOStreams
	// Quiet is the global -q: no note on stderr.
	Quiet bool

	Code string
}

// NewCmdApprove builds `certctl validate approve`.
func NewCmdApprove(f *cmdutil.Factory, runF func(*ApproveOptions) error) *cobra.Command {
	opts := &ApproveOptions{Printer: f.Printer, Validations: f.Validations, IO: f.IO}
	cmd := &cobra.Command{
		Use:   "approve --code CODE",
		Short: "Approve a name with the code of its validation email",
		Long: `Approve the name an EMAIL validation message was sent for, with the code the
message carries ("Approval code: …"). The certificate is issued when its
last name is approved. For the re-approval of a renewal (an ISSUED
certificate whose RenewalSummary is PENDING_VALIDATION) the name is marked
validated, and the next renew --due (or renew ARN) issues the new version
once every name is. A code works once, for 72 hours; resending the email
replaces it. A used, replaced or expired code is refused (exit 5); an unknown
one is not found (exit 3); --code - with nothing on standard input is invalid input (exit 4).

--code - reads the code from standard input (asked for, not echoed, on a
terminal), so that a live code stays out of the process list and the shell's
history.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl validate approve --code 7KQ2M4XN5T3JH6PB2W7C4D6FZR5VAY3Z
  certctl validate approve --code -      # paste it at the prompt
  grep -o 'Approval code: .*' mail.eml | cut -d' ' -f3 | certctl validate approve --code -`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Code == "" {
				return usageErr("--code is required")
			}
			if opts.Code == "-" {
				code, err := readCode(opts.IO)
				if err != nil {
					return err
				}
				opts.Code = code
			}
			opts.Quiet = f.Globals.Quiet
			if runF != nil {
				return runF(opts)
			}
			return runApprove(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Code, "code", "", "the approval `code` from the validation email (- reads it from stdin)")
	return cmd
}

// readCode reads an approval code for --code -: at a prompt without echo
// on a terminal, else the first line of standard input.
func readCode(io *iostreams.IOStreams) (string, error) {
	var b []byte
	if io.CanPrompt() {
		fmt.Fprint(io.ErrOut, "Approval code: ")
		var err error
		b, err = io.ReadPassword()
		fmt.Fprintln(io.ErrOut)
		if errors.Is(err, iostreams.ErrInterrupted) {
			return "", &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted"}
		}
		if errors.Is(err, stdio.EOF) {
			return "", errs.Invalidf("--code -: no code given (end of input)")
		}
		if err != nil {
			return "", errs.Invalidf("--code -: reading the code: %v", err)
		}
	} else {
		var err error
		if b, err = cmdutil.ReadFileArg(io, "code", "-"); err != nil {
			return "", err // names the flag (exit 4)
		}
	}
	code, _, _ := strings.Cut(string(b), "\n")
	if code = strings.TrimSpace(code); code == "" {
		return "", errs.Invalidf("--code -: no code on standard input")
	}
	return code, nil
}

func runApprove(ctx context.Context, o *ApproveOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Validations(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Approve(ctx, o.Code)
	if err != nil {
		return err
	}
	if !o.Quiet {
		fmt.Fprintf(o.IO.ErrOut, "approved %s; certificate %s is %s\n", output.Sanitize(res.DomainName), res.ID, res.Status)
		if res.RenewalReady {
			fmt.Fprintf(o.IO.ErrOut, "every name is approved: the next `certctl renew --due` (or `certctl renew %s`) renews it\n", res.ID)
		}
	}
	return printCertificate(p.Acknowledge, res.Certificate)
}

// ServeOptions are the inputs of validate serve-http: its dependencies, as
// functions that tests replace, and its flag values.
type ServeOptions struct {
	Validations func(context.Context) (*validations.Service, error)
	IO          *iostreams.IOStreams
	// Quiet is the global -q: no note on stderr.
	Quiet bool

	Listen string
	// BaseURL is validation.http_base_url, where RedirectTo URLs point:
	// without --listen, a base URL of an IP address and port is listened
	// on, and one this server does not answer is warned of.
	BaseURL string
	// ListenGiven reports whether --listen was given.
	ListenGiven bool
}

// listenAddr is where serve-http listens: --listen when given; else the
// base URL's own address when it is an IP address with a port (the
// RedirectTo URLs then reach this server: tester, they pointed at a port
// nothing served), else the default. note warns when the RedirectTo URLs
// point at another port than the one listened on.
func (o *ServeOptions) listenAddr() (addr, note string) {
	addr = o.Listen
	u, err := url.Parse(o.BaseURL)
	if o.BaseURL == "" || err != nil || u.Host == "" {
		return addr, ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if u.Scheme == "https" {
		// This server speaks plain HTTP: only a TLS proxy in front of it
		// answers an https base URL (verification tester).
		return addr, fmt.Sprintf("note: validation.http_base_url is %s, but serve-http serves plain HTTP: put a TLS proxy in front of it (on %s) or make the base URL http://", o.BaseURL, addr)
	}
	if !o.ListenGiven && u.Port() != "" && net.ParseIP(u.Hostname()) != nil {
		addr = net.JoinHostPort(u.Hostname(), port)
		// Said even with -q: the address came from the configuration,
		// not the command line, and may be wider than loopback (review).
		return addr, fmt.Sprintf("listening on %s, the address of validation.http_base_url (%s)", addr, o.BaseURL)
	}
	if _, lport, err := net.SplitHostPort(addr); err == nil && lport != port {
		note = fmt.Sprintf("note: validation.http_base_url is %s, but this server listens on port %s: unless a proxy forwards %s to it, the RedirectTo URLs reach nothing (give --listen with port %s)",
			o.BaseURL, lport, o.BaseURL, port)
	}
	return addr, note
}

// NewCmdServeHTTP builds `certctl validate serve-http`.
func NewCmdServeHTTP(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{Validations: cmdutil.Serving(f, f.Validations), IO: f.IO}
	cmd := &cobra.Command{
		Use:   "serve-http [--listen ADDR]",
		Short: "Serve the files of HTTP validations",
		Long: `Serve, over plain HTTP, the content of every HTTP validation at its
RedirectTo URL: validation.http_base_url/<token>.txt — of pending requests,
and of issued certificates, whose renewal checks the redirect again (until
they are revoked or expire). Point validation.http_base_url at this server
(directly or through a proxy) and redirect each RedirectFrom URL
(http://NAME/.well-known/pki-validation/<token>.txt) to its RedirectTo; keep
both in place for renew --due to renew the certificate. Without --listen, a validation.http_base_url of an IP address
and a port (http://127.0.0.1:18081) is listened on (said on stderr, even with -q);
one whose port is not the listening one, or an https:// one (this server speaks
plain HTTP: a TLS proxy goes in front), is warned of. Runs until interrupted.` + cmdutil.ServerExitStatus(0, 1, 2, 4, 5, 6),
		Example: `  certctl validate serve-http --listen 0.0.0.0:8080`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked as ca serve and endpoint serve check theirs (exit 4).
			if err := config.CheckListenAddr(opts.Listen); err != nil {
				return errs.Invalidf("--listen: %v", err)
			}
			opts.ListenGiven = cmd.Flags().Changed("listen")
			c, err := f.Config()
			if err != nil {
				return err
			}
			opts.BaseURL = c.HTTPBaseURL
			opts.Quiet = f.Globals.Quiet
			if runF != nil {
				return runF(opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "`address` to listen on (host:port; without it validation.http_base_url's address when that is an IP and port, else this)")
	cmdutil.MarkNonEmpty(cmd.Flags(), "listen", "127.0.0.1:8080, or validation.http_base_url's address")
	return cmd
}

func runServe(ctx context.Context, o *ServeOptions) error {
	svc, err := o.Validations(ctx)
	if err != nil {
		return err
	}
	addr, note := o.listenAddr()
	ln, err := cmdutil.Listen(addr)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(o.IO.ErrOut, note) // even with -q: the validations would fail
	}
	if !o.Quiet {
		fmt.Fprintf(o.IO.ErrOut, "serving validation files on http://%s/\n", ln.Addr())
	}
	if err := httpserve.Serve(ctx, httpserve.New(svc.HTTPHandler(), nil), ln); err != nil {
		return &errs.Error{Exit: errs.ExitFailure, Msg: "serve-http", Err: err}
	}
	return nil
}

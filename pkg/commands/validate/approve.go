package validate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/validation"
)

func usageErr(msg string) error { return errs.UsageErrorf("%s", msg) }

// ApproveOptions are the inputs of validate approve.
type ApproveOptions struct {
	Factory *cmdutil.Factory
	Code    string
}

// NewCmdApprove builds `certctl validate approve`.
func NewCmdApprove(f *cmdutil.Factory, runF func(*ApproveOptions) error) *cobra.Command {
	opts := &ApproveOptions{Factory: f}
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
one is not found (exit 3).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl validate approve --code 7KQ2M4XN5T3JH6PB2W9C4D8F1R5V0Y3Z`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Code == "" {
				return usageErr("--code is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runApprove(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Code, "code", "", "the approval `code` from the validation email")
	return cmd
}

func runApprove(ctx context.Context, o *ApproveOptions) error {
	e, err := o.Factory.OpenEnv(ctx)
	if err != nil {
		return err
	}
	em := e.Emitter()
	c, name, err := NewService(e).Approve(ctx, o.Code, em)
	if err != nil {
		return cmdutil.VaultError(err)
	}
	e.Deliver(ctx, em)
	if !o.Factory.Globals.Quiet {
		fmt.Fprintf(o.Factory.IO.ErrOut, "approved %s; certificate %s is %s\n", name, c.ID, c.Status)
		if validation.RenewalPending(c) && validation.AllValidated(c) {
			fmt.Fprintf(o.Factory.IO.ErrOut, "every name is approved: the next `certctl renew --due` (or `certctl renew %s`) renews it\n", c.ID)
		}
	}
	return printCertificate(e, c)
}

// ServeOptions are the inputs of validate serve-http.
type ServeOptions struct {
	Factory *cmdutil.Factory
	Listen  string
}

// NewCmdServeHTTP builds `certctl validate serve-http`.
func NewCmdServeHTTP(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve-http [--listen ADDR]",
		Short: "Serve the files of pending HTTP validations",
		Long: `Serve, over plain HTTP, the content of every pending HTTP validation at its
RedirectTo URL: validation.http_base_url/<token>.txt. Point
validation.http_base_url at this server (directly or through a proxy) and
redirect each RedirectFrom URL (http://NAME/.well-known/pki-validation/<token>.txt)
to its RedirectTo. Runs until interrupted.` + cmdutil.ExitStatus(0, 1, 2, 6),
		Example: `  certctl validate serve-http --listen 0.0.0.0:8080`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
				return errs.UsageErrorf("--listen %q: %v", opts.Listen, err)
			}
			if runF != nil {
				return runF(opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "`address` to listen on (host:port)")
	return cmd
}

func runServe(ctx context.Context, o *ServeOptions) error {
	e, err := o.Factory.OpenEnv(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return errs.Failuref("listen on %s: %v", o.Listen, err)
	}
	srv := &http.Server{Handler: validation.HTTPHandler(e.V.Store), ReadHeaderTimeout: 10 * time.Second}
	if !o.Factory.Globals.Quiet {
		fmt.Fprintf(o.Factory.IO.ErrOut, "serving validation files on http://%s/\n", ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return errs.Failuref("serve-http: %v", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errs.Failuref("serve-http: %v", err)
	}
	return nil
}

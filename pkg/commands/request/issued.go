package request

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/validate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/validation"
)

// runIssued requests a domain-validated (ISSUED) certificate: a
// PENDING_VALIDATION record with one validation per name, issued from the
// built-in public-style CA once every name is validated (section 4).
func runIssued(ctx context.Context, o *Options, names []string, tags []localstore.Tag, export, ct string) error {
	method := strings.ToUpper(o.ValidationMethod)
	var dvo []validation.DomainValidationOption
	for _, s := range o.DVOptions {
		opt, err := validation.ParseDomainValidationOption(s)
		if err != nil {
			return errs.UsageErrorf("--domain-validation-options: %v", err)
		}
		dvo = append(dvo, opt)
	}
	var timeout time.Duration
	if o.Wait {
		var err error
		if timeout, err = validate.ParseTimeout(o.Timeout); err != nil {
			return err
		}
	}
	cfg, err := o.Factory.Config()
	if err != nil {
		return err
	}
	req := validation.Request{Method: method, Names: names, Options: dvo}
	if _, err := (&validation.Service{Settings: validate.Settings(cfg)}).CheckRequest(req); err != nil {
		return err
	}
	if export == "" {
		export = "DISABLED" // ACM: public certificates are not exportable unless asked
	}
	if ct == "" {
		ct = "ENABLED"
	}
	e, err := o.Factory.OpenEnv(ctx)
	if err != nil {
		return err
	}
	svc := validate.NewService(e)
	args := map[string]any{"type": inventory.TypeIssued, "names": names, "alg": o.KeyAlgorithm, "method": method,
		"dvo": dvo, "export": export, "ct": ct, "tags": tags}
	now := o.Factory.Now()
	var id string
	var msgs []validation.Message
	err = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
		msgs = nil
		if id, err = inventory.LookupIdempotent(tx, o.IdempotencyToken, args, now); err != nil || id != "" {
			return err
		}
		id = uuid.NewString()
		c := inventory.NewIssuedRecord(id, inventory.TypeIssued, "", tags, export, ct, now)
		c.KeyAlgorithm = o.KeyAlgorithm
		if msgs, err = svc.Prepare(tx, c, req); err != nil {
			return err
		}
		return inventory.RecordIdempotent(tx, o.IdempotencyToken, args, id, now)
	})
	if err != nil {
		return cmdutil.VaultError(err)
	}
	arnStr := e.Names.CertificateARN(id)
	stderr, quiet := o.Factory.IO.ErrOut, o.Factory.Globals.Quiet
	if err := svc.Send(ctx, msgs); err != nil {
		fmt.Fprintf(stderr, "certctl: warning: the validation email could not be sent: %v\n", err)
		fmt.Fprintf(stderr, "hint: fix the smtp.* settings, then run `certctl resend-validation-email %s --domain NAME --validation-domain DOMAIN`\n", id)
	} else if !quiet && len(msgs) > 0 && e.Cfg.SMTPAddr == "" {
		fmt.Fprintf(stderr, "no smtp.addr configured: wrote %d validation messages to %s\n", len(msgs), validate.OutboxDir(e.V.Dir))
	}
	if !quiet && !o.Wait {
		switch method {
		case validation.MethodDNS:
			fmt.Fprintf(stderr, "create the CNAME records (`certctl describe %s --validation-records bind`), then run `certctl validate check %s`\n", id, id)
		case validation.MethodHTTP:
			fmt.Fprintf(stderr, "redirect each RedirectFrom to its RedirectTo (`certctl describe %s`), run `certctl validate serve-http`, then `certctl validate check %s`\n", id, id)
		}
	}
	if err := e.P.Print(Result{CertificateArn: arnStr}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Requested", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	}); err != nil {
		return err
	}
	if !o.Wait {
		return nil
	}
	out, err := validate.Wait(ctx, e, svc, id, timeout)
	if err != nil {
		return err
	}
	return validate.TerminalError(out.Certificate)
}

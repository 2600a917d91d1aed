package validate

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/validation"
)

func wantUsage[O any](t *testing.T, name string, parse func(...string) (*O, error), cases [][]string) {
	t.Helper()
	for _, args := range cases {
		if _, err := parse(args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%s %q: exit %d (%v), want 2", name, args, errs.ExitCodeOf(err), err)
		}
	}
}

func TestCheckFlags(t *testing.T) {
	parse := func(args ...string) (*CheckOptions, error) { return flagtest.Parse(t, NewCmdCheck, args...) }
	o, err := parse("3f2a1b9c")
	if err != nil || o.ID != "3f2a1b9c" || o.Wait || o.Timeout != 10*time.Minute {
		t.Fatalf("check ARN: %+v, %v", o, err)
	}
	if o.Printer == nil || o.Validations == nil || o.IO == nil {
		t.Fatalf("dependencies not set: %+v", o)
	}
	o, err = parse("--certificate-arn", "3f2a1b9c", "--wait", "--timeout", "30s")
	if err != nil || o.ID != "3f2a1b9c" || !o.Wait || o.Timeout != 30*time.Second {
		t.Fatalf("check --wait --timeout 30s: %+v, %v", o, err)
	}
	wantUsage(t, "check", parse, [][]string{
		{},
		{"3f2a1b9c", "--timeout", "30s"}, // --timeout without --wait
		{"3f2a1b9c", "--wait", "--timeout", "soon"},
		{"3f2a1b9c", "--wait", "--timeout", "0s"},
		{"a", "b"},
	})
}

func TestApproveFlags(t *testing.T) {
	parse := func(args ...string) (*ApproveOptions, error) { return flagtest.Parse(t, NewCmdApprove, args...) }
	o, err := parse("--code", "7KQ2M4XN5T3JH6PB2W7C4D6FZR5VAY3Z")
	if err != nil || o.Code != "7KQ2M4XN5T3JH6PB2W7C4D6FZR5VAY3Z" || o.Printer == nil || o.Validations == nil || o.IO == nil {
		t.Fatalf("approve --code: %+v, %v", o, err)
	}
	wantUsage(t, "approve", parse, [][]string{{}, {"7KQ2M4XN5T3JH6PB2W7C4D6FZR5VAY3Z"}, {"--code", "X", "extra"}})
}

func TestServeHTTPFlags(t *testing.T) {
	parse := func(args ...string) (*ServeOptions, error) { return flagtest.Parse(t, NewCmdServeHTTP, args...) }
	o, err := parse()
	if err != nil || o.Listen != "127.0.0.1:8080" || o.ListenGiven || o.Validations == nil || o.IO == nil {
		t.Fatalf("serve-http: %+v, %v", o, err)
	}
	if o, err = parse("--listen", "0.0.0.0:8081"); err != nil || o.Listen != "0.0.0.0:8081" || !o.ListenGiven {
		t.Fatalf("--listen: %+v, %v", o, err)
	}
	wantUsage(t, "serve-http", parse, [][]string{{"extra"}})
	// An address that is not host:port is invalid input (exit 4), as for
	// ca serve and endpoint serve.
	for _, bad := range []string{"8080", "nohost"} {
		if _, err := parse("--listen", bad); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("--listen %s: %v (exit %d), want exit 4", bad, err, errs.ExitCodeOf(err))
		}
	}
}

func TestResendFlags(t *testing.T) {
	parse := func(args ...string) (*ResendOptions, error) {
		return flagtest.Parse(t, NewCmdResendValidationEmail, args...)
	}
	o, err := parse("3f2a1b9c", "--domain", "www.shop.example.com", "--validation-domain", "example.com")
	if err != nil || o.ID != "3f2a1b9c" || o.Domain != "www.shop.example.com" || o.ValidationDomain != "example.com" ||
		o.Printer == nil || o.Validations == nil || o.IO == nil {
		t.Fatalf("resend: %+v, %v", o, err)
	}
	if o, err = parse("--certificate-arn", "3f2a1b9c", "--domain", "a.test", "--validation-domain", "a.test"); err != nil || o.ID != "3f2a1b9c" {
		t.Fatalf("--certificate-arn alias: %+v, %v", o, err)
	}
	wantUsage(t, "resend-validation-email", parse, [][]string{
		{"3f2a1b9c", "--domain", "a.test"},
		{"3f2a1b9c", "--validation-domain", "a.test"},
		{"--domain", "a.test", "--validation-domain", "a.test"},
	})
}

// --code - reads the code from standard input (its first line, trimmed),
// and refuses an empty one; on a terminal it asks without echo.
func TestApproveCodeFromStdin(t *testing.T) {
	run := func(stdin string, tty bool, prompted []byte) (*ApproveOptions, string, error) {
		ios, in, _, errOut := iostreams.Test()
		in.WriteString(stdin)
		ios.SetTTY(tty)
		ios.ReadPassword = func() ([]byte, error) { return prompted, nil }
		var got *ApproveOptions
		cmd := NewCmdApprove(cmdutil.New(ios, "test"), func(o *ApproveOptions) error { got = o; return nil })
		cmd.SetArgs([]string{"--code", "-"})
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		return got, errOut.String(), err
	}
	const code = "7KQ2M4XN5T3JH6PB2W7C4D6FZR5VAY3Z"
	if o, _, err := run("  "+code+"  \nrest\n", false, nil); err != nil || o.Code != code {
		t.Fatalf("--code - from a pipe: %+v, %v", o, err)
	}
	if o, prompt, err := run("", true, []byte(code)); err != nil || o.Code != code || !strings.Contains(prompt, "Approval code:") {
		t.Fatalf("--code - on a terminal: %+v, %q, %v", o, prompt, err)
	}
	ios, _, _, _ := iostreams.Test()
	ios.SetTTY(true) // its ReadPassword answers io.EOF: Ctrl-D at the prompt
	if _, err := readCode(ios); errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "end of input") {
		t.Fatalf("--code - with Ctrl-D at the prompt: %v (exit %d), want exit 4", err, errs.ExitCodeOf(err))
	}
	if _, _, err := run("\n", false, nil); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Fatalf("--code - with nothing on stdin: %v (exit %d), want exit 4", err, errs.ExitCodeOf(err))
	}
}

// TestApproveExampleCodeIsWellFormed: the code in approve's examples is
// one a mail could carry, so that a newcomer copying it is told it is
// unknown (exit 3), not that it is no code (tester: it held 0, 1, 8, 9).
func TestApproveExampleCodeIsWellFormed(t *testing.T) {
	ex := NewCmdApprove(cmdutil.New(nil, "test"), nil).Example
	n := 0
	for _, f := range strings.Fields(ex) {
		if len(f) == 32 {
			n++
			if err := validation.CheckCodeSyntax(f); err != nil {
				t.Errorf("example code %s: %v", f, err)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no 32-character code in the examples:\n%s", ex)
	}
}

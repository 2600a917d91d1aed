// Package app is certctl's entry point: it builds the command tree, runs it,
// and maps every outcome to an exit code. main and the end-to-end tests both
// call Main or Run.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/root"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fastpath"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service"
)

// Version returns the build's version (set with -ldflags "-X
// github.com/certctl/certctl/pkg/fastpath.version=…"), falling back to the
// module version.
func Version() string {
	if v := fastpath.Version(); v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// SignalGrace is how long after a first interruption a second one is
// taken for the same one delivered again rather than an insistence.
const SignalGrace = time.Second

// interruptContext is a context that the first SIGINT or SIGTERM cancels,
// its cause an Interruption naming the signal; from grace after it on, the
// signals have their default action again.
func interruptContext(grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	stop := func() {
		signal.Stop(ch)
		cancel(context.Canceled)
	}
	go func() {
		select {
		case sig := <-ch:
			s, _ := sig.(syscall.Signal)
			cancel(Interruption{Signal: s})
		case <-ctx.Done():
			return
		}
		time.Sleep(grace)
		signal.Stop(ch)
	}()
	return ctx, stop
}

// Interruption is the cause of a context a signal cancelled: a command it
// stops exits 128 plus the signal's number (130 for SIGINT, 143 for
// SIGTERM), as a shell reports a process the signal killed, unless it has
// an exit code of its own to report (a batch reports what it did and
// exits 7).
type Interruption struct{ Signal syscall.Signal }

func (i Interruption) Error() string { return "interrupted by " + signalName(i.Signal) }

// Is makes an Interruption a context.Canceled, as the cause of a
// cancelled context is one.
func (i Interruption) Is(target error) bool { return target == context.Canceled }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// interrupted is err as the exit code of an interruption when the
// interruption, the cause of ctx, is what ended the command: a failure
// (exit 1, "interrupted") that a signal caused exits 128 + its number.
func interrupted(ctx context.Context, err error) error {
	var in Interruption
	if !errors.As(context.Cause(ctx), &in) || errs.ExitCodeOf(err) != errs.ExitFailure {
		return err
	}
	out := &errs.Error{Exit: errs.ExitSignal(int(in.Signal)), Code: "Interrupted", Err: err}
	if ce := (*errs.Error)(nil); errors.As(err, &ce) {
		out.Hint, out.Silent = ce.Hint, ce.Silent
	}
	return out
}

// Main runs certctl on the process's arguments and streams.
func Main() int {
	// The first SIGINT (Ctrl-C) or SIGTERM (systemctl stop) cancels ctx:
	// a batch then starts nothing new, reports what it did and exits 7,
	// and endpoint serve shuts down. A second one, from SignalGrace after
	// the first on, is not waited for: it stops the process as if certctl
	// did not handle signals at all. One within the grace is the same
	// interruption delivered twice — timeout(1) and a process-group kill
	// signal certctl itself and its group — which killed a deploy
	// between installing its files and recording them (tester).
	protectEnviron()
	ctx, stop := interruptContext(SignalGrace)
	defer stop()
	ios := iostreams.System()
	ios.SetInterrupt(ctx.Done())
	f := cmdutil.New(ios, Version())
	// Collecting less often makes large CRLs and audit reports about a
	// fifth faster for a little more memory.
	f.TuneGC(400, 0)
	code := Run(ctx, f, os.Args[1:])
	var in Interruption
	if errors.As(context.Cause(ctx), &in) && code == errs.ExitSignal(int(in.Signal)) {
		// Stopped by the signal: die of it, as a process that does not
		// handle it does, so that a shell running certctl in a script
		// stops the script too (bash goes on after a child that exited
		// 130 — review). Where that cannot be done, the code says it.
		dieOf(in.Signal)
	}
	return int(code)
}

// Run runs certctl with args and returns the exit code. No panic escapes.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) (code errs.ExitCode) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(f.IO.ErrOut, "certctl: internal error: %v\n", p)
			if f.Getenv("CERTCTL_DEBUG") != "" {
				fmt.Fprintf(f.IO.ErrOut, "%s\n", debug.Stack())
			} else {
				fmt.Fprintln(f.IO.ErrOut, "hint: this is a bug; run again with CERTCTL_DEBUG=1 for details and report it")
			}
			code = errs.ExitFailure
		}
	}()
	cmd := root.NewCmdRootFor(f, args)
	cmd.SetArgs(args)
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	_, err := cmd.ExecuteContextC(ctx)
	if dir := f.CreatedEmptyVault(); err == nil && dir != "" && !f.Globals.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "certctl: %s\n", emptyVaultNotice(dir))
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = service.MapError(cerr)
	}
	if err == nil {
		return errs.ExitOK
	}
	err = interrupted(ctx, classify(err))
	if f.Globals.Output == "" {
		// Flag parsing may have stopped before -o: look for it in args.
		f.Globals.Output = outputFromArgs(args)
	}
	printError(f, err)
	return errs.ExitCodeOf(err)
}

// classify gives an exit code to the errors cobra itself returns.
func classify(err error) error {
	var ce *errs.Error
	if errors.As(err, &ce) {
		return err
	}
	msg := err.Error()
	if m := requiredFlags(msg); m != "" {
		return &errs.Error{Exit: errs.ExitUsage, Msg: m}
	}
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "required flag", "accepts ", "requires ", "if any flags in the group", "bad flag syntax"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, p) {
			return &errs.Error{Exit: errs.ExitUsage, Msg: msg}
		}
	}
	if errors.Is(err, context.Canceled) {
		return &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted"}
	}
	return err
}

// requiredFlags rewrites cobra's message for missing required flags
// (`required flag(s) "a", "b" not set`) in the words certctl's own checks
// use (`--private-key is required`), so that every missing flag reads
// alike; "" for any other message.
func requiredFlags(msg string) string {
	list, ok := strings.CutPrefix(msg, "required flag(s) ")
	if !ok {
		return ""
	}
	list, ok = strings.CutSuffix(list, " not set")
	if !ok {
		return ""
	}
	var names []string
	for _, n := range strings.Split(list, ", ") {
		names = append(names, "--"+strings.Trim(n, `"`))
	}
	return cmdutil.RequiredWords(names)
}

// emptyVaultNotice says that a command found no vault in dir and made a
// new, empty one there.
func emptyVaultNotice(dir string) string {
	return "there was no vault in " + output.Sanitize(dir) + ": this command made a new, empty one there — is it the vault you meant (--vault, CERTCTL_VAULT)?"
}

func printError(f *cmdutil.Factory, err error) {
	var ce *errs.Error
	if errors.As(err, &ce) && ce.Silent {
		return
	}
	msg := shortenLongWords(err.Error())
	// What an error quotes may come from outside (an argument, a file, a
	// name): its control characters are shown escaped, line by line —
	// but for the tabs that indent a line (pgconn's attempts, each on a
	// line of its own), shown as the indentation they are, not \x09.
	fmt.Fprintf(f.IO.ErrOut, "certctl: %s\n", output.SanitizeLines(indentTabs(msg)))
	code := errs.ExitCodeOf(err)
	if dir := f.CreatedVault(); code == errs.ExitNotFound && dir != "" {
		// Not found in a vault this very command made: most likely a
		// mistyped --vault, or sudo's HOME (tester: nothing said which
		// vault was searched). Said instead of the error's own hint,
		// which would send the user on in the wrong vault (review: the
		// default CA's "the first request … makes it").
		fmt.Fprintf(f.IO.ErrOut, "hint: %s\n", emptyVaultNotice(dir))
	} else if ce != nil && ce.Hint != "" {
		fmt.Fprintf(f.IO.ErrOut, "hint: %s\n", output.SanitizeLines(indentTabs(ce.Hint)))
	} else if code == errs.ExitUsage && (ce == nil || !ce.NoHelpHint) {
		fmt.Fprintln(f.IO.ErrOut, "hint: run with --help for usage")
	}
	if f.Globals.Output == "json" {
		name := "InternalFailure"
		if ce != nil {
			name = ce.CodeName()
		}
		type errorObject struct {
			Code     string `json:"Code"`
			Message  string `json:"Message"`
			ExitCode int    `json:"ExitCode"`
		}
		b, _ := json.Marshal(map[string]errorObject{"Error": {Code: name, Message: msg, ExitCode: int(code)}})
		fmt.Fprintln(f.IO.ErrOut, string(b))
	}
}

// maxErrorWord is the longest run of characters without a space an error
// message shows whole: a domain name has at most 253, an ARN about 100, a
// path rarely more than a few hundred.
const maxErrorWord = 512

// maxErrorMessage is the longest error message shown whole: ample for a
// list of candidates (an ambiguous prefix names them all), far below a
// value of 100 KB quoted back.
const maxErrorMessage = 32 << 10

// shortenLongWords cuts, in an error message, each run of more than
// maxErrorWord bytes without a space to its beginning and end, saying how
// long it was: a value of 100 KB given to --domain-name or
// --starting-token was printed back whole (tester).
func shortenLongWords(msg string) string {
	msg = shortenWords(msg)
	if len(msg) > maxErrorMessage {
		// Long with spaces too (a value of words, 100 KB; tester): its
		// beginning and end, as a long word is shown.
		head, tail := msg[:maxErrorMessage/2], msg[len(msg)-maxErrorMessage/8:]
		for !utf8.ValidString(head) && len(head) > 0 {
			head = head[:len(head)-1]
		}
		for !utf8.ValidString(tail) && len(tail) > 0 {
			tail = tail[1:]
		}
		msg = fmt.Sprintf("%s … [%d bytes in all] … %s", head, len(msg), tail)
	}
	return msg
}

// shortenWords is shortenLongWords' cut of each word of more than
// maxErrorWord bytes.
func shortenWords(msg string) string {
	if len(msg) <= maxErrorWord {
		return msg
	}
	var b strings.Builder
	start := -1
	flush := func(end int) {
		w := msg[start:end]
		if len(w) > maxErrorWord {
			head, tail := w[:64], w[len(w)-32:]
			for !utf8.ValidString(head) && len(head) > 0 {
				head = head[:len(head)-1]
			}
			for !utf8.ValidString(tail) && len(tail) > 0 {
				tail = tail[1:]
			}
			w = fmt.Sprintf("%s…%s [%d bytes]", head, tail, len(w))
		}
		b.WriteString(w)
		start = -1
	}
	for i, r := range msg {
		if unicode.IsSpace(r) {
			if start >= 0 {
				flush(i)
			}
			b.WriteRune(r)
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		flush(len(msg))
	}
	return b.String()
}

// indentTabs is s with the tabs that begin each of its lines (after the
// first) as two spaces each.
func indentTabs(s string) string {
	if !strings.Contains(s, "\n\t") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i := 1; i < len(lines); i++ {
		rest := strings.TrimLeft(lines[i], "\t")
		lines[i] = strings.Repeat("  ", len(lines[i])-len(rest)) + rest
	}
	return strings.Join(lines, "\n")
}

// outputFromArgs finds an -o/--output value in args (for error reporting
// when flag parsing failed before reaching it), in every form pflag
// accepts: -o json, -ojson, -o=json, --output json, --output=json, and -o
// after other one-letter flags that take no value (-qo json).
func outputFromArgs(args []string) string {
	for i, a := range args {
		switch {
		case a == "--":
			return ""
		case a == "--output" && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(a, "--output="):
			return strings.TrimPrefix(a, "--output=")
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			// Shorthands: q and h take no value, so o may follow them.
			short := strings.TrimLeft(a[1:], "qh")
			if !strings.HasPrefix(short, "o") {
				continue
			}
			if v := short[1:]; v != "" {
				return strings.TrimPrefix(v, "=")
			}
			if i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
}

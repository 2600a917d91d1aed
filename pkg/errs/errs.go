// Package errs is the error type of certctl: it carries the exit code of
// SPEC section 5, a machine-readable code and a hint, and is shared by the
// domain packages and the commands.
package errs

import (
	"errors"
	"fmt"
)

// ExitCode is a process exit status documented in SPEC section 5.
type ExitCode int

// Exit codes (SPEC section 5).
const (
	ExitOK               ExitCode = 0
	ExitFailure          ExitCode = 1
	ExitUsage            ExitCode = 2
	ExitNotFound         ExitCode = 3
	ExitInvalid          ExitCode = 4
	ExitRefused          ExitCode = 5
	ExitVaultUnavailable ExitCode = 6
	ExitPartial          ExitCode = 7
	ExitTimeout          ExitCode = 8
)

// ExitSignal is the exit code of a command that the signal signo
// interrupted: 128 + signo (130 for SIGINT, 143 for SIGTERM), as a shell
// reports a process that signal killed. It is outside SPEC section 5's
// list, which names none for an interruption.
func ExitSignal(signo int) ExitCode { return ExitCode(128 + signo) }

// codeNames are the Error.Code strings printed in JSON error objects, after
// the exception names of the AWS APIs where one fits.
var codeNames = map[ExitCode]string{
	ExitFailure:          "InternalFailure",
	ExitUsage:            "UsageError",
	ExitNotFound:         "ResourceNotFoundException",
	ExitInvalid:          "ValidationException",
	ExitRefused:          "InvalidStateException",
	ExitVaultUnavailable: "VaultUnavailableException",
	ExitPartial:          "PartialFailure",
	ExitTimeout:          "TimeoutException",
}

// Error is an error with an exit code, an optional machine-readable code
// (e.g. an ACM failure reason) and an optional hint line for people.
type Error struct {
	Exit   ExitCode
	Code   string // overrides the default code name when set
	Msg    string
	Hint   string
	Err    error
	Silent bool // already reported (e.g. per-item batch failures); print nothing more
	// NoHelpHint leaves out the "run with --help for usage" line that a
	// usage error (exit 2) gets otherwise: for one that the command's help
	// does not explain (passphrases that differ, a --query that does not
	// parse, binary output refused on a terminal). See WithoutHelpHint.
	NoHelpHint bool
}

func (e *Error) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// CodeName is the code printed in the JSON error object.
func (e *Error) CodeName() string {
	if e.Code != "" {
		return e.Code
	}
	return codeNames[e.Exit]
}

// WithHint returns e with a hint line.
func (e *Error) WithHint(format string, a ...any) *Error {
	e.Hint = fmt.Sprintf(format, a...)
	return e
}

// WithoutHelpHint returns e without the "run with --help" hint: for a
// usage error about what a flag's value holds rather than the command
// line's shape (unknown or missing flag, command or argument, a bad flag
// value), where reading the help does not help.
func (e *Error) WithoutHelpHint() *Error {
	e.NoHelpHint = true
	return e
}

// WithCode returns e with a machine-readable code.
func (e *Error) WithCode(code string) *Error {
	e.Code = code
	return e
}

func newErr(code ExitCode, format string, a ...any) *Error {
	return &Error{Exit: code, Msg: fmt.Sprintf(format, a...)}
}

// UsageErrorf reports a usage error (exit 2).
func UsageErrorf(format string, a ...any) *Error { return newErr(ExitUsage, format, a...) }

// NotFoundf reports a missing resource (exit 3).
func NotFoundf(format string, a ...any) *Error { return newErr(ExitNotFound, format, a...) }

// Invalidf reports invalid input (exit 4).
func Invalidf(format string, a ...any) *Error { return newErr(ExitInvalid, format, a...) }

// BadStartingToken reports a --starting-token that is no NextToken of
// the command (exit 4), saying why for None, which -o text prints for a
// null NextToken after the last page, as the AWS CLI does.
func BadStartingToken(tok string) *Error {
	if tok == "None" {
		return Invalidf("invalid --starting-token %q: the page before was the last (-o text prints None for its null NextToken, as the AWS CLI does)", tok)
	}
	return Invalidf("invalid --starting-token %q (use the NextToken of the page before)", tok)
}

// Refusedf reports an operation refused by state or rule (exit 5).
func Refusedf(format string, a ...any) *Error { return newErr(ExitRefused, format, a...) }

// VaultErrorf reports an unavailable vault (exit 6).
func VaultErrorf(format string, a ...any) *Error { return newErr(ExitVaultUnavailable, format, a...) }

// Failuref reports an unexpected runtime failure (exit 1).
func Failuref(format string, a ...any) *Error { return newErr(ExitFailure, format, a...) }

// ExitCodeOf maps any error to its exit code: a *Error gives its own, anything
// else is an unexpected failure.
func ExitCodeOf(err error) ExitCode {
	if err == nil {
		return ExitOK
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Exit
	}
	return ExitFailure
}

// CodeNameOf is the machine-readable code of any error (InternalFailure for
// one without a code).
func CodeNameOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.CodeName()
	}
	return codeNames[ExitFailure]
}

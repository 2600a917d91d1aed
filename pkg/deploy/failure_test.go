package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The summary of a failed command says how it failed and never quotes the
// command or its output, which may hold anything.
func TestFailureSummaryQuotesNothing(t *testing.T) {
	const secret = "hunter2"
	for _, tc := range []struct {
		exec, want string
	}{
		{"echo token=" + secret + "; exit 3", "deploy hook failed: exit status 3"},
		{"echo " + secret + " >&2; kill -9 $$", "deploy hook failed: signal: killed"},
	} {
		err := RunHook(context.Background(), Target{CertFile: "/x/c.pem", Exec: tc.exec}, "arn:x", nil)
		if err == nil || !strings.Contains(err.Error(), secret) {
			t.Fatalf("%q: %v (the full message quotes the command)", tc.exec, err)
		}
		if got := FailureSummary(err); got != tc.want {
			t.Errorf("%q: summary %q, want %q", tc.exec, got, tc.want)
		}
	}
	off := &HookError{Msg: "deploy hook of file:/x not run: " + ErrHooksOff.Error(), Skipped: true,
		Summary: "deploy hook not run: deploy hooks are off on this host (hooks.allow_exec)"}
	if got := FailureSummary(off); got != off.Summary {
		t.Errorf("hooks off: %q", got)
	}
	if got := FailureSummary(&HookError{Msg: "deploy hook \"" + secret + "\" failed"}); got != "deploy hook failed" {
		t.Errorf("no summary: %q", got)
	}
	if got := FailureSummary(errors.New("writing /etc/tls/c.pem: permission denied")); got != "writing /etc/tls/c.pem: permission denied" {
		t.Errorf("file error: %q", got)
	}
}

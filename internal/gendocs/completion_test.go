package gendocs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

func TestCompletionScripts(t *testing.T) {
	want := map[string]string{
		"bash":       "__start_certctl",
		"zsh":        "#compdef certctl",
		"fish":       "complete -c certctl",
		"powershell": "Register-ArgumentCompleter",
	}
	for shell, marker := range want {
		t.Run(shell, func(t *testing.T) {
			code, out, errOut := run(t, nil, "completion", shell)
			if code != errs.ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "certctl") || !strings.Contains(out, marker) {
				t.Errorf("%s script lacks certctl or %q:\n%.300s", shell, marker, out)
			}
		})
	}
	if code, _, _ := run(t, nil, "completion", "tcsh"); code != errs.ExitUsage {
		t.Errorf("completion tcsh: exit %d, want %d", code, errs.ExitUsage)
	}
}

// TestCompletionScriptsMatchGenerated checks that `certctl completion`
// prints what gendocs writes (both use the same generators).
func TestCompletionScriptsMatchGenerated(t *testing.T) {
	gen, err := Completions(Tree())
	if err != nil {
		t.Fatal(err)
	}
	for shell, file := range map[string]string{"bash": BashFile, "zsh": ZshFile, "fish": FishFile, "powershell": PowerShellFile} {
		_, out, _ := run(t, nil, "completion", shell)
		if out != string(gen[file]) {
			t.Errorf("`certctl completion %s` differs from the generated %s", shell, file)
		}
	}
}

// candidates parses __complete output: one candidate a line (value, then a
// tab and a description), then ":<directive>".
func candidates(out string) []string {
	var vals []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, ":") || line == "" {
			continue
		}
		v, _, _ := strings.Cut(line, "\t")
		vals = append(vals, v)
	}
	return vals
}

// TestCompleteEnumeratedFlags: enumerated values are completed, never
// files. A list-valued flag (repeatable, comma-separated) completes the
// item after the last comma, carrying the items typed before it, leaving
// out those given, and with no space after it while more can follow
// (NoSpace|NoFileComp = 6); a single value gets NoFileComp (4).
func TestCompleteEnumeratedFlags(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want      []string
		not       []string
		directive string
	}{
		{[]string{"list", "--certificate-statuses", ""}, []string{"ISSUED", "EXPIRED", "PENDING_VALIDATION", "REVOKED"}, nil, ":6"},
		{[]string{"list", "--key-types", ""}, []string{"EC_prime256v1", "RSA_2048"}, nil, ":6"},
		{[]string{"list", "--certificate-statuses", "ISSUED,"}, []string{"ISSUED,EXPIRED", "ISSUED,PENDING_VALIDATION"}, []string{"ISSUED,ISSUED", "EXPIRED"}, ":6"},
		{[]string{"list", "--sort-by", ""}, []string{"CREATED_AT", "NOT_AFTER", "DOMAIN_NAME"}, nil, ":4"},
		{[]string{"update-certificate-options", "3f2a1b9c", "--options", ""},
			[]string{"Export=ENABLED", "Export=DISABLED", "CertificateTransparencyLoggingPreference=ENABLED", "CertificateTransparencyLoggingPreference=DISABLED"}, nil, ":6"},
		{[]string{"request", "--options", "CertificateTransparencyLoggingPreference=DISABLED,"},
			[]string{"CertificateTransparencyLoggingPreference=DISABLED,Export=ENABLED"}, []string{"CertificateTransparencyLoggingPreference=DISABLED,CertificateTransparencyLoggingPreference=ENABLED"}, ":4"},
	} {
		code, out, errOut := run(t, nil, append([]string{"__complete"}, tc.args...)...)
		if code != errs.ExitOK {
			t.Fatalf("__complete %q: exit %d: %s", tc.args, code, errOut)
		}
		got := candidates(out)
		for _, w := range tc.want {
			if !contains(got, w) {
				t.Errorf("__complete %q: %q missing from %q", tc.args, w, got)
			}
		}
		for _, n := range tc.not {
			if contains(got, n) {
				t.Errorf("__complete %q: %q offered: %q", tc.args, n, got)
			}
		}
		if !strings.Contains(out, tc.directive+"\n") && !strings.HasSuffix(strings.TrimSpace(out), tc.directive) {
			t.Errorf("__complete %q: directive is not %s:\n%s", tc.args, tc.directive, out)
		}
	}
}

// TestCompleteDoesNotCreateVault: completing an ARN with no vault yet must
// neither create the vault nor prompt.
func TestCompleteDoesNotCreateVault(t *testing.T) {
	home := t.TempDir()
	vault := filepath.Join(home, "vault")
	env := map[string]string{
		"CERTCTL_VAULT":   vault,
		"HOME":            home,
		"XDG_DATA_HOME":   filepath.Join(home, "data"),
		"XDG_CONFIG_HOME": filepath.Join(home, "config"),
	}
	for _, args := range [][]string{
		{"__complete", "describe", ""},
		{"__complete", "delete", ""},
		{"__complete", "tags", "list", ""},
	} {
		code, out, errOut := run(t, env, args...)
		if code != errs.ExitOK {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
		if got := candidates(out); len(got) != 0 {
			t.Errorf("%v: candidates %q from an empty vault", args, got)
		}
	}
	for _, p := range []string{vault, filepath.Join(home, "data", "certctl"), filepath.Join(home, "config")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("completion created %s (stat: %v)", p, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

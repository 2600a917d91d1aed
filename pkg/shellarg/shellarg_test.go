package shellarg

import (
	"os/exec"
	"testing"
)

// TestQuote: what Quote returns, given to sh, is the word itself.
func TestQuote(t *testing.T) {
	for _, s := range []string{"plain/path.crt", "", "with space", "it's", `a"b`, "$HOME", "a;b", "*", "x\ny", "postgres://u:p@h/db?sslmode=disable&x=1"} {
		out, err := exec.Command("sh", "-c", `printf %s `+Quote(s)).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", Quote(s), err)
		}
		if string(out) != s {
			t.Errorf("Quote(%q) = %q, which sh reads as %q", s, Quote(s), out)
		}
	}
	if Quote("plain/path.crt") != "plain/path.crt" {
		t.Errorf("a plain word is quoted: %q", Quote("plain/path.crt"))
	}
}

// TestRelativeProgram: a program named by a relative path is found, past
// variable assignments; an absolute path, a name looked up in PATH, ~ and
// what the shell expands are not.
func TestRelativeProgram(t *testing.T) {
	for script, want := range map[string]string{
		"./reload.sh":            "./reload.sh",
		"  bin/reload --now":     "bin/reload",
		"LANG=C ./x.sh arg":      "./x.sh",
		"../up/hook":             "../up/hook",
		"/usr/local/bin/reload":  "",
		"systemctl reload nginx": "",
		"~/bin/reload":           "",
		"$HOME/bin/reload":       "",
		"'./quoted'":             "",
		"":                       "",
		"cp a.pem ./b.pem":       "",
		"X=1 Y=2 /bin/sh -c 'a'": "",
		"a=b":                    "",
		"1X=./y ./z":             "1X=./y",
	} {
		got, ok := RelativeProgram(script)
		if got != want || ok != (want != "") {
			t.Errorf("RelativeProgram(%q) = %q, %v; want %q", script, got, ok, want)
		}
	}
}

package shellarg

import (
	"os/exec"
	"strings"
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
		// Redirections are no program (review: refused).
		"cat>>/tmp/x/events.log":                 "",
		"2>/dev/null /usr/bin/logger -t certctl": "",
		"cat>>/tmp/x/dep.log </dev/null":         "",
		"> /tmp/log ./x":                         "./x",
		// Each command of a list, past wrappers; an interpreter's script
		// (review: not judged).
		"sh ./reload.sh":                          "./reload.sh",
		"bash reload.sh":                          "reload.sh",
		"python3 -u tool.py":                      "tool.py",
		"bash /opt/r.sh":                          "",
		"sh -c 'x'":                               "",
		"true && ./reload.sh":                     "./reload.sh",
		"systemctl reload nginx || ./fallback":    "./fallback",
		"echo a | bin/x":                          "bin/x",
		"exec ./x":                                "./x",
		"nice -n 5 ./x":                           "./x",
		"env A=1 ./x":                             "./x",
		"PATH=/opt/bin:$PATH ./x":                 "./x",
		"cd /srv/app && ./reload.sh":              "",
		"cd app && /usr/bin/make":                 "app",
		"cd && ./x":                               "",
		"sudo -u www systemctl reload nginx":      "",
		"systemctl reload nginx; echo \"$X\" ./y": "",
	} {
		got, ok := RelativeProgram(script)
		if got != want || ok != (want != "") {
			t.Errorf("RelativeProgram(%q) = %q, %v; want %q", script, got, ok, want)
		}
	}
}

// FuzzRelativeProgram: any script is judged without a panic, and a
// program it reports is a word of the script.
func FuzzRelativeProgram(f *testing.F) {
	for _, s := range []string{"./x", "a=b ./c", "cat>>/x", "sh ./r.sh && bin/x | y", "'q' ./z", "nice -n", "2>", "PATH=$P:x ./y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		w, ok := RelativeProgram(script)
		if ok && (w == "" || !strings.Contains(script, w)) {
			t.Fatalf("RelativeProgram(%q) = %q, not a word of it", script, w)
		}
	})
}

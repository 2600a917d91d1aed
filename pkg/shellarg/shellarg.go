// Package shellarg quotes a word for a POSIX shell, for the commands
// certctl's hints and notices print for the user to run (a path, a store
// URL), so that a word with a space or a quote pastes as one argument.
package shellarg

import (
	"path/filepath"
	"strings"
)

// Quote returns s as one shell word: unchanged when it holds nothing the
// shell would take for something else, else in single quotes (a single
// quote inside is closed, escaped and reopened).
func Quote(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n'\"&|<>()?;$`\\*[]#~!{}") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// HookDir is the working directory of every command certctl runs for the
// user (deploy --exec, hooks.event): the same at a deploy from a shell as
// at a renewal from cron (which starts in $HOME) or a systemd timer (in /),
// so that a command that works when it is set up works at every renewal.
const HookDir = "/"

// RelativeProgramError is a hook command that names its program (or a
// script, or a cd's directory) by a relative path (RelativeProgram).
type RelativeProgramError struct{ Program string }

func (e *RelativeProgramError) Error() string {
	return "it names " + e.Program + " by a relative path, and hooks run in " + HookDir +
		", at the deploy as at every renewal (cron, a systemd timer)"
}

// Fix is the path to give instead, from the working directory.
func (e *RelativeProgramError) Fix() string {
	abs, _ := filepath.Abs(e.Program)
	return "give its absolute path: " + abs
}

// CheckHookCommand refuses a hook command that RelativeProgram finds
// names something by a relative path, with a *RelativeProgramError: the
// one rule of deploy --exec, hooks.event, and their runs.
func CheckHookCommand(script string) error {
	if prog, ok := RelativeProgram(script); ok {
		return &RelativeProgramError{Program: prog}
	}
	return nil
}

// RelativeProgram returns the program of a command of script (for sh -c)
// that is named by a relative path (./reload.sh, bin/reload), or the script
// a shell or another interpreter is given by one (sh reload.sh), which
// would be looked up in HookDir, not where the command was set up
// (security review: a renewal started elsewhere ran another directory's
// script of that name). Each command of a list (;, &&, ||, |, &) is
// judged, up to a cd (to a relative directory: that is reported), past variable assignments, redirections and the wrappers env,
// exec, command, nice, nohup, sudo and time. What the shell would expand
// or unquote first (quotes, $, backquotes, backslashes) is not judged, nor
// anything after it. A name without a slash is looked up in PATH and is
// not relative in this sense.
func RelativeProgram(script string) (string, bool) {
	for _, cmd := range commands(script) {
		if cmd[0] == "cd" {
			// What follows runs where cd leads: from an absolute
			// directory it is not judged; a relative one is.
			if len(cmd) > 1 && !strings.HasPrefix(cmd[1], "/") && !strings.HasPrefix(cmd[1], "~") && !strings.HasPrefix(cmd[1], "-") {
				return cmd[1], true
			}
			return "", false
		}
		if w, ok := relativeIn(cmd); ok {
			return w, true
		}
	}
	return "", false
}

// commands splits script into the words of its simple commands, up to the
// first word the shell would expand or unquote (which ends the judging).
func commands(script string) [][]string {
	var out [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	word := []byte{}
	end := func() {
		if len(word) > 0 {
			cur = append(cur, string(word))
			word = word[:0]
		}
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case c == '$' && isAssignment(string(word)):
			// An expansion in a variable's value (PATH=/opt:$PATH): the
			// word is an assignment whatever it expands to.
			for i+1 < len(script) && strings.IndexByte(" \t;&|()<>\n'\"`\\", script[i+1]) < 0 {
				i++
			}
		case strings.IndexByte("'\"`$\\", c) >= 0:
			// Expanded or unquoted by the shell: nothing from here on
			// is judged (its word included).
			word = word[:0]
			flush()
			return out
		case c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')':
			end()
			flush()
		case c == ' ' || c == '\t':
			end()
		case c == '<' || c == '>':
			// A redirection: its operator and its file name are no
			// command word.
			if len(word) > 0 && !allDigits(string(word)) {
				end()
			}
			word = word[:0]
			for i+1 < len(script) && (script[i+1] == '>' || script[i+1] == '<' || script[i+1] == '&' || script[i+1] == '|') {
				i++
			}
			for i+1 < len(script) && (script[i+1] == ' ' || script[i+1] == '\t') {
				i++
			}
			for i+1 < len(script) && strings.IndexByte(" \t;&|()<>\n", script[i+1]) < 0 {
				if strings.IndexByte("'\"`$\\", script[i+1]) >= 0 {
					flush()
					return out
				}
				i++
			}
		default:
			word = append(word, c)
		}
	}
	end()
	flush()
	return out
}

// relativeIn is RelativeProgram for the words of one simple command.
func relativeIn(words []string) (string, bool) {
	i := 0
	for i < len(words) {
		w := words[i]
		if isAssignment(w) {
			i++ // NAME=value before the program
			continue
		}
		switch w {
		case "env", "exec", "command", "nohup", "time", "sudo", "nice":
			// A wrapper: its options (and nice's -n N) passed over.
			i++
			for i < len(words) && strings.HasPrefix(words[i], "-") {
				if (w == "nice" && words[i] == "-n") || (w == "sudo" && (words[i] == "-u" || words[i] == "-g")) {
					i++
				}
				i++
			}
			continue
		}
		break
	}
	if i >= len(words) {
		return "", false
	}
	prog := words[i]
	if relative(prog) {
		return prog, true
	}
	switch prog {
	case "sh", "bash", "dash", "zsh", "ksh", "python", "python3", "perl", "ruby", "node":
		// An interpreter: the first word that is no option is its
		// script (none after -c, whose text is the command).
		for _, a := range words[i+1:] {
			if a == "-c" || a == "-e" || a == "-m" {
				return "", false
			}
			if strings.HasPrefix(a, "-") {
				continue
			}
			if !strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "~") {
				return a, true
			}
			return "", false
		}
	}
	return "", false
}

// relative reports whether a program word names a path relative to the
// working directory.
func relative(w string) bool {
	return strings.Contains(w, "/") && !strings.HasPrefix(w, "/") && !strings.HasPrefix(w, "~")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isAssignment reports whether w (or the start of it) is NAME=value.
func isAssignment(w string) bool {
	j := strings.IndexByte(w, '=')
	return j > 0 && assignable(w[:j])
}

// assignable reports whether name is a shell variable name.
func assignable(name string) bool {
	for i, r := range name {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

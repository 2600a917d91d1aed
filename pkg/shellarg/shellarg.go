// Package shellarg quotes a word for a POSIX shell, for the commands
// certctl's hints and notices print for the user to run (a path, a store
// URL), so that a word with a space or a quote pastes as one argument.
package shellarg

import "strings"

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

// RelativeProgram returns the program of script, a command for sh -c, when
// it names it by a relative path (./reload.sh, bin/reload), which would be
// looked up in HookDir, not where the command was set up (security
// review: a renewal started elsewhere ran another directory's script of
// that name). Leading variable assignments (NAME=value) are passed over;
// a program in quotes or made of expansions is not judged. A name without
// a slash is looked up in PATH, and is not relative in this sense.
func RelativeProgram(script string) (string, bool) {
	for _, word := range strings.Fields(script) {
		if strings.ContainsAny(word, `'"$`+"`\\") {
			return "", false
		}
		if i := strings.IndexByte(word, '='); i > 0 && assignable(word[:i]) {
			continue // NAME=value before the program
		}
		if strings.HasPrefix(word, "/") || strings.HasPrefix(word, "~") || !strings.Contains(word, "/") {
			return "", false
		}
		return word, true
	}
	return "", false
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

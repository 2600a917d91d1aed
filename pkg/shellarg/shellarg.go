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

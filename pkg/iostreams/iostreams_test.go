package iostreams

import "testing"

func TestColorWanted(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		tty  bool
		want bool
	}{
		{"terminal", nil, true, true},
		{"pipe", nil, false, false},
		{"NO_COLOR", map[string]string{"NO_COLOR": "1"}, true, false},
		{"CLICOLOR=0", map[string]string{"CLICOLOR": "0"}, true, false},
		{"TERM=dumb", map[string]string{"TERM": "dumb"}, true, false},
		{"TERM=xterm", map[string]string{"TERM": "xterm-256color"}, true, true},
		{"CLICOLOR_FORCE in a pipe", map[string]string{"CLICOLOR_FORCE": "1"}, false, true},
		{"CLICOLOR_FORCE on a dumb terminal", map[string]string{"CLICOLOR_FORCE": "1", "TERM": "dumb"}, true, true},
		{"NO_COLOR wins over CLICOLOR_FORCE", map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := colorWanted(tt.tty, func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("colorWanted(tty=%v, %v) = %v, want %v", tt.tty, tt.env, got, tt.want)
			}
		})
	}
}

// TestTerminalWidth: the terminal's own size wins; a terminal of unknown
// size (0, as script(1)'s pseudo-terminal reports) takes COLUMNS when it
// is a width, else 80 (tester: COLUMNS=200 was ignored under script).
func TestTerminalWidth(t *testing.T) {
	for _, tc := range []struct {
		size    int
		columns string
		want    int
	}{
		{120, "200", 120},
		{0, "200", 200},
		{0, "", 80},
		{0, "wide", 80},
		{0, "1", 80},
		{0, "-5", 80},
	} {
		if got := terminalWidth(tc.size, tc.columns); got != tc.want {
			t.Errorf("terminalWidth(%d, %q) = %d, want %d", tc.size, tc.columns, got, tc.want)
		}
	}
}

package cmdutil

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// --max-items takes a positive whole number; 0, a negative number or
// anything else is refused when the flags are parsed, with a message of
// its own (the app makes an "invalid argument" flag error exit 2). It is
// decimal, as every integer flag is (see IntVar).
func TestMaxItemsFlag(t *testing.T) {
	for _, tc := range []struct {
		arg, err string
		want     int
	}{
		{"7", "", 7},
		{"1", "", 1},
		{"010", "", 10},
		{"0x10", `invalid argument "0x10" for "--max-items" flag: not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)`, 0},
		{"0", `invalid argument "0" for "--max-items" flag: must be positive`, 0},
		{"-1", `invalid argument "-1" for "--max-items" flag: must be positive`, 0},
		{"abc", `invalid argument "abc" for "--max-items" flag: not a whole number`, 0},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var n int
		MaxItemsFlag(fs, &n, "at most `N`")
		err := fs.Parse([]string{"--max-items", tc.arg})
		if tc.err == "" && (err != nil || n != tc.want) {
			t.Errorf("--max-items %s: %d, %v", tc.arg, n, err)
		}
		if tc.err != "" && (err == nil || err.Error() != tc.err || n != 0) {
			t.Errorf("--max-items %s: %d, %v; want %q", tc.arg, n, err, tc.err)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var n int
	MaxItemsFlag(fs, &n, "return at most `N` results")
	if err := fs.Parse(nil); err != nil || n != 0 {
		t.Errorf("not given: %d, %v", n, err)
	}
	if u := fs.FlagUsages(); !strings.Contains(u, "--max-items N") || strings.Contains(u, "default") {
		t.Errorf("usage %q", u)
	}
}

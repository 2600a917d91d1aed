package cmdutil

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Integer flags take decimal only: 010 is ten (pflag's int makes it 8),
// and a hex, octal or binary prefix, an _ separator, a fraction or a
// number beyond int is refused with a message naming the flag, leaving
// the value as it was.
func TestIntVarDecimal(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want int
		err  string // suffix of the error after the flag's name
	}{
		{"10", 10, ""},
		{"010", 10, ""},
		{"0010", 10, ""},
		{"09", 9, ""},
		{"090", 90, ""},
		{"0", 0, ""},
		{"-3", -3, ""},
		{"+7", 7, ""},
		{"9223372036854775807", 9223372036854775807, ""},
		{"0x10", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"0X10", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"-0x10", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"0o17", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"0b101", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"1_000", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"0xffffffffffffffffffff", 0, "not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)"},
		{"9223372036854775808", 0, "too large (the most is 9223372036854775807)"},
		{"99999999999999999999999", 0, "too large (the most is 9223372036854775807)"},
		{"-9223372036854775809", 0, "too small (the least is -9223372036854775808)"},
		{"1.5", 0, "not a whole number"},
		{"1e3", 0, "not a whole number"},
		{"ten", 0, "not a whole number"},
		{" 10", 0, "not a whole number"},
		{"", 0, "not a whole number"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var n int
		IntVar(fs, &n, "days", 30, "`N` days")
		err := fs.Parse([]string{"--days=" + tc.arg})
		if tc.err == "" {
			if err != nil || n != tc.want {
				t.Errorf("--days %q: %d, %v; want %d", tc.arg, n, err, tc.want)
			}
			continue
		}
		want := `invalid argument "` + tc.arg + `" for "--days" flag: ` + tc.err
		if err == nil || err.Error() != want || n != 30 {
			t.Errorf("--days %q: %d, %v; want 30 and %q", tc.arg, n, err, want)
		}
	}
}

// Min refuses values below it: -1 where a count cannot be negative.
func TestIntVarMin(t *testing.T) {
	for _, tc := range []struct {
		min      int
		arg, err string
		want     int
	}{
		{0, "0", "", 0},
		{0, "-1", "must not be negative", 0},
		{1, "1", "", 1},
		{1, "0", "must be positive", 0},
		{1, "-1", "must be positive", 0},
		{7, "6", "must be at least 7", 0},
		{7, "007", "", 7},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var n int
		IntVar(fs, &n, "n", 0, "", Min(tc.min))
		err := fs.Parse([]string{"--n", tc.arg})
		if tc.err == "" && (err != nil || n != tc.want) {
			t.Errorf("min %d, --n %s: %d, %v", tc.min, tc.arg, n, err)
		}
		if tc.err != "" && (err == nil || !strings.HasSuffix(err.Error(), `for "--n" flag: `+tc.err) || n != 0) {
			t.Errorf("min %d, --n %s: %d, %v; want %q", tc.min, tc.arg, n, err, tc.err)
		}
	}
}

// The help of an IntVar flag is that of pflag's IntVar: the type shown as
// "int", the default shown unless it is 0.
func TestIntVarHelpMatchesPflag(t *testing.T) {
	for _, def := range []int{0, 30, -1} {
		for _, usage := range []string{"days before expiry (1-45)", "partition `N` of a CRL"} {
			ours := pflag.NewFlagSet("t", pflag.ContinueOnError)
			var a, b int
			IntVar(ours, &a, "days", def, usage)
			theirs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			theirs.IntVar(&b, "days", def, usage)
			if got, want := ours.FlagUsages(), theirs.FlagUsages(); got != want {
				t.Errorf("default %d, usage %q: help %q, pflag's %q", def, usage, got, want)
			}
			if a != def || ours.Lookup("days").DefValue != theirs.Lookup("days").DefValue {
				t.Errorf("default %d: value %d, DefValue %q", def, a, ours.Lookup("days").DefValue)
			}
		}
	}
}

package cmdutil

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// IntVar adds an integer flag to fs, stored in p with the default value:
// every integer flag of certctl is declared through it (or MaxItemsFlag),
// never through pflag's IntVar.
//
// pflag's own int flags parse like Go source (strconv base 0): 0x10 is
// 16, 010 is 8, 1_0 is 10 and 09 is an error about strconv syntax. People
// at a shell mean decimal, as in the AWS CLI: the value here is read in
// decimal only, so 010 is 10, and anything else — a 0x, 0o or 0b prefix,
// an _ separator, a fraction, a number the int cannot hold, a value below
// Min — is refused when the flags are parsed, with a message of its own.
// The app makes that an "invalid argument … for "--NAME" flag" usage error
// (exit 2). The help shows the flag as "int", as pflag's does.
func IntVar(fs *pflag.FlagSet, p *int, name string, value int, usage string, opts ...IntOption) *pflag.Flag {
	v := NewInt(p, value, opts...)
	fs.Var(v, name, usage)
	return fs.Lookup(name)
}

// IntOption narrows what an integer flag accepts.
type IntOption func(*Int)

// Min refuses values below lo: 1 says "must be positive", 0 "must not be
// negative".
func Min(lo int) IntOption {
	return func(v *Int) { v.min, v.hasMin = lo, true }
}

// Int is the pflag.Value of IntVar: an int written in decimal.
type Int struct {
	p      *int
	min    int
	hasMin bool
}

// NewInt sets *p to value and returns the flag value that stores into p.
func NewInt(p *int, value int, opts ...IntOption) *Int {
	*p = value
	v := &Int{p: p}
	for _, o := range opts {
		o(v)
	}
	return v
}

func (v *Int) String() string {
	if v == nil || v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

// Type is "int", the name pflag's int flags show in help.
func (v *Int) Type() string { return "int" }

// Set parses s in decimal (a leading + or - allowed, leading zeros
// meaning nothing) and leaves the value unchanged when s is refused.
func (v *Int) Set(s string) error {
	n, err := ParseDecimalInt(s)
	if err != nil {
		return err
	}
	if v.hasMin && n < v.min {
		switch v.min {
		case 1:
			return errors.New("must be positive")
		case 0:
			return errors.New("must not be negative")
		}
		return fmt.Errorf("must be at least %d", v.min)
	}
	*v.p = n
	return nil
}

// ParseDecimalInt parses a whole number written in decimal, with messages
// for people: "not a whole number", and for what Go would read in another
// base (0x10, 0o17, 0b1, 1_000) one that says only decimal is taken.
func ParseDecimalInt(s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err == nil {
		return int(n), nil
	}
	if errors.Is(err, strconv.ErrRange) {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("too small (the least is %d)", math.MinInt)
		}
		return 0, fmt.Errorf("too large (the most is %d)", math.MaxInt)
	}
	if _, err := strconv.ParseInt(s, 0, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return 0, errors.New("not a decimal number (write it in decimal: no 0x, 0o or 0b prefix, no _)")
	}
	return 0, errors.New("not a whole number")
}

package cmdutil

import (
	"errors"
	"strconv"

	"github.com/spf13/pflag"
)

// MaxItemsFlag adds --max-items to fs, stored in n: a positive count of
// results a page holds, 0 (not given) meaning every result. Zero or a
// negative number given is refused when the flags are parsed (exit 2), as
// is anything not a whole number, with a message that says so rather than
// strconv's.
func MaxItemsFlag(fs *pflag.FlagSet, n *int, usage string) {
	fs.Var(maxItemsValue{n}, "max-items", usage)
}

type maxItemsValue struct{ n *int }

func (v maxItemsValue) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.Itoa(*v.n)
}

func (v maxItemsValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < 1 {
		return errors.New("must be positive")
	}
	*v.n = n
	return nil
}

func (v maxItemsValue) Type() string { return "int" }

package cmdutil

import (
	"github.com/spf13/pflag"
)

// MaxItemsFlag adds --max-items to fs, stored in n: a positive count of
// results a page holds, 0 (not given) meaning every result. Zero or a
// negative number given is refused when the flags are parsed (exit 2), as
// is anything not a whole number written in decimal (see IntVar), with a
// message that says so rather than strconv's.
func MaxItemsFlag(fs *pflag.FlagSet, n *int, usage string) {
	IntVar(fs, n, "max-items", 0, usage, Min(1))
}

package cmdutil

import (
	"errors"

	"github.com/spf13/pflag"
)

// OnceStringVar adds a string flag that may be given once: a second
// occurrence is refused when the flags are parsed (a usage error, exit 2)
// instead of replacing the first, as pflag's string flags do. For the
// flags whose last-one-wins would silently change what a command acts on
// (tester: `--query-terse A --query-terse B` tagged what B selected,
// though each term of a query must hold).
func OnceStringVar(fs *pflag.FlagSet, p *string, name, usage, hint string) {
	fs.Var(&onceString{p: p, hint: hint}, name, usage)
}

type onceString struct {
	p    *string
	set  bool
	hint string
}

func (v *onceString) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return *v.p
}

func (v *onceString) Set(s string) error {
	if v.set {
		return errors.New("given twice: " + v.hint)
	}
	*v.p, v.set = s, true
	return nil
}

func (v *onceString) Type() string { return "string" }

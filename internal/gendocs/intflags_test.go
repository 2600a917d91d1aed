package gendocs

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/cmdutil"
)

// TestIntegerFlagsAreDecimal checks that every integer-valued flag of every
// command is cmdutil's decimal Int: pflag's own integer flags read 010 as
// 8 and 0x10 as 16.
func TestIntegerFlagsAreDecimal(t *testing.T) {
	integer := map[string]bool{"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
		"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true, "count": true,
		"intSlice": true, "int32Slice": true, "int64Slice": true, "uintSlice": true}
	seen := 0
	for _, c := range commands(Tree()) {
		check := func(f *pflag.Flag) {
			if !integer[f.Value.Type()] {
				return
			}
			seen++
			if _, ok := f.Value.(*cmdutil.Int); !ok {
				t.Errorf("%s --%s is a %T: declare it with cmdutil.IntVar (decimal only)", c.CommandPath(), f.Name, f.Value)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
	}
	if seen == 0 {
		t.Error("no integer flag found: the walk is broken")
	}
}

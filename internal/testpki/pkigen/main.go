// Command pkigen writes test and benchmark fixtures: the import fixtures of
// the end-to-end scripts, or many certificate/key pairs for bulk imports.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/certctl/certctl/internal/testpki"
)

func main() {
	dir := flag.String("dir", ".", "output directory")
	many := flag.Int("many", 0, "write N name.crt/name.key pairs instead of the import fixtures")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	now := time.Now()
	if *many == 0 {
		if err := testpki.WriteImportFixtures(*dir, now); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := testpki.WriteMany(*dir, *many, now); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

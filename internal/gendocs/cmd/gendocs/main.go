// Command gendocs regenerates certctl's man pages (docs/man), shell
// completion scripts (completions) and the root help that pkg/fastpath
// prints (pkg/fastpath/help.txt) from the live command tree:
//
//	go run ./internal/gendocs/cmd/gendocs            # from the repository root
//	go generate ./internal/gendocs                   # the same, via go:generate
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/certctl/certctl/internal/gendocs"
	"github.com/certctl/certctl/pkg/fastpath"
)

func main() {
	rootDir := flag.String("root", ".", "repository root `directory` (holding go.mod)")
	flag.Parse()
	if _, err := os.Stat(filepath.Join(*rootDir, "go.mod")); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %s does not look like the repository root (no go.mod); use -root\n", *rootDir)
		os.Exit(2)
	}
	man := filepath.Join(*rootDir, "docs", "man")
	compl := filepath.Join(*rootDir, "completions")
	if err := gendocs.Generate(gendocs.Tree(), man, compl); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
	help, err := gendocs.RootHelp(gendocs.Tree())
	if err == nil {
		err = os.WriteFile(filepath.Join(*rootDir, filepath.FromSlash(fastpath.HelpFile)), help, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

// Package layers checks that dependencies point one way: commands may use
// domain packages, but domain and foundation packages never import the CLI
// layer (cobra, viper, lipgloss, tablewriter, the terminal and output
// packages, or the commands themselves).
package layers

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cliOnly are imports reserved to the command layer.
var cliOnly = []string{
	"github.com/spf13/cobra",
	"github.com/spf13/viper",
	"github.com/charmbracelet/lipgloss",
	"github.com/olekukonko/tablewriter",
	"github.com/certctl/certctl/pkg/commands",
	"github.com/certctl/certctl/pkg/cmdutil",
	"github.com/certctl/certctl/pkg/iostreams",
	"github.com/certctl/certctl/pkg/output",
	"github.com/certctl/certctl/pkg/app",
}

// commandLayer are the packages allowed to import them.
var commandLayer = []string{
	"github.com/certctl/certctl/cmd/",
	"github.com/certctl/certctl/pkg/app",
	"github.com/certctl/certctl/pkg/commands",
	"github.com/certctl/certctl/pkg/cmdutil",
	"github.com/certctl/certctl/pkg/output",
	"github.com/certctl/certctl/pkg/iostreams",
	"github.com/certctl/certctl/pkg/config",
	"github.com/certctl/certctl/internal/",
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == strings.TrimSuffix(p, "/") || strings.HasPrefix(s, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

func TestDomainPackagesDoNotImportTheCLI(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/certctl/certctl/pkg/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if hasPrefix(p.ImportPath, commandLayer) {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if hasPrefix(imp, cliOnly) {
				t.Errorf("%s imports %s: domain and foundation packages must not depend on the command layer", p.ImportPath, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d domain packages checked; is the module path right?", checked)
	}
}

const module = "github.com/certctl/certctl/"

// commandPackages lists the packages under pkg/commands with their imports.
func commandPackages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"pkg/commands/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p.Imports
	}
	if len(pkgs) < 15 {
		t.Fatalf("only %d command packages found", len(pkgs))
	}
	return pkgs
}

// TestCommandsAreThin checks the shape of the command layer: a command
// parses, calls one service and prints. It never imports another command
// (only the root assembles the tree), never imports the store (so it cannot
// open a transaction: that is a service's job), and never reaches for the
// retired helpers that let it.
func TestCommandsAreThin(t *testing.T) {
	forbidden := []string{
		module + "pkg/localstore",
	}
	for pkg, imports := range commandPackages(t) {
		for _, imp := range imports {
			if strings.HasPrefix(imp, module+"pkg/commands/") && pkg != module+"pkg/commands/root" {
				t.Errorf("%s imports %s: commands never import other commands", pkg, imp)
			}
			if hasPrefix(imp, forbidden) {
				t.Errorf("%s imports %s: commands call a service instead of opening transactions", pkg, imp)
			}
		}
	}
	// Textual checks catch what an import list cannot: a transaction
	// reached through another package's field.
	files, err := filepath.Glob("../../pkg/commands/*/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no command sources found: %v", err)
	}
	banned := regexp.MustCompile(`\.Store\.(Update|View)\(|\bVaultError\(|\bMapError\(|\.OpenEnv\(|\bEmitter\(\)`)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := banned.FindString(line); m != "" {
				t.Errorf("%s:%d: %s — commands call a service; transactions, events and error mapping live there", file, i+1, strings.TrimSpace(m))
			}
		}
	}
}

// TestEveryCommandHasAFlagTest checks that each NewCmdX of the command layer
// is exercised by a flag-parsing test (internal/flagtest.Parse through runF).
func TestEveryCommandHasAFlagTest(t *testing.T) {
	dirs, err := filepath.Glob("../../pkg/commands/*")
	if err != nil {
		t.Fatal(err)
	}
	ctor := regexp.MustCompile(`(?m)^func (NewCmd\w+)\(f \*cmdutil\.Factory, runF func\(`)
	found := 0
	for _, dir := range dirs {
		srcs, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		var code, tests strings.Builder
		for _, f := range srcs {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, "_test.go") {
				tests.Write(data)
			} else {
				code.Write(data)
			}
		}
		for _, m := range ctor.FindAllStringSubmatch(code.String(), -1) {
			found++
			if !regexp.MustCompile(`flagtest\.Parse\(t, ` + m[1] + `\b`).MatchString(tests.String()) {
				t.Errorf("%s: %s has no flag-parsing test (flagtest.Parse(t, %s, …))", filepath.Base(dir), m[1], m[1])
			}
		}
	}
	if found < 40 {
		t.Errorf("only %d NewCmdX(f, runF) constructors found: every command and verb has one", found)
	}
}

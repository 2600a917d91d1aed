// Package layers checks that dependencies point one way: commands may use
// domain packages, but domain and foundation packages never import the CLI
// layer (cobra, viper, lipgloss, tablewriter, the terminal and output
// packages, or the commands themselves).
package layers

import (
	"encoding/json"
	"io"
	"os/exec"
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

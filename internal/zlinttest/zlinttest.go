// Package zlinttest runs zlint over certificates and CRLs in tests and
// judges the results by the lint sources SPEC names for certctl's private
// CAs (RFC5280, RFC5480, RFC3279, RFC5891, RFC8813, Community: not the CA/B
// Forum or root-program sets).
package zlinttest

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// Sources are the lint sources certctl's certificates are judged by.
var Sources = []string{"RFC5280", "RFC5480", "RFC3279", "RFC5891", "RFC8813", "Community"}

// Linter runs one zlint binary.
type Linter struct {
	bin     string
	sources map[string]string // lint name -> source
}

// New reads the lint catalogue of the zlint at bin. zlint v3.6.1 rejects
// "-includeSources RFC3279,RFC8813" (its source-name parser misses them), so
// every lint runs and results are filtered by source here.
func New(bin string) (*Linter, error) {
	out, err := exec.Command(bin, "-list-lints-json").Output()
	if err != nil {
		return nil, fmt.Errorf("zlint -list-lints-json: %v", err)
	}
	l := &Linter{bin: bin, sources: map[string]string{}}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e struct{ Name, Source string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("zlint -list-lints-json line %q: %v", line, err)
		}
		l.sources[e.Name] = e.Source
		seen[e.Source] = true
	}
	for _, s := range Sources {
		if !seen[s] {
			return nil, fmt.Errorf("zlint knows no lint of source %s", s)
		}
	}
	return l, nil
}

// Finding is an error- or fatal-level result of one lint.
type Finding struct {
	Lint, Result, Details string
}

// Lint runs zlint on the PEM file at path and returns the error and fatal
// findings of the SPEC's sources, and how many of their lints passed (zero
// passes means the source filter matched nothing, which callers treat as
// a failure).
func (l *Linter) Lint(path string) (findings []Finding, passed int, err error) {
	out, err := exec.Command(l.bin, path).CombinedOutput()
	if err != nil {
		return nil, 0, fmt.Errorf("zlint %s: %v\n%s", path, err, out)
	}
	var results map[string]struct {
		Result  string `json:"result"`
		Details string `json:"details"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		return nil, 0, fmt.Errorf("zlint %s output: %v\n%s", path, err, out)
	}
	for lint, r := range results {
		if !slices.Contains(Sources, l.sources[lint]) {
			continue
		}
		switch r.Result {
		case "error", "fatal":
			findings = append(findings, Finding{Lint: lint, Result: r.Result, Details: r.Details})
		case "pass":
			passed++
		}
	}
	return findings, passed, nil
}

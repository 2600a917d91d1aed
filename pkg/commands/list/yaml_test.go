package list_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
)

// TestListYAMLStreamed: list -o yaml, written a certificate at a time
// (its whole page as YAML nodes took 2.2 GB over 50,000 certificates:
// scale tester), is the YAML Print writes for the same page — empty, with
// certificates of every kind, with a next page's token.
func TestListYAMLStreamed(t *testing.T) {
	e := clitest.New(t)
	check := func(args ...string) {
		t.Helper()
		// What the page is: -o json's, in the order of its fields.
		js := e.MustRun(append([]string{"list", "-o", "json"}, args...)...).Stdout
		if !json.Valid([]byte(js)) {
			t.Fatalf("list -o json: %s", js)
		}
		ios, _, out, _ := iostreams.Test()
		p, err := output.New(ios, "yaml", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Print(json.RawMessage(js), output.View{}); err != nil {
			t.Fatal(err)
		}
		got := e.MustRun(append([]string{"list", "-o", "yaml"}, args...)...).Stdout
		if got != out.String() {
			t.Errorf("list %v -o yaml:\n%s\nPrint:\n%s", args, got, out.String())
		}
		var back any
		if err := yaml.Unmarshal([]byte(got), &back); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(back); string(b) == "" || !bytes.Contains(b, []byte(`"CertificateSummaryList"`)) {
			t.Errorf("YAML read back: %s", b)
		}
	}
	check()
	e.RequestPrivate("private.internal")
	e.MustRun("request", "--domain-name", "pending.example.test", "--subject-alternative-names", "on.example.test,yes.example.test")
	e.ImportLeaf(testpki.LeafOptions{Names: []string{"imported.example.test"}}, "--tags", "env=prod")
	check()
	check("--max-items", "2")
	check("--key-types", "RSA_4096") // none
}

package search_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/seed"
	searchcmd "github.com/certctl/certctl/pkg/commands/search"
	printer "github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestStreamedOutputIsPrints: search prints its results as it reads them
// (a thousand at a time: `search -o yaml` of 100,000 held them all, 8 GB,
// tester), and what it prints is, byte for byte, what printing the whole
// page at once printed — with more results than one block, paged and not,
// as JSON, YAML and text.
func TestStreamedOutputIsPrints(t *testing.T) {
	e := clitest.New(t)
	e.RequestPrivate("first.internal")
	v := e.OpenVault()
	if err := seed.Imported(context.Background(), v, 1100, e.Now()); err != nil {
		t.Fatal(err)
	}
	v.Close()
	for _, c := range []struct {
		format string
		args   []string
		in     certificates.SearchInput
	}{
		{"json", nil, certificates.SearchInput{}},
		{"yaml", nil, certificates.SearchInput{}},
		{"text", nil, certificates.SearchInput{}},
		{"json", []string{"--max-items", "1050"}, certificates.SearchInput{MaxItems: 1050}},
		{"yaml", []string{"san:host00000*", "--max-items", "3"}, certificates.SearchInput{Query: "san:host00000*", MaxItems: 3}},
		{"json", []string{"san:none.example.test"}, certificates.SearchInput{Query: "san:none.example.test"}},
	} {
		r := e.Run(append(append([]string{"search", "-o", c.format}, c.args...), "--no-color")...)
		if r.Code != 0 {
			t.Fatalf("%s %v: %v", c.format, c.args, r)
		}
		f, out, _ := e.Factory()
		svc, err := f.Certificates(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		page, err := svc.Search(context.Background(), c.in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := printer.New(f.IO, c.format, "")
		if err != nil {
			t.Fatal(err)
		}
		whole := searchcmd.Output{Results: page.Results}
		if page.NextToken != "" {
			whole.NextToken = &page.NextToken
		}
		if err := p.Print(whole, printer.View{Records: func() [][]string { return searchcmd.Records(page.Results) }}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal([]byte(r.Stdout), out.Bytes()) {
			t.Errorf("%s %v: the streamed output (%d bytes) differs from the whole page printed (%d bytes)", c.format, c.args, len(r.Stdout), out.Len())
		}
		if c.format == "json" && c.args == nil && bytes.Count(out.Bytes(), []byte(`"CertificateArn"`)) != 1101 {
			t.Errorf("the whole search printed %d results, want 1101", bytes.Count(out.Bytes(), []byte(`"CertificateArn"`)))
		}
	}
}

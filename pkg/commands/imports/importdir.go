package imports

import (
	"context"
	"fmt"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

func runImportDir(ctx context.Context, o *ImportOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	pass, err := cmdutil.ReadKeyPassphrase(o.IO, o.KeyPassphraseFile)
	if err != nil {
		return err
	}
	// The status line the bulk commands show (nothing with -q, in a
	// pipe or with TERM=dumb: tester, a bar was drawn there too).
	prog := cmdutil.NewFileProgress(o.IO, o.Quiet(), "importing")
	total, done := 0, 0
	res, err := svc.ImportDir(ctx, certificates.ImportDirRequest{
		Dir:           o.FromDir,
		Tags:          o.Tags,
		KeyPassphrase: pass,
		Started:       func(n int) { total = n },
		FileDone: func(failed bool) {
			if failed {
				prog.Failed()
			}
			done++
			prog.Advanced(done, total)
		},
	})
	prog.Clear()
	if err != nil {
		return err
	}
	if o.Quiet() && !p.HasQuery() {
		// A cron sync: what happened, not the files unchanged
		// (tester: 720 SKIPPED results in the mail; with -o text
		// too, which the renewal pass kept quiet).
		told := *res
		told.Results = nil
		for _, r := range res.Results {
			if r.Status != certificates.FileSkipped {
				told.Results = append(told.Results, r)
			}
		}
		if len(told.Results) > 0 {
			if err := p.Print(&told, dirView(&told)); err != nil {
				return err
			}
		}
		cmdutil.PrintNotices(o.IO, res.Notices...)
		return res.Err()
	}
	if err := p.Print(res, dirView(res)); err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, res.Notices...)
	if o.IO.IsStderrTTY() || !p.Wants("json") {
		notDone := ""
		if res.NotDone > 0 {
			notDone = fmt.Sprintf(", %d not done", res.NotDone)
		}
		fmt.Fprintf(o.IO.ErrOut, "%d imported, %d reimported, %d skipped, %d failed%s\n", res.Imported, res.Reimported, res.Skipped, res.Failed, notDone)
	}
	return res.Err()
}

func dirView(res *certificates.ImportDirResult) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			if len(res.Results) == 0 {
				return &output.Table{Rows: [][]string{{"No certificate files found."}}}
			}
			t := &output.Table{Headers: []string{"FILE", "STATUS", "ARN OR ERROR"}}
			for _, r := range res.Results {
				detail := r.CertificateArn
				if r.CertificateAuthorityArn != "" {
					detail = r.CertificateAuthorityArn
				}
				status := s.OK(r.Status)
				switch r.Status {
				case certificates.FileSkipped:
					status = s.Dim(r.Status)
				case certificates.FileFailed:
					detail, status = r.Error, s.Bad(r.Status)
				case certificates.FileNotDone:
					status = s.Bad(r.Status)
				}
				t.Rows = append(t.Rows, []string{output.Sanitize(r.File), status, output.Sanitize(detail)})
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, r := range res.Results {
				arn := r.CertificateArn
				if r.CertificateAuthorityArn != "" {
					arn = r.CertificateAuthorityArn
				}
				rows = append(rows, []string{r.File, r.Status, arn, r.Error})
			}
			return rows
		},
	}
}

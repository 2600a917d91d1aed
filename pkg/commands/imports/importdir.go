package imports

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// item is one certificate found in a directory.
type item struct {
	File, KeyFile, ChainFile string
	Bundle                   bool
	Err                      string // set when the file cannot be imported at all
}

// FileResult is the outcome of one file of a bulk import.
type FileResult struct {
	File           string `json:"File"`
	CertificateArn string `json:"CertificateArn,omitempty"`
	Status         string `json:"Status"`
	Error          string `json:"Error,omitempty"`
}

// DirResult is the output of import --from-dir.
type DirResult struct {
	Results  []FileResult `json:"Results"`
	Imported int          `json:"Imported"`
	Failed   int          `json:"Failed"`
}

// certbotDirs are certbot's directories that hold no live certificates.
var certbotDirs = map[string]bool{"archive": true, "renewal": true, "accounts": true, "csr": true, "keys": true, "renewal-hooks": true}

// discover finds the certificates under dir.
func discover(dir string) ([]item, error) {
	var items []item
	byDir := map[string][]string{}
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && certbotDirs[d.Name()] {
				if _, err := os.Stat(filepath.Join(filepath.Dir(p), "live")); err == nil {
					return filepath.SkipDir
				}
			}
			dirs = append(dirs, p)
			return nil
		}
		byDir[filepath.Dir(p)] = append(byDir[filepath.Dir(p)], d.Name())
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		names := byDir[d]
		sort.Strings(names)
		has := map[string]bool{}
		for _, n := range names {
			has[n] = true
		}
		used := map[string]bool{}
		if has["cert.pem"] && has["privkey.pem"] {
			it := item{File: filepath.Join(d, "cert.pem"), KeyFile: filepath.Join(d, "privkey.pem")}
			if has["chain.pem"] {
				it.ChainFile = filepath.Join(d, "chain.pem")
			}
			items = append(items, it)
			for _, n := range []string{"cert.pem", "privkey.pem", "chain.pem", "fullchain.pem"} {
				used[n] = true
			}
		}
		for _, n := range names {
			if used[n] || !isCertName(n) {
				continue
			}
			base := strings.TrimSuffix(n, filepath.Ext(n))
			it := item{File: filepath.Join(d, n)}
			for _, k := range []string{base + ".key", base + "-key.pem", base + ".key.pem"} {
				if has[k] && k != n {
					it.KeyFile = filepath.Join(d, k)
					used[k] = true
					break
				}
			}
			if it.KeyFile == "" {
				data, err := os.ReadFile(it.File)
				switch {
				case err != nil:
					it.Err = err.Error()
				case bytes.Contains(data, []byte("PRIVATE KEY-----")) && bytes.Contains(data, []byte("-----BEGIN CERTIFICATE")):
					it.Bundle = true
				case bytes.Contains(data, []byte("PRIVATE KEY-----")):
					continue // a key file of another naming scheme
				default:
					it.Err = "no private key found beside it (name.key, name-key.pem) and it is not a bundle"
				}
			}
			items = append(items, it)
		}
	}
	return items, nil
}

func isCertName(n string) bool {
	if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "-key.pem") || strings.HasSuffix(n, ".key.pem") {
		return false
	}
	switch strings.ToLower(filepath.Ext(n)) {
	case ".pem", ".crt", ".cer", ".cert":
		return true
	}
	return false
}

type parsed struct {
	idx int
	c   *localstore.Certificate
	m   *inventory.Material
	err error
}

// batchSize is how many certificates one transaction commits: large enough
// to amortise the commit's fsync, small enough to report progress.
const batchSize = 500

func runImportDir(ctx context.Context, o *ImportOptions) error {
	f := o.Factory
	p, err := f.Printer()
	if err != nil {
		return err
	}
	tags, err := inventory.ParseTags(o.Tags)
	if err != nil {
		return err
	}
	if tags, err = inventory.MergeTags(nil, tags); err != nil {
		return err
	}
	st, err := os.Stat(o.FromDir)
	if err != nil || !st.IsDir() {
		return errs.NotFoundf("--from-dir %s: no such directory", o.FromDir)
	}
	items, err := discover(o.FromDir)
	if err != nil {
		return errs.Invalidf("--from-dir: %v", err)
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	v, err := f.Vault(ctx)
	if err != nil {
		return err
	}
	names := inventory.Names{Region: cfg.Region, Account: cfg.Account}
	now := f.Now()
	results := make([]FileResult, len(items))

	// Parse and check in parallel; commit in order, in batches.
	jobs := make(chan int)
	out := make(chan parsed, 2*batchSize)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out <- parseItem(i, items[i], tags, now)
			}
		}()
	}
	go func() {
		for i := range items {
			if ctx.Err() != nil {
				break
			}
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(out)
	}()

	bar := f.IO.NewProgress("importing", len(items))
	var batch []parsed
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		em := &events.Emitter{Region: cfg.Region, Account: cfg.Account, Now: f.Now}
		err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			em.Pending = nil
			for _, b := range batch {
				if err := inventory.StoreImported(tx, v, b.c, b.m, now); err != nil {
					return err
				}
				if err := em.EmitAvailable(tx, b.c, events.ActionImport); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			events.Deliver(ctx, cfg.EventHook, em.Pending, f.IO.ErrOut)
		}
		for _, b := range batch {
			r := &results[b.idx]
			if err != nil {
				r.Status, r.Error = "FAILED", err.Error()
			} else {
				r.Status, r.CertificateArn = "IMPORTED", names.CertificateARN(b.c.ID)
			}
		}
		failed := 0
		if err != nil {
			failed = len(batch)
		}
		bar.Add(len(batch), failed)
		batch = batch[:0]
		return err
	}
	var storeErr error
	for r := range out {
		if r.err != nil {
			results[r.idx] = FileResult{File: items[r.idx].File, Status: "FAILED", Error: r.err.Error()}
			bar.Add(1, 1)
			continue
		}
		results[r.idx].File = items[r.idx].File
		batch = append(batch, r)
		if len(batch) >= batchSize {
			if err := flush(); err != nil && storeErr == nil {
				storeErr = err
			}
		}
	}
	if err := flush(); err != nil && storeErr == nil {
		storeErr = err
	}
	bar.Done()
	if ctx.Err() != nil {
		return cmdutil.VaultError(ctx.Err())
	}

	res := DirResult{Results: results}
	for _, r := range results {
		if r.Status == "IMPORTED" {
			res.Imported++
		} else {
			res.Failed++
		}
	}
	if err := p.Print(res, dirView(res)); err != nil {
		return err
	}
	if f.IO.IsStderrTTY() || !p.Wants("json") {
		fmt.Fprintf(f.IO.ErrOut, "%d imported, %d failed\n", res.Imported, res.Failed)
	}
	if storeErr != nil && res.Imported == 0 {
		return cmdutil.VaultError(storeErr)
	}
	if res.Failed > 0 {
		return &errs.Error{Exit: errs.ExitPartial, Msg: fmt.Sprintf("%d of %d files failed to import", res.Failed, len(results))}
	}
	return nil
}

func parseItem(i int, it item, tags []localstore.Tag, now time.Time) parsed {
	if it.Err != "" {
		return parsed{idx: i, err: fmt.Errorf("%s", it.Err)}
	}
	raw := inventory.RawMaterial{}
	read := func(path string) ([]byte, error) {
		if path == "" {
			return nil, nil
		}
		return os.ReadFile(path)
	}
	var err error
	if it.Bundle {
		raw.Bundle, err = read(it.File)
		raw.BundleFile = it.File
	} else {
		raw.CertificateFile, raw.PrivateKeyFile, raw.ChainFile = it.File, it.KeyFile, it.ChainFile
		if raw.CertificatePEM, err = read(it.File); err == nil {
			if raw.PrivateKeyPEM, err = read(it.KeyFile); err == nil {
				raw.ChainPEM, err = read(it.ChainFile)
			}
		}
	}
	if err != nil {
		return parsed{idx: i, err: err}
	}
	m, err := inventory.ParseMaterial(raw, now)
	if err != nil {
		return parsed{idx: i, err: err}
	}
	c, err := inventory.NewImported(m, tags, now)
	return parsed{idx: i, c: c, m: m, err: err}
}

func dirView(res DirResult) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"FILE", "STATUS", "ARN OR ERROR"}}
			for _, r := range res.Results {
				detail := r.CertificateArn
				status := s.OK(r.Status)
				if r.Status != "IMPORTED" {
					detail, status = r.Error, s.Bad(r.Status)
				}
				t.Rows = append(t.Rows, []string{output.Sanitize(r.File), status, output.Sanitize(detail)})
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, r := range res.Results {
				rows = append(rows, []string{r.File, r.Status, r.CertificateArn, r.Error})
			}
			return rows
		},
	}
}

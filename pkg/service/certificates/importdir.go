package certificates

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

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// ImportDirRequest is what `certctl import --from-dir` takes.
type ImportDirRequest struct {
	Dir string
	// Tags are --tags values, put on every certificate imported.
	Tags []string
	// Started, when set, is told how many certificates were found;
	// FileDone of each file once it is imported or has failed (a progress
	// bar).
	Started  func(total int)
	FileDone func(failed bool)
}

// Import statuses of one file.
const (
	FileImported = "IMPORTED"
	FileFailed   = "FAILED"
)

// ImportFileResult is the outcome of one file of a bulk import.
type ImportFileResult struct {
	File           string `json:"File"`
	CertificateArn string `json:"CertificateArn,omitempty"`
	Status         string `json:"Status"`
	Error          string `json:"Error,omitempty"`
}

// ImportDirResult is the outcome of a bulk import, one result per file in
// the order the files were found.
type ImportDirResult struct {
	Results  []ImportFileResult `json:"Results"`
	Imported int                `json:"Imported"`
	Failed   int                `json:"Failed"`
	// StoreErr is the first failure to store a certificate whose file was
	// good: the vault, not the file, failed.
	StoreErr error `json:"-"`
}

// ImportDir imports every certificate found under req.Dir: name.crt
// beside name.key, name.pem beside name-key.pem, a bundle per file, or
// certbot's live/<name>/ layout. Files are read and checked in parallel;
// each certificate is then one ImportCertificate change (recorded on its
// own, committed batchSize to a transaction; a failure costs only its
// file). A file that breaks a rule is recorded as a failed
// ImportCertificate.
func (s *Service) ImportDir(ctx context.Context, req ImportDirRequest) (*ImportDirResult, error) {
	given, err := inventory.ParseTags(req.Tags)
	if err != nil {
		return nil, err
	}
	if _, err := inventory.MergeTags(nil, given); err != nil {
		return nil, err
	}
	st, err := os.Stat(req.Dir)
	if err != nil || !st.IsDir() {
		return nil, errs.NotFoundf("--from-dir %s: no such directory", req.Dir)
	}
	items, err := discover(req.Dir)
	if err != nil {
		return nil, errs.Invalidf("--from-dir: %v", err)
	}
	if req.Started != nil {
		req.Started(len(items))
	}
	now := s.core.Now()
	res := &ImportDirResult{Results: make([]ImportFileResult, len(items))}

	// Parse and check in parallel; store in the order the files come out
	// of the workers.
	type parsed struct {
		idx int
		parsedImport
	}
	jobs := make(chan int)
	out := make(chan parsed, 64)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out <- parsed{i, parseItem(items[i], given, now)}
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
	// Certificates that parsed are stored batchSize to a transaction (one
	// commit for many, each still its own recorded change); a file that
	// failed to parse is recorded on its own.
	var batch []parsed
	arns := make([]string, len(items))
	done := func(idx int, err error) {
		r := &res.Results[idx]
		r.File = items[idx].File
		if err != nil {
			r.Status, r.Error = FileFailed, err.Error()
		} else {
			r.Status, r.CertificateArn = FileImported, arns[idx]
		}
		if req.FileDone != nil {
			req.FileDone(err != nil)
		}
	}
	change := func(p parsed) func(*service.Op) error {
		it := items[p.idx]
		return s.importChange(p.parsedImport, func(op *service.Op) {
			op.Param("FromDir", req.Dir)
			op.Param("File", it.File)
			if len(given) > 0 {
				op.Param("Tags", given)
			}
		}, &arns[p.idx])
	}
	flush := func() {
		if len(batch) == 0 {
			return
		}
		fns := make([]func(*service.Op) error, len(batch))
		for i, p := range batch {
			fns[i] = change(p)
		}
		for i, err := range s.core.ChangeBatch(ctx, "ImportCertificate", fns) {
			if err != nil && res.StoreErr == nil && errs.ExitCodeOf(err) != errs.ExitInvalid && errs.ExitCodeOf(err) != errs.ExitRefused {
				res.StoreErr = err
			}
			done(batch[i].idx, err)
		}
		batch = batch[:0]
	}
	for p := range out {
		switch {
		case ctx.Err() != nil:
			done(p.idx, service.MapError(ctx.Err()))
		case p.err != nil:
			done(p.idx, s.core.Change(ctx, "ImportCertificate", change(p)))
		default:
			batch = append(batch, p)
			if len(batch) == batchSize {
				flush()
			}
		}
	}
	flush()
	if ctx.Err() != nil {
		return nil, service.MapError(ctx.Err())
	}
	for _, r := range res.Results {
		if r.Status == FileImported {
			res.Imported++
		} else {
			res.Failed++
		}
	}
	return res, nil
}

// batchSize is how many certificates one transaction commits: large enough
// that the commit's fsync is paid rarely, small enough that a retry after
// a failure redoes little.
const batchSize = 500

// item is one certificate found in a directory.
type item struct {
	File, KeyFile, ChainFile string
	Bundle                   bool
	Err                      string // set when the file cannot be imported at all
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

// parseItem reads and checks the files of it.
func parseItem(it item, given []localstore.Tag, now time.Time) parsedImport {
	if it.Err != "" {
		return parsedImport{err: fmt.Errorf("%s", it.Err)}
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
		return parsedImport{err: err}
	}
	return parseImport(raw, given, now)
}

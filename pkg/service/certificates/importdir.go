package certificates

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/shellarg"
	"github.com/certctl/certctl/pkg/x509util"
)

// ImportDirRequest is what `certctl import --from-dir` takes.
type ImportDirRequest struct {
	Dir string
	// Tags are --tags values, put on every certificate imported (not on
	// those reimported: ACM's reimport takes no tags).
	Tags []string
	// KeyPassphrase decrypts the encrypted private keys found (those not
	// encrypted are read as they are); nil when none was given.
	KeyPassphrase []byte
	// Started, when set, is told how many certificates were found;
	// FileDone of each file once it is imported or has failed (a progress
	// bar).
	Started  func(total int)
	FileDone func(failed bool)
}

// Import statuses of one file.
const (
	FileImported   = "IMPORTED"
	FileReimported = "REIMPORTED"
	FileSkipped    = "SKIPPED"
	FileFailed     = "FAILED"
	// FileNotDone: the import was interrupted (Ctrl-C, SIGTERM) before it
	// reached the file, or while its change was being made; nothing was
	// imported from it (see service.OutcomeNotDone).
	FileNotDone = service.OutcomeNotDone
)

// Extra keys of a certificate imported from a directory: the absolute
// path of the file it came from, and the SHA-256 of the files as imported,
// by which a later `import --from-dir` recognises it.
const (
	ExtraImportSource = "import.source"
	ExtraImportDigest = "import.digest"
)

// ImportFileResult is the outcome of one file of a bulk import.
type ImportFileResult struct {
	File           string `json:"File"`
	CertificateArn string `json:"CertificateArn,omitempty"`
	// CertificateAuthorityArn is set for a CA imported as a CA of the
	// vault (mkcert's CAROOT).
	CertificateAuthorityArn string `json:"CertificateAuthorityArn,omitempty"`
	Status                  string `json:"Status"`
	Error                   string `json:"Error,omitempty"`
}

// ImportDirResult is the outcome of a bulk import, one result per file in
// the order the files were found.
type ImportDirResult struct {
	Results    []ImportFileResult `json:"Results"`
	Imported   int                `json:"Imported"`
	Reimported int                `json:"Reimported"`
	Skipped    int                `json:"Skipped"`
	Failed     int                `json:"Failed"`
	// NotDone counts the files an interruption left NOT_DONE.
	NotDone int `json:"NotDone,omitempty"`
	// Interrupted reports that an interruption stopped the import.
	Interrupted bool `json:"-"`
	// StoreErr is the first failure to store a certificate whose file was
	// good: the vault, not the file, failed.
	StoreErr error `json:"-"`
	// Notices name the files found that are not imported for their
	// form — PKCS #12 (.p12, .pfx) — with how to convert one (tester: a
	// directory of them imported nothing, without a word).
	Notices []string `json:"-"`
}

// Err is the error of a bulk import: exit 7 when an interruption left
// files not done or a file failed; the vault's failure when no certificate
// could be stored. An interruption that came after the last file was done
// stopped nothing (tester: "0 of 2000 files not done", exit 7).
func (r *ImportDirResult) Err() error {
	switch {
	case r.Interrupted && r.NotDone > 0:
		return service.Interrupted(r.NotDone, len(r.Results), "files")
	case r.StoreErr != nil && r.Imported == 0:
		return r.StoreErr
	case r.Failed > 0:
		return &errs.Error{Exit: errs.ExitPartial, Msg: fmt.Sprintf("%d of %d files failed to import", r.Failed, len(r.Results))}
	}
	return nil
}

// ImportDir keeps the inventory in step with the certificates under
// req.Dir: name.crt beside name.key, name.pem beside name-key.pem, cert.pem
// beside key.pem, fullchain.pem beside privkey.pem, name.crt beside a
// name.pem holding the key (keyNames, keyByContent), a bundle per file,
// certbot's live/<name>/ layout, lego's
// .lego/certificates/ (name.crt, name.key, name.issuer.crt) and mkcert's
// CAROOT (rootCA.pem and rootCA-key.pem, imported as a CA of the vault).
//
// It is a sync: each certificate records the file it came from and a
// digest of what it read. A file imported before (the same path) whose
// content did not change is skipped without being parsed; one that changed
// and still names the same domains is reimported under its ARN (a new
// version); any other is a new import. Files are read, hashed and checked
// in parallel; each certificate is then one ImportCertificate change
// (recorded on its own, committed batchSize to a transaction; a failure
// costs only its file). A file that breaks a rule is recorded as a failed
// ImportCertificate.
func (s *Service) ImportDir(ctx context.Context, req ImportDirRequest) (*ImportDirResult, error) {
	given, err := inventory.ParseTags(req.Tags)
	if err != nil {
		return nil, err
	}
	if _, err := inventory.MergeTags(nil, given); err != nil {
		return nil, err
	}
	// A directory named on the command line that is missing or is not
	// one is invalid input (exit 4), as a missing input file is
	// (cmdutil.OpenFileArg).
	st, err := os.Stat(req.Dir)
	switch {
	case os.IsNotExist(err):
		return nil, errs.Invalidf("--from-dir: %s: no such directory", req.Dir)
	case err != nil:
		return nil, errs.Invalidf("--from-dir: %v", err)
	case !st.IsDir():
		return nil, errs.Invalidf("--from-dir: %s: not a directory", req.Dir)
	}
	items, notices, err := discover(req.Dir)
	if err != nil {
		return nil, errs.Invalidf("--from-dir: %v", err)
	}
	known, err := s.importedSources(ctx)
	if err != nil {
		return nil, err
	}
	if req.Started != nil {
		req.Started(len(items))
	}
	now := s.core.Now()
	res := &ImportDirResult{Results: make([]ImportFileResult, len(items)), Notices: notices}

	// Read, hash and check in parallel; store in the order the files come
	// out of the workers. The workers may get a whole batch ahead, so that
	// they go on reading and parsing while a batch commits: with room for
	// 64 they stopped soon after a commit began and the cores sat idle
	// through its writes and fsync (BenchmarkImportDir: 3418-3476 certs/s
	// against 4101-4182 with room for a batch). So up to two batches of
	// parsed certificates and keys (and one a worker) are in memory at
	// once: the one committing and the one waiting.
	jobs := make(chan int)
	out := make(chan prepared, batchSize)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out <- prepareItem(i, items[i], known, given, req.KeyPassphrase, now)
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
	var batch []prepared
	arns := make([]string, len(items))
	statuses := make([]string, len(items))
	done := func(p prepared, err error) {
		idx := p.idx
		r := &res.Results[idx]
		r.File = items[idx].File
		switch {
		case err != nil && service.Stopped(ctx):
			// Not committed: the interruption cancelled its change.
			r.Status = FileNotDone
		case err != nil && p.reimport != "":
			// The certificate this file was imported as before: a script
			// can tell which entry is stuck, and the message says how to
			// get past a rule a sync cannot break.
			r.Status, r.CertificateArn = FileFailed, s.core.Names.CertificateARN(p.reimport)
			r.Error = err.Error()
			var re *x509util.RuleError
			if errors.As(err, &re) && errs.ExitCodeOf(err) == errs.ExitRefused {
				r.Error += fmt.Sprintf(" (it was imported before as %s, which a reimport must keep to that rule: delete that certificate, or move the file, to import it as a new one)", r.CertificateArn)
			}
		case err != nil:
			r.Status, r.Error = FileFailed, err.Error()
		case items[idx].CA:
			r.Status, r.CertificateAuthorityArn = statuses[idx], arns[idx]
		default:
			r.Status, r.CertificateArn = statuses[idx], arns[idx]
		}
		if req.FileDone != nil {
			req.FileDone(err != nil)
		}
	}
	change := func(p prepared) func(*service.Op) error {
		it := items[p.idx]
		params := func(op *service.Op) {
			op.Param("FromDir", req.Dir)
			op.Param("File", it.File)
			if len(given) > 0 && p.reimport == "" {
				op.Param("Tags", given)
			}
		}
		if p.reimport != "" {
			return claimSource(p, s.reimportChange(p, params, &arns[p.idx], &statuses[p.idx]), nil)
		}
		imp := s.importChange(p.parsedImport, params, &arns[p.idx])
		return claimSource(p, func(op *service.Op) error {
			statuses[p.idx] = FileImported
			return imp(op)
		}, func(op *service.Op, id string) error {
			// Another run imported this file, unchanged, since this
			// one read the inventory: the same sync outcome as had it
			// been imported before.
			params(op)
			arns[p.idx], statuses[p.idx] = s.core.Names.CertificateARN(id), FileSkipped
			op.Resource(arns[p.idx])
			// Recorded (the batch commits it), saying that nothing was
			// imported.
			op.Param("Unchanged", true)
			return nil
		})
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
			done(batch[i], err)
		}
		batch = batch[:0]
	}
	for p := range out {
		switch {
		case service.Stopped(ctx):
			done(p, ctx.Err())
		case p.skip != "":
			arns[p.idx], statuses[p.idx] = s.core.Names.CertificateARN(p.skip), FileSkipped
			done(p, nil)
		case items[p.idx].CA:
			done(p, s.importCA(ctx, p, req, &arns[p.idx], &statuses[p.idx]))
		case p.err != nil:
			done(p, s.core.Change(ctx, "ImportCertificate", change(p)))
		default:
			batch = append(batch, p)
			if len(batch) == batchSize {
				flush()
			}
		}
	}
	flush()
	if service.Stopped(ctx) {
		// The files the workers never took are NOT_DONE too.
		res.Interrupted = true
		for i := range res.Results {
			if r := &res.Results[i]; r.Status == "" {
				r.File, r.Status = items[i].File, FileNotDone
			}
		}
	}
	for _, r := range res.Results {
		switch r.Status {
		case FileNotDone:
			res.NotDone++
		case FileImported:
			res.Imported++
		case FileReimported:
			res.Reimported++
		case FileSkipped:
			res.Skipped++
		default:
			res.Failed++
		}
	}
	return res, nil
}

// importSourceKind is the kind of the objects that record, per source
// file of a directory import, the certificate imported from it and the
// file's digest: read and written in each import's transaction, so that
// two syncs of one directory at once (overlapping cron runs) import each
// file once.
const importSourceKind = "import-source"

type importSource struct {
	ID     string `json:"id"`
	Digest string `json:"digest"`
}

// claimSource runs fn, the change that imports (or reimports) p's file,
// unless the store records that another run imported the file with the
// same digest since this one read the inventory: then skipped(op, ID of
// that certificate) runs instead. It records the file's certificate and
// digest with the change.
func claimSource(p prepared, fn func(*service.Op) error, skipped func(*service.Op, string) error) func(*service.Op) error {
	if p.source == "" {
		return fn
	}
	return func(op *service.Op) error {
		o, err := op.Tx.GetObject(importSourceKind, p.source)
		switch {
		case err == nil && skipped != nil:
			var rec importSource
			if json.Unmarshal(o.Data, &rec) == nil && rec.Digest == p.digest {
				if _, err := op.Tx.GetCertificate(rec.ID); err == nil {
					return skipped(op, rec.ID)
				} else if !errors.Is(err, localstore.ErrNotFound) {
					return err
				}
			}
		case err != nil && !errors.Is(err, localstore.ErrNotFound):
			return err
		}
		if err := fn(op); err != nil {
			return err
		}
		id := p.reimport
		if id == "" && p.c != nil {
			id = p.c.ID
		}
		data, err := json.Marshal(importSource{ID: id, Digest: p.digest})
		if err != nil {
			return err
		}
		return op.Tx.PutObject(&localstore.Object{Kind: importSourceKind, ID: p.source, Data: data, UpdatedAt: op.Now})
	}
}

// batchSize is how many certificates one transaction commits: large enough
// that the commit's fsync is paid rarely, small enough that a retry after
// a failure redoes little.
const batchSize = 500

// source is a certificate imported from a directory before, as the sync
// knows it.
type source struct {
	id, names, digest string
}

// importedSources maps the source file of every certificate imported from
// a directory to what was imported from it.
func (s *Service) importedSources(ctx context.Context) (map[string][]source, error) {
	var certs []*localstore.Certificate
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		certs, err = tx.ListCertificates(localstore.CertificateFilter{Origins: []string{inventory.OriginImported}})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]source{}
	for _, c := range certs {
		if p := c.Extra[ExtraImportSource]; p != "" && c.Type == inventory.TypeImported {
			out[p] = append(out[p], source{id: c.ID, names: namesKey(c), digest: c.Extra[ExtraImportDigest]})
		}
	}
	return out, nil
}

// namesKey is the names of c, as the sync compares them.
func namesKey(c *localstore.Certificate) string {
	return c.DomainName + "\x00" + strings.Join(c.SubjectAlternativeNames, ",")
}

// prepared is one item read and checked by a worker: skipped (unchanged
// since it was imported), to be reimported under an ARN, or imported.
type prepared struct {
	idx int
	parsedImport
	source, digest string
	// skip is the ID of the certificate the file is already in, unchanged.
	skip string
	// reimport is the ID of the certificate a changed file replaces.
	reimport string
	// raw is a CA item's material (imported by the authorities service).
	raw inventory.RawMaterial
}

// prepareItem reads it, and parses it unless the inventory already holds
// it unchanged; pass decrypts an encrypted key.
func prepareItem(idx int, it item, known map[string][]source, given []localstore.Tag, pass []byte, now time.Time) prepared {
	p := prepared{idx: idx}
	if it.Err != "" {
		p.err = fmt.Errorf("%s", it.Err)
		return p
	}
	abs, err := filepath.Abs(it.File)
	if err != nil {
		p.err = err
		return p
	}
	p.source = abs
	raw, digest, err := readItem(it)
	if err != nil {
		p.err = err
		return p
	}
	raw.Passphrase = pass
	p.digest = digest
	if it.CA {
		p.raw = raw
		return p
	}
	for _, k := range known[abs] {
		if k.digest == digest {
			p.skip = k.id
			return p
		}
	}
	p.parsedImport = parseImport(raw, given, now)
	if p.err == nil {
		p.c.Extra = map[string]string{ExtraImportSource: abs, ExtraImportDigest: digest}
		names := namesKey(p.c)
		// A certificate imported before email and URI names were kept
		// holds its other names alone (review: such a file, renewed,
		// was imported anew beside it).
		d, sans := x509util.LegacyCertificateNames(p.m.Leaf)
		legacy := d + "\x00" + strings.Join(sans, ",")
		for _, k := range known[abs] {
			if k.names == names || k.names == legacy {
				p.reimport = k.id
				break
			}
		}
	}
	return p
}

// reimportChange is the change that replaces certificate p.reimport with
// p's material under its ARN, and records the file's new digest: a
// REIMPORTED version, or SKIPPED when the certificate is the one already
// current (the file changed, its certificate did not). It sets *arn and
// *status.
func (s *Service) reimportChange(p prepared, params func(*service.Op), arn, status *string) func(*service.Op) error {
	return func(op *service.Op) error {
		params(op)
		*arn = s.core.Names.CertificateARN(p.reimport)
		op.Param("CertificateArn", *arn)
		op.Resource(*arn)
		c, changed, err := inventory.Reimport(op.Tx, s.core.Vault, p.reimport, p.m, op.Now)
		if err != nil {
			return err
		}
		op.Param("DomainName", c.DomainName)
		if c.Extra == nil {
			c.Extra = map[string]string{}
		}
		c.Extra[ExtraImportSource], c.Extra[ExtraImportDigest] = p.source, p.digest
		if err := op.Tx.PutCertificate(c); err != nil {
			return err
		}
		*status = FileSkipped
		if !changed {
			return nil
		}
		*status = FileReimported
		return op.Events.EmitAvailable(op.Tx, c, events.ActionReimport)
	}
}

// importCA imports a CA item (mkcert's rootCA.pem and rootCA-key.pem) as
// a CA of the vault; one the vault already holds is SKIPPED.
func (s *Service) importCA(ctx context.Context, p prepared, req ImportDirRequest, arn, status *string) error {
	if p.err != nil {
		return p.err
	}
	a, imported, err := authorities.New(s.core, authorities.Settings{}).ImportCA(ctx, authorities.ImportCARequest{
		CertificatePEM: p.raw.CertificatePEM, ChainPEM: p.raw.ChainPEM, PrivateKeyPEM: p.raw.PrivateKeyPEM, Source: p.source,
	})
	if err != nil {
		return err
	}
	*arn, *status = a, FileSkipped
	if imported {
		*status = FileImported
	}
	return nil
}

// item is one certificate found in a directory.
type item struct {
	File, KeyFile, ChainFile string
	Bundle                   bool
	// CA marks a CA certificate with its key (mkcert's CAROOT), imported
	// as a CA of the vault.
	CA  bool
	Err string // set when the file cannot be imported at all
}

// notCurrent are the directories of certbot and lego that hold no current
// certificates, by name, each with the directory that shows it is theirs
// when beside it: certbot's beside its live/, lego's beside its
// certificates/ (the certificates lego revoked and its account keys;
// conformance tester: a revoked certificate came back as a new IMPORTED
// one).
var notCurrent = map[string][]string{
	"archive": {"live"}, "renewal": {"live"}, "csr": {"live"}, "keys": {"live"}, "renewal-hooks": {"live"},
	"accounts": {"live", "certificates"}, "archives": {"certificates"},
}

// mkcert's CAROOT file names.
const (
	mkcertRoot    = "rootCA.pem"
	mkcertRootKey = "rootCA-key.pem"
)

// discover finds the certificates under dir, and the PKCS #12 files
// (.p12, .pfx), which are not imported.
func discover(dir string) (items []item, notices []string, err error) {
	// The walk names the top directory as given and the files' directory
	// as filepath.Dir cleans it: the two must be one (tester: ./dir and
	// dir/ imported nothing, exit 0).
	dir = filepath.Clean(dir)
	byDir := map[string][]string{}
	var dirs []string
	// unreadable are the directories below dir that could not be read
	// (lost+found at a volume's root, another user's 0700): each a
	// failed item of the summary, the rest of the tree still imported
	// (tester: one such directory stopped the whole sync, exit 4,
	// nothing imported). dir itself unreadable is the error.
	unreadable := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			// ReadDir's failure, reported after the directory itself
			// (in dirs already): what it read, if anything, is not
			// walked. A volume's lost+found, root's and unreadable to
			// everyone else, holds no certificate of the sync: passed
			// over, or a sync of a mount point would exit 7 at every
			// run (review).
			if d != nil && d.IsDir() && d.Name() == "lost+found" && errors.Is(err, fs.ErrPermission) {
				return filepath.SkipDir
			}
			unreadable[p] = unreadableDir(err)
			return filepath.SkipDir
		}
		if d.IsDir() {
			if p != dir {
				for _, sibling := range notCurrent[d.Name()] {
					if _, err := os.Stat(filepath.Join(filepath.Dir(p), sibling)); err == nil {
						return filepath.SkipDir
					}
				}
			}
			dirs = append(dirs, p)
			return nil
		}
		if ext := strings.ToLower(filepath.Ext(p)); ext == ".p12" || ext == ".pfx" {
			notices = append(notices, fmt.Sprintf("%s: PKCS #12 is not imported from a directory; convert it (openssl pkcs12 -in %s -nodes -out bundle.pem) and import --bundle bundle.pem", p, shellarg.Quote(p)))
		}
		byDir[filepath.Dir(p)] = append(byDir[filepath.Dir(p)], d.Name())
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, d := range dirs {
		if why, ok := unreadable[d]; ok {
			items = append(items, item{File: d, Err: why})
			continue
		}
		names := byDir[d]
		sort.Strings(names)
		has := map[string]bool{}
		for _, n := range names {
			has[n] = true
		}
		used := map[string]bool{}
		// pairedWith names the certificate file each key file was paired
		// with, for the certificate left without it.
		pairedWith := map[string]string{}
		// certbot's live/<name>/, in any directory, and the copies of it
		// people keep: fullchain.pem with privkey.pem alone, key.pem for
		// privkey.pem (tester: such directories imported nothing, exit
		// 0). fullchain.pem is cert.pem with its chain: one certificate.
		if it, names, ok := certbotPair(d, has); ok {
			items = append(items, it)
			for _, n := range names {
				used[n] = true
			}
			pairedWith[filepath.Base(it.KeyFile)] = filepath.Base(it.File)
		}
		if has[mkcertRoot] && has[mkcertRootKey] {
			items = append(items, item{File: filepath.Join(d, mkcertRoot), KeyFile: filepath.Join(d, mkcertRootKey), CA: true})
			used[mkcertRoot], used[mkcertRootKey] = true, true
		}
		for _, n := range names {
			// lego: name.issuer.crt is the chain of name.crt.
			if base, ok := strings.CutSuffix(n, ".issuer.crt"); ok && has[base+".crt"] && has[base+".key"] {
				used[n] = true
			}
		}
		first := len(items)
		var chains []chainFile // CA certificates without a key: chains
		var keyedCAs []keyedCA // CA certificates with a key beside them
		for _, n := range names {
			if used[n] || !isCertName(n) {
				continue
			}
			base := strings.TrimSuffix(n, filepath.Ext(n))
			it := item{File: filepath.Join(d, n)}
			for _, k := range keyNames(n) {
				if used[k] && slices.Contains(sharedKeyNames, k) {
					continue // another certificate's (cert.crt's, not fullchain.crt's too)
				}
				if has[k] && k != n {
					it.KeyFile = filepath.Join(d, k)
					used[k], pairedWith[k] = true, n
					break
				}
			}
			if it.KeyFile == "" {
				if k := keyByContent(d, n, names, used); k != "" {
					it.KeyFile = filepath.Join(d, k)
					used[k] = true
				}
			}
			if it.KeyFile != "" && has[base+".issuer.crt"] && strings.HasSuffix(n, ".crt") {
				it.ChainFile = filepath.Join(d, base+".issuer.crt")
			}
			if it.KeyFile != "" {
				// Perhaps a CA's certificate with its key (cfssl's
				// ca.pem and ca-key.pem): decided once the directory is
				// read (caWithKey).
				if data, err := readFound(it.File); err == nil {
					if certs := caCertificates(data); certs != nil {
						keyedCAs = append(keyedCAs, keyedCA{it: it, certs: certs})
						continue
					}
				}
			}
			if it.KeyFile == "" {
				data, err := readFound(it.File)
				switch {
				case err != nil:
					it.Err = err.Error()
				case bytes.Contains(data, []byte("PRIVATE KEY-----")) && bytes.Contains(data, []byte("-----BEGIN CERTIFICATE")):
					it.Bundle = true
				case bytes.Contains(data, []byte("PRIVATE KEY-----")):
					continue // a key file of another naming scheme
				case notDERCertificate(n, data):
					continue // a DER key, CRL or request
				case otherPEM(data):
					continue // DH parameters (certbot's ssl-dhparams.pem), a request, a CRL
				default:
					if certs := caCertificates(data); certs != nil {
						// A chain (ca.crt, name.chain.pem): the chain
						// of the certificates beside it that it
						// certifies, not one to import.
						chains = append(chains, chainFile{path: it.File, certs: certs, takenKey: takenKey(d, n, pairedWith)})
						continue
					}
					it.Err = notImportable(n, data) + takenKey(d, n, pairedWith)
				}
			}
			items = append(items, it)
		}
		loose := len(chains) // chains[:loose] are files without a key
		// A CA certificate with its key that certifies another
		// certificate of the directory is a CA, not a certificate to
		// list and deploy: the chain of those it certifies, named with
		// how to make it a CA of the vault (tester: cfssl's CA was
		// imported as a server certificate and the leaf beside it lost
		// its chain). One that certifies none (a self-signed server
		// certificate: openssl req -x509 marks it CA:TRUE) is imported
		// (review).
		others := dirCertificates(items[first:], false, chains, keyedCAs)
		for _, ca := range keyedCAs {
			if !certifiesAny(ca.certs, others) {
				items = append(items, ca.it)
				continue
			}
			chains = append(chains, chainFile{path: ca.it.File, certs: ca.certs})
			notices = append(notices, fmt.Sprintf("%s: a CA certificate with its key (%s) is not imported as a certificate (it is the chain of the certificates beside it that it certifies); to issue from it, make it a CA of the vault: certctl ca import --certificate %s --private-key %s",
				ca.it.File, ca.it.KeyFile, shellarg.Quote(ca.it.File), shellarg.Quote(ca.it.KeyFile)))
		}
		attachChains(items[first:], chains)
		failed, passed := unusedChains(items[first:], chains[:loose], keyedCAs)
		items = append(items, failed...)
		for _, p := range passed {
			notices = append(notices, fmt.Sprintf("%s: a CA certificate without its key that certifies no certificate beside it (a trust anchor?): passed over", p))
		}
	}
	return items, notices, nil
}

// unreadableDir says why a directory found below the one imported could
// not be read, without Go's "open PATH:" (the row names the directory).
func unreadableDir(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Sprintf("cannot read the directory: %v (nothing in it was imported)", err)
}

// otherPEM reports whether data is PEM holding no certificate (nor PKCS
// #7, nor a key, which are told apart before): DH parameters, a request, a
// CRL — nothing to import, as a README beside the certificates is not
// (tester: certbot's /etc/letsencrypt/ssl-dhparams.pem failed every sync,
// exit 7).
func otherPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN ")) &&
		!bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) &&
		!bytes.Contains(data, []byte("-----BEGIN PKCS7-----")) &&
		!bytes.Contains(data, []byte("-----BEGIN TRUSTED CERTIFICATE-----"))
}

// unusedChains are the failures of the files of CA certificates without a
// key that certify no other certificate of their directory: not a chain,
// so a certificate that was not imported, which the summary must count
// (tester: a self-signed certificate, which openssl req -x509 marks
// CA:TRUE, alone in a directory imported nothing, exit 0). The certificates
// that failed count, so a chain beside a certificate whose key is missing
// is not reported twice.
func unusedChains(items []item, loose []chainFile, keyed []keyedCA) (failed []item, passed []string) {
	if len(loose) == 0 {
		return nil, nil
	}
	certs := dirCertificates(items, true, nil, keyed) // read once
	for i, ch := range loose {
		// Not its own certificates: a root certifies the intermediate
		// of its own file.
		others := slices.Clone(certs)
		for j, o := range loose {
			if j != i {
				others = append(others, o.certs...)
			}
		}
		switch {
		case certifiesAny(ch.certs, others):
		case selfSignedLeaf(ch.certs):
			n := filepath.Base(ch.path)
			failed = append(failed, item{File: ch.path, Err: noKeyFound(n) + ", it is not a bundle, and it is a CA certificate that certifies no certificate beside it (not a chain)" + ch.takenKey})
		default:
			// Said, not failed (tester: nothing named the files passed
			// over).
			passed = append(passed, ch.path)
		}
	}
	return failed, passed
}

// certbotPair is the certificate of certbot's layout in directory d (has:
// its file names): cert.pem, else fullchain.pem, with privkey.pem, else
// key.pem, and chain.pem as its chain when there is one.
func certbotPair(d string, has map[string]bool) (item, []string, bool) {
	// Every certificate extension: cert.crt, fullchain.crt and key.pem
	// are one certificate as their .pem names are (review: fullchain.crt,
	// then fullchain.cer, was FAILED).
	for _, ext := range []string{".pem", ".crt", ".cer", ".cert"} {
		for _, cert := range []string{"cert" + ext, "fullchain" + ext} {
			for _, key := range []string{"privkey.pem", "key.pem", "key.key"} {
				if !has[cert] || !has[key] {
					continue
				}
				// cert.pem and fullchain.pem holding different
				// certificates: the key goes with the one it is the key
				// of (tester: fullchain.pem's own key was paired with
				// cert.pem, and both failed).
				full := "fullchain" + ext
				if cert != full && has[full] && !sameLeaf(filepath.Join(d, cert), filepath.Join(d, full)) &&
					!keyOf(filepath.Join(d, cert), filepath.Join(d, key)) && keyOf(filepath.Join(d, full), filepath.Join(d, key)) {
					continue
				}
				it := item{File: filepath.Join(d, cert), KeyFile: filepath.Join(d, key)}
				if has["chain"+ext] {
					it.ChainFile = filepath.Join(d, "chain"+ext)
				}
				used := []string{cert, "chain" + ext, key}
				// fullchain beside cert is the same certificate with its
				// chain only when its leaf is cert's: another one is
				// left to be imported or reported on its own (review: it
				// was dropped without a word).
				if full := "fullchain" + ext; cert != full && has[full] && sameLeaf(filepath.Join(d, cert), filepath.Join(d, full)) {
					used = append(used, full)
				}
				return it, used, true
			}
		}
	}
	return item{}, nil, false
}

// sameLeaf reports whether the files a and b begin with the same
// certificate.
func sameLeaf(a, b string) bool {
	x, y := firstCertificate(a), firstCertificate(b)
	return x != nil && y != nil && bytes.Equal(x.Raw, y.Raw)
}

// firstCertificate is the first certificate of the PEM file at path, or
// nil.
func firstCertificate(path string) *x509.Certificate {
	data, err := readFound(path)
	if err != nil {
		return nil
	}
	certs, err := pemio.ParseCertificatesPEM(data)
	if err != nil || len(certs) == 0 {
		return nil
	}
	return certs[0]
}

// sharedKeyNames are the key names of the common layouts, looked for
// beside cert.* and fullchain.* (keyNames): each pairs with one
// certificate.
var sharedKeyNames = []string{"key.pem", "key.key", "privkey.pem"}

// keyNames are the names of the key file looked for beside the
// certificate file n: name.key, name-key.pem and name.key.pem; for cert.*
// and fullchain.* also sharedKeyNames (tester: cert.pem beside key.pem
// imported nothing).
func keyNames(n string) []string {
	base := strings.TrimSuffix(n, filepath.Ext(n))
	names := []string{base + ".key", base + "-key.pem", base + ".key.pem"}
	if base == "cert" || base == "fullchain" {
		names = append(names, sharedKeyNames...)
	}
	return names
}

// keyByContent is the file of n's directory (names) with n's base name and
// another extension that holds a private key and no certificate, where
// the names do not say which is the key (name.crt beside name.pem); "" if
// none.
func keyByContent(dir, n string, names []string, used map[string]bool) string {
	base := strings.TrimSuffix(n, filepath.Ext(n))
	for _, k := range names {
		if k == n || used[k] || !isCertName(k) || strings.TrimSuffix(k, filepath.Ext(k)) != base {
			continue
		}
		data, err := readFound(filepath.Join(dir, k))
		if err == nil && bytes.Contains(data, []byte("PRIVATE KEY-----")) && !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE")) {
			return k
		}
	}
	return ""
}

// takenKey says, for certificate file n left without a key, which key
// file beside it was paired with another certificate file ("" if none):
// a cert.pem and a fullchain.pem holding different certificates beside
// one privkey.pem (tester: "no private key found" with privkey.pem there).
func takenKey(dir, n string, pairedWith map[string]string) string {
	for _, k := range keyNames(n) {
		// Only when the key is the other file's: a pairing by name
		// that its import then refuses says nothing of whose it is
		// (tester: the message named cert.pem for fullchain.pem's key).
		if other := pairedWith[k]; other != "" && other != n && keyOf(filepath.Join(dir, other), filepath.Join(dir, k)) {
			return fmt.Sprintf("; %s beside it is %s's key (the two files hold different certificates)", k, other)
		}
	}
	return ""
}

// keyOf reports whether the (unencrypted) private key in file key is the
// key of the first certificate in file cert; false when either does not
// read.
func keyOf(cert, key string) bool {
	c := firstCertificate(cert)
	if c == nil {
		return false
	}
	kd, err := readFound(key)
	if err != nil {
		return false
	}
	k, err := pemio.ParsePrivateKeyPEM(kd, nil)
	if err != nil {
		return false
	}
	return x509util.PublicKeysEqual(k.Public(), c.PublicKey)
}

// noKeyFound says which key files were looked for beside the certificate
// file n.
func noKeyFound(n string) string {
	base := strings.TrimSuffix(n, filepath.Ext(n))
	return fmt.Sprintf("no private key found beside it (looked for %s, or a %s.* file holding a PRIVATE KEY block)", strings.Join(keyNames(n), ", "), base)
}

// notDERCertificate reports a .der file that is neither PEM nor a DER
// certificate: a DER key, CRL or request, ignored as other files are.
func notDERCertificate(n string, data []byte) bool {
	if strings.ToLower(filepath.Ext(n)) != ".der" || bytes.Contains(data, []byte("-----BEGIN")) {
		return false
	}
	_, err := x509.ParseCertificate(data)
	return err != nil
}

// keyedCA is a file of CA certificates found with a key beside it.
type keyedCA struct {
	it    item
	certs []*x509.Certificate
}

// dirCertificates are the certificates of a directory: the first of each
// item's file (of those that failed too when withFailed), those of its
// chain files and those of its keyed CA files.
// selfSignedLeaf reports whether certs is one self-signed certificate
// that does not sign certificates (no keyCertSign): a certificate to
// import whose key is missing — openssl req -x509 marks it CA:TRUE and
// sets no key usage — not a trust anchor kept beside the certificates (a
// root, a client CA, kubeadm's or mkcert's CA: each asserts keyCertSign),
// which is passed over as before (review: trust anchors made every sync
// exit 7; a name-based rule dropped a SAN-less openssl certificate).
func selfSignedLeaf(certs []*x509.Certificate) bool {
	if len(certs) != 1 {
		return false
	}
	c := certs[0]
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.KeyUsage&x509.KeyUsageCertSign == 0
}

func dirCertificates(items []item, withFailed bool, chains []chainFile, keyed []keyedCA) []*x509.Certificate {
	var others []*x509.Certificate
	for _, it := range items {
		if it.Err != "" && !withFailed {
			continue
		}
		if data, err := readFound(it.File); err == nil {
			// Every certificate of the file: a root beside app.crt
			// certifies the intermediate after its leaf (review).
			if certs, err := pemio.ParseCertificatesPEM(data); err == nil {
				others = append(others, certs...)
			}
		}
	}
	for _, ch := range chains {
		others = append(others, ch.certs...)
	}
	for _, k := range keyed {
		others = append(others, k.certs...)
	}
	return others
}

// certifiesAny reports whether one of cas signed another certificate of
// the directory (others, dirCertificates).
func certifiesAny(cas []*x509.Certificate, others []*x509.Certificate) bool {
	for _, ca := range cas {
		for _, o := range others {
			if !o.Equal(ca) && o.CheckSignatureFrom(ca) == nil {
				return true
			}
		}
	}
	return false
}

// chainFile is a file of CA certificates found without a key.
type chainFile struct {
	path  string
	certs []*x509.Certificate
	// takenKey is takenKey's word for the file, reported if it fails.
	takenKey string
}

// chainOf reports whether the file is meant as cert's chain: one of its
// certificates signed cert, and cert is not one of them. The import then
// applies the rules of a chain to it, so a chain in the wrong order
// (root first) fails naming the file, as a --certificate-chain given so
// does, instead of the certificate being imported without one.
func (ch chainFile) chainOf(cert *x509.Certificate) bool {
	signed := false
	for _, c := range ch.certs {
		if c.Equal(cert) {
			return false
		}
		if !signed && cert.CheckSignatureFrom(c) == nil {
			signed = true
		}
	}
	return signed
}

// caCertificates parses data as PEM certificates and returns them when
// there is at least one and every one is a CA's; nil otherwise.
func caCertificates(data []byte) []*x509.Certificate {
	certs, err := pemio.ParseCertificatesPEM(data)
	if err != nil || len(certs) == 0 {
		return nil
	}
	for _, c := range certs {
		if !c.IsCA {
			return nil
		}
	}
	return certs
}

// attachChains gives each item of one directory that has a key and no
// chain the chain file beside it that is its chain (chainFile.chainOf; the
// first such file, in name order).
func attachChains(items []item, chains []chainFile) {
	if len(chains) == 0 {
		return
	}
	for i := range items {
		it := &items[i]
		if it.Err != "" || it.Bundle || it.CA || it.KeyFile == "" || it.ChainFile != "" {
			continue
		}
		data, err := readFound(it.File)
		if err != nil {
			continue
		}
		certs, err := pemio.ParseCertificatesPEM(data)
		if err != nil || len(certs) != 1 {
			continue // unreadable (its import says why), or bundled with its chain
		}
		for _, ch := range chains {
			if ch.chainOf(certs[0]) {
				it.ChainFile = ch.path
				break
			}
		}
	}
}

// readFound reads a file the sync found: a regular file of at most
// fsutil.MaxInputFile bytes (a named pipe or a device among the files is
// that file's failure, not a wait without end).
//
// Its failure is the file's, invalid input (exit 4) as an input file's
// read is for a single import (cmdutil.ReadFileArg), named and said
// without Go's "open": not a *fs.PathError, which the vault's own files
// fail with and which so reads as the vault unavailable (tester: an
// unreadable key file's row said "vault unavailable: open …").
func readFound(path string) ([]byte, error) {
	data, err := fsutil.ReadRegular(path, fsutil.MaxInputFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, errs.Invalidf("%s: %v", pe.Path, pe.Err)
		}
		return nil, &errs.Error{Exit: errs.ExitInvalid, Err: err}
	}
	return data, nil
}

// notImportable says why a certificate file found alone (no key beside
// it, no key in it, not a chain) is not imported: what reading it as
// certificates says when that fails (empty, PKCS #7, not PEM), else that
// its key is missing.
func notImportable(n string, data []byte) string {
	if _, err := pemio.ParseCertificatesPEM(data); err != nil {
		return err.Error()
	}
	return noKeyFound(n) + ", it is not a bundle, and it is not a CA certificate (a chain)"
}

func isCertName(n string) bool {
	if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "-key.pem") || strings.HasSuffix(n, ".key.pem") {
		return false
	}
	switch strings.ToLower(filepath.Ext(n)) {
	case ".pem", ".crt", ".cer", ".cert", ".der":
		return true
	}
	return false
}

// readItem reads the files of it and returns them as import material with
// the digest the sync compares: SHA-256 over each file's content.
func readItem(it item) (inventory.RawMaterial, string, error) {
	raw := inventory.RawMaterial{}
	h := sha256.New()
	read := func(path string) ([]byte, error) {
		if path == "" {
			h.Write([]byte{0})
			return nil, nil
		}
		data, err := readFound(path)
		fmt.Fprintf(h, "%d\x00", len(data))
		h.Write(data)
		return data, err
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
		// lego bundles the issuer into name.crt unless --no-bundle: the
		// name.issuer.crt beside it is then the same chain again.
		if err == nil && it.ChainFile != "" && bytes.Count(raw.CertificatePEM, []byte("-----BEGIN CERTIFICATE")) > 1 {
			raw.ChainPEM, raw.ChainFile = nil, ""
		}
	}
	if err != nil {
		return raw, "", err
	}
	return raw, hex.EncodeToString(h.Sum(nil)), nil
}

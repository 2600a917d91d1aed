package export

import (
	"context"
	"errors"
	"fmt"
	"github.com/certctl/certctl/pkg/fsutil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// selectionFlag names the selection flag given, for messages.
func selectionFlag(fl *pflag.FlagSet) string {
	if fl.Changed("filter-statement") {
		return "--filter-statement"
	}
	return "--query-terse"
}

// exportSelected exports a selection, one directory per certificate
// inside --out-dir.
func (o *ExportOptions) exportSelected(ctx context.Context, svc *certificates.Service, p *output.Printer) error {
	sel, err := o.Select.Selection(o.IO)
	if err != nil {
		return err
	}
	if err := checkOutDir(o.OutDir, o.Select.DryRun); err != nil {
		return err
	}
	if o.Select.DryRun && !o.NoPrivateKey && (o.PassphraseFile != "" || o.PassphraseStdin) {
		// The passphrase given is read and checked as the run would: a
		// dry run said "would export" of one it then refused (tester).
		// A prompt is not asked.
		pass, err := o.passphrase()
		if err != nil {
			return err
		}
		err = certificates.CheckExportPassphrase(pass, o.InsecurePlaintext)
		clear(pass)
		if err != nil {
			return err
		}
	}
	names := &dirNames{taken: map[string]string{}}
	prog := cmdutil.NewBulkProgress(o.IO, o.Quiet(), "exporting")
	rep, err := svc.ExportSelected(ctx, certificates.BulkExportRequest{
		BulkOptions: certificates.BulkOptions{Selection: sel, DryRun: o.Select.DryRun,
			Confirm: cmdutil.BulkConfirm(o.IO, o.Select.Yes, "export"), Progress: prog.Advanced},
		WithKey:      !o.NoPrivateKey,
		Format:       o.Format,
		PlaintextKey: o.InsecurePlaintext,
		Passphrase:   o.passphrase,
		Deliver: func(ex *certificates.Exported) (string, error) {
			dir, err := names.dir(o.OutDir, ex.DomainName, ex.ID)
			if err != nil {
				return "", err
			}
			_, err = writeFiles(dir, Output{Certificate: ex.Certificate, CertificateChain: ex.CertificateChain, PrivateKey: ex.PrivateKey},
				ex.PlaintextPrivateKey)
			if err == nil {
				warnCompromised(o, ex)
			}
			return dir, err
		},
	})
	prog.Clear()
	if err != nil {
		return err
	}
	return cmdutil.PrintBulk(p, o.IO, rep, o.Quiet())
}

// checkOutDir makes the --out-dir of a selection before any certificate
// is exported, so that one that cannot be made is invalid input (exit 4)
// as for one certificate, not a refusal of each (verification tester). A
// dry run makes nothing: it refuses a path below a file, or one that is a
// file, which the run would refuse.
func checkOutDir(dir string, dryRun bool) error {
	if !dryRun {
		if err := fsutil.MkdirAll(dir, 0o700); err != nil {
			return cmdutil.OutputPathError("--out-dir: ", err)
		}
		return nil
	}
	// The link rule of the real run (fsutil.MkdirAll), which makes
	// nothing here (review: the dry run said "would export" where the run
	// refused another user's link).
	if err := fsutil.CheckLinks(dir); err != nil {
		return cmdutil.OutputPathError("--out-dir: ", err)
	}
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			return cmdutil.OutputPathError("--out-dir: ", fmt.Errorf("mkdir %s: %s is not a directory: %w", dir, p, syscall.ENOTDIR))
		case err == nil:
			return nil
		case !errors.Is(err, os.ErrNotExist):
			return cmdutil.OutputPathError("--out-dir: ", err)
		}
		if filepath.Dir(p) == p {
			return nil
		}
	}
}

// dirNames names the directory of each certificate of a bulk export:
// DirName, unless another certificate of the same run took that name,
// then the domain and the whole ID.
type dirNames struct {
	mu    sync.Mutex
	taken map[string]string // name → certificate ID
}

// dir creates (0700) and returns the directory of certificate id inside
// out. It refuses a name that exists as anything but a directory (a
// symbolic link planted there would take the files out of out).
func (n *dirNames) dir(out, domain, id string) (string, error) {
	n.mu.Lock()
	name := DirName(domain, id, false)
	if other, ok := n.taken[name]; ok && other != id {
		name = DirName(domain, id, true)
	}
	n.taken[name] = id
	n.mu.Unlock()
	dir := filepath.Join(out, name) // out itself was made once, by checkOutDir

	// Made in out as the walk to it opened it (mkdirat), never through a
	// link at its name or one swapped in for out or a parent since
	// checkOutDir (review: os.Mkdir resolved the path again, so root
	// made empty folders where another user's link led).
	if err := fsutil.MkdirIn(out, name, 0o700); err != nil {
		if errors.Is(err, fsutil.ErrNotDir) {
			return "", errs.Refusedf("%s exists and is not a directory: not written", dir)
		}
		return "", cmdutil.OutputPathError("--out-dir: ", err)
	}
	return dir, nil
}

// maxDirName bounds the domain part of a directory name.
const maxDirName = 64

// DirName is the name of a certificate's directory in a bulk export: its
// domain name made safe for a file name (every character but letters,
// digits, '.', '-' and '_' becomes '_'; a leading '.' too, so that the name
// is never ".", ".." or hidden; *.example.test is _.example.test), then
// '_' and the first 8 characters of its ID — or the whole ID when full.
// It never holds a path separator, so it always names an entry of the
// export directory itself.
func DirName(domain, id string, full bool) string {
	var b strings.Builder
	for i, r := range domain {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= maxDirName {
			break
		}
	}
	name := b.String()
	if name == "" {
		name = "certificate"
	}
	short := id
	if !full && len(short) > 8 {
		short = short[:8]
	}
	return name + "_" + short
}

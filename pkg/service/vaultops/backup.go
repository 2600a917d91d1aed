package vaultops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// BackupResult describes a backup written or read.
type BackupResult struct {
	File      string `json:"File"`
	CreatedAt string `json:"CreatedAt"`
	Source    string `json:"Source"`
	// MasterKey is how the master key travels in the backup: WRAPPED (by
	// the vault's passphrase), PLAIN (in clear: protect the file as the
	// vault directory) or NONE (the vault had no key yet).
	MasterKey string `json:"MasterKey"`
	Size      int64  `json:"Size"`
	Counts
	// Unrecorded says why the vault could not record the backup (a
	// read-only vault or role, a write lock held too long), which the
	// caller is told about; "" when it was recorded or needed no record.
	Unrecorded string `json:"-"`
	// Damaged names the problems of a damaged vault that the backup,
	// written with allowDamaged, holds ("" when none were found).
	Damaged string `json:"-"`
}

// absPath is path made absolute for the audit record, where a path
// relative to a working directory the record does not name says nothing
// (tester: "File":"bk/A1.bak"); "-" (standard output) and a path that
// cannot be made absolute are kept. A restore's file comes absolute from
// the command (vault restore), which alone knows "-" from a file.
func absPath(path string) string {
	if path == "" || path == "-" || filepath.IsAbs(path) {
		return path
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// recordBackup records res, the backup just made (BackupVault): a copy of
// every sealed key left the vault — with a master key in clear, keys any
// reader of the file can open — which the rule of a key export asks to
// record (tester: nothing recorded). The file is named as given (stdout:
// -). What records it is done even when an interruption cancelled ctx:
// the backup is out. A vault that cannot record it now — read-only, a
// PostgreSQL role that may only read, another process holding the write
// lock past recordWait — still has its backup, which is what was asked
// for: res.Unrecorded says why (review: exit 6 after the backup was
// written, 30 s later under a held lock). A locked vault records nothing:
// its keys travel wrapped, under its passphrase.
func (s *Service) recordBackup(ctx context.Context, res *BackupResult) (*BackupResult, error) {
	if _, err := s.core.Vault.Sealer(); errors.Is(err, localstore.ErrLocked) {
		// A passphrase-locked vault is backed up without its passphrase,
		// its keys wrapped under it, and cannot extend its log (keyed by
		// the master key): nothing in clear left it.
		return res, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordWait)
	defer cancel()
	err := s.core.Change(rctx, "BackupVault", func(op *service.Op) error {
		op.Param("File", absPath(res.File))
		op.Param("MasterKey", res.MasterKey)
		op.Param("Certificates", res.Certificates)
		if res.Damaged != "" {
			// --allow-damaged: the copy holds the damage (review: the
			// record did not say so).
			op.Param("Damaged", res.Damaged)
		}
		return nil
	})
	switch {
	case err == nil:
	case errors.Is(err, localstore.ErrReadOnly):
		res.Unrecorded = "the vault is read-only"
	default:
		res.Unrecorded = err.Error()
	}
	return res, nil
}

// recordWait bounds how long a backup waits for the write lock to record
// itself.
var recordWait = 5 * time.Second

func backupResult(file string, info *localstore.BackupInfo) *BackupResult {
	return &BackupResult{
		File:      file,
		CreatedAt: info.CreatedAt.UTC().Format(time.RFC3339),
		Source:    info.Source,
		MasterKey: keyForm(info.Key),
		Counts:    counts(info.Counts),
	}
}

// Backup writes a consistent snapshot of the vault, with its master key, to
// path (mode 0600, replaced atomically). Other processes keep working while
// it runs; the snapshot holds everything committed before it began. A
// vault damaged inside its records is backed up only with allowDamaged
// (checkWritten).
func (s *Service) Backup(ctx context.Context, path string, allowDamaged bool) (*BackupResult, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, errs.Invalidf("--out-file: %v", err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, errs.Invalidf("--out-file: directory %s does not exist", filepath.Dir(abs))
	}
	out, err := fsutil.ResolveOutput(abs, nil)
	switch {
	case errors.Is(err, fsutil.ErrIsDir):
		return nil, errs.Invalidf("--out-file: %s is a directory", path)
	case err != nil:
		return nil, errs.Invalidf("--out-file: %v", err)
	case out.Special:
		// The command writes through a pipe or a device (BackupTo).
		return nil, errs.Invalidf("--out-file: %s is not a regular file", path)
	}
	// A symbolic link stays one: the file it leads to is replaced.
	abs = out.Path
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, errs.Invalidf("--out-file: directory %s does not exist", filepath.Dir(abs))
	}
	if s.isVaultFile(abs) {
		return nil, errs.Invalidf("--out-file: %s is a file of the vault itself", path)
	}
	// A copy of the vault is written there: not where another user
	// could take it as it is written.
	if err := fsutil.CheckPrivateOutputDir(filepath.Dir(abs)); err != nil {
		return nil, errs.Invalidf("--out-file: %v", err)
	}
	// Written beside its place, checked as a restore would check it, and
	// only then put in place: a backup that would not restore never
	// replaces the last one that would (tester: a damaged key, or a
	// damaged database page, gave a backup that exited 0 and that every
	// restore refused).
	tmp, err := fsutil.MkdirOwnedTemp(filepath.Dir(abs), backupTempPrefix)
	if err != nil {
		return nil, &errs.Error{Exit: errs.ExitFailure, Msg: "writing the backup " + path, Err: err}
	}
	defer os.RemoveAll(tmp)
	written := filepath.Join(tmp, "backup")
	info, err := s.writeBackup(ctx, written)
	var we *localstore.BackupWriteError
	if errors.As(err, &we) {
		// The destination refused it: a failure (exit 1), not an
		// unavailable vault.
		return nil, &errs.Error{Exit: errs.ExitFailure, Msg: "writing the backup " + path, Err: we.Err}
	}
	if err != nil {
		return nil, service.MapError(err)
	}
	damaged, err := s.checkWritten(ctx, written, tmp, allowDamaged)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(written, abs); err != nil {
		return nil, &errs.Error{Exit: errs.ExitFailure, Msg: "writing the backup " + path, Err: err}
	}
	res := backupResult(path, info)
	res.Damaged = damaged
	if fi, err := os.Stat(abs); err == nil {
		res.Size = fi.Size()
	}
	return s.recordBackup(ctx, res)
}

// writeBackup writes the vault's backup to path, again when another
// process's rotation committed after its snapshot began and the key it is
// sealed under is no longer to be had (localstore.ErrKeyRotated), at most
// snapshotRetries more times.
func (s *Service) writeBackup(ctx context.Context, path string) (*localstore.BackupInfo, error) {
	for attempt := 0; ; attempt++ {
		info, err := s.core.Vault.WriteBackup(ctx, path, s.core.Now())
		if !errors.Is(err, localstore.ErrKeyRotated) || attempt == snapshotRetries {
			return info, err
		}
	}
}

// snapshotRetries is how many more times a backup is taken after a
// rotation elsewhere overtook it.
const snapshotRetries = 3

// backupTempPrefix names the directories a backup is written in before
// it is put in place: a copy of the vault (sealed keys, and the master key
// of a vault whose key is in clear) that a killed backup leaves, which the
// next backup there removes (fsutil.MkdirOwnedTemp).
const backupTempPrefix = ".backup-"

// BackupTo writes the backup to w (through a temporary file of the vault
// directory, removed after).
func (s *Service) BackupTo(ctx context.Context, w io.Writer, allowDamaged bool) (*BackupResult, error) {
	// A killed process leaves this copy of the vault behind: the next
	// one removes it (fsutil.MkdirOwnedTemp).
	tmp, err := fsutil.MkdirOwnedTemp(s.core.Vault.Dir, backupTempPrefix)
	if err != nil {
		return nil, service.MapError(err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "backup")
	info, err := s.writeBackup(ctx, path)
	if err != nil {
		return nil, service.MapError(err)
	}
	damaged, err := s.checkWritten(ctx, path, tmp, allowDamaged)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, service.MapError(err)
	}
	defer f.Close()
	// Gone from the directory before the copy starts (the open file stays
	// readable where the system allows it): a reader that goes away, and
	// the SIGPIPE that ends this process, leave no copy behind.
	_ = os.RemoveAll(tmp)
	n, err := io.Copy(w, f)
	if err != nil {
		return nil, &errs.Error{Exit: errs.ExitFailure, Msg: "writing the backup", Err: err}
	}
	res := backupResult("-", info)
	res.Size = n
	res.Damaged = damaged
	return s.recordBackup(ctx, res)
}

// checkWritten reads the backup just written at path as a restore reads
// it (its copy in tmpDir) and runs a restore's checks of its records
// under its key. One that would not restore — a sealed key or a database
// page damaged in the vault — is no backup (exit 6: the vault does not
// verify), said with what `vault verify` would say: by default it does
// not replace the last backup, which restores (tester: a nightly job
// replaced good backups with useless ones). The damage stays in the vault
// until repaired, though, and an operator takes a copy of a damaged vault
// before repairing it (tester: everything changed since the last good
// backup could not be backed up): with allowDamaged, a backup whose
// records are damaged is written, and the problems returned for the
// caller to tell; a restore takes it with the same flag. An explicit
// flag, not a backup written by default and exit 6 after: a nightly job
// would replace its last good backup (and the only good copy of the
// damaged record) with it. A file a restore refuses whatever the flag —
// the database itself damaged — is never written.
func (s *Service) checkWritten(ctx context.Context, path, tmpDir string, allowDamaged bool) (damaged string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", service.MapError(err)
	}
	defer f.Close()
	b, err := localstore.OpenBackup(ctx, f, tmpDir)
	if err != nil {
		return "", errs.VaultErrorf("the vault is damaged: a backup of it would not restore (%v); no backup was written", err).
			WithHint("certctl vault verify says what is damaged; keep the last backup that restores")
	}
	defer b.Close()
	if b.Info.Key.Form == "" {
		return "", nil // nothing sealed to check under a key
	}
	sealer, err := s.core.Vault.SealerOf(b.Info.Key)
	if errors.Is(err, localstore.ErrLocked) {
		// Backing up needs no passphrase (the key travels wrapped):
		// without it the sealed records are not opened here; the
		// database itself was checked above.
		return "", nil
	}
	if err != nil {
		return "", service.MapError(err)
	}
	var problems string
	err = b.Store.View(ctx, func(tx localstore.Tx) error {
		bulk, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		problems, err = s.restoreProblems(ctx, bulk, sealer)
		return err
	})
	switch {
	case err != nil:
		return "", service.MapError(err)
	case problems != "" && !allowDamaged:
		return "", errs.VaultErrorf("the vault is damaged, and a backup of it would not restore: %s; no backup was written", problems).
			WithHint("certctl vault verify says what is damaged; keep the last backup that restores. " +
				"To keep a copy of the vault as it is before repairing it, back it up with --allow-damaged to another file, and restore that with --allow-damaged")
	}
	return problems, nil
}

// isVaultFile reports whether path is the vault's database (or its log,
// kept between commands) or key file (a backup must not replace them).
func (s *Service) isVaultFile(abs string) bool {
	dir, err := filepath.Abs(s.core.Vault.Dir)
	if err != nil {
		return false
	}
	for _, name := range []string{localstore.DatabaseFile, localstore.DatabaseFile + "-wal", localstore.DatabaseFile + "-shm", localstore.MasterKeyFile, localstore.WrappedMasterFile} {
		if abs == filepath.Join(dir, name) {
			return true
		}
	}
	return false
}

// RestoreResult describes a restore.
type RestoreResult struct {
	Vault           string `json:"Vault"`
	Store           string `json:"Store"`
	BackupCreatedAt string `json:"BackupCreatedAt"`
	Source          string `json:"Source"`
	MasterKey       string `json:"MasterKey"`
	Counts
	// Notice tells where a master key file the restore replaced was kept
	// (printed on stderr, not part of the JSON form).
	Notice string `json:"-"`
	// Warnings tell what the restored vault does not do as the backed-up
	// one did (printed on stderr, not part of the JSON form): the damage a
	// backup restored with allowDamaged holds, deploy targets of another
	// host identity than the vault directory's.
	Warnings []string `json:"-"`
}

// Restore restores the backup read from r (name is how to call it in
// messages and the audit record) into the vault, which must be empty
// (exit 5 otherwise). The backup's master key becomes the vault's; a
// wrapped one must open with the vault passphrase given (exit 6
// otherwise), which stays the passphrase of the restored vault. A backup
// damaged inside its records is refused (exit 4) unless allowDamaged.
func (s *Service) Restore(ctx context.Context, r io.Reader, name string, allowDamaged bool) (*RestoreResult, error) {
	b, err := ReadBackup(ctx, r, name, s.core.Vault.Dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return s.RestoreBackup(ctx, b, name, allowDamaged)
}

// Backup is a backup that ReadBackup read, to restore.
type Backup struct {
	*localstore.Backup
	// made are the directories ReadBackup made, the vault directory
	// first, then the parents it made for it.
	made []string
}

// ReadBackup reads the backup r (name: how messages call it) into a
// temporary copy in the vault directory dir and checks that it is one,
// before any vault is opened there: a file that is not a backup (garbage,
// a truncated copy), or one a newer certctl made, is refused (exit 4)
// and leaves no vault behind. dir
// (and its missing parents) is created when missing, and removed again on
// refusal if it is still empty (os.Remove removes nothing else: a vault
// another process made there meanwhile stays). Close the backup when done.
func ReadBackup(ctx context.Context, r io.Reader, name, dir string) (*Backup, error) {
	made := missingDirs(dir)
	if err := fsutil.MkdirAll(dir, 0o700); err != nil {
		return nil, service.MapError(err)
	}
	// What a restore killed here left (a copy of its backup) goes first.
	localstore.SweepRestoreLeftovers(dir)
	b, err := localstore.OpenBackup(ctx, r, dir)
	if err != nil {
		for _, d := range made {
			_ = os.Remove(d) // only if still empty
		}
		if errors.Is(err, localstore.ErrInvalidBackup) || errors.Is(err, localstore.ErrNewerBackup) {
			return nil, &errs.Error{Exit: errs.ExitInvalid, Msg: name, Err: err}
		}
		return nil, service.MapError(err)
	}
	return &Backup{Backup: b, made: made}, nil
}

// missingDirs are dir and those of its parents that do not exist, the
// deepest first: what MkdirAll(dir) makes.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, os.ErrNotExist) {
			return out
		}
		out = append(out, d)
		if filepath.Dir(d) == d {
			return out
		}
	}
}

// RestoreBackup is Restore of a backup read by ReadBackup. A restore that
// fails leaves nothing it made: the database this process created is
// removed when the vault closes, if it still holds no data, and so are
// the directories ReadBackup made, if empty
// (localstore.Vault.DiscardIfEmpty); nothing else of the directory goes.
func (s *Service) RestoreBackup(ctx context.Context, b *Backup, name string, allowDamaged bool) (*RestoreResult, error) {
	res, err := s.restoreBackup(ctx, b.Backup, name, allowDamaged)
	if err != nil {
		s.core.Vault.DiscardIfEmpty(b.made)
	}
	return res, err
}

func (s *Service) restoreBackup(ctx context.Context, b *localstore.Backup, name string, allowDamaged bool) (_ *RestoreResult, err error) {
	v := s.core.Vault
	hint := restoreHint(v)
	notice := ""
	var warnings []string
	damaged := "" // the damage restored (allowDamaged), as checkRestored found it
	// A restore that fails after it replaced the directory's key file
	// still says where that file was kept.
	defer func() {
		if err != nil && notice != "" {
			err = withNotice(err, notice)
		}
	}()
	if err := s.requireEmpty(ctx, v, "RestoreVault", hint); err != nil {
		return nil, err
	}
	if s.afterEmptyCheck != nil {
		s.afterEmptyCheck()
	}
	if b.Info.Key.Form != "" {
		sealer, err := v.SealerOf(b.Info.Key)
		if err != nil {
			return nil, service.MapError(err)
		}
		id := sealer.ID()
		if b.Info.KeyID != "" && id != b.Info.KeyID {
			return nil, errs.Invalidf("%s: the backup's master key (%s) is not the key its data is sealed under (%s)", name, id, b.Info.KeyID)
		}
		// A restored vault verifies (SPEC), unless the operator asked
		// for a damaged backup as it is (checkRestored).
		damage, err := s.checkRestored(ctx, b, sealer, name, allowDamaged)
		if err != nil {
			return nil, err
		}
		if damage != "" {
			warnings = append(warnings, "warning: the backup is damaged, and so is the restored vault (--allow-damaged): "+damage+"; certctl vault verify lists what remains of it")
			damaged = damage
		}
		// The store is claimed for the backup's key, empty, before the
		// key file is replaced: a first write of another process
		// meanwhile seals nothing under a key that is then lost.
		if err := v.ClaimStoreKey(ctx, b.Info.Key, func(tx localstore.BulkTx) error {
			return checkEmpty(tx, hint)
		}); err != nil {
			return nil, service.MapError(err)
		}
		kept, err := v.InstallKeyMaterial(ctx, b.Info.Key)
		if err != nil {
			return nil, service.MapError(err)
		}
		if len(kept) > 0 {
			notice = "the vault directory held another master key, kept as " + strings.Join(kept, " and ") +
				": if this directory serves a shared store (--store, CERTCTL_STORE), its key is there — move it back and use another vault directory for the restore"
		}
		if s.afterKeyInstall != nil {
			s.afterKeyInstall()
		}
	} else if holds, err := localstore.HoldsData(ctx, b.Store); err != nil {
		return nil, service.MapError(err)
	} else if holds {
		// Data without the key it is sealed under opens nowhere.
		return nil, errs.Invalidf("%s: the backup holds data but no master key: it cannot be restored", name)
	}
	// This host's witness of the store describes a log that is no longer
	// there (the store is empty): the restore puts another in its place
	// on purpose, and its record is the first the witness names.
	// Otherwise the restore's own append would be refused as a log
	// rolled back behind the witness.
	if err := audit.WitnessOf(v).Reset(); err != nil {
		return nil, service.MapError(err)
	}
	// The deploy identity (host.id, host.key, host.targets) is the vault
	// directory's, not in the backup (README): read, not created.
	hostID, err := deploy.RecordedHostID(v.Dir)
	if err != nil {
		return nil, service.MapError(err)
	}
	var restored map[string]int64
	var otherTargets int
	var otherHosts []string
	var acceptedEnd string
	err = s.core.Change(ctx, "RestoreVault", func(op *service.Op) error {
		op.Param("FromFile", name) // as the command names it: absolute, or stdin
		op.Param("BackupCreatedAt", b.Info.CreatedAt.UTC().Format(time.RFC3339))
		op.Param("Source", b.Info.Source)
		bulk, err := localstore.AsBulk(op.Tx)
		if err != nil {
			return err
		}
		if err := checkEmpty(bulk, hint); err != nil {
			return err
		}
		if err := copyInto(ctx, b.Store, bulk); err != nil {
			return err
		}
		// The store records the key its data is sealed under (the
		// backup's, now the vault directory's): no other machine of a
		// shared store makes a new one for it.
		if err := localstore.RecordKey(bulk, v.Dir, op.Sealer()); err != nil {
			return err
		}
		// The restored store's key is this directory's file, shared
		// with no other store.
		if err := localstore.SetKeySharers(bulk, nil); err != nil {
			return err
		}
		// Deploy targets recorded without a host came from elsewhere.
		if err := deploy.MarkCopiedStore(bulk); err != nil {
			return err
		}
		if allowDamaged {
			// A log whose end was cut or changed takes no record: asked
			// for as it is, its head is set to its end, and this
			// restore's record names what was accepted.
			if acceptedEnd, err = audit.Reanchor(bulk, op.Sealer().AuditKey()); err != nil {
				return err
			}
			if acceptedEnd != "" {
				op.Param("AcceptedAuditLogEnd", acceptedEnd)
			}
			if damaged != "" {
				// The damage the backup held, as its BackupVault
				// record says it (review: true said nothing).
				op.Param("Damaged", damaged)
			}
		}
		named := ""
		if s.set.SharedStore {
			named = s.set.HostName
		}
		if otherTargets, otherHosts, err = deploy.OtherHostTargets(bulk, hostID, named); err != nil {
			return err
		}
		restored, err = bulk.RowCounts()
		return err
	})
	if err != nil {
		return nil, err
	}
	if acceptedEnd != "" {
		warnings = append(warnings, "warning: the restored audit log's end does not match its head ("+acceptedEnd+"): it is taken as it is (--allow-damaged), and the RestoreVault record says so")
	}
	// A store shared by several hosts (PostgreSQL) holds the other
	// hosts' targets by design: there only this host's name under another
	// identity is told (review: no warning at all on PostgreSQL).
	if otherTargets > 0 {
		warnings = append(warnings, otherHostWarning(v.Dir, otherTargets, otherHosts))
	}
	return &RestoreResult{
		Vault:           v.Dir,
		Store:           v.StoreKind(),
		BackupCreatedAt: b.Info.CreatedAt.UTC().Format(time.RFC3339),
		Source:          b.Info.Source,
		MasterKey:       keyForm(b.Info.Key),
		Counts:          counts(restored),
		Notice:          notice,
		Warnings:        warnings,
	}, nil
}

// otherHostWarning says that n deploy targets of a restored vault belong
// to another host identity than its directory's, and what to do: a
// backup restored into a new vault directory on the same machine
// otherwise stops redeployment without a word (tester: renew -q then
// reported them OTHER_HOST, printing nothing, exit 0).
func otherHostWarning(dir string, n int, hosts []string) string {
	return fmt.Sprintf("warning: %d deploy target(s) of the restored vault belong to another host identity than this vault directory's (host %s): "+
		"renew and deploy here leave them for that host (OTHER_HOST) and install nothing. "+
		"If this is the same machine, copy %s, %s and %s from the old vault directory into %s before the next renew; "+
		"otherwise run certctl deploy again here and remove the old targets with certctl deploy ARN --remove --cert-file PATH --host ID",
		n, strings.Join(hosts, ", host "), deploy.HostIDFile, deploy.HostKeyFile, deploy.TargetsFile, dir)
}

// withNotice is err with notice added to its hint (the outermost error's
// hint is the one printed), its exit code and code name kept.
func withNotice(err error, notice string) error {
	e := &errs.Error{Exit: errs.ExitCodeOf(err), Code: errs.CodeNameOf(err), Err: err, Hint: notice}
	var ce *errs.Error
	if errors.As(err, &ce) {
		e.NoHelpHint = ce.NoHelpHint
		if ce.Hint != "" {
			e.Hint = ce.Hint + "\n" + notice
		}
	}
	return e
}

// restoreHint is what to do when v's store holds data: a new vault
// directory for the embedded database, an empty database or schema for a
// shared store (tester: a new --vault was suggested, which restores into
// the same PostgreSQL store).
func restoreHint(v *localstore.Vault) string {
	sq, ok := v.Store.(*localstore.SQLite)
	switch {
	case !ok:
		return "restore into an empty database or schema (--store URL; search_path=SCHEMA selects a schema)"
	case filepath.Dir(sq.Path()) != filepath.Clean(v.Dir):
		return "restore into a new, empty database (--store sqlite:PATH) or a new vault directory (--vault DIR)"
	}
	return "restore into a new vault directory (--vault DIR)"
}

// copyInto copies every row of src into dst, an empty store: the master
// key records of dst (which opening it may have written) give way to the
// source's.
func copyInto(ctx context.Context, src localstore.Store, dst localstore.BulkTx) error {
	for _, k := range localstore.MasterKeyMeta {
		if err := dst.DeleteMeta(k); err != nil {
			return err
		}
	}
	return localstore.CopyAll(ctx, src, dst)
}

// checkEmpty refuses (exit 5) a store that holds data.
func checkEmpty(tx localstore.BulkTx, hint string) error {
	empty, err := localstore.IsEmpty(tx)
	if err != nil {
		return err
	}
	if !empty {
		n, _ := tx.RowCounts()
		return errs.Refusedf("the target is not empty: it holds %d certificate(s), %d object(s), %d event(s) and %d audit record(s)",
			n["certificates"], n["objects"], n["events"], n["audit"]).WithHint("%s", hint)
	}
	return nil
}

// requireEmpty refuses an operation into vault v unless its store is empty,
// recording the refusal in v's audit log (as eventName) when it can: a
// non-empty vault has a log, though perhaps under a passphrase not given.
func (s *Service) requireEmpty(ctx context.Context, v *localstore.Vault, eventName, hint string) error {
	var refusal error
	err := v.Store.View(ctx, func(tx localstore.Tx) error {
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		refusal = checkEmpty(b, hint)
		return nil
	})
	if err != nil {
		return service.MapError(err)
	}
	if refusal == nil {
		return nil
	}
	if v == s.core.Vault {
		return s.core.Refused(ctx, eventName, refusal, nil)
	}
	return refusal
}

// checkRestored runs vault verify's checks of the records of backup b
// under its key: a backup damaged inside its records (a flipped byte the
// file's own checks do not see) is refused (exit 4), before the key is
// installed or anything copied or recorded — the vault (and a shared
// store's key records) stay as they were. With allowDamaged it is restored
// as it is — the copy of a damaged vault that backup --allow-damaged took,
// useless unless it restores — and the warning returned names the damage.
func (s *Service) checkRestored(ctx context.Context, b *localstore.Backup, sealer *localstore.Sealer, name string, allowDamaged bool) (warning string, err error) {
	var problems string
	if err := b.Store.View(ctx, func(tx localstore.Tx) error {
		bulk, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		problems, err = s.restoreProblems(ctx, bulk, sealer)
		return err
	}); err != nil {
		return "", service.MapError(err)
	}
	switch {
	case problems == "":
		return "", nil
	case !allowDamaged:
		return "", errs.Invalidf("%s: the backup is damaged (the restored vault would not verify): %s", name, problems).
			WithHint("restore an earlier backup; nothing was restored. --allow-damaged restores this one as it is, damage included (certctl vault verify then lists it)")
	}
	return problems, nil
}

// restoreProblems runs vault verify's checks of the records of a backup
// (tx, with the key it is sealed under) and names the first few problems
// found ("" when none).
func (s *Service) restoreProblems(ctx context.Context, tx localstore.BulkTx, sealer *localstore.Sealer) (string, error) {
	vf := &verifier{}
	if err := s.verifyTx(ctx, tx, sealer, audit.NoWitness(), &VerifyReport{}, vf); err != nil {
		return "", err
	}
	const shown = 3
	var msgs []string
	for i, p := range vf.problems {
		if i == shown {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(vf.problems)-shown))
			break
		}
		m := p.Check + ": " + p.Message
		if p.Resource != "" {
			m = p.Check + " " + p.Resource + ": " + p.Message
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; "), nil
}

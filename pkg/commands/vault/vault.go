// Package vault implements the `certctl vault` command group: backup,
// restore, verify, rotate-key, change-passphrase and migrate. The rules live
// in pkg/service/vaultops; these commands parse flags, make one call and
// print what it returns.
package vault

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/vaultops"
	"github.com/certctl/certctl/pkg/shellarg"
)

// NewCmdVault builds `certctl vault`.
func NewCmdVault(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault <command>",
		Short: "Back up, restore, verify, re-key and migrate the vault",
		Long: `Operations on the whole vault: a consistent backup while other processes keep
working (vault backup) and its restore into an empty vault (vault restore), a full
check of the database, every sealed key, every issuer and the audit chain (vault
verify), a new master key (vault rotate-key), a new passphrase (vault
change-passphrase), and a move between SQLite and PostgreSQL (vault migrate).

A backup carries the master key as the vault keeps it: wrapped by the vault's
passphrase when it has one, in clear otherwise (then protect the backup as you
protect the vault directory).`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(
		NewCmdBackup(f, nil),
		NewCmdRestore(f, nil),
		NewCmdVerify(f, nil),
		NewCmdRotateKey(f, nil),
		NewCmdChangePassphrase(f, nil),
		NewCmdMigrate(f, nil),
	)
	return cmd
}

// countRows renders a vault's counts for tables and records.
func countRows(c vaultops.Counts) [][]string {
	return [][]string{
		{"Certificates", strconv.FormatInt(c.Certificates, 10)},
		{"CertificateVersions", strconv.FormatInt(c.CertificateVersions, 10)},
		{"SealedKeys", strconv.FormatInt(c.SealedKeys, 10)},
		{"Serials", strconv.FormatInt(c.Serials, 10)},
		{"Objects", strconv.FormatInt(c.Objects, 10)},
		{"Events", strconv.FormatInt(c.Events, 10)},
		{"AuditRecords", strconv.FormatInt(c.AuditRecords, 10)},
	}
}

// BackupOptions are the inputs of vault backup.
type BackupOptions struct {
	IO       *iostreams.IOStreams
	Printer  func() (*output.Printer, error)
	VaultOps func(context.Context) (*vaultops.Service, error)

	OutFile      string
	AllowDamaged bool
}

// NewCmdBackup builds `certctl vault backup`.
func NewCmdBackup(f *cmdutil.Factory, runF func(*BackupOptions) error) *cobra.Command {
	opts := &BackupOptions{IO: f.IO, Printer: f.Printer, VaultOps: f.VaultOps}
	cmd := &cobra.Command{
		Use:   "backup --out-file FILE",
		Short: "Write a consistent backup of the vault",
		Long: `Write a backup of the whole vault to FILE (mode 0600, replaced atomically): a
snapshot of one instant, taken while other certctl processes keep working, holding
every change committed before the backup began. Private keys stay sealed in it.

The backup is one portable file whichever store the vault uses (SQLite or
PostgreSQL); certctl vault restore reads it into either. It carries the master
key as the vault keeps it: wrapped by the vault passphrase when there is one
("MasterKey": "WRAPPED"; the backup is useless without the passphrase), in clear
otherwise ("PLAIN": the backup is as secret as the vault directory). Restoring
needs nothing else.

--out-file - writes the backup to stdout (not to a terminal) and the summary to
stderr: one line, or with -o the same summary as --out-file FILE prints
(-o json: the JSON object). A backup killed before it finished (kill -9, a power loss) leaves its
temp file beside FILE (.FILE.tmp-*, 0600, as secret as the backup), which the
next backup to FILE removes once it is an hour old.

The backup is checked as a restore checks it before it replaces FILE: a vault
damaged inside its records (a sealed key that does not open, an altered audit
record) gives no backup (exit 6, naming the problems as vault verify does), and
the last backup, which restores, stays. --allow-damaged writes it anyway, damage
included, with a warning naming the problems: a copy of the vault as it is,
taken before repairing it (write it beside, not over, the last good backup, and
restore it with vault restore --allow-damaged). A vault whose database file is
damaged is never backed up.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  certctl vault backup --out-file /var/backups/certctl-$(date +%F).db
  certctl vault backup --out-file - | ssh backup-host 'cat > certctl.db'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.OutFile == "" {
				return errs.UsageErrorf("--out-file is required")
			}
			// /dev/stdout (or the file the standard output was
			// redirected to) is the standard output: written through
			// it, as - is, not renamed over (review).
			if opts.OutFile != "-" && cmdutil.IsStdout(opts.IO, cmdutil.FileArgName(opts.OutFile)) {
				opts.OutFile = "-"
			}
			if opts.OutFile == "-" && opts.IO.IsStdoutTTY() {
				return errs.UsageErrorf("--out-file -: the backup is binary; refusing to write it to a terminal").WithoutHelpHint()
			}
			if runF != nil {
				return runF(opts)
			}
			return runBackup(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "`file` to write the backup to (- for stdout)")
	cmd.Flags().BoolVar(&opts.AllowDamaged, "allow-damaged", false, "write the backup of a vault damaged inside its records, damage included")
	cmdutil.MarkOutputFileOrStdout(cmd, "out-file")
	return cmd
}

func runBackup(ctx context.Context, o *BackupOptions) error {
	p, svc, err := open(ctx, o.Printer, o.VaultOps)
	if err != nil {
		return err
	}
	var res *vaultops.BackupResult
	if o.OutFile == "-" {
		if err := p.RefuseQuery("a backup written to stdout"); err != nil {
			return err
		}
		if res, err = svc.BackupTo(ctx, o.IO.Out, o.AllowDamaged); err != nil {
			return err
		}
		warnUnrecorded(o.IO, res)
		res.File = "-"
		return p.Summary(res, backupView(res), fmt.Sprintf("backup of %s written to stdout (%d bytes, master key %s)",
			output.Count(int(res.Certificates), "certificate"), res.Size, res.MasterKey))
	}
	name := cmdutil.FileArgName(o.OutFile)
	// A named pipe or a device is written through, not replaced
	// (tester), its open waiting for a reader until an interruption.
	w, done, err := cmdutil.OpenSpecialOutput(o.IO, name, true)
	if err != nil {
		return err
	}
	if w != nil {
		res, err = svc.BackupTo(ctx, w, o.AllowDamaged)
		if err = errors.Join(err, done()); err != nil {
			return err
		}
		res.File = name
	} else if res, err = svc.Backup(ctx, name, o.AllowDamaged); err != nil {
		return err
	}
	warnUnrecorded(o.IO, res)
	if res.MasterKey == vaultops.KeyPlain && o.IO.IsStderrTTY() {
		fmt.Fprintln(o.IO.ErrOut, "note: the vault's master key is in clear, and so it is in the backup: keep the file as safe as the vault directory")
	}
	return p.Acknowledge(res, backupView(res))
}

// backupView shows a backup's summary for people and for awk.
func backupView(res *vaultops.BackupResult) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			rows := [][]string{{"File", res.File}, {"CreatedAt", res.CreatedAt}, {"Source", res.Source},
				{"MasterKey", res.MasterKey}, {"Size", strconv.FormatInt(res.Size, 10)}}
			return &output.Table{Rows: append(rows, countRows(res.Counts)...)}
		},
		Records: func() [][]string {
			return [][]string{{res.File, res.CreatedAt, res.MasterKey, strconv.FormatInt(res.Certificates, 10)}}
		},
	}
}

// warnUnrecorded tells of a backup the vault could not record, and of the
// damage a backup written with --allow-damaged holds.
func warnUnrecorded(ios *iostreams.IOStreams, res *vaultops.BackupResult) {
	if res.Damaged != "" {
		fmt.Fprintf(ios.ErrOut, "certctl: warning: the vault is damaged, and the backup was written with the damage (--allow-damaged): %s; it restores with vault restore --allow-damaged\n", output.SanitizeLines(res.Damaged))
	}
	if res.Unrecorded != "" {
		fmt.Fprintf(ios.ErrOut, "certctl: warning: the backup was written, but the vault could not record it in its audit log: %s\n", output.SanitizeLines(res.Unrecorded))
	}
}

// RestoreOptions are the inputs of vault restore.
type RestoreOptions struct {
	IO       *iostreams.IOStreams
	Printer  func() (*output.Printer, error)
	VaultOps func(context.Context) (*vaultops.Service, error)
	// VaultDir is the vault's directory, where the backup is read before
	// the vault is opened.
	VaultDir func() string

	FromFile     string
	AllowDamaged bool
}

// NewCmdRestore builds `certctl vault restore`.
func NewCmdRestore(f *cmdutil.Factory, runF func(*RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IO, Printer: f.Printer, VaultOps: cmdutil.ForRestore(f, f.VaultOps), VaultDir: f.VaultDir}
	cmd := &cobra.Command{
		Use:   "restore --from-file FILE [--vault DIR]",
		Short: "Restore a backup into an empty vault",
		Long: `Restore a backup written by certctl vault backup into the vault (--vault DIR,
and --store for a PostgreSQL store), which must be empty: restoring into a vault
that holds anything is refused (exit 5). Every record comes back as it was —
ARNs, versions, sealed keys, serials, events and the audit log — and the
backup's master key becomes the vault's. The backup's records are checked
as vault verify checks them first: a backup damaged inside is refused (exit
4) and nothing is restored, unless --allow-damaged (for a backup of a damaged
vault, taken with vault backup --allow-damaged) restores it as it is, with a
warning naming the problems. A backup whose key is wrapped needs the
passphrase it was wrapped with (CERTCTL_VAULT_PASSPHRASE or
--vault-passphrase-file), which remains the restored vault's passphrase.
Restoring into a --store beside a vault directory whose own vault.db holds data
is refused (exit 5) when the backup's key is another: that data is sealed under
the directory's key, which the restore would replace. A key file of another key
already in the directory (a shared store's, when CERTCTL_STORE was not set) is
kept beside it as master.key*.replaced-ID, which the restore names on stderr. A
restore that fails removes the database it created, nothing else. The store records the key
it is sealed under, so that no other machine of a shared store makes another.
A restore killed before it finished (kill -9, a power loss) leaves its working
copy of the backup (.restore-*) in the directory: every other command then
refuses the vault (exit 6) until the restore is run again, which finishes it,
or that copy is removed.

Deploy targets belong to the host identity of the vault directory that
recorded them (host.id, host.key and host.targets, which the backup does not
hold): the restore warns of targets of another identity than the restored
vault directory's (on a store other hosts share, of this host's name only),
which renew and deploy there leave alone. Restoring on the
same machine into a new directory, copy those three files from the old one.

The restore is recorded in the restored vault's audit log (RestoreVault).` + cmdutil.ExitStatus(0, 2, 4, 5, 6),
		Example: `  certctl vault restore --from-file certctl-2030-01-01.db --vault /srv/certctl
  certctl vault restore --from-file backup.db --vault ./v --store postgres://certctl@db/certctl`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.FromFile == "" {
				return errs.UsageErrorf("--from-file is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runRestore(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.FromFile, "from-file", "", "backup `file` to restore (- for stdin)")
	_ = cmd.MarkFlagFilename("from-file")
	cmd.Flags().BoolVar(&opts.AllowDamaged, "allow-damaged", false, "restore a backup damaged inside its records as it is, damage included")
	return cmd
}

func runRestore(ctx context.Context, o *RestoreOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	r, err := cmdutil.OpenFileArg(o.IO, "from-file", o.FromFile)
	if err != nil {
		return err
	}
	defer r.Close()
	name := cmdutil.FileArgName(o.FromFile)
	if o.FromFile != "-" {
		// Absolute, as the restore records it (tester: a relative path
		// names no file without the working directory).
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
	}
	// The backup is read, and refused when it is none, before the vault
	// is opened (which would create one).
	var res *vaultops.RestoreResult
	if dir := o.VaultDir(); dir != "" {
		b, err := vaultops.ReadBackup(ctx, r, name, dir)
		if err != nil {
			return err
		}
		defer b.Close()
		svc, err := o.VaultOps(ctx)
		if err != nil {
			return err
		}
		res, err = svc.RestoreBackup(ctx, b, name, o.AllowDamaged)
		if err != nil {
			return err
		}
	} else {
		// The settings do not load: opening the vault says why.
		svc, err := o.VaultOps(ctx)
		if err != nil {
			return err
		}
		if res, err = svc.Restore(ctx, r, name, o.AllowDamaged); err != nil {
			return err
		}
	}
	cmdutil.PrintNotices(o.IO, append([]string{res.Notice}, res.Warnings...)...)
	return p.Acknowledge(res, output.View{
		Table: func(s *output.Styles) *output.Table {
			rows := [][]string{{"Vault", res.Vault}, {"Store", res.Store}, {"BackupCreatedAt", res.BackupCreatedAt},
				{"Source", res.Source}, {"MasterKey", res.MasterKey}}
			return &output.Table{Rows: append(rows, countRows(res.Counts)...)}
		},
		Records: func() [][]string {
			return [][]string{{res.Vault, res.BackupCreatedAt, strconv.FormatInt(res.Certificates, 10)}}
		},
	})
}

// VerifyOptions are the inputs of vault verify.
type VerifyOptions struct {
	Printer  func() (*output.Printer, error)
	VaultOps func(context.Context) (*vaultops.Service, error)
}

// NewCmdVerify builds `certctl vault verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Printer: f.Printer, VaultOps: f.VaultOps}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the whole vault: database, sealed keys, issuers, audit chain",
		Long: `Check the whole vault and list every problem found:

  DatabaseIntegrity  the store's own integrity check
  MasterKey          the key the store is sealed under is the vault directory's
  Record             every record reads; every certificate has its current version,
                     and the columns list and search read of it agree with it
  SealedKey          every sealed key opens under the master key and matches its
                     certificate (CA keys: their CA certificate or CSR); ACME EAB
                     MAC keys open
  Issuer             every certificate's issuer is known: for PRIVATE and ISSUED
                     certificates a CA of the vault whose signature verifies; for
                     IMPORTED ones (whose signature was checked at import) the
                     certificate of their chain with the issuer's name and key
                     identifier, when they were imported with a chain
  OrphanedKey        no sealed key is left belonging to nothing
  AuditChain         the audit log's HMAC chain holds (as certctl audit verify)
  DeployTarget       each of this host's deploy targets is as this host sealed and
                     recorded it (renew --due refuses one changed in the store,
                     by another host or by hand); other hosts' targets are
                     theirs to check

It needs the master key (the vault passphrase for a wrapped key). Exit 0 when
nothing is wrong; exit 6 after listing the problems, and, making nothing, for a
directory that holds no vault (a mistyped --vault). With -o text: one line of
the counts checked, in the JSON form's order, when nothing is wrong; else a line
a problem (check, resource, message).` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl vault verify
  certctl vault verify -o json --query 'Problems[].Message'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	return cmd
}

func runVerify(ctx context.Context, o *VerifyOptions) error {
	p, svc, err := open(ctx, o.Printer, o.VaultOps)
	if err != nil {
		return err
	}
	rep, verr := svc.Verify(ctx)
	if rep == nil {
		return verr
	}
	print := p.Print
	if len(rep.Problems) == 0 {
		print = p.Acknowledge // nothing to say under -q
	}
	err = print(rep, output.View{
		Table: func(s *output.Styles) *output.Table {
			if len(rep.Problems) == 0 {
				return &output.Table{Rows: [][]string{
					{"Result", s.OK("OK")},
					{"Certificates", strconv.Itoa(rep.Certificates)},
					{"CertificateVersions", strconv.Itoa(rep.CertificateVersions)},
					{"SealedKeys", strconv.Itoa(rep.SealedKeys)},
					{"CertificateAuthorities", strconv.Itoa(rep.CertificateAuthorities)},
					{"AcmeEabCredentials", strconv.Itoa(rep.AcmeEabCredentials)},
					{"AcmeRecords", strconv.Itoa(rep.AcmeRecords)},
					{"DeployRecords", strconv.Itoa(rep.DeployRecords)},
					{"AuditRecords", strconv.FormatInt(rep.AuditRecords, 10)},
				}}
			}
			// A key/value block a problem, as describe prints: a table
			// cut its resource and its problem to nothing at 60 and
			// even 160 columns (tester), and they are what the
			// operator needs whole.
			t := &output.Table{}
			for i, pr := range rep.Problems {
				if i > 0 {
					t.Rows = append(t.Rows, []string{})
				}
				t.Rows = append(t.Rows, []string{"Check", s.Bad(pr.Check)}, []string{"Resource", output.Sanitize(pr.Resource)},
					[]string{"Problem", output.Sanitize(pr.Message)})
			}
			return t
		},
		Records: func() [][]string {
			if len(rep.Problems) == 0 {
				// What was checked, in the JSON form's order: a
				// script reading text gets a line, as from audit
				// verify (tester).
				return [][]string{{strconv.Itoa(rep.Certificates), strconv.Itoa(rep.CertificateVersions),
					strconv.Itoa(rep.SealedKeys), strconv.Itoa(rep.CertificateAuthorities),
					strconv.Itoa(rep.AcmeEabCredentials), strconv.Itoa(rep.AcmeRecords),
					strconv.Itoa(rep.DeployRecords), strconv.FormatInt(rep.AuditRecords, 10)}}
			}
			var rows [][]string
			for _, pr := range rep.Problems {
				rows = append(rows, []string{pr.Check, pr.Resource, pr.Message})
			}
			return rows
		},
	})
	if err != nil {
		return err
	}
	return verr
}

// RotateKeyOptions are the inputs of vault rotate-key.
type RotateKeyOptions struct {
	IO       *iostreams.IOStreams
	Printer  func() (*output.Printer, error)
	VaultOps func(context.Context) (*vaultops.Service, error)
}

// NewCmdRotateKey builds `certctl vault rotate-key`.
func NewCmdRotateKey(f *cmdutil.Factory, runF func(*RotateKeyOptions) error) *cobra.Command {
	opts := &RotateKeyOptions{IO: f.IO, Printer: f.Printer, VaultOps: f.VaultOps}
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Replace the vault's master key, re-sealing every key",
		Long: `Make a new master key and re-seal every sealed secret under it — certificate
and CA private keys, ACME EAB MAC keys — in one transaction, re-keying the audit
chain (whose HMAC key derives from the master key) in the same transaction. The
new key replaces the old one in the vault directory, in the same form (wrapped by
the same passphrase, or in clear).

All or nothing: a rotation that fails, or a process killed at any instant, leaves
either the old key or the new one opening every secret (check with certctl vault
verify). Other processes using the vault pick up the new key by themselves; a
write they had under way when the key changed fails with exit 6 and can be run
again. A rotation refuses to run on an audit chain that does not verify.

On a PostgreSQL store shared by several machines, a machine with a wrapped key
fetches the new one from the store with its passphrase; a machine that keeps the
key in clear needs the new master.key copied to it. The key a machine replaces
is kept beside it (master.key.enc.replaced-<key id>), except while the
directory's own vault.db holds data under it: that machine then refuses the
shared store (exit 6) rather than lose vault.db. Rotating a --store beside a
vault.db that holds data is refused (exit 5). A store that vault migrate copied
to or from another shares its key with it: rotating it keeps the previous key
file (master.key.replaced-<key id>, said on stderr), which the other store needs
in a vault directory of its own.` + cmdutil.ExitStatus(0, 2, 5, 6),
		Example: `  certctl vault rotate-key`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runRotateKey(cmd.Context(), opts)
		},
	}
	return cmd
}

func runRotateKey(ctx context.Context, o *RotateKeyOptions) error {
	p, svc, err := open(ctx, o.Printer, o.VaultOps)
	if err != nil {
		return err
	}
	res, err := svc.RotateKey(ctx)
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, res.Notice)
	return p.Acknowledge(res, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{
				{"MasterKeyId", res.MasterKeyID}, {"PreviousMasterKeyId", res.PreviousMasterKeyID},
				{"MasterKey", res.MasterKey}, {"SealedKeys", strconv.Itoa(res.SealedKeys)},
				{"AcmeEabCredentials", strconv.Itoa(res.AcmeEabCredentials)},
				{"AuditRecords", strconv.FormatInt(res.AuditRecords, 10)},
			}}
		},
		Records: func() [][]string {
			return [][]string{{res.MasterKeyID, strconv.Itoa(res.SealedKeys)}}
		},
	})
}

// ChangePassphraseOptions are the inputs of vault change-passphrase.
type ChangePassphraseOptions struct {
	IO       *iostreams.IOStreams
	Printer  func() (*output.Printer, error)
	VaultOps func(context.Context) (*vaultops.Service, error)

	NewPassphraseFile string
}

// NewCmdChangePassphrase builds `certctl vault change-passphrase`.
func NewCmdChangePassphrase(f *cmdutil.Factory, runF func(*ChangePassphraseOptions) error) *cobra.Command {
	opts := &ChangePassphraseOptions{IO: f.IO, Printer: f.Printer, VaultOps: f.VaultOps}
	cmd := &cobra.Command{
		Use:   "change-passphrase --new-passphrase-file FILE",
		Short: "Wrap the master key by a new passphrase",
		Long: `Wrap the vault's master key by the passphrase in FILE (its last line end is not
part of it). The current passphrase (CERTCTL_VAULT_PASSPHRASE or
--vault-passphrase-file) opens the key first; afterwards only the new one does
(the old one exits 6). A vault whose key is in clear gets its first passphrase:
the key file in clear is replaced by the wrapped one.

The master key itself does not change, so nothing is re-sealed. On a shared
PostgreSQL store the wrapped key the store publishes changes too, and it prevails
over the other machines' own copies: the next command a machine runs with the new
passphrase replaces its copy by the store's, and the old passphrase is refused on
every machine (exit 6) from its next command on. A machine's copy under the old
passphrase stays on its disk until that machine runs a command with the new one (or
its master.key.enc is removed: it fetches the store's again); a process already
running there, such as endpoint serve, keeps the key it holds until restarted.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  CERTCTL_VAULT_PASSPHRASE="$(cat old.txt)" certctl vault change-passphrase --new-passphrase-file new.txt`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.NewPassphraseFile == "" {
				return errs.UsageErrorf("--new-passphrase-file is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runChangePassphrase(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.NewPassphraseFile, "new-passphrase-file", "", "`file` holding the new vault passphrase, one line (- for stdin)")
	_ = cmd.MarkFlagFilename("new-passphrase-file")
	return cmd
}

func runChangePassphrase(ctx context.Context, o *ChangePassphraseOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	data, err := cmdutil.ReadSecretFileArg(o.IO, "new-passphrase-file", o.NewPassphraseFile)
	if err != nil {
		return err
	}
	pass, err := cmdutil.NewPassphrase("new-passphrase-file", data)
	if err != nil {
		return err
	}
	defer clear(pass)
	svc, err := o.VaultOps(ctx)
	if err != nil {
		return err
	}
	res, err := svc.ChangePassphrase(ctx, pass)
	if err != nil {
		return err
	}
	return p.Acknowledge(res, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{
				{"MasterKeyId", res.MasterKeyID}, {"MasterKey", res.MasterKey},
				{"WasInClear", strconv.FormatBool(res.WasInClear)},
			}}
		},
		Records: func() [][]string { return [][]string{{res.MasterKeyID, res.MasterKey}} },
	})
}

// MigrateOptions are the inputs of vault migrate.
type MigrateOptions struct {
	Printer  func() (*output.Printer, error)
	VaultOps func(context.Context) (*vaultops.Service, error)

	To string
}

// NewCmdMigrate builds `certctl vault migrate`.
func NewCmdMigrate(f *cmdutil.Factory, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{Printer: f.Printer, VaultOps: f.VaultOps}
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://…|sqlite:PATH",
		Short: "Copy the vault into another, empty store",
		Long: `Copy the vault's store (the embedded SQLite database, or the --store in use) into
the empty store --to names: a PostgreSQL database (postgres://… or
postgresql://…) or a SQLite file (sqlite:PATH). Every record is copied as it is,
from one snapshot, in one transaction: ARNs, versions, sealed keys, serials,
objects, events and the audit log are unchanged, so list, describe --versions,
events and audit list print the same in both. A target that holds anything is
refused (exit 5).

The vault directory and its master key serve both stores; use the new one with
--store URL (or certctl config set store URL). Once the new store is in use, move
the directory's vault.db (with its -wal and -shm files) elsewhere: while it holds
data, a rotation of the shared store's key by another machine (vault rotate-key)
cannot reach this directory, which is then refused (exit 6). The target records the key its
data is sealed under: another machine of a shared store fetches it with the
passphrase (a wrapped key) or needs master.key copied (a key in clear), and never
makes a new one. The migration is recorded
(MigrateVault) in the source's audit log before the copy, so the copy carries
the record too; recording needs the master key (the vault passphrase for a
wrapped key). A password in the URL is never printed or recorded.` + cmdutil.ExitStatus(0, 2, 4, 5, 6),
		Example: `  certctl vault migrate --to 'postgres://certctl@db.internal/certctl?sslmode=verify-full'
  certctl --store postgres://certctl@db.internal/certctl vault migrate --to sqlite:/srv/certctl/vault.db`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.To == "" {
				return errs.UsageErrorf("--to is required (postgres://… or sqlite:PATH)")
			}
			if err := vaultops.CheckStoreURL(opts.To); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runMigrate(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "target store `URL`: postgres://…, postgresql://… or sqlite:PATH")
	return cmd
}

func runMigrate(ctx context.Context, o *MigrateOptions) error {
	p, svc, err := open(ctx, o.Printer, o.VaultOps)
	if err != nil {
		return err
	}
	res, err := svc.Migrate(ctx, o.To)
	if err != nil {
		return err
	}
	return p.Acknowledge(res, output.View{
		Table: func(s *output.Styles) *output.Table {
			rows := [][]string{{"From", res.From}, {"To", res.To}}
			t := &output.Table{Rows: append(rows, countRows(res.Counts)...)}
			t.Footer = "use it with: --store " + shellarg.Quote(res.To)
			return t
		},
		Records: func() [][]string {
			return [][]string{{res.To, strconv.FormatInt(res.Certificates, 10)}}
		},
	})
}

// open returns the printer and the vault operations service, the two
// dependencies every vault verb has.
func open(ctx context.Context, printer func() (*output.Printer, error), ops func(context.Context) (*vaultops.Service, error)) (*output.Printer, *vaultops.Service, error) {
	p, err := printer()
	if err != nil {
		return nil, nil, err
	}
	svc, err := ops(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, svc, nil
}

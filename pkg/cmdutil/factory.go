// Package cmdutil holds what every command shares: the factory of lazily
// built dependencies, the global options, and helpers for flags and files.
package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/hookenv"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service"
)

// GlobalOptions are the values of the root command's persistent flags.
type GlobalOptions struct {
	ConfigFile          string
	Output              string
	Query               string
	NoColor             bool
	Quiet               bool
	VaultPassphraseFile string
	// ConfigFlags are the flags that override settings, by setting name.
	ConfigFlags map[string]*pflag.Flag
}

// Factory builds each dependency on first use, so that `--help`,
// `--version` and shell completion never open (or create) the vault.
type Factory struct {
	// warnedMu guards warned, the warnings printed (warn).
	warnedMu sync.Mutex
	warned   map[string]bool

	IO      *iostreams.IOStreams
	Now     func() time.Time
	Getenv  func(string) string
	Version string
	Globals GlobalOptions

	// TestScrypt, when set, are the KDF parameters for a newly wrapped
	// master key (tests only; production uses localstore.DefaultScrypt).
	TestScrypt *localstore.ScryptParams

	// Actor, when set, is who this process's changes are recorded as made
	// by (tests); else the OS user on this host.
	Actor *audit.Actor

	// serving is set by a command that serves many requests at once
	// (Serving), before the vault opens.
	serving bool
	// restoring is set by `vault restore` (ForRestore).
	restoring bool
	// NotIssuing is set (by the root, before the command runs) for a
	// command that neither issues nor serves certificates: a refused base
	// URL is then a warning (config.LoadNotIssuing).
	NotIssuing bool

	cfg   *config.Config
	vault *localstore.Vault
	// createdVault is the vault directory whose database opening the
	// vault made ("": none; see CreatedVault).
	createdVault string
	printer      *output.Printer
	core         *service.Core
	token        *hsm.Opener
}

// New returns a factory over the real process environment.
func New(io *iostreams.IOStreams, version string) *Factory {
	return &Factory{
		IO:      io,
		Now:     func() time.Time { return time.Now().UTC() },
		Getenv:  os.Getenv,
		Version: version,
	}
}

// Config loads the settings once.
func (f *Factory) Config() (*config.Config, error) {
	if f.cfg != nil {
		return f.cfg, nil
	}
	var c *config.Config
	var warnings error
	err := f.loadConfig(func() (err error) {
		if f.NotIssuing {
			c, warnings, err = config.LoadNotIssuing(f.Globals.ConfigFile, f.Globals.ConfigFlags, f.Getenv)
		} else {
			c, err = config.Load(f.Globals.ConfigFile, f.Globals.ConfigFlags, f.Getenv)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if f.NotIssuing {
		f.warnSettings(warnings, "; the commands that issue or serve certificates refuse it until it is changed where it is set")
	}
	f.cfg = c
	return c, nil
}

// warnSettings prints each refusal of invalid on stderr as a warning,
// followed by more.
func (f *Factory) warnSettings(invalid error, more string) {
	if invalid == nil {
		return
	}
	for _, line := range strings.Split(invalid.Error(), "\n") {
		fmt.Fprintf(f.IO.ErrOut, "certctl: warning: %s%s\n", output.SanitizeLines(line), more)
	}
}

// ConfigForDisplay loads the settings for the commands that show them
// (config list, config get): a value a setting refuses stops them not —
// they are how one finds it — and is printed on stderr as a warning
// beside what they print.
func (f *Factory) ConfigForDisplay() (*config.Config, error) {
	var c *config.Config
	var invalid error
	err := f.loadConfig(func() (err error) {
		c, invalid, err = config.LoadLenient(f.Globals.ConfigFile, f.Globals.ConfigFlags, f.Getenv)
		return err
	})
	if err != nil {
		return nil, err
	}
	f.warnSettings(invalid, "")
	if fix := config.UnknownKeysFix(invalid); fix != "" {
		fmt.Fprintf(f.IO.ErrOut, "hint: %s\n", output.SanitizeLines(fix))
	}
	return c, nil
}

// loadConfig runs load, which reads the settings, so that the first
// interruption (Ctrl-C, SIGTERM) ends a wait on a config file that is a
// named pipe nobody writes to, as for every file read (tester: --config
// FIFO outlived timeout(1)'s SIGTERM; review: config list and get too);
// load's error is the command's error (configError).
func (f *Factory) loadConfig(load func() error) error {
	var err error
	if _, interrupted := f.IO.Interruptible(func() ([]byte, error) { err = load(); return nil, nil }); interrupted != nil {
		return &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted while reading the config file"}
	}
	return configError(err)
}

// configError is err of loading the settings as the command's error.
func configError(err error) error {
	// A value a setting refuses is invalid input (exit 4) wherever it
	// comes from, the message naming its source: a script then tells a
	// bad CERTCTL_* variable or config file from a mistyped flag, which
	// alone is a usage error (exit 2).
	var fe *config.FlagError
	if errors.As(err, &fe) {
		return errs.Invalidf("%v", err)
	}
	var unsafe *fsutil.UnsafeError
	switch fix := config.UnknownKeysFix(err); {
	case fix != "":
		// A key of the file that names no setting: said with the
		// command that removes it (tester: the hint was config set,
		// and config unset refused the name).
		return errs.Invalidf("%v", err).WithHint("%s", fix)
	case errors.As(err, &unsafe):
		return errs.Invalidf("%v", err).WithHint("%s", unsafe.Fix)
	case errors.Is(err, os.ErrNotExist):
		return errs.Invalidf("%v", err).
			WithHint("name a config file that exists (certctl config set NAME VALUE --config FILE makes one), or leave out --config and CERTCTL_CONFIG")
	case err != nil:
		return errs.Invalidf("%v", err).
			WithHint("fix the setting where it comes from; certctl config set NAME VALUE rewrites one in the config file")
	}
	return nil
}

// VaultDir is the vault's directory as configured, "" when the settings
// do not load (the command that needs them reports why).
func (f *Factory) VaultDir() string {
	c, err := f.Config()
	if err != nil {
		return ""
	}
	return c.Vault
}

// Vault opens the vault once (creating it on first use).
func (f *Factory) Vault(ctx context.Context) (*localstore.Vault, error) {
	if f.vault != nil {
		return f.vault, nil
	}
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	if c.Vault == "" {
		return nil, NoHomeError("the vault with --vault or CERTCTL_VAULT")
	}
	pass, legacy, err := f.vaultPassphrase()
	if err != nil {
		return nil, err
	}
	// A command runs with one pool of embedded-database connections (one
	// connection opened, the schema parsed once); a server keeps a pool of
	// read connections beside the writers.
	opts := localstore.Options{StoreURL: c.Store, Passphrase: pass, OnePool: !f.serving, Restoring: f.restoring, LegacyPassphrase: legacy}
	if legacy != nil {
		file := f.Globals.VaultPassphraseFile
		opts.OnLegacyPassphrase = func() {
			fmt.Fprintf(f.IO.ErrOut, "certctl: warning: the vault passphrase is all of %s, as releases before this one read the file, not its first line, which they read now: "+
				"certctl vault change-passphrase --new-passphrase-file FILE (a file of one line) keeps the vault opening as the file will be read\n", output.Sanitize(file))
		}
	}
	if pass == nil && !f.serving && f.IO.CanPrompt() {
		// A person at a terminal is asked, when the key is needed,
		// rather than told to set a variable (tester); a server never
		// stops to ask.
		opts.AskPassphrase = f.askVaultPassphrase(c.Vault)
	}
	if f.TestScrypt != nil {
		opts.Scrypt = *f.TestScrypt
	}
	v, err := localstore.Open(ctx, c.Vault, opts)
	if err == nil && v.CreatedNow() {
		f.createdVault = c.Vault
	}
	if err != nil {
		// Whatever else stops the vault from opening than what the
		// service knows (an interruption among them) makes it
		// unavailable.
		e, ok := service.KnownError(err)
		if !ok {
			e = &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: "vault unavailable", Err: err}
		}
		var ee *errs.Error
		if c.VaultDefaulted && errors.As(e, &ee) && ee.Hint == "" &&
			(errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.ENOTDIR)) {
			// The default under a home this user cannot write (a
			// service account's /nonexistent; tester).
			return nil, ee.WithHint("%s is the default vault, under the home directory: give another with --vault DIR or CERTCTL_VAULT", c.Vault)
		}
		return nil, e
	}
	f.vault = v
	if len(v.ExposedKeyFiles) > 0 {
		PrintNotices(f.IO, "warning: the master key could be read by other users: "+strings.Join(v.ExposedKeyFiles, ", ")+
			"; it is now 0600 — if anyone else read it, replace it: certctl vault rotate-key")
	}
	if len(v.ExposedDatabase) > 0 {
		PrintNotices(f.IO, "warning: the vault database could be read or written by other users: "+strings.Join(v.ExposedDatabase, ", ")+
			"; it is now 0600 — its keys are sealed, but check that no one changed it: certctl vault verify")
	}
	if pass != nil && plainKeyOnly(v) {
		PrintNotices(f.IO, "warning: this vault's master key is in clear ("+filepath.Join(v.Dir, localstore.MasterKeyFile)+
			"): the vault passphrase given is not used; protect the key with: certctl vault change-passphrase --new-passphrase-file FILE")
	}
	return v, nil
}

// plainKeyOnly reports whether v is a vault of this machine alone whose
// master key is in clear (master.key, no master.key.enc): a passphrase
// given for it protects nothing, which its user should know. A shared
// store's passphrase opens the key it publishes, whatever this machine's
// file.
func plainKeyOnly(v *localstore.Vault) bool {
	_, shared := v.Store.(*localstore.Postgres)
	return !shared && v.KeyInClear()
}

// Serving returns open, marking the process as a server first: the vault
// it opens keeps a pool of read connections of its own, for many requests
// read at once while one writes. A command that serves (endpoint serve, ca
// serve, validate serve-http) opens its service through it, before
// anything opens the vault.
func Serving[S any](f *Factory, open func(context.Context) (S, error)) func(context.Context) (S, error) {
	return func(ctx context.Context) (S, error) {
		var zero S
		if f.Globals.Query != "" {
			// A server prints a log, not JSON: a --query would be ignored.
			return zero, errs.UsageErrorf("--query picks from JSON output, and a server prints none")
		}
		if f.vault != nil && !f.serving {
			return zero, errs.Failuref("internal error: the vault was opened before the server asked for a pool of read connections")
		}
		f.serving = true
		return open(ctx)
	}
}

// ForRestore wraps open, which opens the vault, for `vault restore`: a
// vault directory whose database is gone (localstore.ErrLostDatabase,
// which every other command refuses) opens as a new vault, which the
// backup then fills.
func ForRestore[S any](f *Factory, open func(context.Context) (S, error)) func(context.Context) (S, error) {
	return func(ctx context.Context) (S, error) {
		f.restoring = true
		return open(ctx)
	}
}

// vaultPassphrase is the vault passphrase given (nil: none), and, for a
// file of several lines, legacy: the passphrase a release before this one
// read from it (all of it but its last line end), tried when the first
// line does not open the key (localstore.Options.LegacyPassphrase).
func (f *Factory) vaultPassphrase() (pass, legacy []byte, err error) {
	if p := f.Globals.VaultPassphraseFile; p != "" {
		data, err := ReadSecretFileArg(f.IO, "vault-passphrase-file", p)
		if err != nil {
			return nil, nil, err
		}
		hookenv.ProtectSecrets() // what it opens stays in this process (review)
		pass := PassphraseIn(data)
		if len(pass) == 0 {
			// Not a wrong passphrase (tester): there is none in it.
			clear(data)
			what := "is empty"
			if len(data) > 0 {
				what = "has an empty first line"
			}
			return nil, nil, errs.Invalidf("the vault passphrase is empty: --vault-passphrase-file %s %s (the passphrase is its first line)", p, what)
		}
		if old := TrimNewline(data); !bytes.Equal(old, pass) && len(old) > 0 {
			legacy = bytes.Clone(old)
		}
		clear(data)
		return pass, legacy, nil
	}
	if p := f.Getenv("CERTCTL_VAULT_PASSPHRASE"); p != "" {
		return []byte(p), nil, nil
	}
	return nil, nil, nil
}

// NewPassphrase is the passphrase a file read for flag holds (its last
// line end dropped) when it is one to set — one that encrypts an exported
// key, or the vault's new one: a file of several lines is refused (exit
// 4), since openssl's -passin file: and other tools read only the first
// line (tester: a key exported so did not open).
func NewPassphrase(flag string, data []byte) ([]byte, error) {
	pass := TrimNewline(data)
	if bytes.ContainsAny(pass, "\r\n") {
		clear(data)
		return nil, errs.Invalidf("--%s holds more than one line: a passphrase is one line (openssl -passin file: reads only the first)", flag)
	}
	return pass, nil
}

// askVaultPassphrase asks at the terminal, without echo, for the
// passphrase of the vault in dir. The end of input gives none (the vault
// stays locked).
func (f *Factory) askVaultPassphrase(dir string) func() ([]byte, error) {
	return func() ([]byte, error) {
		fmt.Fprintf(f.IO.ErrOut, "Vault passphrase (%s): ", dir)
		b, err := f.IO.ReadPassword()
		fmt.Fprintln(f.IO.ErrOut)
		switch {
		case errors.Is(err, iostreams.ErrInterrupted):
			return nil, &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted"}
		case errors.Is(err, io.EOF):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading the vault passphrase: %w", err)
		}
		hookenv.ProtectSecrets() // what it opens stays in this process (review)
		return b, nil
	}
}

// PassphraseIn is the passphrase a file holds when it is one to use — that
// of an encrypted key (import --private-key-passphrase-file) or of the vault
// (--vault-passphrase-file): its first line, without its line end, as
// openssl's -passin file: reads it. A file written by a heredoc or an editor
// may end in a blank line, and one that openssl opens a key with opens it
// here too (tester: "incorrect passphrase" for such a file). A passphrase
// to set is one line (NewPassphrase).
func PassphraseIn(data []byte) []byte {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	return bytes.Clone(bytes.TrimSuffix(data, []byte("\r")))
}

// TrimNewline drops one trailing newline (a passphrase file's last line end
// is not part of the passphrase).
func TrimNewline(b []byte) []byte {
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return []byte(s)
}

// Printer returns the output printer for the global -o and --query flags.
func (f *Factory) Printer() (*output.Printer, error) {
	if f.printer != nil {
		return f.printer, nil
	}
	p, err := output.New(f.IO, f.Globals.Output, f.Globals.Query)
	if err != nil {
		e := errs.UsageErrorf("%v", err)
		if f.Globals.Output == "" || output.ValidFormat(f.Globals.Output) {
			// The format is fine: the --query expression does not parse,
			// which the help does not explain.
			e = e.WithoutHelpHint()
		}
		return nil, e
	}
	p.Quiet = f.Globals.Quiet && f.Globals.Output == "" && f.Globals.Query == ""
	p.Changed = func() bool { return f.vault != nil && f.vault.Wrote() }
	f.printer = p
	return p, nil
}

// CreatedVault is the vault directory this command's opening of the vault
// made a new database in ("" when it made none): a command that then finds
// nothing may have been given a mistyped --vault (tester).
func (f *Factory) CreatedVault() string { return f.createdVault }

// CreatedEmptyVault is CreatedVault when the command then wrote nothing
// there: it only read a vault it made ("" otherwise) — a list, a search —
// and found it empty, which is what a mistyped --vault looks like
// (newcomer tester: `list` answered an empty list, exit 0, over a vault
// made by the typo).
func (f *Factory) CreatedEmptyVault() string {
	if f.createdVault == "" || f.vault == nil || f.vault.Wrote() {
		return ""
	}
	return f.createdVault
}

// Close releases what the factory opened.
func (f *Factory) Close() error {
	if f.vault != nil {
		err := f.vault.Close()
		f.vault = nil
		return err
	}
	return nil
}

// StructuredOutput reports whether the user asked explicitly for -o json or
// -o yaml, or gave a --query (which picks from the JSON form, as in the AWS
// CLI). Commands whose product is PEM print PEM otherwise, on a terminal
// or not.
func (f *Factory) StructuredOutput() bool {
	return f.Globals.Output == "json" || f.Globals.Output == "yaml" || f.Globals.Query != ""
}

// NoHomeError is the refusal of a command that needs a default path under
// the home directory when there is none (no HOME, and the account has no
// home in the password database: config.DefaultVault returned ""):
// invalid settings (exit 4), naming what to set instead.
func NoHomeError(instead string) error {
	return errs.Invalidf("no home directory (HOME is not set, and the account has none): set HOME, or %s", instead)
}

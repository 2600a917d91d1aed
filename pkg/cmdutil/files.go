package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
)

// MaxFileArg bounds what a file argument may hold (fsutil.MaxInputFile).
const MaxFileArg = fsutil.MaxInputFile

// OpenFileArg opens the file argument arg of the flag named flag (""
// for a positional argument): a path, `-` for stdin, or the AWS CLI forms
// file://P and fileb://P. It is the one place where an input file named
// on the command line is opened, so that every such file fails alike: one
// that does not exist, is a directory or cannot be read is invalid input
// (exit 4, SPEC section 5: the command line's shape is right, what it
// names is not), and the message names the flag and the file.
//
// stdin is read once: a second file argument naming it (`--certificate -
// --private-key -`, or /dev/stdin) is a usage error (exit 2), not an empty
// file.
func OpenFileArg(s *iostreams.IOStreams, flag, arg string) (io.ReadCloser, error) {
	name := FileArgName(arg)
	label := func(msg string) string {
		if flag != "" {
			return "--" + flag + ": " + msg
		}
		return msg
	}
	twice := func() error {
		what := "stdin is"
		if arg != "-" {
			what = name + " is stdin,"
		}
		return errs.UsageErrorf("%s", label(what+" read by another argument already: only one file argument can read stdin"))
	}
	if arg == "-" {
		if s.StdinTaken() {
			return nil, twice()
		}
		s.TakeStdin()
		return io.NopCloser(s.In), nil
	}
	fail := func(format string, a ...any) error {
		return errs.Invalidf("%s", label(fmt.Sprintf(format, a...)))
	}
	f, err := os.Open(name)
	if err != nil {
		switch {
		case os.IsNotExist(err):
			return nil, fail("%s: no such file", name)
		case os.IsPermission(err):
			return nil, fail("%s: permission denied", name)
		}
		return nil, fail("%v", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		f.Close()
		return nil, fail("%s: is a directory, not a file", name)
	}
	// /dev/stdin, /proc/self/fd/0: stdin by another name.
	if in, ok := s.In.(*os.File); ok && err == nil {
		if ist, ierr := in.Stat(); ierr == nil && os.SameFile(st, ist) {
			if s.StdinTaken() {
				f.Close()
				return nil, twice()
			}
			s.TakeStdin()
		}
	}
	return f, nil
}

// ReadFileArg reads the file argument arg of the flag named flag (see
// OpenFileArg), at most MaxFileArg bytes. Every error is invalid input
// (exit 4) naming the flag and the file.
//
// The first interruption (Ctrl-C, SIGTERM: IOStreams.Interrupted) ends a
// read still waiting for its input — stdin nobody writes to, a named
// pipe nobody opens — as an interrupted command (exit 1); the read itself
// is left behind (tester: only a second signal ended `sleep 60 | certctl
// import --certificate -`, and timeout(1) sends one).
func ReadFileArg(s *iostreams.IOStreams, flag, arg string) ([]byte, error) {
	data, err := s.Interruptible(func() ([]byte, error) { return readFileArg(s, flag, arg) })
	if errors.Is(err, iostreams.ErrInterrupted) {
		prefix := FileArgName(arg)
		if flag != "" {
			prefix = "--" + flag + ": " + prefix
		}
		return nil, &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted while reading " + prefix}
	}
	return data, err
}

func readFileArg(s *iostreams.IOStreams, flag, arg string) ([]byte, error) {
	r, err := OpenFileArg(s, flag, arg)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	prefix := FileArgName(arg) + ": "
	if flag != "" {
		prefix = "--" + flag + ": " + prefix
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileArg+1))
	if err != nil {
		return nil, errs.Invalidf("%s%v", prefix, err)
	}
	if len(data) > MaxFileArg {
		return nil, errs.Invalidf("%slarger than %d MiB", prefix, MaxFileArg>>20)
	}
	return data, nil
}

// FileArgName is the file name of a file argument, for messages.
func FileArgName(arg string) string {
	switch {
	case arg == "-":
		return "stdin"
	case strings.HasPrefix(arg, "fileb://"):
		return strings.TrimPrefix(arg, "fileb://")
	case strings.HasPrefix(arg, "file://"):
		return strings.TrimPrefix(arg, "file://")
	}
	return arg
}

// SplitListFlag flattens a repeatable flag whose values may also be
// comma-separated (--subject-alternative-names a,b --subject-alternative-names c).
// An empty item — two commas in a row, a comma at an end, an empty value —
// is refused naming the flag (tester: b.example,,c.example was taken as two
// names), with the exit code the flag's other malformed items get: exit
// (ExitUsage for a list of enumerated words, ExitInvalid for one of names
// the service checks as input).
func SplitListFlag(flag string, vals []string, exit errs.ExitCode) ([]string, error) {
	return splitList(flag, vals, exit, "two commas in a row, a comma at an end, or an empty value")
}

// SplitFilterFlag is SplitListFlag for a flag that narrows what a command
// selects (list's filters, events --type): an empty item is refused (exit
// 2), so that a script's --flag "$X" with an empty X fails instead of
// selecting everything as if the flag were left out.
func SplitFilterFlag(flag string, vals []string) ([]string, error) {
	return splitList(flag, vals, errs.ExitUsage, "leave the flag out to select everything")
}

// splitList is SplitListFlag, whose refusal says hint and quotes the
// flag's value that holds the empty item.
func splitList(flag string, vals []string, exit errs.ExitCode, hint string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				return nil, &errs.Error{Exit: exit, Msg: fmt.Sprintf("invalid value %q for --%s: an empty item (%s)", v, flag, hint)}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// CheckEnum checks that every value is exactly one of allowed (exit 2
// otherwise): enumerated values are compared as the AWS CLI compares them,
// case included, and a value that differs from a valid one only in case is
// answered with a "did you mean".
func CheckEnum(flag string, vals []string, allowed []string) error {
	for _, v := range vals {
		if err := enum.Error("--"+flag, v, allowed); err != nil {
			return &errs.Error{Exit: errs.ExitUsage, Err: err}
		}
	}
	return nil
}

// ExactArgs requires n positional arguments, named for the message.
func ExactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if len(args) < n {
			return errs.UsageErrorf("%s: missing argument %s", CommandName(cmd), strings.Join(names[len(args):], " "))
		}
		return unexpectedArgument(cmd, args[n])
	}
}

// NoArgs refuses positional arguments.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return unexpectedArgument(cmd, args[0])
	}
	return nil
}

// MutuallyExclusive reports a conflict naming both flags.
func MutuallyExclusive(fs *pflag.FlagSet, a, b string) error {
	if fs.Changed(a) && fs.Changed(b) {
		return errs.UsageErrorf("--%s and --%s cannot be used together", a, b)
	}
	return nil
}

// RefuseEmptyFlags refuses (exit 2) an empty value given to one of the
// named filter flags: --in-use "" or --resource "$ARN" with an empty ARN
// must not select everything, as leaving the flag out does.
func RefuseEmptyFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if f := cmd.Flags().Lookup(n); f != nil && f.Changed && strings.TrimSpace(f.Value.String()) == "" {
			return errs.UsageErrorf("invalid value %q for --%s: empty (leave the flag out to select everything)", f.Value.String(), n)
		}
	}
	return nil
}

// ParseBoolFilter parses --in-use=true|false style filters; "" means unset.
func ParseBoolFilter(flag, v string) (*bool, error) {
	switch strings.ToLower(v) {
	case "":
		return nil, nil
	case "true":
		t := true
		return &t, nil
	case "false":
		f := false
		return &f, nil
	}
	return nil, errs.UsageErrorf("invalid value %q for --%s (use true or false)", v, flag)
}

// IDArg takes a resource identifier either as the one positional argument
// or through an alias flag (e.g. --certificate-arn, as in the AWS CLI),
// storing it in *dst. Giving both, or neither, is a usage error. Register
// the flag on the command and use the result as its Args.
func IDArg(dst *string, flag, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		viaFlag := cmd.Flags().Changed(flag)
		switch {
		case len(args) > 1:
			return unexpectedArgument(cmd, args[1])
		case len(args) == 1 && viaFlag:
			return errs.UsageErrorf("%s: give the %s as an argument or with --%s, not both", CommandName(cmd), name, flag)
		case len(args) == 1:
			*dst = args[0]
		case !viaFlag || *dst == "":
			return errs.UsageErrorf("%s: missing argument %s", CommandName(cmd), name)
		}
		// Refused here, before the store is opened (exit 4, as the
		// resolvers refuse it for identifiers given otherwise).
		if err := arn.CheckLength(*dst); err != nil {
			return errs.Invalidf("%s: %v", CommandName(cmd), err)
		}
		return nil
	}
}

// IDAliasFlag registers --flag on cmd, hidden, as the alias of its one
// positional identifier (see IDArg), into *dst; its completion is the
// positional argument's (cmd.ValidArgsFunction, asked for the first
// argument when completing), so that `describe --certificate-arn <TAB>`
// offers what `describe <TAB>` does (tester: it offered nothing).
func IDAliasFlag(cmd *cobra.Command, dst *string, flag, usage string) {
	cmd.Flags().StringVar(dst, flag, "", usage)
	_ = cmd.Flags().MarkHidden(flag)
	_ = cmd.RegisterFlagCompletionFunc(flag, func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if c.ValidArgsFunction == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c.ValidArgsFunction(c, nil, toComplete)
	})
}

// CheckPathFlags refuses an output flag (MarkOutputFile, MarkOutputDir)
// or a directory flag (MarkFlagDirname: --vault, import --from-dir) given
// an empty value, as in `--out-file ""`: it names nothing, and taken as
// unset it would silently mean the default (standard output, the default
// vault). An optional input file given "" (--certificate-chain "$CHAIN")
// still means none.
func CheckPathFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if err != nil || fl.Value.Type() != "string" || fl.Value.String() != "" {
			return
		}
		_, out := fl.Annotations[outputAnnotation]
		_, dir := fl.Annotations[cobra.BashCompSubdirsInDir]
		if out || dir {
			err = errs.UsageErrorf("--%s needs a path, not an empty value", fl.Name)
		}
		if unset, ok := fl.Annotations[nonEmptyAnnotation]; ok && len(unset) == 1 {
			err = errs.UsageErrorf("--%s needs a value, not an empty one (leave the flag out for %s)", fl.Name, unset[0])
		}
	})
	return err
}

// nonEmptyAnnotation marks a flag whose empty value names nothing while
// leaving it out means something else (MarkNonEmpty); its one value says
// what.
const nonEmptyAnnotation = "certctl_nonempty"

// MarkNonEmpty marks the flag name of fs as one CheckPathFlags refuses
// (exit 2) given an empty value, unset saying what leaving it out means:
// request --certificate-authority-arn "$CA" with an empty $CA asked for
// a public-style certificate (domain validation) instead of a private one
// (tester), --store "" and --config "" meant the default store and file.
func MarkNonEmpty(fs *pflag.FlagSet, name, unset string) {
	_ = fs.SetAnnotation(name, nonEmptyAnnotation, []string{unset})
}

// outputAnnotation marks a flag naming what a command writes: a file (the
// annotation's one value is ""), or a directory and the names of the files
// written into it.
const outputAnnotation = "certctl_output"

// MarkOutputFile marks the flag name as a file the command writes (and
// completes file names for it): see CheckOutputPaths.
func MarkOutputFile(cmd *cobra.Command, name string) {
	_ = cmd.MarkFlagFilename(name)
	_ = cmd.Flags().SetAnnotation(name, outputAnnotation, []string{""})
}

// MarkOutputFileOrStdout is MarkOutputFile for a flag that takes "-" for
// the standard output (vault backup --out-file -). Another output file
// flag refuses "-" (CheckOutputPaths) rather than write a file of that
// name.
func MarkOutputFileOrStdout(cmd *cobra.Command, name string) {
	MarkOutputFile(cmd, name)
	_ = cmd.Flags().SetAnnotation(name, stdoutAnnotation, []string{"true"})
}

// stdoutAnnotation marks an output file flag that takes "-".
const stdoutAnnotation = "certctl_output_stdout"

// MarkOutputDir marks the flag name as a directory the command writes
// files into, by those names: see CheckOutputPaths.
func MarkOutputDir(cmd *cobra.Command, name string, files ...string) {
	_ = cmd.MarkFlagDirname(name)
	_ = cmd.Flags().SetAnnotation(name, outputAnnotation, files)
}

// CheckOutputPaths refuses (exit 4, invalid input) a command whose output would replace
// what it reads or the vault itself: a file flag marked as output
// (MarkOutputFile, MarkOutputDir) naming the same file as a file flag it
// reads (MarkFlagFilename: --passphrase-file, --vault-passphrase-file,
// --certificate, …) — `export --passphrase-file p.txt --out-file p.txt`
// replaced the only copy of the passphrase that encrypts the key it wrote
// — or a file in the vault's directory (vaultDir, asked only when there is
// an output; "": not known), its database and key among them.
func CheckOutputPaths(cmd *cobra.Command, vaultDir func() string) error {
	type named struct{ flag, path string }
	var outs, ins []named
	var dash, isDir error
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		v := fl.Value.String()
		if _, out := fl.Annotations[outputAnnotation]; out && v == "-" && fl.Annotations[stdoutAnnotation] == nil && dash == nil {
			// Not a file named "-" (tester: export and metrics wrote
			// one), which no user means.
			dash = errs.UsageErrorf(`--%s takes a file path: "-" (the standard output) is not one here — a command that prints does so without --%s`, fl.Name, fl.Name)
		}
		if fl.Value.Type() != "string" || v == "" || v == "-" {
			return
		}
		if files, ok := fl.Annotations[outputAnnotation]; ok {
			for _, n := range files {
				outs = append(outs, named{fl.Name, filepath.Join(v, n)})
			}
			// A file flag naming a directory, said with its flag before
			// anything runs (hostile-input tester: deploy --key-file
			// /tmp said "write /tmp: it is a directory").
			if len(files) == 1 && files[0] == "" && isDir == nil {
				if fi, err := os.Stat(v); err == nil && fi.IsDir() {
					isDir = errs.Invalidf("--%s: %s is a directory: name the file to write", fl.Name, v)
				}
			}
			return
		}
		if _, ok := fl.Annotations[cobra.BashCompFilenameExt]; ok {
			for _, prefix := range []string{"fileb://", "file://"} {
				v = strings.TrimPrefix(v, prefix)
			}
			ins = append(ins, named{fl.Name, v})
		}
	})
	if dash != nil {
		return dash
	}
	if isDir != nil {
		return isDir
	}
	dir := ""
	if len(outs) > 0 {
		dir = vaultDir()
	}
	for _, o := range outs {
		for _, in := range ins {
			if samePath(o.path, in.path) {
				return errs.Invalidf("--%s would write %s, which --%s reads: write it elsewhere", o.flag, o.path, in.flag)
			}
		}
		if dir != "" && within(o.path, dir) {
			return errs.Invalidf("--%s would write %s, in the vault directory %s: write it elsewhere", o.flag, o.path, dir)
		}
	}
	return nil
}

// samePath reports whether a and b name one file: the same absolute path,
// or two names of one existing file.
func samePath(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// within reports whether path is in dir (the directory itself, a file in
// it or below), by absolute path or, for an existing directory, through a
// link to it.
func within(path, dir string) bool {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for p := filepath.Dir(path); ; {
		if samePath(p, absDir) {
			return true
		}
		abs, err := filepath.Abs(p)
		if err != nil || filepath.Dir(abs) == abs {
			return false
		}
		p = filepath.Dir(abs)
	}
}

// Listen listens on addr, the value of a --listen flag (or its setting),
// for every server (endpoint serve, ca serve, validate serve-http): an
// address that is not host:port with a valid port is invalid input (exit
// 4) and names the flag; see listenError for one that cannot be listened
// on.
func Listen(addr string) (net.Listener, error) {
	if err := config.CheckListenAddr(addr); err != nil {
		return nil, errs.Invalidf("--listen: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	return ln, nil
}

// listenError is why addr cannot be listened on. An address in use is
// refused by the state of the host (exit 5, as a resource in use is), which
// the user can change, not a failure of certctl (exit 1; tester: "bind:
// address already in use", exit 1): another server (often a certctl
// server started before) holds it. Anything else is a failure.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return (&errs.Error{Exit: errs.ExitRefused, Code: "ResourceInUseException",
			Msg: "cannot listen on " + addr + ": the address is already in use"}).
			WithHint("another process listens on %s (a server started before?): stop it, or pick another address with --listen", addr)
	}
	return &errs.Error{Exit: errs.ExitFailure, Msg: "listen on " + addr, Err: err}
}

// PrintNotices writes a service's notices to standard error, one a line,
// each prefixed "certctl: " and stripped of terminal control characters
// (a notice may quote a name from the store).
func PrintNotices(ios *iostreams.IOStreams, notices ...string) {
	for _, n := range notices {
		if n != "" {
			fmt.Fprintf(ios.ErrOut, "certctl: %s\n", output.Sanitize(n))
		}
	}
}

// CommandName is cmd's path without the program's name ("describe",
// "ca describe"), for messages that the error printer already starts with
// "certctl: "; the root command is "certctl".
func CommandName(cmd *cobra.Command) string {
	p := cmd.CommandPath()
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[i+1:]
	}
	return p
}

// WarnTagFlags warns on standard error about each tag of a changed tag
// flag (--tags, --certificate-tags, --tag) that is valid but most likely
// a mistake (inventory.TagWarning: `env:prod` is a key with no value).
// The root runs it before every command, so that each tag flag gets it.
func WarnTagFlags(cmd *cobra.Command, ios *iostreams.IOStreams) {
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name != "tags" && fl.Name != "certificate-tags" && fl.Name != "tag" {
			return
		}
		sv, ok := fl.Value.(pflag.SliceValue)
		if !ok {
			return
		}
		for _, s := range sv.GetSlice() {
			if w := inventory.TagWarning(s); w != "" {
				PrintNotices(ios, "warning: "+w)
			}
		}
	})
}

// WriteOutputFile writes data to path, a file the user named for a
// command's output (--out-file, a file of --out-dir), atomically
// (fsutil.WriteFileAtomic), with the exit code of its failure: a path
// that cannot be a file — it is a directory, or its directory does not
// exist — is invalid input (exit 4, as for vault backup --out-file); any
// other failure (permission denied, a full disk) exit 1. The message names
// path. A symbolic link stays one, to the new content; a named pipe or a
// device is written through, not replaced, and the command's own standard
// output stdout (/dev/stdout, or the file it was redirected to) gets the
// data through stdout itself (fsutil.ResolveOutput).
func WriteOutputFile(ios *iostreams.IOStreams, path string, data []byte, mode os.FileMode) error {
	return writeOutputFile(ios, path, data, mode, false)
}

// OutputFile is one file of a set a command writes together.
type OutputFile struct {
	Path string
	Data []byte
}

// WriteOutputFiles writes a set of regular files (export --out-dir's)
// all or, as far as the system lets it, nothing: each is written to a
// temporary file beside where it goes (behind its links, as
// WriteOutputFile) before any is renamed into place, the first of files
// first; a directory, a pipe or a device in one's place, or a link into a
// directory that does not exist, is refused (exit 4) before anything is
// renamed (tester: export --out-dir wrote cert.pem, chain.pem and
// fullchain.pem, then failed on privkey.pem; reviews: a dangling link did
// the same, a pipe blocked the command, a key file that could not be made
// left a new certificate beside the old key). Mode is each file's. A
// rename that fails after others succeeded (a file made immutable) leaves
// those renamed: put the file that must not be older than the rest first.
func WriteOutputFiles(files []OutputFile, mode os.FileMode) error {
	staged := make([]*fsutil.Staged, 0, len(files))
	defer func() {
		for _, st := range staged {
			st.Discard()
		}
	}()
	for _, f := range files {
		out, err := fsutil.ResolveOutput(f.Path, nil)
		if err != nil {
			return outputFileError(err)
		}
		if out.Special {
			return errs.Invalidf("%v", &fs.PathError{Op: "write", Path: f.Path, Err: fsutil.ErrNotRegular})
		}
		st, err := fsutil.Stage(out.Path, f.Data, mode)
		if err != nil {
			return outputFileError(reportedAs(err, f.Path))
		}
		staged = append(staged, st)
	}
	dirs := map[string]bool{}
	for i, st := range staged {
		if err := st.Commit(); err != nil {
			return outputFileError(reportedAs(err, files[i].Path))
		}
		dirs[filepath.Dir(st.Path)] = true
	}
	for d := range dirs {
		if err := fsutil.SyncDir(d); err != nil {
			return errs.Failuref("write %s: %v", d, err)
		}
	}
	return nil
}

// reportedAs is err, a *fs.PathError about where path leads, naming path
// as the user gave it.
func reportedAs(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	}
	return err
}

// WriteBinaryOutputFile is WriteOutputFile for binary content (PKCS#12):
// a path that is a terminal is refused (exit 2), as a terminal on the
// standard output is.
func WriteBinaryOutputFile(ios *iostreams.IOStreams, path string, data []byte, mode os.FileMode) error {
	return writeOutputFile(ios, path, data, mode, true)
}

func writeOutputFile(ios *iostreams.IOStreams, path string, data []byte, mode os.FileMode, binary bool) error {
	out, w, done, err := openOutput(ios, path, binary)
	if err != nil {
		return err
	}
	if w != nil {
		// A pipe nobody reads takes no more than it buffers: the write
		// too gives up at the first interruption.
		write := func() ([]byte, error) {
			_, err := w.Write(data)
			return nil, errors.Join(err, done())
		}
		_, err = ios.Interruptible(write)
		switch {
		case errors.Is(err, iostreams.ErrInterrupted):
			return &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted while writing " + path}
		case err != nil:
			return errs.Failuref("write %s: %v", path, err)
		}
		return nil
	}
	if err := fsutil.WriteFileAtomic(out.Path, data, mode); err != nil {
		return outputFileError(err)
	}
	return nil
}

// StdoutFile is the file under a command's standard output w, when it is
// one (nil: a buffer of a test, say).
func StdoutFile(w io.Writer) *os.File {
	f, _ := w.(*os.File)
	return f
}

// IsStdout reports whether path, a file the user named for a command's
// output (--out-file), is "-" or the command's own standard output
// (/dev/stdout, or the file it was redirected to: fsutil.ResolveOutput),
// which then carries the product: what the command reports of it goes to
// stderr (output.Printer.Summary).
func IsStdout(ios *iostreams.IOStreams, path string) bool {
	if path == "-" {
		return true
	}
	out, err := fsutil.ResolveOutput(path, StdoutFile(ios.Out))
	return err == nil && out.Stdout
}

// OpenSpecialOutput opens path, a file the user named for a command's
// output, for writing through it when it names no regular file but the
// standard output, a named pipe or a device (fsutil.ResolveOutput): the
// open waits for a pipe's reader until the first interruption (exit 1), and
// a terminal is refused for binary content (exit 2). It returns a nil
// writer when path names a regular file, or none, which the caller then
// replaces atomically. done ends the write (nil error on the standard
// output, which stays open).
func OpenSpecialOutput(ios *iostreams.IOStreams, path string, binary bool) (w io.Writer, done func() error, err error) {
	_, w, done, err = openOutput(ios, path, binary)
	return w, done, err
}

// openOutput is OpenSpecialOutput, also returning where path leads.
func openOutput(ios *iostreams.IOStreams, path string, binary bool) (out fsutil.Output, w io.Writer, done func() error, err error) {
	var stdout *os.File
	if ios != nil {
		stdout = StdoutFile(ios.Out)
	}
	if out, err = fsutil.ResolveOutput(path, stdout); err != nil {
		return out, nil, nil, outputFileError(err)
	}
	if !out.Special {
		return out, nil, nil, nil
	}
	var f *os.File
	var own bool
	open := func() ([]byte, error) {
		var err error
		f, own, err = out.OpenSpecial(path, binary, stdout)
		return nil, err
	}
	_, err = ios.Interruptible(open)
	switch {
	case errors.Is(err, iostreams.ErrInterrupted):
		return out, nil, nil, &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted while opening " + path}
	case errors.Is(err, fsutil.ErrTerminal):
		return out, nil, nil, errs.UsageErrorf("%v: name a file, or a pipe", err).WithoutHelpHint()
	case err != nil:
		return out, nil, nil, errs.Failuref("%v", err)
	}
	done = func() error { return nil }
	if own {
		done = f.Close
	}
	return out, f, done, nil
}

// FlagPathError is err, a failure to write the output file of the flag
// named flag (WriteOutputFile's), with its message prefixed by the flag,
// as a failure to read an input file names its flag (ReadFileArg; tester:
// export --out-file /tmp said "write /tmp: it is a directory").
func FlagPathError(flag string, err error) error {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	named := *e
	named.Msg = strings.TrimSuffix("--"+flag+": "+e.Msg, ": ")
	return &named
}

// outputFileError gives a failure to write an output file its exit code:
// a path that cannot be a file is invalid input (exit 4), anything else
// a failure (exit 1).
func outputFileError(err error) error { return OutputPathError("", err) }

// OutputPathError gives a failure to make an output file or directory
// (--out-file, --out-dir) its exit code, its message prefixed: a path that
// cannot be one — a missing directory, a file where a directory would be,
// a directory where a file would, a link loop — is invalid input (exit
// 4), anything else a failure (exit 1). --out-dir and --out-file told the
// same mistake apart by different codes (tester).
func OutputPathError(prefix string, err error) error {
	if mistake, fix := fsutil.PathMistake(err); mistake {
		e := errs.Invalidf("%s%v", prefix, err)
		if fix != "" {
			e = e.WithHint("%s", fix)
		}
		return e
	}
	return errs.Failuref("%s%v", prefix, err)
}

// tagFlags are the flags that take one tag per occurrence.
var tagFlags = []string{"tags", "certificate-tags", "tag"}

// fieldFlags are the repeatable flags one of whose values is fields
// separated by commas (Key=K,Value=V), not a list.
var fieldFlags = append(slices.Clone(tagFlags), "options", "domain-validation-options")

// spacedValueFlags are the list flags, "COMMAND --FLAG", whose values have
// spaces (events --type "Certificate Available"): a word too many is most
// likely a value not quoted (review: the comma hint misled). list --type's
// values have none.
var spacedValueFlags = []string{"events --type"}

// unexpectedArgument refuses a positional argument cmd does not take. One
// that looks like a tag after a tag flag (`--tags Key=a,Value=b
// Key=c,Value=d`, as the AWS CLI takes them) gets a hint: each tag flag
// takes one tag per occurrence (SPEC).
func unexpectedArgument(cmd *cobra.Command, arg string) error {
	err := errs.UsageErrorf("%s: unexpected argument %q", CommandName(cmd), arg)
	if !strings.Contains(arg, "=") {
		// `--subject-alternative-names a b` or `--certificate-statuses
		// ISSUED EXPIRED`, as the AWS CLI takes a list: the one list flag
		// given (a repeatable string array, which SplitListFlag splits on
		// commas) is named with the forms it takes — not a flag whose
		// commas separate a value's fields (--tags Key=a,Value=b: review).
		var lists []string
		cmd.Flags().Visit(func(f *pflag.Flag) {
			if f.Value.Type() == "stringArray" && !slices.Contains(fieldFlags, f.Name) {
				lists = append(lists, f.Name)
			}
		})
		switch {
		case len(lists) == 1 && slices.Contains(spacedValueFlags, cmd.Name()+" --"+lists[0]):
			return err.WithHint("a value of --%s that has spaces is quoted (--%s 'Certificate Available'); several are separated by commas, or given one per occurrence", lists[0], lists[0])
		case len(lists) == 1:
			return err.WithHint("--%s takes several values separated by commas, or one per occurrence (--%s a,b or --%s a --%s b)", lists[0], lists[0], lists[0], lists[0])
		}
		return err
	}
	for _, name := range tagFlags {
		// Only after a tag flag given: `--subject CN=Second Root,O=X`
		// unquoted got the hint too (tester).
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			return err.WithHint("--%s takes one tag per occurrence: repeat it for each (--%s Key=a,Value=b --%s Key=c,Value=d)", name, name, name)
		}
	}
	return err
}

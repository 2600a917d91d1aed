package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/shellarg"
)

// KeyPassphraseFlagName is the flag that gives the passphrase of an
// encrypted private key to import (pemio.ErrEncryptedKey names it).
const KeyPassphraseFlagName = "private-key-passphrase-file"

// KeyPassphraseFlag adds --private-key-passphrase-file to a command that
// reads a private key to import (import, import --from-dir, ca import):
// one flag, one help line, on each of them.
func KeyPassphraseFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, KeyPassphraseFlagName, "", "`file` holding the passphrase of an encrypted private key (its first line, as openssl -passin file: reads it)")
	_ = cmd.MarkFlagFilename(KeyPassphraseFlagName)
}

// ReadKeyPassphrase reads the passphrase file arg of
// --private-key-passphrase-file (nil when arg is empty): its first line
// (PassphraseIn). What it read is cleared.
func ReadKeyPassphrase(s *iostreams.IOStreams, arg string) ([]byte, error) {
	if arg == "" {
		return nil, nil
	}
	data, err := ReadSecretFileArg(s, KeyPassphraseFlagName, arg)
	if err != nil {
		return nil, err
	}
	pass := PassphraseIn(data)
	clear(data)
	return pass, nil
}

// ReadSecretFileArg is ReadFileArg for a file holding a secret (a
// passphrase): a regular file that every user may read is read all the
// same, with a warning on stderr saying how to close it (security tester:
// a world-readable --vault-passphrase-file was taken silently, while the
// vault directory and the config file are held to ssh's rules). Not
// refused: a file readable by its group only (a Kubernetes secret's
// fsGroup, a service group) is a deliberate choice, and so may this be.
func ReadSecretFileArg(s *iostreams.IOStreams, flag, arg string) ([]byte, error) {
	data, err := ReadFileArg(s, flag, arg)
	if err == nil && arg != "-" {
		name := FileArgName(arg)
		if mode, open := fsutil.OpenToAll(name); open {
			fmt.Fprintf(s.ErrOut, "certctl: %s\n", fsutil.OpenToAllWarning("--"+flag, output.Sanitize(name), shellarg.Quote(name), mode))
		}
	}
	return data, err
}

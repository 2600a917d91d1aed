package cmdutil

import (
	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/iostreams"
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
	data, err := ReadFileArg(s, KeyPassphraseFlagName, arg)
	if err != nil {
		return nil, err
	}
	pass := PassphraseIn(data)
	clear(data)
	return pass, nil
}

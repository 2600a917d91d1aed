package pemio

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
)

// PEM block types certctl reads.
const (
	typeCertificate     = "CERTIFICATE"
	typePrivateKey      = "PRIVATE KEY"
	typeRSAPrivateKey   = "RSA PRIVATE KEY"
	typeECPrivateKey    = "EC PRIVATE KEY"
	typeEncryptedPKCS8  = "ENCRYPTED PRIVATE KEY"
	typeECParameters    = "EC PARAMETERS"
	typeOpenSSHPrivate  = "OPENSSH PRIVATE KEY"
	typeDSAPrivateKey   = "DSA PRIVATE KEY"
	typeLegacyProcType  = "Proc-Type"
	legacyEncryptedFlag = "4,ENCRYPTED"
)

var pemBegin = []byte("-----BEGIN")

// utf8BOM is the byte-order mark some Windows editors (Notepad) put at
// the start of a text file they save.
var utf8BOM = []byte("\xef\xbb\xbf")

// TrimBOM returns data without a leading UTF-8 byte-order mark. Go's PEM
// decoder finds a block only at the start of the data or of a line, so a
// file saved with one would otherwise read as a damaged block; openssl
// reads such files.
func TrimBOM(data []byte) []byte { return bytes.TrimPrefix(data, utf8BOM) }

// isBlank reports whether data holds nothing but white space.
func isBlank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }

// decodeAll returns every PEM block of data in order. Text around the blocks
// (such as the output of `openssl x509 -text`) is ignored, but a "-----BEGIN"
// line that does not start a well-formed block is an error: silently dropping
// a truncated certificate would change the meaning of a chain.
func decodeAll(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := TrimBOM(data)
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			if i := bytes.Index(rest, pemBegin); i >= 0 {
				return nil, newErrorf(RuleMalformedPEM,
					fmt.Sprintf("PEM block %d is truncated or corrupt (BEGIN line without a matching END line, or invalid base64)", len(blocks)+1))
			}
			return blocks, nil
		}
		blocks = append(blocks, block)
		rest = r
	}
}

// isPrivateKeyType reports whether a PEM block type holds a private key.
func isPrivateKeyType(t string) bool {
	switch t {
	case typePrivateKey, typeRSAPrivateKey, typeECPrivateKey, typeEncryptedPKCS8,
		typeOpenSSHPrivate, typeDSAPrivateKey:
		return true
	}
	return false
}

// EncodeString returns der as one PEM block of type typ, built in one
// allocation of its exact size (see encodedLen): a CRL of a hundred
// thousand entries is megabytes, which pem.EncodeToMemory reaches by
// doubling its buffer and string() then copies — new memory three times
// over, each page of it first touched at a cost.
func EncodeString(typ string, der []byte) string {
	var b strings.Builder
	b.Grow(encodedLen(typ, len(der)))
	_ = pem.Encode(&b, &pem.Block{Type: typ, Bytes: der}) // a strings.Builder does not fail
	return b.String()
}

// Write writes der to w as one PEM block of type typ, as EncodeString
// gives it, through a buffer of 64 KiB: a large block (a CRL) is never
// whole in memory in PEM.
func Write(w io.Writer, typ string, der []byte) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pem.Encode(bw, &pem.Block{Type: typ, Bytes: der}); err != nil {
		return err
	}
	return bw.Flush()
}

// encodedLen is the length of the PEM block of type typ, without headers,
// of n bytes: its BEGIN and END lines and the base64 of the bytes in lines
// of 64 characters, each ending in a newline.
func encodedLen(typ string, n int) int {
	b64 := base64.StdEncoding.EncodedLen(n)
	return 2*(len("-----BEGIN -----\n")+len(typ)) - len("BEGIN") + len("END") + b64 + (b64+63)/64
}

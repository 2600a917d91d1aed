package output

import (
	"bytes"
	"encoding/json"
	"io"
	"time"
)

// JSONWriter writes one JSON document as it goes, byte for byte as Print
// writes a value with -o json (four-space indentation, HTML characters not
// escaped, a final newline), without reflection: for the results too large
// to build and encode whole (list). The caller writes the fields in the
// order of the value's struct; a test should compare with PrintsJSON's
// encoding of the same value.
type JSONWriter struct {
	w   io.Writer
	buf []byte // written to w when it fills up
	err error
	// first tells, per open object or array, whether no element was
	// written yet.
	first    []bool
	afterKey bool
	// large is set once the document has filled the buffer.
	large   bool
	scratch bytes.Buffer
	enc     *json.Encoder
}

// NewJSONWriter returns a writer to w; Close flushes it.
func NewJSONWriter(w io.Writer) *JSONWriter {
	return &JSONWriter{w: w, buf: make([]byte, 0, jsonBuffer+1024)}
}

// PlainJSON reports whether Print writes a value's own JSON encoding (-o
// json without --query), which a JSONWriter may then write instead.
func (p *Printer) PlainJSON() bool { return p.query == nil && p.Format == "json" }

// jsonBuffer is how much a JSONWriter holds before writing it out.
const jsonBuffer = 64 << 10

const newlineIndent = "\n                                                                "

func (j *JSONWriter) newline(depth int) {
	if n := 1 + depth*4; n <= len(newlineIndent) {
		j.buf = append(j.buf, newlineIndent[:n]...)
	} else {
		j.buf = append(j.buf, '\n')
		for range depth * 4 {
			j.buf = append(j.buf, ' ')
		}
	}
	if len(j.buf) >= jsonBuffer {
		if !j.large {
			// A large document: let its pipe, if any, hold more of it.
			j.large = true
			growPipe(j.w)
		}
		j.flush()
	}
}

// flush writes out what is buffered; the first error sticks.
func (j *JSONWriter) flush() {
	if j.err == nil && len(j.buf) > 0 {
		_, j.err = j.w.Write(j.buf)
	}
	j.buf = j.buf[:0]
}

// element starts a value: after a key, nothing; in an array, the comma and
// the line.
func (j *JSONWriter) element() {
	if j.afterKey {
		j.afterKey = false
		return
	}
	j.next()
}

func (j *JSONWriter) next() {
	if d := len(j.first); d > 0 {
		if !j.first[d-1] {
			j.buf = append(j.buf, ',')
		}
		j.first[d-1] = false
		j.newline(d)
	}
}

func (j *JSONWriter) open(c byte) {
	j.element()
	j.buf = append(j.buf, c)
	j.first = append(j.first, true)
}

func (j *JSONWriter) close(c byte) {
	d := len(j.first)
	if !j.first[d-1] {
		j.newline(d - 1)
	}
	j.first = j.first[:d-1]
	j.buf = append(j.buf, c)
}

// BeginObject and EndObject write an object; its members are a Key each,
// followed by its value.
func (j *JSONWriter) BeginObject() { j.open('{') }

// EndObject ends the object BeginObject began.
func (j *JSONWriter) EndObject() { j.close('}') }

// BeginArray and EndArray write an array of the values written between.
func (j *JSONWriter) BeginArray() { j.open('[') }

// EndArray ends the array BeginArray began.
func (j *JSONWriter) EndArray() { j.close(']') }

// Key starts an object member.
func (j *JSONWriter) Key(k string) {
	j.next()
	j.quote(k)
	j.buf = append(j.buf, ": "...)
	j.afterKey = true
}

// String writes a string value.
func (j *JSONWriter) String(s string) {
	j.element()
	j.quote(s)
}

// Strings writes an array of strings ([] for none).
func (j *JSONWriter) Strings(l []string) {
	j.BeginArray()
	for _, s := range l {
		j.String(s)
	}
	j.EndArray()
}

// Bool writes true or false.
func (j *JSONWriter) Bool(b bool) {
	j.element()
	if b {
		j.buf = append(j.buf, "true"...)
	} else {
		j.buf = append(j.buf, "false"...)
	}
}

// Null writes null.
func (j *JSONWriter) Null() {
	j.element()
	j.buf = append(j.buf, "null"...)
}

// PlainKey is Key for a key that needs no escaping (printable ASCII
// without '"' or '\\', as a struct's field names are), which it does not
// check: for the constant keys of a large document.
func (j *JSONWriter) PlainKey(k string) {
	j.next()
	j.buf = append(j.buf, '"')
	j.buf = append(j.buf, k...)
	j.buf = append(j.buf, `": `...)
	j.afterKey = true
}

// Time writes t formatted with layout as a string value (what
// encoding/json writes for a text marshaler that formats so), without
// allocating.
func (j *JSONWriter) Time(t time.Time, layout string) {
	j.element()
	start := len(j.buf)
	j.buf = append(j.buf, '"')
	j.buf = t.AppendFormat(j.buf, layout)
	if !plain(j.buf[start+1:]) {
		s := string(j.buf[start+1:])
		j.buf = j.buf[:start]
		j.quoteSlow(s)
		return
	}
	j.buf = append(j.buf, '"')
}

// plainByte tells the bytes that encoding/json writes as they are (without
// HTML escaping): printable ASCII but '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func plain[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// quote writes s as encoding/json does without HTML escaping: printable
// ASCII as is, anything else through encoding/json itself.
func (j *JSONWriter) quote(s string) {
	if !plain(s) {
		j.quoteSlow(s)
		return
	}
	j.buf = append(j.buf, '"')
	j.buf = append(j.buf, s...)
	j.buf = append(j.buf, '"')
}

func (j *JSONWriter) quoteSlow(s string) {
	if j.enc == nil {
		j.enc = json.NewEncoder(&j.scratch)
		j.enc.SetEscapeHTML(false)
	}
	j.scratch.Reset()
	_ = j.enc.Encode(s) // a string always encodes
	j.buf = append(j.buf, bytes.TrimSuffix(j.scratch.Bytes(), []byte("\n"))...)
}

// Err is the error of the first write that failed, if one has: a caller
// writing a long document stops at it.
func (j *JSONWriter) Err() error { return j.err }

// Close ends the document with a newline and flushes it; its error is
// the first of every write.
func (j *JSONWriter) Close() error {
	j.buf = append(j.buf, '\n')
	j.flush()
	return j.err
}

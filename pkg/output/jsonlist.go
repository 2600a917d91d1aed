package output

import (
	"bytes"
	"encoding/json"
	"io"
)

// ListWriter writes a value whose first field is a list, an item at a
// time: Add each item, then End with the fields after the list.
type ListWriter interface {
	Add(item any) error
	End(rest any) error
}

// StreamList returns the ListWriter of the list key for the format Print
// writes as the value itself (-o json, -o yaml, without --query); nil
// otherwise (a table, text, a query need the whole value).
func (p *Printer) StreamList(key string) ListWriter {
	switch {
	case p.PlainJSON():
		return NewJSONList(p.IO.Out, key)
	case p.PlainYAML():
		return NewYAMLList(p.IO.Out, key)
	}
	return nil
}

// EndWithNextToken ends l with the NextToken field after the list (null
// when token is ""), as a paged list's JSON form has it.
func EndWithNextToken(l ListWriter, token string) error {
	var next struct {
		NextToken *string `json:"NextToken"`
	}
	if token != "" {
		next.NextToken = &token
	}
	return l.End(next)
}

// JSONList writes, an item at a time, the JSON that Print writes for a
// value whose first field is the list Key (indented by four, HTML not
// escaped): `audit list` over a log of 70,000 records held them all first,
// 646 MB (scale tester). The bytes are Print's, the list's items each
// encoded as Print encodes them (empty lists as []).
type JSONList struct {
	w   io.Writer
	key string
	n   int
	buf bytes.Buffer
}

// NewJSONList begins the list key on w.
func NewJSONList(w io.Writer, key string) *JSONList { return &JSONList{w: w, key: key} }

// begin writes the object's opening and the list's key into l.buf.
func (l *JSONList) begin() error {
	k, err := json.Marshal(l.key)
	if err != nil {
		return err
	}
	l.buf.WriteString("{\n    ")
	l.buf.Write(k)
	l.buf.WriteString(": [")
	return nil
}

// Add writes item.
func (l *JSONList) Add(item any) error {
	l.buf.Reset()
	if l.n == 0 {
		if err := l.begin(); err != nil {
			return err
		}
		l.buf.WriteString("\n        ")
	} else {
		l.buf.WriteString(",\n        ")
	}
	enc := json.NewEncoder(&l.buf)
	enc.SetIndent("        ", "    ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(emptyLists(item)); err != nil {
		return err
	}
	l.buf.Truncate(l.buf.Len() - 1) // the encoder's newline
	l.n++
	_, err := l.w.Write(l.buf.Bytes())
	return err
}

// End ends the list (an empty one as []) and writes rest, a struct whose
// fields follow the list's in Print's order (at least one).
func (l *JSONList) End(rest any) error {
	l.buf.Reset()
	if l.n == 0 {
		if err := l.begin(); err != nil {
			return err
		}
		l.buf.WriteString("],\n")
	} else {
		l.buf.WriteString("\n    ],\n")
	}
	var tail bytes.Buffer
	if err := writeJSON(&tail, emptyLists(rest)); err != nil {
		return err
	}
	l.buf.Write(bytes.TrimPrefix(tail.Bytes(), []byte("{\n"))) // its fields, and the closing brace
	_, err := l.w.Write(l.buf.Bytes())
	return err
}

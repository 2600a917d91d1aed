// Package promtext writes the Prometheus text exposition format (0.0.4),
// for `certctl metrics` and the ACME server's /metrics.
package promtext

import (
	"io"
	"math"
	"strconv"
	"strings"
)

// Sample is one line of a metric family: its labels, in order, and value.
type Sample struct {
	Labels []Label `json:"Labels"`
	Value  float64 `json:"Value"`
}

// Label is a label name and value.
type Label struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// Family is a metric family of the Prometheus text format (version 0.0.4).
type Family struct {
	Name    string   `json:"Name"`
	Help    string   `json:"Help"`
	Type    string   `json:"Type"`
	Samples []Sample `json:"Samples"`
}

// WriteText writes families in the Prometheus text exposition format: a
// HELP and a TYPE line per family, then its samples.
func WriteText(w io.Writer, families []Family) error {
	var b strings.Builder
	for _, f := range families {
		b.WriteString("# HELP " + f.Name + " " + EscapeHelp(f.Help) + "\n")
		b.WriteString("# TYPE " + f.Name + " " + f.Type + "\n")
		for _, s := range f.Samples {
			b.WriteString(f.Name)
			if len(s.Labels) > 0 {
				b.WriteByte('{')
				for i, l := range s.Labels {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(l.Name + `="` + EscapeLabelValue(l.Value) + `"`)
				}
				b.WriteByte('}')
			}
			b.WriteString(" " + FormatValue(s.Value) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// EscapeLabelValue escapes a label value as the text format requires
// (backslash, double quote and line feed), after replacing bytes that are
// not UTF-8, which the format does not allow.
func EscapeLabelValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return labelEscaper.Replace(s)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// EscapeHelp escapes a HELP docstring (backslash and line feed).
func EscapeHelp(s string) string {
	return helpEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// FormatValue formats a sample value: integers without a fraction, other
// numbers in the shortest form that reads back exactly.
func FormatValue(v float64) string {
	if v < 1<<53 && v > -(1<<53) && v == math.Trunc(v) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// L makes a label.
func L(name, value string) Label { return Label{Name: name, Value: value} }

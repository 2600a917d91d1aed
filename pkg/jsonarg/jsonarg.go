// Package jsonarg decodes the JSON documents a user gives on the command
// line (a filter statement, a revocation configuration, name constraints,
// an API passthrough): strictly — an unknown field or trailing data is an
// error — and with errors that say what was wanted where, in the words of
// JSON rather than of Go's types.
package jsonarg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Decode decodes the JSON document data into v, refusing unknown fields
// and anything after the document.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if want := kindOf(te.Type); te.Field == "" {
				return fmt.Errorf("want a JSON %s, not %s", strings.TrimPrefix(strings.TrimPrefix(want, "an "), "a "), valueKind(te.Value))
			}
			return fmt.Errorf("%s: want %s, not %s", te.Field, kindOf(te.Type), valueKind(te.Value))
		}
		if err.Error() == "EOF" {
			return errors.New("empty: want a JSON document")
		}
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// kindOf names what a JSON value of Go type t is.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Pointer:
		return kindOf(t.Elem())
	default:
		return "an object"
	}
}

// valueKind is encoding/json's name of a value's kind ("string",
// "array", "number 5", …) as a phrase.
func valueKind(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "true or false"
	case strings.HasPrefix(v, "number"):
		return "a number"
	case v == "string":
		return "a string"
	}
	return v
}

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
	"sort"
	"strings"

	"github.com/certctl/certctl/pkg/enum"
)

// Decode decodes the JSON document data into v, refusing unknown fields
// and anything after the document. Member names are exact, as the AWS
// APIs whose documents these are read them: encoding/json would take
// "crlConfiguration" for CrlConfiguration; Decode refuses it, naming the
// one meant.
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
	var doc any
	raw := json.NewDecoder(bytes.NewReader(data))
	raw.UseNumber()
	if err := raw.Decode(&doc); err != nil {
		return nil // cannot happen: the document decoded above
	}
	return checkNames(doc, reflect.TypeOf(v), "")
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkNames refuses a member of doc whose name matches a field of t only
// when case is ignored (encoding/json's matching): the names are exact.
// Types that decode themselves (time.Time, …) are not looked into.
func checkNames(doc any, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, _ := doc.(map[string]any)
		fields := map[string]reflect.Type{}
		var names []string
		jsonFields(t, fields, &names)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				where := ""
				if at != "" {
					where = " in " + at
				}
				return fmt.Errorf("unknown field %q%s%s", k, where, enum.Problem(k, names))
			}
			if err := checkNames(obj[k], ft, join(at, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		list, _ := doc.([]any)
		for i, e := range list {
			if err := checkNames(e, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := doc.(map[string]any)
		for k, e := range obj {
			if err := checkNames(e, t.Elem(), join(at, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// jsonFields adds the JSON member names of struct t, as encoding/json
// names them (tag name, else field name; embedded structs' fields
// promoted), to fields and names.
func jsonFields(t reflect.Type, fields map[string]reflect.Type, names *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			jsonFields(ft, fields, names)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := fields[name]; !dup {
			fields[name] = f.Type
			*names = append(*names, name)
		}
	}
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

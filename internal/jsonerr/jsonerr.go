// Package jsonerr words encoding/json's decoding errors for the person
// who has to fix the file or answer: what was wrong, and where, in JSON's
// terms (an object, a list, a string), never in Go's ("cannot unmarshal
// array into Go value of type struct { ... }").
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Describe returns err, a json.Unmarshal or json.Decoder error, in words:
//
//	not valid JSON at byte 12: invalid character 'x' looking for beginning of value
//	data.attributes is a JSON string where an object is expected
//
// Errors that are not about the JSON text are returned as they are.
func Describe(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		msg := strings.TrimPrefix(se.Error(), "json: ")
		if msg == "unexpected end of JSON input" {
			return "the JSON ends too early (cut short?)"
		}
		return fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, msg)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early (cut short?)"
	case errors.As(err, &te):
		where := "the document"
		if te.Field != "" {
			where = te.Field
		}
		return fmt.Sprintf("%s is a JSON %s where %s is expected", where, value(te.Value), expected(te.Type))
	}
	return err.Error()
}

// Error returns err as an error whose text is Describe's, still matching
// err with errors.Is and errors.As.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return &described{err}
}

type described struct{ err error }

func (d *described) Error() string { return Describe(d.err) }
func (d *described) Unwrap() error { return d.err }

// value words UnmarshalTypeError.Value: "array", "number 1.5", "string".
func value(v string) string {
	switch {
	case v == "array":
		return "list"
	case strings.HasPrefix(v, "number"):
		return "number"
	}
	return v
}

// expected words what a Go type takes in JSON.
func expected(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string" // []byte and json.RawMessage take any value; base64 for []byte
		}
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

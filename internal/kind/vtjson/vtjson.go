// Package vtjson reads VirusTotal API v3 objects leniently, for the kinds'
// record mappings: any attribute may be missing, null or of another type
// than documented, and each such attribute costs only its own field.
package vtjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vtsync/vtsync/internal/jsonlex"
)

// Object reads a VirusTotal object — {"id":…,"type":typ,"attributes":{…}},
// the "data" member of a response — and decodes its attributes into attrs,
// a pointer to a struct whose fields are json.RawMessage (each decoded on
// its own later, so that a mistyped attribute costs only its field). It
// returns the object's id.
//
// Only data that is not a JSON object, a missing, empty or non-string id,
// or a type other than typ is an error. Attributes that are not an object
// leave attrs as it is.
func Object(data []byte, typ string, attrs any) (string, error) {
	if !IsObject(data) {
		return "", errors.New("not a VirusTotal object: not a JSON object")
	}
	obj := object{Attributes: attrs}
	return obj.read(data, typ)
}

// Response is Object for a whole response body, {"data":{…}}.
func Response(body []byte, typ string, attrs any) (string, error) {
	if !IsObject(body) {
		return "", errors.New("not a VirusTotal response: not a JSON object")
	}
	env := struct {
		Data *object `json:"data"`
	}{Data: &object{Attributes: attrs}}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(body, &env); err != nil && !errors.As(err, &typeErr) {
		return "", errors.New("not a VirusTotal response: " + err.Error())
	}
	if env.Data == nil {
		return "", errors.New(`VirusTotal response has no "data" object`)
	}
	return env.Data.check(typ)
}

// object is a VirusTotal object as Object reads it: the attributes decode
// into the caller's struct (an interface holding a non-nil pointer is
// decoded into by encoding/json).
type object struct {
	ID         json.RawMessage `json:"id"`
	Type       json.RawMessage `json:"type"`
	Attributes any             `json:"attributes"`
}

func (o *object) read(data []byte, typ string) (string, error) {
	// One pass over the document. The attribute fields are raw, so the
	// only possible type error is an "attributes" member that is not an
	// object: that leaves the attributes empty, the rest decoded.
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(data, o); err != nil && !errors.As(err, &typeErr) {
		return "", errors.New("not a VirusTotal object: " + err.Error())
	}
	return o.check(typ)
}

func (o *object) check(typ string) (string, error) {
	id, ok := Str(o.ID)
	if !ok || id == "" {
		return "", errors.New("VirusTotal object has no id")
	}
	if t, _ := Str(o.Type); t != typ {
		return "", errors.New("VirusTotal object " + id + " is not of type " + typ)
	}
	return id, nil
}

// Str decodes a JSON string. Strings without escapes (nearly all) are
// sliced out directly.
func Str(raw json.RawMessage) (string, bool) {
	b := bytes.TrimSpace(raw)
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

// IsObject reports whether raw is a JSON object.
func IsObject(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) > 0 && b[0] == '{'
}

// Integer decodes a JSON integer within int64 (no fraction, exponent or
// quotes).
func Integer(raw json.RawMessage) (int64, bool) { return jsonlex.Int(bytes.TrimSpace(raw)) }

// Int decodes a JSON integer into a fresh pointer, nil when raw is not one.
func Int(raw json.RawMessage) *int64 {
	n, ok := Integer(raw)
	if !ok {
		return nil
	}
	return &n
}

// Count decodes a non-negative integer into a fresh pointer.
func Count(raw json.RawMessage) *int64 {
	n, ok := Integer(raw)
	if !ok || n < 0 {
		return nil
	}
	return &n
}

// MaxTime is 9999-12-31T23:59:59Z: later timestamps do not fit the
// YYYY-MM-DD dates searches parse.
const MaxTime = 253402300799

// Timestamp decodes a positive Unix time in seconds. VirusTotal uses 0 and
// negative values for "unknown", never for real dates.
func Timestamp(raw json.RawMessage) (int64, bool) {
	n, ok := Integer(raw)
	return n, ok && n > 0 && n <= MaxTime
}

// Time is Timestamp into a fresh pointer, nil when raw is not one.
func Time(raw json.RawMessage) *int64 {
	n, ok := Timestamp(raw)
	if !ok {
		return nil
	}
	return &n
}

// StringList returns the non-empty string elements of a JSON array,
// skipping others.
func StringList(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil
	}
	var out []string
	for _, e := range elems {
		if s, ok := Str(e); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Stats returns last_analysis_stats.malicious and .suspicious.
func Stats(raw json.RawMessage) (malicious, suspicious *int64) {
	if !IsObject(raw) {
		return nil, nil
	}
	var s struct{ Malicious, Suspicious json.RawMessage }
	if json.Unmarshal(raw, &s) != nil {
		return nil, nil
	}
	return Count(s.Malicious), Count(s.Suspicious)
}

// Certificate is what the records keep of a last_https_certificate.
type Certificate struct {
	Issuer    string // issuer as "C=US, O=Let's Encrypt, CN=R10"
	IssuerOrg string // issuer.O
	NotBefore *int64 // validity.not_before, epoch seconds
}

// issuerOrder is the order in which issuer attributes are rendered; other
// keys follow, sorted.
var issuerOrder = [...]string{"C", "ST", "L", "O", "OU", "CN"}

// Cert reads a last_https_certificate (an SSL Certificate object).
func Cert(raw json.RawMessage) Certificate {
	var out Certificate
	if !IsObject(raw) {
		return out
	}
	var c struct {
		Issuer   json.RawMessage `json:"issuer"`
		Validity json.RawMessage `json:"validity"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return out
	}
	if IsObject(c.Validity) {
		var v struct {
			NotBefore json.RawMessage `json:"not_before"`
		}
		if json.Unmarshal(c.Validity, &v) == nil {
			if s, ok := Str(v.NotBefore); ok {
				if t, err := time.Parse(time.DateTime, s); err == nil {
					nb := t.Unix()
					out.NotBefore = &nb
				}
			}
		}
	}
	var issuer map[string]json.RawMessage
	if !IsObject(c.Issuer) || json.Unmarshal(c.Issuer, &issuer) != nil {
		return out
	}
	values := make(map[string]string, len(issuer))
	for k, raw := range issuer {
		if v, ok := Str(raw); ok && k != "" && v != "" {
			values[k] = v
		}
	}
	out.IssuerOrg = values["O"]
	var b strings.Builder
	add := func(k string) {
		if v, ok := values[k]; ok {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
			delete(values, k)
		}
	}
	for _, k := range issuerOrder {
		add(k)
	}
	if len(values) > 0 {
		rest := make([]string, 0, len(values))
		for k := range values {
			rest = append(rest, k)
		}
		sort.Strings(rest)
		for _, k := range rest {
			add(k)
		}
	}
	out.Issuer = b.String()
	return out
}

// MapValues returns the distinct, sorted, non-empty string values of a
// JSON object (a vendor → category map).
func MapValues(raw json.RawMessage) []string {
	if !IsObject(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for _, v := range m {
		if s, ok := Str(v); ok && s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Package kvdoc reads the values of stored KV documents as leniently as
// the domain record does: the KV store (MongoDB keeps numbers as doubles)
// and lookups edited with outputlookup may give numbers as 1.7e+09,
// 1700000000.0 or "1700000000", booleans as 1/0 or "true"/"false", and a
// one-value list as a plain string. A kind's record decodes its wire form
// through these types; a value none of them reads is an error, and the
// caller treats the document as missing.
package kvdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/vtsync/vtsync/internal/jsonlex"
)

// Int is an optional whole number: a JSON number in any notation or a
// numeric string, rounded to the nearest integer; null and "" leave it
// unset.
type Int struct {
	N   int64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	t := bytes.Trim(b, `"`)
	if v, ok := jsonlex.Int(t); ok {
		*n = Int{v, true}
		return nil
	}
	switch string(t) {
	case "null", "":
		return nil
	}
	if v, err := strconv.ParseInt(string(t), 10, 64); err == nil {
		*n = Int{v, true}
		return nil
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return fmt.Errorf("%s is not a number", short(b))
	}
	*n = Int{int64(math.Round(f)), true}
	return nil
}

// Ptr returns the number, or nil when unset.
func (n Int) Ptr() *int64 {
	if !n.Set {
		return nil
	}
	v := n.N
	return &v
}

// Bool is a boolean given as true/false, 1/0 or their strings; null and
// "" read as false.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch string(bytes.Trim(b, `"`)) {
	case "true", "1", "True", "TRUE":
		*v = true
	case "false", "0", "False", "FALSE", "null", "":
		*v = false
	default:
		return fmt.Errorf("%s is not a boolean", short(b))
	}
	return nil
}

// OptBool is an optional Bool: null and "" leave it unset.
type OptBool struct {
	V   bool
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *OptBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null", `""`:
		return nil
	}
	var x Bool
	if err := x.UnmarshalJSON(b); err != nil {
		return err
	}
	*v = OptBool{bool(x), true}
	return nil
}

// Ptr returns the value, or nil when unset.
func (v OptBool) Ptr() *bool {
	if !v.Set {
		return nil
	}
	x := v.V
	return &x
}

// Strings is a list of strings (null elements read as ""), or one string
// (a multivalue field with a single value); null and "" leave it empty.
type Strings []string

// UnmarshalJSON implements json.Unmarshaler.
func (v *Strings) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		if one != "" {
			*v = []string{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("%s is not a string or a list of strings", short(b))
	}
	*v = many
	return nil
}

// short quotes at most 40 bytes of a value for an error message.
func short(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

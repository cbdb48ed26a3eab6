package record

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vtsync/vtsync/internal/jsonlex"
)

// UnmarshalJSON reads a record leniently: the KV store (MongoDB keeps
// numbers as doubles) and lookups edited with outputlookup may give numbers
// as 1.7e+09, 1700000000.0 or "1700000000", and booleans as 1/0 or
// "true"/"false". A record read as unreadable would be looked up again on
// every run, spending quota, so every such form is accepted. A list field
// may be a single string; members with other names are ignored, and names
// match case-insensitively, as encoding/json matches them.
//
// Every freshness read decodes thousands of records, so data is read in
// one pass without reflection, relying on what encoding/json guarantees an
// Unmarshaler: data is one valid JSON value.
func (r *Record) UnmarshalJSON(data []byte) error {
	i := jsonlex.SkipSpace(data, 0)
	if bytes.HasPrefix(data[i:], []byte("null")) {
		*r = Record{}
		return nil
	}
	if i >= len(data) || data[i] != '{' {
		return fmt.Errorf("a record is %s, not a JSON object", short(data[i:]))
	}
	var d recordDecoder
	for i++; ; {
		i = jsonlex.SkipSpace(data, i)
		if i >= len(data) {
			return errSyntax
		}
		switch data[i] {
		case '}':
			*r = d.r
			return nil
		case ',':
			i++
			continue
		}
		if data[i] != '"' {
			return errSyntax
		}
		end, escaped := jsonlex.StringEnd(data, i)
		if end < 0 {
			return errSyntax
		}
		key := data[i+1 : end-1]
		if escaped || !utf8.Valid(key) {
			k, err := jsonlex.Unquote(data[i:end])
			if err != nil {
				return err
			}
			key = []byte(k)
		}
		i = jsonlex.SkipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errSyntax
		}
		i = jsonlex.SkipSpace(data, i+1)
		end = jsonlex.ValueEnd(data, i)
		if end <= i {
			return errSyntax
		}
		if err := d.set(fieldName(key), data[i:end]); err != nil {
			return err
		}
		i = end
	}
}

var errSyntax = errors.New("a record is not valid JSON")

// Slots of recordDecoder.nums, one per optional number field.
const (
	slotWhoisCreationTime = iota
	slotLastAnalysisPositive
	slotLastAnalysisSuspicious
	slotLastAnalysisTime
	slotCertNotBefore
	slotPopularityAlexa
	slotPopularityRank
	slotReputation
	numSlots
)

// recordDecoder fills r member by member; the optional number fields point
// into nums, one allocation for all of them.
type recordDecoder struct {
	r    Record
	nums *[numSlots]int64
}

// set reads value v (a whole JSON value) into the field named name; an
// empty name is a member the record does not have.
func (d *recordDecoder) set(name string, v []byte) error {
	r := &d.r
	switch name {
	case "_key":
		return setString(&r.Key, name, v, r.Domain)
	case "domain":
		return setString(&r.Domain, name, v, r.Key)
	case "whois_creation_date":
		return setString(&r.WhoisCreationDate, name, v, "")
	case "cert_issuer":
		return setString(&r.CertIssuer, name, v, "")
	case "cert_issuer_org":
		return setString(&r.CertIssuerOrg, name, v, "")
	case "registrar":
		return setString(&r.Registrar, name, v, "")
	case "vt_found":
		switch string(bytes.Trim(v, `"`)) {
		case "true", "1", "True", "TRUE":
			r.VTFound = true
		case "false", "0", "False", "FALSE", "null", "":
			r.VTFound = false
		default:
			return fmt.Errorf("%s is %s, not a boolean", name, short(v))
		}
	case "whois_creation_time":
		return d.setNumber(&r.WhoisCreationTime, slotWhoisCreationTime, name, v)
	case "last_analysis_positive":
		return d.setNumber(&r.LastAnalysisPositive, slotLastAnalysisPositive, name, v)
	case "last_analysis_suspicious":
		return d.setNumber(&r.LastAnalysisSuspicious, slotLastAnalysisSuspicious, name, v)
	case "last_analysis_time":
		return d.setNumber(&r.LastAnalysisTime, slotLastAnalysisTime, name, v)
	case "cert_not_before":
		return d.setNumber(&r.CertNotBefore, slotCertNotBefore, name, v)
	case "popularity_alexa":
		return d.setNumber(&r.PopularityAlexa, slotPopularityAlexa, name, v)
	case "popularity_rank":
		return d.setNumber(&r.PopularityRank, slotPopularityRank, name, v)
	case "reputation":
		return d.setNumber(&r.Reputation, slotReputation, name, v)
	case "enriched_time":
		n, ok, err := number(name, v)
		if ok {
			r.EnrichedTime = n
		}
		return err
	case "not_found_since":
		n, ok, err := number(name, v)
		if ok {
			r.NotFoundSince = n
		}
		return err
	case "categories":
		return setStrings(&r.Categories, name, v)
	case "tags":
		return setStrings(&r.Tags, name, v)
	}
	return nil
}

// fieldName returns the entry of Fields that key names, exactly or
// case-insensitively (bytes.EqualFold, as encoding/json matches), or "".
func fieldName(key []byte) string {
	for _, f := range Fields {
		if string(key) == f {
			return f
		}
	}
	// The names are lower-case ASCII: only upper-case or non-ASCII bytes
	// (the Kelvin sign folds to k) can match them otherwise.
	if bytes.IndexFunc(key, func(c rune) bool { return c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' }) < 0 {
		return ""
	}
	for _, f := range Fields {
		if bytes.EqualFold(key, []byte(f)) {
			return f
		}
	}
	return ""
}

// setString reads a string; null leaves dst as it is. A value equal to
// same is stored as same, without a copy (domain is usually _key).
func setString(dst *string, name string, v []byte, same string) error {
	switch v[0] {
	case '"':
		if lit := v[1 : len(v)-1]; same != "" && string(lit) == same && bytes.IndexByte(lit, '\\') < 0 {
			*dst = same
			return nil
		}
		s, err := str(v)
		*dst = s
		return err
	case 'n': // null
		return nil
	}
	return fmt.Errorf("%s is %s, not a string", name, short(v))
}

// setNumber reads an optional whole number into the slot of d.nums and
// points *dst at it; null and "" leave it as it is.
func (d *recordDecoder) setNumber(dst **int64, slot int, name string, v []byte) error {
	n, ok, err := number(name, v)
	if !ok {
		return err
	}
	if d.nums == nil {
		d.nums = new([numSlots]int64)
	}
	d.nums[slot] = n
	*dst = &d.nums[slot]
	return nil
}

// number reads a whole number given as a JSON number in any notation or
// as a numeric string (rounded to the nearest integer); ok is false for
// null and "".
func number(name string, v []byte) (n int64, ok bool, err error) {
	t := bytes.Trim(v, `"`)
	if n, ok := jsonlex.Int(t); ok {
		return n, true, nil
	}
	switch string(t) {
	case "null", "":
		return 0, false, nil
	}
	if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
		return i, true, nil
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return 0, false, fmt.Errorf("%s is %s, not a number", name, short(v))
	}
	return int64(math.Round(f)), true, nil
}

// setStrings reads a list of strings (null elements read as ""), or one
// string (a multi-value field with a single value, as outputlookup may
// write it); null and "" leave dst as it is.
func setStrings(dst *[]string, name string, v []byte) error {
	switch v[0] {
	case '"':
		s, err := str(v)
		if err != nil {
			return err
		}
		if s != "" {
			*dst = []string{s}
		}
		return nil
	case 'n': // null
		return nil
	case '[':
		var buf [8]string
		list := buf[:0]
		for i := 1; ; {
			i = jsonlex.SkipSpace(v, i)
			if i >= len(v) {
				return errSyntax
			}
			switch v[i] {
			case ']':
				out := make([]string, len(list))
				copy(out, list)
				*dst = out
				return nil
			case ',':
				i++
			case '"':
				end, _ := jsonlex.StringEnd(v, i)
				if end < 0 {
					return errSyntax
				}
				s, err := str(v[i:end])
				if err != nil {
					return err
				}
				list, i = append(list, s), end
			case 'n': // null
				list, i = append(list, ""), i+len("null")
			default:
				return fmt.Errorf("%s holds %s, not a string", name, short(jsonlex.ValueText(v, i)))
			}
		}
	}
	return fmt.Errorf("%s is %s, not a string or a list of strings", name, short(v))
}

// str returns the JSON string literal lit decoded.
func str(lit []byte) (string, error) {
	if in := lit[1 : len(lit)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	return jsonlex.Unquote(lit)
}

// short quotes at most 40 bytes of a value for an error message.
func short(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

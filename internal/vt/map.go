package vt

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
	"github.com/vtsync/vtsync/internal/record"
)

// object is a VirusTotal domain object as Map reads it.
type object struct {
	ID         json.RawMessage `json:"id"`
	Type       json.RawMessage `json:"type"`
	Attributes attributes      `json:"attributes"`
}

// attributes holds the domain attributes vtsync reads. Each stays raw and is
// decoded on its own, so that a missing, null or mistyped attribute costs
// only its own field.
type attributes struct {
	CreationDate      json.RawMessage `json:"creation_date"`
	LastAnalysisDate  json.RawMessage `json:"last_analysis_date"`
	LastAnalysisStats json.RawMessage `json:"last_analysis_stats"`
	Certificate       json.RawMessage `json:"last_https_certificate"`
	Categories        json.RawMessage `json:"categories"`
	PopularityRanks   json.RawMessage `json:"popularity_ranks"`
	Reputation        json.RawMessage `json:"reputation"`
	Registrar         json.RawMessage `json:"registrar"`
	Tags              json.RawMessage `json:"tags"`
}

// Map turns the JSON of a domain object — the "data" member of a
// GET /domains/{domain} response: {"id":…,"type":"domain","attributes":{…}}
// — into a KV record stamped with now. Key and Domain are the lower-cased id.
//
// Only a missing or non-string id, or a type other than "domain", is an
// error. Any attribute that is missing, null or not of the documented type
// (a string timestamp, a fractional rank, …) leaves its field empty and does
// not affect the others.
func Map(data []byte, now time.Time) (record.Record, error) {
	if !isObject(data) {
		return record.Record{}, errors.New("not a VirusTotal object: not a JSON object")
	}
	// One pass over the document. All attribute fields are raw, so the only
	// possible type error is an "attributes" member that is not an object:
	// that leaves the attributes empty, the rest decoded.
	var obj object
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(data, &obj); err != nil && !errors.As(err, &typeErr) {
		return record.Record{}, errors.New("not a VirusTotal object: " + err.Error())
	}
	id, ok := str(obj.ID)
	if !ok || id == "" {
		return record.Record{}, errors.New("VirusTotal object has no id")
	}
	if typ, _ := str(obj.Type); typ != "domain" {
		return record.Record{}, errors.New("VirusTotal object " + id + " is not a domain")
	}
	id = strings.ToLower(id)
	r := record.Record{Key: id, Domain: id, VTFound: true, EnrichedTime: now.Unix()}

	a := &obj.Attributes
	if ts, ok := timestamp(a.CreationDate); ok {
		r.WhoisCreationDate = time.Unix(ts, 0).UTC().Format(time.DateOnly)
		r.WhoisCreationTime = &ts
	}
	if ts, ok := timestamp(a.LastAnalysisDate); ok {
		r.LastAnalysisTime = &ts
	}
	if isObject(a.LastAnalysisStats) {
		var s struct{ Malicious, Suspicious json.RawMessage }
		if json.Unmarshal(a.LastAnalysisStats, &s) == nil {
			r.LastAnalysisPositive = count(s.Malicious)
			r.LastAnalysisSuspicious = count(s.Suspicious)
		}
	}
	mapCertificate(&r, a.Certificate)
	r.Categories = categories(a.Categories)
	r.PopularityAlexa, r.PopularityRank = ranks(a.PopularityRanks)
	if n, ok := integer(a.Reputation); ok {
		r.Reputation = &n
	}
	r.Registrar, _ = str(a.Registrar)
	r.Tags = stringList(a.Tags)
	return r, nil
}

// issuerOrder is the order in which issuer attributes are rendered; other
// keys follow, sorted.
var issuerOrder = [...]string{"C", "ST", "L", "O", "OU", "CN"}

// mapCertificate fills the cert_* fields from last_https_certificate.
func mapCertificate(r *record.Record, raw json.RawMessage) {
	if !isObject(raw) {
		return
	}
	var c struct {
		Issuer   json.RawMessage `json:"issuer"`
		Validity json.RawMessage `json:"validity"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return
	}
	if isObject(c.Validity) {
		var v struct {
			NotBefore json.RawMessage `json:"not_before"`
		}
		if json.Unmarshal(c.Validity, &v) == nil {
			if s, ok := str(v.NotBefore); ok {
				if t, err := time.Parse(time.DateTime, s); err == nil {
					nb := t.Unix()
					r.CertNotBefore = &nb
				}
			}
		}
	}
	var issuer map[string]json.RawMessage
	if !isObject(c.Issuer) || json.Unmarshal(c.Issuer, &issuer) != nil {
		return
	}
	values := make(map[string]string, len(issuer))
	for k, raw := range issuer {
		if v, ok := str(raw); ok && k != "" && v != "" {
			values[k] = v
		}
	}
	r.CertIssuerOrg = values["O"]
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
	r.CertIssuer = b.String()
}

// categories returns the distinct, sorted category values of the
// vendor → category map.
func categories(raw json.RawMessage) []string {
	if !isObject(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for _, v := range m {
		if s, ok := str(v); ok && s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ranks returns the Alexa rank and the best (lowest) rank of all
// popularity_ranks entries; ranks below 1 are ignored.
func ranks(raw json.RawMessage) (alexa, best *int64) {
	if !isObject(raw) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, nil
	}
	for name, entry := range m {
		if !isObject(entry) {
			continue
		}
		var e struct {
			Rank json.RawMessage `json:"rank"`
		}
		if json.Unmarshal(entry, &e) != nil {
			continue
		}
		n, ok := integer(e.Rank)
		if !ok || n < 1 {
			continue
		}
		if name == "Alexa" {
			alexa = &n
		}
		if best == nil || n < *best {
			best = &n
		}
	}
	return alexa, best
}

// stringList returns the string elements of a JSON array, skipping others.
func stringList(raw json.RawMessage) []string {
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
		if s, ok := str(e); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// maxTime is 9999-12-31T23:59:59Z: later timestamps do not fit the
// YYYY-MM-DD date the detection parses.
const maxTime = 253402300799

// timestamp decodes a positive Unix time in seconds. VirusTotal uses 0 and
// negative values for "unknown", never for real dates.
func timestamp(raw json.RawMessage) (int64, bool) {
	n, ok := integer(raw)
	return n, ok && n > 0 && n <= maxTime
}

// count decodes a non-negative integer into a fresh pointer.
func count(raw json.RawMessage) *int64 {
	n, ok := integer(raw)
	if !ok || n < 0 {
		return nil
	}
	return &n
}

// str decodes a JSON string. Strings without escapes (nearly all) are
// sliced out directly.
func str(raw json.RawMessage) (string, bool) {
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

func isObject(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) > 0 && b[0] == '{'
}

// integer decodes a JSON integer within int64 (no fraction, exponent or
// quotes).
func integer(raw json.RawMessage) (int64, bool) { return jsonlex.Int(bytes.TrimSpace(raw)) }

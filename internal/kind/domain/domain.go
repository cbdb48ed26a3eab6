// Package domain is the domain indicator kind: a host name reduced to its
// registered domain, looked up at GET /domains/{domain}, stored in
// vtsync_domains as a record.Record.
package domain

import (
	"encoding/json"
	"strings"
	"time"

	names "github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/kind/vtjson"
	"github.com/vtsync/vtsync/internal/record"
)

// Name is the kind's name in configuration and summaries.
const Name = "domain"

// Collection is the default KV collection and lookup definition.
const Collection = "vtsync_domains"

// Kind is the domain kind. It registers itself under Name.
type Kind struct{}

var _ kind.Kind = Kind{}

func init() { kind.Register(Kind{}) }

func (Kind) Name() string       { return Name }
func (Kind) Collection() string { return Collection }

// Param is domain_field; an events file is read for host names under the
// names of CIM web and DNS events and Sysmon network and DNS events.
func (Kind) Param() kind.Param { return param }

var param = kind.Param{Name: "domain_field", Title: "Domain field", Default: "ut_domain", Example: "ut_domain", Holds: "host names", Order: 1,
	Description: "Result field holding the domain or host name; always reduced to the registered domain. Set it empty to collect no domains.",
	EventFields: []string{"http_host", "DestinationHostname", "query", "QueryName", "dest_host", "ut_domain", "domain"}}

// Normalize returns the registered domain of raw (see internal/domain), or
// the reason it has none.
func (Kind) Normalize(raw string) (key, reason string) {
	d, why := names.Normalize(raw)
	return d, string(why)
}

// Path is "domains/" + key. A normalised domain holds nothing a URL path
// must escape.
func (Kind) Path(key string) string { return "domains/" + key }

// Map maps a GET /domains/{key} response body. The record is stored under
// key, whatever the case of VirusTotal's id.
func (Kind) Map(key string, body []byte, now time.Time) (kind.Record, error) {
	var a attributes
	if _, err := vtjson.Response(body, "domain", &a); err != nil {
		return nil, err
	}
	return a.record(key, now), nil
}

// NotFound is record.NotFound for key.
func (Kind) NotFound(key string, now time.Time) kind.Record { return record.NotFound(key, now.Unix()) }

// Decode reads a stored document with record.Record's lenient decoding.
func (Kind) Decode(doc []byte) (kind.Record, error) {
	var r record.Record
	if err := r.UnmarshalJSON(doc); err != nil {
		return nil, err
	}
	return r, nil
}

// Fields is the record contract: record.Fields with their types.
func (Kind) Fields() []kind.Field {
	out := make([]kind.Field, len(record.Fields))
	for i, name := range record.Fields {
		out[i] = kind.Field{Name: name, Type: fieldTypes[name], Accelerated: name == "domain"}
	}
	return out
}

// fieldTypes are the collections.conf types of record.Fields.
var fieldTypes = map[string]string{
	"_key": "string", "domain": "string", "vt_found": "bool",
	"whois_creation_date": "string", "whois_creation_time": "number",
	"last_analysis_positive": "number", "last_analysis_suspicious": "number", "last_analysis_time": "number",
	"cert_issuer": "string", "cert_issuer_org": "string", "cert_not_before": "number",
	"categories": "array", "popularity_alexa": "number", "popularity_rank": "number",
	"reputation": "number", "registrar": "string", "tags": "array", "enriched_time": "number",
	"not_found_since": "number",
}

// attributes holds the domain attributes the record reads. Each stays raw
// and is decoded on its own, so that a missing, null or mistyped attribute
// costs only its own field.
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

// MapObject turns the JSON of a domain object — the "data" member of a
// GET /domains/{domain} response: {"id":…,"type":"domain","attributes":{…}}
// — into a KV record stamped with now. Key and Domain are the lower-cased id.
//
// Only a missing or non-string id, or a type other than "domain", is an
// error. Any attribute that is missing, null or not of the documented type
// (a string timestamp, a fractional rank, …) leaves its field empty and does
// not affect the others.
func MapObject(data []byte, now time.Time) (record.Record, error) {
	var a attributes
	id, err := vtjson.Object(data, "domain", &a)
	if err != nil {
		return record.Record{}, err
	}
	return a.record(strings.ToLower(id), now), nil
}

func (a *attributes) record(key string, now time.Time) record.Record {
	r := record.Record{Key: key, Domain: key, VTFound: true, EnrichedTime: now.Unix()}
	if ts, ok := vtjson.Timestamp(a.CreationDate); ok {
		r.WhoisCreationDate = time.Unix(ts, 0).UTC().Format(time.DateOnly)
		r.WhoisCreationTime = &ts
	}
	r.LastAnalysisTime = vtjson.Time(a.LastAnalysisDate)
	r.LastAnalysisPositive, r.LastAnalysisSuspicious = vtjson.Stats(a.LastAnalysisStats)
	c := vtjson.Cert(a.Certificate)
	r.CertIssuer, r.CertIssuerOrg, r.CertNotBefore = c.Issuer, c.IssuerOrg, c.NotBefore
	r.Categories = vtjson.MapValues(a.Categories)
	r.PopularityAlexa, r.PopularityRank = ranks(a.PopularityRanks)
	r.Reputation = vtjson.Int(a.Reputation)
	r.Registrar, _ = vtjson.Str(a.Registrar)
	r.Tags = vtjson.StringList(a.Tags)
	return r
}

// ranks returns the Alexa rank and the best (lowest) rank of all
// popularity_ranks entries; ranks below 1 are ignored.
func ranks(raw json.RawMessage) (alexa, best *int64) {
	if !vtjson.IsObject(raw) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, nil
	}
	for name, entry := range m {
		if !vtjson.IsObject(entry) {
			continue
		}
		var e struct {
			Rank json.RawMessage `json:"rank"`
		}
		if json.Unmarshal(entry, &e) != nil {
			continue
		}
		n, ok := vtjson.Integer(e.Rank)
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

// Package file is the file hash indicator kind: an MD5, SHA-1 or SHA-256
// from telemetry (a bare hash, or Sysmon's Hashes field) looked up at
// GET /files/{hash}, stored in vtsync_files.
//
// Decisions:
//   - The key is the hash as looked up, in lower-case hex: exactly 32, 40 or
//     64 hex digits. Anything else never reaches VirusTotal.
//   - Sysmon's Hashes ("SHA1=…,MD5=…,SHA256=…,IMPHASH=…", algorithms in the
//     order configured, names in any case) gives its strongest well-formed
//     file hash: SHA-256, then SHA-1, then MD5. IMPHASH hashes the import
//     table, not the file, and VirusTotal does not look files up by it: a
//     Hashes value with nothing else is rejected. Two different values for
//     one algorithm are malformed.
//   - An all-zero hash is a placeholder for "not computed", not a file.
//   - VirusTotal answers any of the three hashes with the file's object
//     (whose id is its SHA-256); the record keeps all three it reports, so
//     that lookups on md5, sha1 or sha256 find it. The hash asked for is
//     always in its own field, even if VirusTotal's object lacks it.
package file

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/kind/kvdoc"
	"github.com/vtsync/vtsync/internal/kind/vtjson"
)

// Name is the kind's name in configuration and summaries.
const Name = "file"

// Collection is the default KV collection and lookup definition.
const Collection = "vtsync_files"

// Rejection reasons, the keys of the run summary's "rejected" counts: keep
// them stable.
const (
	Empty      = "empty"        // nothing, a placeholder such as "-", or an all-zero hash
	Malformed  = "malformed"    // not 32, 40 or 64 hex digits, nor Sysmon Hashes holding one
	NoFileHash = "no_file_hash" // Sysmon Hashes with only IMPHASH or unknown algorithms
)

// Reasons returns every rejection reason, in a fixed order.
func Reasons() []string { return []string{Empty, Malformed, NoFileHash} }

// maxRaw bounds the raw value looked at: Sysmon's Hashes with every
// algorithm is under 250 bytes.
const maxRaw = 1024

// Hash lengths in hex digits.
const (
	lenMD5    = 32
	lenSHA1   = 40
	lenSHA256 = 64
)

// Normalize returns the hash to look up in lower-case hex and an empty
// reason, or an empty key and why raw never reaches VirusTotal.
func Normalize(raw string) (key, reason string) {
	s := strings.TrimSpace(raw)
	switch s {
	case "", "-", "None", "null", "N/A", "n/a":
		return "", Empty
	}
	if len(s) > maxRaw {
		return "", Malformed
	}
	if strings.IndexByte(s, '=') >= 0 {
		return sysmon(s)
	}
	return hash(s, 0)
}

// Hashes are the file hashes a raw value names, by algorithm, in
// lower-case hex; "" where it names none.
type Hashes struct{ MD5, SHA1, SHA256 string }

// Parts returns every well-formed file hash raw holds: a bare hash in the
// slot of its length, or each of the parts of Sysmon's Hashes. When
// Normalize rejects raw it returns no hash; otherwise Normalize(raw) is
// the strongest of them. The file detection reads a record by each.
func Parts(raw string) Hashes {
	key, why := Normalize(raw)
	if why != "" {
		return Hashes{}
	}
	var h Hashes
	slot := func(n int) *string {
		switch n {
		case lenMD5:
			return &h.MD5
		case lenSHA1:
			return &h.SHA1
		}
		return &h.SHA256
	}
	s := strings.TrimSpace(raw)
	if strings.IndexByte(s, '=') < 0 {
		*slot(len(key)) = key
		return h
	}
	for part := range strings.SplitSeq(s, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		for _, a := range algorithms {
			if strings.EqualFold(strings.TrimSpace(name), a.name) {
				if v, why := hash(strings.TrimSpace(value), a.len); why == "" {
					*slot(a.len) = v
				}
			}
		}
	}
	return h
}

// hash checks one hex hash; want, when not 0, is the only length allowed.
func hash(s string, want int) (string, string) {
	switch len(s) {
	case lenMD5, lenSHA1, lenSHA256:
	default:
		return "", Malformed
	}
	if want != 0 && len(s) != want {
		return "", Malformed
	}
	zero := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '0':
		case '1' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			zero = false
		default:
			return "", Malformed
		}
	}
	if zero {
		return "", Empty
	}
	return strings.ToLower(s), ""
}

// algorithms are the file hashes Sysmon writes, weakest first, with their
// lengths.
var algorithms = [...]struct {
	name string
	len  int
}{{"MD5", lenMD5}, {"SHA1", lenSHA1}, {"SHA256", lenSHA256}}

// sysmon picks the strongest well-formed file hash of a Hashes value.
func sysmon(s string) (string, string) {
	var found [len(algorithms)]string
	sawZero := false
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			if strings.TrimSpace(part) == "" {
				continue // a trailing comma
			}
			return "", Malformed
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		for i, a := range algorithms {
			if !strings.EqualFold(name, a.name) {
				continue
			}
			h, why := hash(value, a.len)
			switch {
			case why == Empty:
				sawZero = true
			case why != "":
				// A damaged part does not hide a good stronger or
				// weaker one; it only counts if nothing else is left.
			case found[i] != "" && found[i] != h:
				return "", Malformed
			default:
				found[i] = h
			}
		}
	}
	for i := len(found) - 1; i >= 0; i-- {
		if found[i] != "" {
			return found[i], ""
		}
	}
	if sawZero {
		return "", Empty
	}
	for _, a := range algorithms {
		if strings.Contains(strings.ToUpper(s), a.name+"=") {
			return "", Malformed
		}
	}
	return "", NoFileHash
}

// Kind is the file hash kind. It registers itself under Name.
type Kind struct{}

var _ kind.Kind = Kind{}

func init() { kind.Register(Kind{}) }

func (Kind) Name() string       { return Name }
func (Kind) Collection() string { return Collection }

// Param is hash_field; an events file is read for hashes under Sysmon
// EventCode 1's Hashes and CIM's process_hash.
func (Kind) Param() kind.Param { return param }

var param = kind.Param{Name: "hash_field", Title: "File hash field", Example: "Hashes", Holds: "file hashes", Order: 3,
	Description: "Result field holding file hashes, MD5, SHA-1 or SHA-256, or Sysmon Hashes (SHA256=...,MD5=...) whose strongest part is used (stored in vtsync_files); other values never reach VirusTotal. Empty: no file hashes are collected.",
	EventFields: []string{"Hashes", "process_hash"}}

// Normalize is the package's Normalize.
func (Kind) Normalize(raw string) (key, reason string) { return Normalize(raw) }

// Path is "files/" + key; a hex hash needs no escaping.
func (Kind) Path(key string) string { return "files/" + key }

// Record is one document of vtsync_files, _key the hash as looked up.
// Fields VirusTotal did not provide are omitted (null in Splunk), never
// written as zero.
type Record struct {
	Key                    string   `json:"_key"`
	MD5                    string   `json:"md5,omitempty"`
	SHA1                   string   `json:"sha1,omitempty"`
	SHA256                 string   `json:"sha256,omitempty"`
	VTFound                bool     `json:"vt_found"`
	LastAnalysisPositive   *int64   `json:"last_analysis_positive,omitempty"`
	LastAnalysisSuspicious *int64   `json:"last_analysis_suspicious,omitempty"`
	LastAnalysisTime       *int64   `json:"last_analysis_time,omitempty"`
	FirstSubmissionTime    *int64   `json:"first_submission_time,omitempty"`
	TypeDescription        string   `json:"type_description,omitempty"`
	MeaningfulName         string   `json:"meaningful_name,omitempty"`
	Size                   *int64   `json:"size,omitempty"`
	PopularThreatLabel     string   `json:"popular_threat_label,omitempty"`
	Signed                 *bool    `json:"signed,omitempty"`
	Reputation             *int64   `json:"reputation,omitempty"`
	Tags                   []string `json:"tags,omitempty"`
	EnrichedTime           int64    `json:"enriched_time"`
}

func (r Record) ID() string      { return r.Key }
func (r Record) Found() bool     { return r.VTFound }
func (r Record) Enriched() int64 { return r.EnrichedTime }

// Positives is how many VirusTotal engines rate the indicator malicious
// (0 when the record has no analysis), for the run summary's flagged.
func (r Record) Positives() int64 {
	if r.LastAnalysisPositive == nil {
		return 0
	}
	return *r.LastAnalysisPositive
}

// fields is the record contract, in the order of Record's JSON fields.
var fields = []kind.Field{
	{Name: "_key", Type: "string"},
	{Name: "md5", Type: "string", Accelerated: true},
	{Name: "sha1", Type: "string", Accelerated: true},
	{Name: "sha256", Type: "string", Accelerated: true},
	{Name: "vt_found", Type: "bool"},
	{Name: "last_analysis_positive", Type: "number"},
	{Name: "last_analysis_suspicious", Type: "number"},
	{Name: "last_analysis_time", Type: "number"},
	{Name: "first_submission_time", Type: "number"},
	{Name: "type_description", Type: "string"},
	{Name: "meaningful_name", Type: "string"},
	{Name: "size", Type: "number"},
	{Name: "popular_threat_label", Type: "string"},
	{Name: "signed", Type: "bool"},
	{Name: "reputation", Type: "number"},
	{Name: "tags", Type: "array"},
	{Name: "enriched_time", Type: "number"},
}

// Fields is the record contract, _key first.
func (Kind) Fields() []kind.Field { return append([]kind.Field(nil), fields...) }

// attributes holds the file attributes the record reads, each raw and
// decoded on its own.
type attributes struct {
	MD5                 json.RawMessage `json:"md5"`
	SHA1                json.RawMessage `json:"sha1"`
	SHA256              json.RawMessage `json:"sha256"`
	LastAnalysisDate    json.RawMessage `json:"last_analysis_date"`
	LastAnalysisStats   json.RawMessage `json:"last_analysis_stats"`
	FirstSubmissionDate json.RawMessage `json:"first_submission_date"`
	TypeDescription     json.RawMessage `json:"type_description"`
	MeaningfulName      json.RawMessage `json:"meaningful_name"`
	Size                json.RawMessage `json:"size"`
	PopularThreat       json.RawMessage `json:"popular_threat_classification"`
	SignatureInfo       json.RawMessage `json:"signature_info"`
	Reputation          json.RawMessage `json:"reputation"`
	Tags                json.RawMessage `json:"tags"`
}

// Map maps a GET /files/{key} response body into a record stored under
// key. Only a body without an object of type "file" and a string id is an
// error; a missing, null or mistyped attribute leaves its field empty.
func (Kind) Map(key string, body []byte, now time.Time) (kind.Record, error) {
	var a attributes
	if _, err := vtjson.Response(body, "file", &a); err != nil {
		return nil, err
	}
	r := Record{Key: key, VTFound: true, EnrichedTime: now.Unix()}
	r.MD5 = hashAttr(a.MD5, lenMD5)
	r.SHA1 = hashAttr(a.SHA1, lenSHA1)
	r.SHA256 = hashAttr(a.SHA256, lenSHA256)
	r.setQueried(key)
	r.LastAnalysisPositive, r.LastAnalysisSuspicious = vtjson.Stats(a.LastAnalysisStats)
	r.LastAnalysisTime = vtjson.Time(a.LastAnalysisDate)
	r.FirstSubmissionTime = vtjson.Time(a.FirstSubmissionDate)
	r.TypeDescription, _ = vtjson.Str(a.TypeDescription)
	r.MeaningfulName, _ = vtjson.Str(a.MeaningfulName)
	r.Size = vtjson.Count(a.Size)
	r.PopularThreatLabel = threatLabel(a.PopularThreat)
	r.Signed = signed(a.SignatureInfo)
	r.Reputation = vtjson.Int(a.Reputation)
	r.Tags = vtjson.StringList(a.Tags)
	return r, nil
}

// setQueried puts key, the hash looked up, into its own field.
func (r *Record) setQueried(key string) {
	switch len(key) {
	case lenMD5:
		r.MD5 = key
	case lenSHA1:
		r.SHA1 = key
	case lenSHA256:
		r.SHA256 = key
	}
}

// hashAttr returns a hash attribute in lower-case hex when it has the
// algorithm's length, else "".
func hashAttr(raw json.RawMessage, n int) string {
	s, ok := vtjson.Str(raw)
	if !ok {
		return ""
	}
	h, why := hash(s, n)
	if why != "" {
		return ""
	}
	return h
}

// threatLabel returns popular_threat_classification.suggested_threat_label.
func threatLabel(raw json.RawMessage) string {
	if !vtjson.IsObject(raw) {
		return ""
	}
	var c struct {
		Label json.RawMessage `json:"suggested_threat_label"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	s, _ := vtjson.Str(c.Label)
	return s
}

// signed reads signature_info, present for the signed PE and Mach-O files
// VirusTotal checked (and for PE files with only version information). Its
// "verified" is "Signed" for a signature that verified, or says what is
// wrong with it; without "verified", a signature is told by its signers.
// Without signature_info, signed is unknown (nil).
func signed(raw json.RawMessage) *bool {
	if !vtjson.IsObject(raw) {
		return nil
	}
	var si struct {
		Verified       json.RawMessage `json:"verified"`
		Signers        json.RawMessage `json:"signers"`
		SignersDetails json.RawMessage `json:"signers details"`
	}
	if json.Unmarshal(raw, &si) != nil {
		return nil
	}
	var ok bool
	if v, isStr := vtjson.Str(si.Verified); isStr {
		ok = strings.EqualFold(strings.TrimSpace(v), "Signed")
	} else {
		s, _ := vtjson.Str(si.Signers)
		ok = strings.TrimSpace(s) != "" || nonEmptyArray(si.SignersDetails)
	}
	return &ok
}

func nonEmptyArray(raw json.RawMessage) bool {
	var elems []json.RawMessage
	return json.Unmarshal(raw, &elems) == nil && len(elems) > 0
}

// NotFound is the negative record for key: it holds the queried hash in
// its own field.
func (Kind) NotFound(key string, now time.Time) kind.Record {
	r := Record{Key: key, EnrichedTime: now.Unix()}
	r.setQueried(key)
	return r
}

// wire is Record as stored documents may hold it.
type wire struct {
	Key                    string        `json:"_key"`
	MD5                    string        `json:"md5"`
	SHA1                   string        `json:"sha1"`
	SHA256                 string        `json:"sha256"`
	VTFound                kvdoc.Bool    `json:"vt_found"`
	LastAnalysisPositive   kvdoc.Int     `json:"last_analysis_positive"`
	LastAnalysisSuspicious kvdoc.Int     `json:"last_analysis_suspicious"`
	LastAnalysisTime       kvdoc.Int     `json:"last_analysis_time"`
	FirstSubmissionTime    kvdoc.Int     `json:"first_submission_time"`
	TypeDescription        string        `json:"type_description"`
	MeaningfulName         string        `json:"meaningful_name"`
	Size                   kvdoc.Int     `json:"size"`
	PopularThreatLabel     string        `json:"popular_threat_label"`
	Signed                 kvdoc.OptBool `json:"signed"`
	Reputation             kvdoc.Int     `json:"reputation"`
	Tags                   kvdoc.Strings `json:"tags"`
	EnrichedTime           kvdoc.Int     `json:"enriched_time"`
}

// UnmarshalJSON reads a stored document leniently (see package kvdoc).
func (r *Record) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Record{
		Key: w.Key, MD5: w.MD5, SHA1: w.SHA1, SHA256: w.SHA256, VTFound: bool(w.VTFound),
		LastAnalysisPositive: w.LastAnalysisPositive.Ptr(), LastAnalysisSuspicious: w.LastAnalysisSuspicious.Ptr(),
		LastAnalysisTime: w.LastAnalysisTime.Ptr(), FirstSubmissionTime: w.FirstSubmissionTime.Ptr(),
		TypeDescription: w.TypeDescription, MeaningfulName: w.MeaningfulName, Size: w.Size.Ptr(),
		PopularThreatLabel: w.PopularThreatLabel, Signed: w.Signed.Ptr(), Reputation: w.Reputation.Ptr(),
		Tags: []string(w.Tags), EnrichedTime: w.EnrichedTime.N,
	}
	return nil
}

// Decode reads a stored document.
func (Kind) Decode(doc []byte) (kind.Record, error) {
	var r Record
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	return r, nil
}

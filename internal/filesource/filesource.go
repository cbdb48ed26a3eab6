// Package filesource reads candidate domains and network events from a
// file, for standalone mode: exported telemetry as NDJSON (one JSON object
// a line, as Splunk and most log shippers export it) or CSV with a header
// row, or a plain list of domains.
//
// An event is one contact of a process on a host with a destination host
// name (a Sysmon network connection, a DNS query, a proxy request). Field
// names are configurable; by default each record's fields are found under
// the names the common sources use (see DefaultFields).
package filesource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/jsonerr"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/termtext"
)

// Format is a file format.
type Format string

// File formats.
const (
	NDJSON  Format = "ndjson"  // one JSON object per line
	CSV     Format = "csv"     // header row, then one event per row
	Domains Format = "domains" // one domain per line, # starts a comment
)

// FormatOf returns the format a file name implies: .ndjson, .jsonl and
// .json are NDJSON, .csv is CSV, anything else a list of domains; a .gz
// suffix is looked through (events.ndjson.gz is NDJSON).
func FormatOf(path string) Format {
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(name, ".gz")
	switch filepath.Ext(name) {
	case ".ndjson", ".jsonl", ".json":
		return NDJSON
	case ".csv":
		return CSV
	}
	return Domains
}

// ParseFormat validates a format name; "" means FormatOf(path).
func ParseFormat(s, path string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatOf(path), nil
	case NDJSON, CSV, Domains:
		return f, nil
	}
	return "", fmt.Errorf("%q is not a file format: use ndjson, csv or domains (or leave it out to choose by the file's extension)", s)
}

// Fields names the fields of an event record. An empty name means: the
// first of the default names (DefaultFields) that has a value in the
// record (not missing, empty or null).
//
// IP and Hash have no default: left empty, the file's IP addresses or
// file hashes are not read (as the modular input's ip_field and
// hash_field), unless AllKinds is set. NoDomain turns destination host
// names off, as an empty domain_field does in inputs.conf: the file is
// read for its IP addresses and hashes only.
type Fields struct {
	Domain   string // destination host name (or a URL, or a domain)
	NoDomain bool   // read no destination host names (Domain is ignored)
	// AllKinds reads IP addresses and hashes under their default names
	// (DefaultFields.IP, DefaultFields.Hash) when IP or Hash is empty: how
	// vtsync detect reads an events file it has no configuration for.
	AllKinds bool
	IP       string // destination IP address (Sysmon EventCode 3 DestinationIp)
	Hash     string // file hash, or Sysmon's Hashes (EventCode 1)
	Process  string // process image or name; a path is reduced to its base name
	Host     string // the host the event happened on
	Time     string // event time
}

// DefaultFields lists, per field, the names looked for when Fields leaves
// the name empty, in order: Splunk CIM, Sysmon (EventID 3 network
// connection, EventID 22 DNS query, EventID 1 process creation), Splunk's
// own _time. IP and Hash are looked for only with Fields.AllKinds; Code
// (the Sysmon event code) always.
var DefaultFields = struct{ Domain, IP, Hash, Process, Host, Time, Code []string }{
	Domain:  []string{"http_host", "DestinationHostname", "query", "QueryName", "dest_host", "ut_domain", "domain"},
	IP:      []string{"DestinationIp", "dest_ip"},
	Hash:    []string{"Hashes", "process_hash"},
	Process: []string{"process_name", "Image", "process"},
	Host:    []string{"Computer", "host", "src_host", "ComputerName"},
	Time:    []string{"UtcTime", "_time", "timestamp", "time"},
	Code:    []string{"EventCode", "EventID"},
}

// What an event's value is (Event.Kind): the names of the kinds it is a
// candidate of.
const (
	KindDomain = "domain" // a destination host name
	KindIP     = "ip"     // a destination IP address
	KindFile   = "file"   // a file hash (or Sysmon's Hashes)
)

// The Sysmon event codes whose IP addresses and hashes are candidates, as
// the app's candidate searches read them (vtsync_ip_candidates_sysmon,
// vtsync_file_candidates_sysmon): a record of another code (an image
// load's Hashes name a DLL, not the process) gives neither. A record
// without a code (a CIM export) gives both.
const (
	SysmonNetworkConnect = "3" // DestinationIp
	SysmonProcessCreate  = "1" // Hashes of the process image
)

// KindCode reports whether e is read by its kind's detection: an IP
// address or hash from a record without a Sysmon event code, or with the
// code the kind's candidate search reads; any host name.
func KindCode(e Event) bool {
	switch {
	case e.Code == "":
		return true
	case e.Kind == KindIP:
		return e.Code == SysmonNetworkConnect
	case e.Kind == KindFile:
		return e.Code == SysmonProcessCreate
	}
	return true
}

// Event is one value of a record: a network contact with a destination
// host name or IP address, or a process image's hash.
type Event struct {
	Time    time.Time // zero when the record has none or it does not parse
	Host    string    // the host the process ran on
	Process string    // process base name, e.g. powershell.exe
	Dest    string    // the value, as found in the record: host name, IP address or hash
	Kind    string    // KindDomain, KindIP or KindFile
	Image   string    // the process as the record names it, a path such as C:\Windows\System32\svchost.exe
	Code    string    // the Sysmon event code (EventCode, EventID): "3" a network connection, "1" a process creation; "" when none
}

// Source is a pipeline.Source over a file: it emits every event's value
// (or every listed domain) as a candidate of its kind, except for IP
// addresses and hashes of Sysmon records of another event code than their
// detection reads (KindCode) and network events that Exclude reports true
// for. Standalone mode sets Exclude to
// the detections' browser filter, so the sync looks up what the
// detections will ask about and no more, as the modular input's default
// candidate searches do: the domain and IP detections leave browsers out,
// the file detection does not, so a browser's image hash is still read.
type Source struct {
	Path    string
	Format  Format // "" = FormatOf(Path)
	Fields  Fields
	Exclude func(Event) bool
	// Domain, IP and File are the kinds of the values read: destination
	// host names (and a list's domains), Fields.IP's, Fields.Hash's.
	Domain, IP, File kind.Kind
}

// Candidates emits each value as a candidate of its kind.
func (s *Source) Candidates(ctx context.Context, emit func(kind.Kind, string) error) error {
	format := s.Format
	if format == "" {
		format = FormatOf(s.Path)
	}
	if format == Domains {
		if s.Fields.NoDomain {
			return fmt.Errorf("%s is a list of domains, but domain_field is set empty (no domains); read it as events (format ndjson or csv) or unset domain_field", s.Path)
		}
		return readDomains(ctx, s.Path, func(v string) error { return emit(s.Domain, v) })
	}
	kinds := map[string]kind.Kind{KindDomain: s.Domain, KindIP: s.IP, KindFile: s.File}
	return ReadEvents(ctx, s.Path, format, s.Fields, func(e Event) error {
		if !KindCode(e) || e.Kind != KindFile && s.Exclude != nil && s.Exclude(e) {
			return nil
		}
		k := kinds[e.Kind]
		if k == nil {
			return fmt.Errorf("events file %s: the %s kind is not available in this build; unset its field", s.Path, e.Kind)
		}
		return emit(k, e.Dest)
	})
}

// maxLine bounds one NDJSON line or list entry; longer lines are an error
// naming the line rather than an unbounded allocation.
const maxLine = 4 << 20

// ReadEvents calls fn for every event of the NDJSON or CSV file at path, in
// file order, and stops at fn's first error, which it returns. A record
// gives one event per value of its destination field (a multi-valued
// field is a JSON array, or a CSV cell of newline-separated values as
// Splunk exports multi-value fields), then, when fields names them, one
// per non-empty value of its IP and hash fields. Records with none of
// these fields are skipped. A malformed record is an error naming the file
// and line.
func ReadEvents(ctx context.Context, path string, format Format, fields Fields, fn func(Event) error) error {
	_, err := Read(ctx, path, format, fields, fn)
	return err
}

// Stats counts what a read of an events file found.
type Stats struct {
	Records   int    // records with a field read (destination, IP or hash)
	BadTimes  int    // of them, records whose time has a value that does not parse
	TimeField string // the field of the first such value
	BadTime   string // the first such value
}

// Warning returns a warning about the file when the stats call for one
// (times that could not be read: the detection's age rules skip those
// events), or "".
func (s Stats) Warning(path string) string {
	if s.BadTimes == 0 {
		return ""
	}
	example := s.BadTime
	if len(example) > 64 {
		example = example[:64] + "..."
	}
	return fmt.Sprintf("events file %s: %d of %d records have a time that cannot be read (field %s, such as %q), so the age rules skip them; "+
		"times are read as RFC 3339 or ISO 8601 (offset Z, +hh:mm or +hhmm), \"2006-01-02 15:04:05.000\" (UTC, optionally with a UTC suffix), or epoch seconds or milliseconds; set time_field if another field holds the time",
		path, s.BadTimes, s.Records, s.TimeField, example)
}

// Read is ReadEvents that also returns the read's stats.
func Read(ctx context.Context, path string, format Format, fields Fields, fn func(Event) error) (Stats, error) {
	if format == "" {
		format = FormatOf(path)
	}
	if format != NDJSON && format != CSV {
		return Stats{}, fmt.Errorf("events file %s: a %s file has no events (hosts, processes, times); use an NDJSON or CSV export", path, format)
	}
	if fields.NoDomain && fields.IP == "" && fields.Hash == "" && !fields.AllKinds {
		return Stats{}, fmt.Errorf("events file %s: domain_field is set empty (no domains) and neither ip_field nor hash_field is set: nothing would be read; set one of them", path)
	}
	f, err := openText(path, "events file")
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	if format == CSV {
		rd := newReader(path, fields, fn)
		err = rd.readCSV(ctx, f)
		return rd.stats, err
	}
	// A configured field no record has is an error, raised before the first
	// event goes out: records are held back until every configured field was
	// seen (typically after one record; the whole file only when one is
	// missing). One pass, no seek: the file may be a pipe.
	rd := newReader(path, fields, fn)
	err = rd.readNDJSON(ctx, f)
	return rd.stats, err
}

// record is one decoded event record, read through field names.
type record interface {
	values(name string) ([]string, bool) // all values of a field, and whether the record has it
}

// reader reads one file's records into events.
type reader struct {
	path   string
	fields Fields
	fn     func(Event) error
	stats  Stats

	configured []configuredField
	unseen     int      // configured fields no record had yet
	held       []record // records read while unseen > 0, not yet passed on
	firstKeys  []string // the first NDJSON record's field names, for errors
	domainSeen bool     // a record had one of the default domain fields
}

// noDomainField is the error for an events file in which no record has any
// of the default domain fields, when domain_field is not set: the read
// would find no candidate and the run would look as if it worked.
func noDomainField(path, none, where string, has []string) error {
	if len(has) > 20 {
		has = append(slices.Clip(has[:20]), "...")
	}
	return fmt.Errorf("events file %s: %s that hold the destination host name by default (%s); set domain_field (source.file.domain_field in the configuration) to the one that does. Names are case-sensitive; %s: %s",
		path, none, strings.Join(DefaultFields.Domain, ", "), where, termtext.Clean(strings.Join(has, ", ")))
}

// defaultDomainsOnly reports whether the read looks for destination host
// names under the default names and for nothing else: then a file without
// any of them yields nothing, an error. With an IP or hash field set, the
// file may hold no host names at all (process creations only).
func (rd *reader) defaultDomainsOnly() bool {
	return !rd.fields.NoDomain && !rd.fields.AllKinds && rd.fields.Domain == "" && rd.fields.IP == "" && rd.fields.Hash == ""
}

// defaultsOnly reports whether the read looks for every kind under its
// default names (AllKinds, no field named): then a file with none of them
// yields nothing, an error.
func (rd *reader) defaultsOnly() bool {
	f := rd.fields
	return f.AllKinds && !f.NoDomain && f.Domain == "" && f.IP == "" && f.Hash == ""
}

// anyDefault reports whether name is a default name of a kind's field.
func anyDefault(name string) bool {
	return slices.Contains(DefaultFields.Domain, name) || slices.Contains(DefaultFields.IP, name) || slices.Contains(DefaultFields.Hash, name)
}

// noKindField is the error for an events file read with AllKinds in which
// no record has any of the default fields of any kind.
func noKindField(path, none, where string, has []string) error {
	if len(has) > 20 {
		has = append(slices.Clip(has[:20]), "...")
	}
	return fmt.Errorf("events file %s: %s that hold a destination host name (%s), an IP address (%s) or a file hash (%s); names are case-sensitive; %s: %s",
		path, none, strings.Join(DefaultFields.Domain, ", "), strings.Join(DefaultFields.IP, ", "), strings.Join(DefaultFields.Hash, ", "),
		where, termtext.Clean(strings.Join(has, ", ")))
}

// configuredField is a field name given in Fields, and the setting it
// comes from.
type configuredField struct {
	name, key string
	seen      bool
}

func newReader(path string, fields Fields, fn func(Event) error) *reader {
	if fields.NoDomain {
		fields.Domain = ""
	}
	rd := &reader{path: path, fields: fields, fn: fn}
	for _, f := range []configuredField{
		{name: fields.Domain, key: "domain_field"}, {name: fields.Process, key: "process_field"},
		{name: fields.Host, key: "host_field"}, {name: fields.Time, key: "time_field"},
		{name: fields.IP, key: "ip_field"}, {name: fields.Hash, key: "hash_field"},
	} {
		if f.name != "" {
			rd.configured = append(rd.configured, f)
		}
	}
	rd.unseen = len(rd.configured)
	return rd
}

// missing returns the configured fields not seen, as "a" (key), ....
func (rd *reader) missing(sep string) string {
	var out []string
	for _, f := range rd.configured {
		if !f.seen {
			out = append(out, fmt.Sprintf("%q (%s)", f.name, f.key))
		}
	}
	return strings.Join(out, sep)
}

// maxHeld bounds the records held back while a configured field was not
// seen yet.
const maxHeld = 10_000

// emit passes a record on, or holds it back while a configured field was
// not seen yet: the read then ends in an error naming the field, and no
// event must have gone out before it. A held record must not be reused by
// the caller (NDJSON records are not; CSV checks its header instead, so
// unseen is 0 before its first row).
func (rd *reader) emit(r record) error {
	if rd.unseen > 0 {
		for i := range rd.configured {
			f := &rd.configured[i]
			if _, has := r.values(f.name); has && !f.seen {
				f.seen = true
				rd.unseen--
			}
		}
		if rd.unseen > 0 {
			if len(rd.held) == maxHeld { // a field this rare is a misspelling: don't hold the whole file
				return fmt.Errorf("events file %s: none of the first %d records has the field %s; field names are case-sensitive, and the first record has: %s",
					rd.path, maxHeld, rd.missing(", nor "), strings.Join(rd.firstKeys, ", "))
			}
			rd.held = append(rd.held, r)
			return nil
		}
		held := rd.held
		rd.held = nil
		for _, h := range held {
			if err := rd.event(h); err != nil {
				return err
			}
		}
	}
	return rd.event(r)
}

// event calls fn for each destination, IP address and hash of a record.
func (rd *reader) event(r record) error {
	var dests []string
	var hasDest bool
	if !rd.fields.NoDomain {
		dests, _, hasDest = lookup(r, rd.fields.Domain, DefaultFields.Domain)
	}
	var ips, hashes []string
	var hasIP, hasHash bool
	if rd.fields.IP != "" || rd.fields.AllKinds {
		ips, _, hasIP = lookup(r, rd.fields.IP, DefaultFields.IP)
	}
	if rd.fields.Hash != "" || rd.fields.AllKinds {
		hashes, _, hasHash = lookup(r, rd.fields.Hash, DefaultFields.Hash)
	}
	if !hasDest && !hasIP && !hasHash {
		return nil
	}
	rd.domainSeen = rd.domainSeen || hasDest
	rd.stats.Records++
	host, _ := first(r, rd.fields.Host, DefaultFields.Host)
	proc, _ := first(r, rd.fields.Process, DefaultFields.Process)
	code, _ := first(r, "", DefaultFields.Code)
	e := Event{Host: host, Process: ProcessName(proc), Image: proc, Code: code}
	if ts, field := first(r, rd.fields.Time, DefaultFields.Time); ts != "" {
		var parsed bool
		if e.Time, parsed = ParseTime(ts); !parsed {
			if rd.stats.BadTimes == 0 {
				rd.stats.TimeField, rd.stats.BadTime = field, ts
			}
			rd.stats.BadTimes++
		}
	}
	if hasDest {
		if len(dests) == 0 {
			dests = []string{""} // the field is there but empty: junk the sync counts
		}
		e.Kind = KindDomain
		for _, d := range dests {
			e.Dest = d
			if err := rd.fn(e); err != nil {
				return err
			}
		}
	}
	// IP addresses and hashes are read as the modular input reads its
	// ip_field and hash_field: empty values carry nothing.
	for _, kv := range [...]struct {
		kind string
		vals []string
	}{{KindIP, ips}, {KindFile, hashes}} {
		e.Kind = kv.kind
		for _, v := range kv.vals {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			e.Dest = v
			if err := rd.fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func lookup(r record, name string, defaults []string) (vals []string, field string, ok bool) {
	if name != "" {
		vals, ok = r.values(name)
		return vals, name, ok
	}
	for _, n := range defaults {
		v, has := r.values(n)
		if has && hasValue(v) {
			return v, n, true
		}
		ok = ok || has
	}
	return nil, "", ok
}

func hasValue(vals []string) bool {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// first returns the first value of a field (see lookup) and its name.
func first(r record, name string, defaults []string) (string, string) {
	v, field, _ := lookup(r, name, defaults)
	if len(v) == 0 {
		return "", field
	}
	return strings.TrimSpace(v[0]), field
}

// ProcessName returns the base name of a process image path, Windows or
// POSIX ("C:\Windows\System32\rundll32.exe" → "rundll32.exe").
func ProcessName(image string) string {
	image = strings.TrimSpace(image)
	if i := strings.LastIndexAny(image, `\/`); i >= 0 {
		return image[i+1:]
	}
	return image
}

// ParseTime reads an event time: RFC 3339 and ISO 8601 with an offset (Z,
// +hh:mm, +hhmm or +hh), Sysmon's UtcTime ("2006-01-02 15:04:05.000",
// UTC), the same with a T or a trailing Z or UTC, or epoch seconds
// (Splunk's _time) or milliseconds, with an optional fraction.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && strings.Trim(s, "0123456789.eE+") == "" {
		return parseEpoch(s) // decimal only: ParseFloat would also read hex and 1_000
	}
	// "2006-01-02 15:04:05 UTC" → naive, read as UTC.
	if t, ok := strings.CutSuffix(s, "UTC"); ok {
		s = strings.TrimSpace(t)
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// timeLayouts are the date-times ParseTime reads (after a space between
// date and time became a T); a layout without a zone reads UTC.
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999",
}

// Epoch times in seconds end before maxEpochSeconds (year 5138); larger
// numbers up to maxEpochSeconds*1000 are milliseconds.
const maxEpochSeconds = 1e11

func parseEpoch(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f < maxEpochSeconds*1000) {
		return time.Time{}, false
	}
	if f >= maxEpochSeconds {
		f /= 1000
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Millisecond), true
}

// jsonRecord is an NDJSON object; values stay raw until asked for.
type jsonRecord map[string]json.RawMessage

func (r jsonRecord) values(name string) ([]string, bool) {
	raw, ok := r[name]
	if !ok {
		return nil, false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, true
		}
		return []string{s}, true
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil, true
		}
		var out []string
		for _, it := range items {
			if v, _ := (jsonRecord{"": it}).values(""); len(v) > 0 {
				out = append(out, v[0])
			}
		}
		return out, true
	case '{', 't', 'f':
		return nil, true
	}
	return []string{string(raw)}, true // a number: epoch time, a port
}

var bom = []byte("\xef\xbb\xbf")

func (rd *reader) readNDJSON(ctx context.Context, r io.Reader) error {
	path := rd.path
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	line := 1
	for ; sc.Scan(); line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, bom)
		}
		if len(b) == 0 {
			continue
		}
		var rec jsonRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("events file %s:%d: %s; each line of an NDJSON file is one event, a JSON object", path, line, jsonerr.Describe(err))
		}
		// Splunk's JSON export wraps each result: {"preview":false,
		// "result":{...}}; preview rows are repeated later as final ones.
		if preview, ok := rec["preview"]; ok {
			if string(preview) == "true" {
				continue
			}
			var res jsonRecord
			if inner, ok := rec["result"]; ok && json.Unmarshal(inner, &res) == nil {
				rec = res
			}
		}
		if rd.firstKeys == nil {
			rd.firstKeys = make([]string, 0, len(rec))
			for k := range rec {
				rd.firstKeys = append(rd.firstKeys, k)
			}
			slices.Sort(rd.firstKeys)
		}
		if err := rd.emit(rec); err != nil {
			return err
		}
	}
	if rd.unseen > 0 && rd.firstKeys != nil && sc.Err() == nil {
		return fmt.Errorf("events file %s: no record has the field %s; field names are case-sensitive, and the first record has: %s",
			path, rd.missing(", nor "), strings.Join(rd.firstKeys, ", "))
	}
	if rd.defaultDomainsOnly() && rd.firstKeys != nil && !rd.domainSeen && sc.Err() == nil {
		return noDomainField(path, "no record has any of the fields", "the first record has", rd.firstKeys)
	}
	if rd.defaultsOnly() && rd.firstKeys != nil && rd.stats.Records == 0 && sc.Err() == nil {
		return noKindField(path, "no record has any of the fields", "the first record has", rd.firstKeys)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("events file %s:%d: the line is longer than %d bytes; is this an NDJSON file (one JSON object a line)?", path, line, maxLine)
		}
		return fmt.Errorf("events file %s: %w", path, err)
	}
	return nil
}

// csvRecord is one CSV row read through the header.
type csvRecord struct {
	index map[string]int
	row   []string
}

func (r csvRecord) values(name string) ([]string, bool) {
	i, ok := r.index[name]
	if !ok {
		return nil, false
	}
	if i >= len(r.row) || strings.TrimSpace(r.row[i]) == "" {
		return nil, true
	}
	return strings.Split(strings.ReplaceAll(r.row[i], "\r\n", "\n"), "\n"), true
}

func (rd *reader) readCSV(ctx context.Context, r io.Reader) error {
	path := rd.path
	br := bufio.NewReader(r)
	if b, _ := br.Peek(3); bytes.Equal(b, bom) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("events file %s: header: %w", path, err)
	}
	rec := csvRecord{index: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := rec.index[h]; !dup {
			rec.index[h] = i
		}
	}
	for i := range rd.configured {
		_, rd.configured[i].seen = rec.index[rd.configured[i].name]
	}
	if m := rd.missing(", no column "); m != "" {
		return fmt.Errorf("events file %s: no column %s; column names are case-sensitive, and the header has: %s", path, m, strings.Join(header, ", "))
	}
	if rd.defaultDomainsOnly() && !slices.ContainsFunc(DefaultFields.Domain, func(n string) bool { _, ok := rec.index[n]; return ok }) {
		return noDomainField(path, "the header has none of the columns", "the header has", header)
	}
	if rd.defaultsOnly() && !slices.ContainsFunc(header, func(n string) bool { return anyDefault(strings.TrimSpace(n)) }) {
		return noKindField(path, "the header has none of the columns", "the header has", header)
	}
	rd.unseen = 0
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("events file %s: %w", path, err)
		}
		rec.row = row
		if err := rd.emit(rec); err != nil {
			return err
		}
	}
}

// readDomains emits every entry of a list of domains: one a line, blank
// lines and # comments (whole-line or after the entry) ignored.
func readDomains(ctx context.Context, path string, emit func(string) error) error {
	f, err := openText(path, "domains file")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxLine)
	line := 1
	for ; sc.Scan(); line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, string(bom))
		}
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("domains file %s:%d: holds a NUL byte: this is not a text file; give a list of domains, one a line (plain or gzip-compressed)", path, line)
		}
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if err := emit(s); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("domains file %s:%d: the line is longer than %d bytes; is this a list of domains, one a line?", path, line, maxLine)
		}
		return fmt.Errorf("domains file %s: %w", path, err)
	}
	return nil
}

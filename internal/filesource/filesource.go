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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
// .json are NDJSON, .csv is CSV, anything else a list of domains.
func FormatOf(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
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
type Fields struct {
	Domain  string // destination host name (or a URL, or a domain)
	Process string // process image or name; a path is reduced to its base name
	Host    string // the host the event happened on
	Time    string // event time
}

// DefaultFields lists, per field, the names looked for when Fields leaves
// the name empty, in order: Splunk CIM, Sysmon (EventID 3 network
// connection, EventID 22 DNS query), Splunk's own _time.
var DefaultFields = struct{ Domain, Process, Host, Time []string }{
	Domain:  []string{"http_host", "DestinationHostname", "query", "QueryName", "dest_host", "ut_domain", "domain"},
	Process: []string{"process_name", "Image", "process"},
	Host:    []string{"Computer", "host", "src_host", "ComputerName"},
	Time:    []string{"UtcTime", "_time", "timestamp", "time"},
}

// Event is one network contact.
type Event struct {
	Time    time.Time // zero when the record has none or it does not parse
	Host    string    // the host the process ran on
	Process string    // process base name, e.g. powershell.exe
	Dest    string    // destination host name, as found in the record
}

// Source is a pipeline.Source over a file: it emits every event's
// destination (or every listed domain), except for events that Exclude
// reports true for. Standalone mode sets Exclude to the detection's browser
// filter, so the sync looks up what the detection will ask about and no
// more, as the modular input's default candidate search does.
type Source struct {
	Path    string
	Format  Format // "" = FormatOf(Path)
	Fields  Fields
	Exclude func(Event) bool
}

// Candidates implements pipeline.Source.
func (s *Source) Candidates(ctx context.Context, emit func(string) error) error {
	format := s.Format
	if format == "" {
		format = FormatOf(s.Path)
	}
	if format == Domains {
		return readDomains(ctx, s.Path, emit)
	}
	return ReadEvents(ctx, s.Path, format, s.Fields, func(e Event) error {
		if s.Exclude != nil && s.Exclude(e) {
			return nil
		}
		return emit(e.Dest)
	})
}

// maxLine bounds one NDJSON line or list entry; longer lines are an error
// naming the line rather than an unbounded allocation.
const maxLine = 4 << 20

// ReadEvents calls fn for every event of the NDJSON or CSV file at path, in
// file order, and stops at fn's first error, which it returns. A record
// whose destination field is multi-valued (a JSON array, or a CSV cell of
// newline-separated values as Splunk exports multi-value fields) gives one
// event per value. Records without a destination field are skipped. A
// malformed record is an error naming the file and line.
func ReadEvents(ctx context.Context, path string, format Format, fields Fields, fn func(Event) error) error {
	if format == "" {
		format = FormatOf(path)
	}
	if format != NDJSON && format != CSV {
		return fmt.Errorf("events file %s: a %s file has no events (hosts, processes, times); use an NDJSON or CSV export", path, format)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	defer f.Close()
	if format == CSV {
		return readCSV(ctx, path, f, fields, fn)
	}
	return readNDJSON(ctx, path, f, fields, fn)
}

// record is one decoded event record, read through field names.
type record interface {
	values(name string) ([]string, bool) // all values of a field, and whether the record has it
}

func emitRecord(r record, fields Fields, fn func(Event) error) error {
	dests, ok := lookup(r, fields.Domain, DefaultFields.Domain)
	if !ok {
		return nil
	}
	e := Event{Host: first(r, fields.Host, DefaultFields.Host), Process: ProcessName(first(r, fields.Process, DefaultFields.Process))}
	e.Time, _ = ParseTime(first(r, fields.Time, DefaultFields.Time))
	if len(dests) == 0 {
		dests = []string{""} // the field is there but empty: junk the sync counts
	}
	for _, d := range dests {
		e.Dest = d
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the values of field name or, when name is "", of the
// first default name with a value: in a CSV export every column is on
// every row (a Sysmon DNS query has an empty DestinationHostname and its
// QueryName), and NDJSON has null and "". ok reports whether the record has
// the field at all, even empty (an empty destination is junk the sync
// counts).
func lookup(r record, name string, defaults []string) (vals []string, ok bool) {
	if name != "" {
		return r.values(name)
	}
	for _, n := range defaults {
		v, has := r.values(n)
		if has && hasValue(v) {
			return v, true
		}
		ok = ok || has
	}
	return nil, ok
}

func hasValue(vals []string) bool {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

func first(r record, name string, defaults []string) string {
	v, _ := lookup(r, name, defaults)
	if len(v) == 0 {
		return ""
	}
	return strings.TrimSpace(v[0])
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

// ParseTime reads an event time: RFC 3339, Sysmon's UtcTime
// ("2006-01-02 15:04:05.000", UTC), the same with a T, or epoch seconds with
// an optional fraction (Splunk's _time).
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:T ") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1e11 {
			return time.Time{}, false
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Millisecond), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
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

func readNDJSON(ctx context.Context, path string, r io.Reader, fields Fields, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for line := 1; sc.Scan(); line++ {
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
			return fmt.Errorf("events file %s:%d: not a JSON object: %v", path, line, err)
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
		if err := emitRecord(rec, fields, fn); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("events file %s: a line is longer than %d bytes", path, maxLine)
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

func readCSV(ctx context.Context, path string, r io.Reader, fields Fields, fn func(Event) error) error {
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
	if fields.Domain != "" {
		if _, ok := rec.index[fields.Domain]; !ok {
			return fmt.Errorf("events file %s: no column %q (domain_field); the header has: %s", path, fields.Domain, strings.Join(header, ", "))
		}
	}
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
		if err := emitRecord(rec, fields, fn); err != nil {
			return err
		}
	}
}

// readDomains emits every entry of a list of domains: one a line, blank
// lines and # comments (whole-line or after the entry) ignored.
func readDomains(ctx context.Context, path string, emit func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("domains file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxLine)
	for line := 1; sc.Scan(); line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, string(bom))
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
		return fmt.Errorf("domains file %s: %w", path, err)
	}
	return nil
}

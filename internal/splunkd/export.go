package splunkd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/vtsync/vtsync/internal/jsonerr"
	"github.com/vtsync/vtsync/internal/jsonlex"
	"github.com/vtsync/vtsync/internal/params"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Export runs search with splunkd's streaming export
// (POST /servicesNS/nobody/<app>/search/jobs/export, output_mode=json) and
// calls row once per final result row, in order. Preview tables that
// splunkd re-sends while a transforming search runs are skipped. Values are
// lists: a multi-value field arrives as a JSON array (current splunkd) or a
// "\n"-joined string (Splunk 4/5), and both become one list element per
// value. (A single value that itself contains newlines, such as a
// multi-line _raw, is split too: the two cannot be told apart.) preview is
// not sent; the preview tables are filtered out instead.
//
// The row map and its value slices are valid only until row returns: they
// are reused for the next row, so row must copy what it keeps beyond the
// call (the strings themselves may be kept).
//
// search is normalised with params.NormalizeSearch ("index=x" is sent as
// "search index=x"); earliest and latest may be empty. The request has no
// overall timeout (it lasts as long as the search); ctx cancels it. An
// ERROR or FATAL message inside the stream, or a stream that ends in the
// middle of a record, makes Export fail even though rows were already
// delivered. Export returns row's error as is.
func (c *Client) Export(ctx context.Context, search, earliest, latest string, row func(map[string][]string) error) error {
	spl, err := params.NormalizeSearch(search)
	if err != nil {
		return err
	}
	form := url.Values{"search": {spl}, "output_mode": {"json"}}
	if earliest != "" {
		form.Set("earliest_time", earliest)
	}
	if latest != "" {
		form.Set("latest_time", latest)
	}
	r := request{method: http.MethodPost, path: c.nsPath("search", "jobs", "export"), form: form}
	resp, err := c.open(ctx, r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusBadRequest {
			e.Hint = refusalHint(e, spl, earliest, latest)
		}
		return c.redact(err)
	}
	defer resp.Body.Close()
	var rowErr error
	err = readExport(resp.Body, func(m map[string][]string) error {
		rowErr = row(m)
		return rowErr
	}, func(m Message) {
		c.log.Debug("search message", "type", m.Type, "text", m.Text)
	})
	if rowErr != nil {
		return rowErr
	}
	var e *Error
	if errors.As(err, &e) {
		e.Method, e.Path = r.method, r.path
		for i := range e.Messages {
			e.Messages[i].Text = c.secrets.Scrub(e.Messages[i].Text)
		}
		return c.redact(err)
	}
	// A cancelled body may read as a clean end: never report a cancelled
	// export as complete.
	if ctx.Err() != nil {
		return fmt.Errorf("splunkd search export: results incomplete: %w", ctx.Err())
	}
	return c.redact(err)
}

// refusalHint says which parameter to fix when splunkd refuses an export
// with HTTP 400: a time bound its messages name ("Invalid earliest_time."),
// else the search.
func refusalHint(e *Error, spl, earliest, latest string) string {
	var bad []string
	for _, b := range []struct{ name, value string }{{"earliest_time", earliest}, {"latest_time", latest}} {
		for _, m := range e.Messages {
			if strings.Contains(strings.ToLower(m.Text), b.name) {
				bad = append(bad, b.name+" ("+shorten(b.value, 100)+")")
				break
			}
		}
	}
	if len(bad) > 0 {
		return "splunkd refused the search window: check the " + strings.Join(bad, " and the ") +
			" parameter; use a Splunk time such as -20m, -1d@d or now"
	}
	return "splunkd refused the search: check the search parameter (" + shorten(spl, 200) + ")"
}

type exportLine struct {
	Preview  optBool           `json:"preview"`
	Result   json.RawMessage   `json:"result"`
	Results  []json.RawMessage `json:"results"`
	Messages []Message         `json:"messages"`
}

// optBool is an optional JSON boolean: null leaves it unset.
type optBool struct{ set, v bool }

func (b *optBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", "false":
		*b = optBool{set: true, v: data[0] == 't'}
	case "null":
	default:
		return fmt.Errorf("preview is %s, not true or false", shorten(string(data), 40))
	}
	return nil
}

// readExport decodes an export stream (see Export) from r. note receives
// the stream's non-failure messages (DEBUG, INFO, WARN); it may be nil.
// Memory use is bounded by the largest single line, not by the number of
// rows. The map passed to row, and its slices, are reused for the next
// row (see Export).
func readExport(r io.Reader, row func(map[string][]string) error, note func(Message)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(len(bom)); bytes.Equal(b, bom) {
		br.Discard(len(bom))
	}
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return nil // no results
	}
	if err != nil {
		return streamError(err, 0)
	}
	if first == '<' {
		return readXMLFailure(br)
	}
	dec := json.NewDecoder(br)
	var rows rowReader
	deliver := func(obj []byte) error {
		if len(obj) == 0 {
			return nil // no such member in this line
		}
		m, err := rows.read(obj)
		if err != nil {
			return streamError(err, dec.InputOffset())
		}
		if m == nil {
			return nil // null
		}
		return row(m)
	}
	if first == '[' { // Splunk 4 results: one JSON array of rows
		if _, err := dec.Token(); err != nil {
			return streamError(err, dec.InputOffset())
		}
		var obj json.RawMessage
		for dec.More() {
			if err := dec.Decode(&obj); err != nil {
				return streamError(err, dec.InputOffset())
			}
			if err := deliver(obj); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return streamError(err, dec.InputOffset())
		}
	}
	preview := false
	var line exportLine
	for {
		// Decode leaves members absent from a line untouched: reset them,
		// keeping the buffers.
		line.Preview = optBool{}
		line.Result = line.Result[:0]
		line.Results = line.Results[:0]
		line.Messages = nil
		if err := dec.Decode(&line); err == io.EOF {
			return nil
		} else if err != nil {
			return streamError(err, dec.InputOffset())
		}
		var failed []Message
		for _, m := range line.Messages {
			switch strings.ToUpper(m.Type) {
			case "ERROR", "FATAL":
				failed = append(failed, m)
			default:
				if note != nil {
					note(m)
				}
			}
		}
		if len(failed) > 0 {
			return &Error{Status: http.StatusOK, InBand: true, Messages: failed,
				Hint: "the results received so far are incomplete; fix the search or check splunkd's search.log"}
		}
		if line.Preview.set {
			preview = line.Preview.v
		}
		if preview {
			continue // a preview table is never read
		}
		if err := deliver(line.Result); err != nil {
			return err
		}
		for _, obj := range line.Results {
			if err := deliver(obj); err != nil {
				return err
			}
		}
	}
}

// maxInternedKeys bounds rowReader's table of field names: a stream whose
// rows all have new names costs an allocation per name, not memory.
const maxInternedKeys = 1024

// rowReader reads the result objects of an export stream (field values as
// Export describes them; null is a field without values) into one reused
// map and one reused array of values, with interned field names, so that a
// row costs one allocation per value string.
type rowReader struct {
	row  map[string][]string
	vals []string
	keys map[string]string
}

var errRowSyntax = errors.New("a result row is not valid JSON")

// read parses obj, a JSON value that the decoder has validated, and
// returns the row, or nil for null. The row is valid until the next read.
func (p *rowReader) read(obj []byte) (map[string][]string, error) {
	i := jsonlex.SkipSpace(obj, 0)
	if bytes.HasPrefix(obj[i:], []byte("null")) {
		return nil, nil
	}
	if i >= len(obj) || obj[i] != '{' {
		return nil, fmt.Errorf("a result row is %s, not a JSON object", shorten(string(obj[i:]), 40))
	}
	if p.row == nil {
		p.row = make(map[string][]string)
		p.keys = make(map[string]string)
	}
	clear(p.row)
	p.vals = p.vals[:0]
	for i++; ; {
		i = jsonlex.SkipSpace(obj, i)
		if i >= len(obj) {
			return nil, errRowSyntax
		}
		switch obj[i] {
		case '}':
			return p.row, nil
		case ',':
			i++
			continue
		}
		key, next, err := p.key(obj, i)
		if err != nil {
			return nil, err
		}
		i = jsonlex.SkipSpace(obj, next)
		if i >= len(obj) || obj[i] != ':' {
			return nil, errRowSyntax
		}
		vals, next, err := p.value(obj, jsonlex.SkipSpace(obj, i+1))
		if err != nil {
			return nil, err
		}
		p.row[key], i = vals, next
	}
}

// key reads the member name starting at obj[i].
func (p *rowReader) key(obj []byte, i int) (string, int, error) {
	end, escaped := jsonlex.StringEnd(obj, i)
	if obj[i] != '"' || end < 0 {
		return "", 0, errRowSyntax
	}
	lit := obj[i+1 : end-1]
	if escaped {
		k, err := jsonlex.Unquote(obj[i:end])
		return k, end, err
	}
	if k, ok := p.keys[string(lit)]; ok {
		return k, end, nil
	}
	if !utf8.Valid(lit) {
		k, err := jsonlex.Unquote(obj[i:end])
		return k, end, err
	}
	k := string(lit)
	if len(p.keys) < maxInternedKeys {
		p.keys[k] = k
	}
	return k, end, nil
}

// value reads the field value starting at obj[i] onto p.vals and returns
// its values.
func (p *rowReader) value(obj []byte, i int) ([]string, int, error) {
	if i >= len(obj) {
		return nil, 0, errRowSyntax
	}
	start := len(p.vals)
	switch obj[i] {
	case '"':
		s, end, err := p.str(obj, i)
		if err != nil {
			return nil, 0, err
		}
		for { // Splunk 4/5 multi-value encoding; only an escaped string has "\n"
			v, rest, more := strings.Cut(s, "\n")
			p.vals = append(p.vals, v)
			if !more {
				break
			}
			s = rest
		}
		return p.vals[start:len(p.vals):len(p.vals)], end, nil
	case '[':
		for i++; ; {
			i = jsonlex.SkipSpace(obj, i)
			if i >= len(obj) {
				return nil, 0, errRowSyntax
			}
			switch obj[i] {
			case ']':
				if len(p.vals) == start {
					return []string{}, i + 1, nil
				}
				return p.vals[start:len(p.vals):len(p.vals)], i + 1, nil
			case ',':
				i++
			case '"':
				s, end, err := p.str(obj, i)
				if err != nil {
					return nil, 0, err
				}
				p.vals, i = append(p.vals, s), end
			case 'n': // null reads as ""
				p.vals, i = append(p.vals, ""), i+len("null")
			default:
				return nil, 0, errors.New("a multi-value field holds a non-string value")
			}
		}
	case 'n':
		return nil, i + len("null"), nil
	}
	return nil, 0, fmt.Errorf("a field value is %s, not a string or a list of strings", shorten(string(jsonlex.ValueText(obj, i)), 40))
}

// str reads the JSON string starting at obj[i].
func (p *rowReader) str(obj []byte, i int) (string, int, error) {
	end, escaped := jsonlex.StringEnd(obj, i)
	if end < 0 {
		return "", 0, errRowSyntax
	}
	if lit := obj[i+1 : end-1]; !escaped && utf8.Valid(lit) {
		return string(lit), end, nil
	}
	s, err := jsonlex.Unquote(obj[i:end])
	return s, end, err
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.Discard(1)
		default:
			return b[0], nil
		}
	}
}

func streamError(err error, offset int64) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("splunkd search export: the stream ended in the middle of a record near byte %d (connection cut or splunkd stopped); the results are incomplete", offset)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return fmt.Errorf("splunkd search export: malformed JSON near byte %d: %s", offset, jsonerr.Describe(err))
	}
	return fmt.Errorf("splunkd search export: %w", err)
}

// readXMLFailure reads an XML answer (splunkd ignored output_mode=json, or
// an XML error document) and returns its ERROR/FATAL messages as an *Error,
// as in <response><messages><msg type="FATAL">…</msg></messages></response>
// after a results document.
func readXMLFailure(r io.Reader) error {
	dec := xml.NewDecoder(r)
	var failed []Message
	var inMsg bool
	var cur Message
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(failed) > 0 {
				break
			}
			return fmt.Errorf("splunkd search export: answer is XML, not JSON, and unreadable: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "msg" {
				inMsg, cur = true, Message{}
				for _, a := range t.Attr {
					if a.Name.Local == "type" {
						cur.Type = a.Value
					}
				}
			}
		case xml.CharData:
			if inMsg && len(cur.Text) < 4096 {
				cur.Text += string(t)
			}
		case xml.EndElement:
			if t.Name.Local == "msg" && inMsg {
				inMsg = false
				cur.Text = strings.TrimSpace(cur.Text)
				if u := strings.ToUpper(cur.Type); u == "ERROR" || u == "FATAL" {
					failed = append(failed, cur)
				}
			}
		}
	}
	if len(failed) > 0 {
		return &Error{Status: http.StatusOK, InBand: true, Messages: failed,
			Hint: "the search failed inside splunkd; its results are incomplete"}
	}
	return errors.New("splunkd search export: answer is XML, not the JSON asked for with output_mode=json")
}

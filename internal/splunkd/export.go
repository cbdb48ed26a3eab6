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
			e.Hint = "splunkd refused the search: check the search parameter (" + shorten(spl, 200) + ")"
		}
		return c.redact(err)
	}
	defer resp.Body.Close()
	var rowErr error
	err = readExport(resp.Body, func(m map[string][]string) error {
		rowErr = row(m)
		return rowErr
	}, func(m Message) {
		c.log.Debugf("search message: %s %s", m.Type, m.Text)
	})
	if rowErr != nil {
		return rowErr
	}
	var e *Error
	if errors.As(err, &e) {
		e.Method, e.Path = r.method, r.path
		return c.redact(err)
	}
	// A cancelled body may read as a clean end: never report a cancelled
	// export as complete.
	if ctx.Err() != nil {
		return fmt.Errorf("splunkd search export: results incomplete: %w", ctx.Err())
	}
	return c.redact(err)
}

// values is a result field value: a JSON string or list of strings.
type values []string

func (v *values) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		// The decoder hands over a validated literal; plain strings (the
		// usual case) need no second pass through the JSON scanner.
		var s string
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			s = string(inner)
		} else if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if strings.IndexByte(s, '\n') >= 0 {
			*v = strings.Split(s, "\n") // Splunk 4/5 multi-value encoding
		} else {
			*v = values{s}
		}
		return nil
	case '[':
		var a []string
		if err := json.Unmarshal(b, &a); err != nil {
			return errors.New("a multi-value field holds a non-string value")
		}
		*v = a
		return nil
	case 'n': // null
		*v = nil
		return nil
	}
	return fmt.Errorf("a field value is %s, not a string or a list of strings", shorten(string(b), 40))
}

type exportLine struct {
	Preview  *bool               `json:"preview"`
	Result   map[string]values   `json:"result"`
	Results  []map[string]values `json:"results"`
	Messages []Message           `json:"messages"`
}

// readExport decodes an export stream (see Export) from r. note receives
// the stream's non-failure messages (DEBUG, INFO, WARN); it may be nil.
// Memory use is bounded by the largest single line, not by the number of
// rows.
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
	if first == '[' { // Splunk 4 results: one JSON array of rows
		if _, err := dec.Token(); err != nil {
			return streamError(err, dec.InputOffset())
		}
		for dec.More() {
			var m map[string]values
			if err := dec.Decode(&m); err != nil {
				return streamError(err, dec.InputOffset())
			}
			if m != nil {
				if err := row(asRow(m)); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil {
			return streamError(err, dec.InputOffset())
		}
	}
	preview := false
	for {
		var line exportLine
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
		if line.Preview != nil {
			preview = *line.Preview
		}
		if preview {
			continue
		}
		if line.Result != nil {
			if err := row(asRow(line.Result)); err != nil {
				return err
			}
		}
		for _, m := range line.Results {
			if m == nil {
				continue
			}
			if err := row(asRow(m)); err != nil {
				return err
			}
		}
	}
}

func asRow(m map[string]values) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
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
		return fmt.Errorf("splunkd search export: malformed JSON near byte %d: %v", offset, err)
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

package splunkd

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Message is one entry of splunkd's "messages" list: Type is DEBUG, INFO,
// WARN, ERROR or FATAL.
type Message struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Error is an answer from splunkd that reports failure: a non-2xx status, or
// (Status 200, InBand true) ERROR/FATAL messages inside a search stream that
// had already started.
type Error struct {
	Status   int
	Messages []Message
	Method   string // request method, e.g. POST
	Path     string // request path, without the query
	InBand   bool   // the failure arrived inside an HTTP 200 search stream
	Hint     string // what the admin should do, when known
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("splunkd")
	if e.Method != "" {
		b.WriteString(" " + e.Method + " " + e.Path)
	}
	if e.InBand {
		b.WriteString(": search failed after results started streaming")
	} else {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	texts := make([]string, 0, len(e.Messages))
	for _, m := range e.Messages {
		if m.Text == "" {
			continue
		}
		if m.Type != "" {
			texts = append(texts, m.Type+" "+m.Text)
		} else {
			texts = append(texts, m.Text)
		}
	}
	if len(texts) > 0 {
		b.WriteString(": " + strings.Join(texts, "; "))
	} else if !e.InBand {
		b.WriteString(" " + http.StatusText(e.Status))
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Contains reports whether any message text contains substr.
func (e *Error) Contains(substr string) bool {
	for _, m := range e.Messages {
		if strings.Contains(m.Text, substr) {
			return true
		}
	}
	return false
}

// IsUnauthorized reports whether err is (or wraps) splunkd's HTTP 401: the
// session key or token was rejected, or the login failed.
func IsUnauthorized(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// IsNotFound reports whether err is (or wraps) splunkd's HTTP 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// parseMessages extracts the messages of an error body: JSON
// {"messages":[{"type":..,"text":..}]} or XML
// <response><messages><msg type="..">text</msg></messages></response>.
// Anything else becomes one message holding the (shortened) body text.
func parseMessages(body []byte) []Message {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, bom))
	if len(body) == 0 {
		return nil
	}
	switch body[0] {
	case '{':
		var v struct {
			Messages []Message `json:"messages"`
		}
		if json.Unmarshal(body, &v) == nil && len(v.Messages) > 0 {
			return v.Messages
		}
	case '<':
		var v struct {
			Msgs []struct {
				Type string `xml:"type,attr"`
				Text string `xml:",chardata"`
			} `xml:"messages>msg"`
		}
		if xml.Unmarshal(body, &v) == nil && len(v.Msgs) > 0 {
			out := make([]Message, 0, len(v.Msgs))
			for _, m := range v.Msgs {
				out = append(out, Message{Type: m.Type, Text: strings.TrimSpace(m.Text)})
			}
			return out
		}
	}
	return []Message{{Text: shorten(string(body), 300)}}
}

// shorten returns s cut to at most n bytes on a rune boundary, with
// control characters replaced, for quoting in error messages.
func shorten(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

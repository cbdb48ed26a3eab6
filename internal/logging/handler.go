package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vtsync/vtsync/internal/termtext"
)

// Handler is a slog.Handler that writes each record as one line,
//
//	LEVEL [prefix ]message[ key=value ...]
//
// with LEVEL one of DEBUG, INFO, WARN, ERROR, FATAL as splunkd's
// ExecProcessor reads them from a modular input's stderr. Values with a
// space, a quote, an equals sign or a control character are quoted; line
// breaks in a message become spaces; every other control character from
// data is written escaped (see termtext). Registered secrets are replaced
// by "****" in the message, the prefix, every key and every value. A
// Handler and the handlers derived from it share one lock and one secret
// list, which may grow after they are made (the VirusTotal key is learned
// during a run). It is safe for concurrent use.
type Handler struct {
	w      io.Writer
	min    slog.Leveler
	shared *shared
	prefix string      // text before the message, from Logger.With
	attrs  []boundAttr // from WithAttrs, formatted at Handle time
	group  string      // open groups, "a.b." (keys are qualified with it)
}

// shared is what a Handler and the handlers derived from it have in common.
type shared struct {
	mu      sync.Mutex
	secrets []string
}

type boundAttr struct {
	group string
	attr  slog.Attr
}

// NewHandler returns a Handler writing records at min or above to w.
func NewHandler(w io.Writer, min slog.Leveler) *Handler {
	if min == nil {
		min = slog.LevelInfo
	}
	return &Handler{w: w, min: min, shared: &shared{}}
}

// Redact registers secrets that must never be written; they are replaced by
// "****" in every later record of h and of every handler sharing its root.
func (h *Handler) Redact(secrets ...string) {
	h.shared.mu.Lock()
	defer h.shared.mu.Unlock()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		// A secret quoted by an error message (%q of a password with a
		// quote or a backslash) is written escaped: redact that form too.
		q := strconv.Quote(s)
		for _, v := range []string{s, q[1 : len(q)-1]} {
			if !containsString(h.shared.secrets, v) {
				h.shared.secrets = append(h.shared.secrets, v)
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Enabled reports whether records at lvl are written.
func (h *Handler) Enabled(_ context.Context, lvl slog.Level) bool {
	return h.w != nil && lvl >= h.min.Level()
}

// WithAttrs returns a Handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.attrs = make([]boundAttr, 0, len(h.attrs)+len(attrs))
	c.attrs = append(c.attrs, h.attrs...)
	for _, a := range attrs {
		c.attrs = append(c.attrs, boundAttr{group: h.group, attr: a})
	}
	return &c
}

// WithGroup returns a Handler that qualifies the keys of later attrs with
// name ("name.key").
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

func (h *Handler) withPrefix(prefix string) *Handler {
	c := *h
	c.prefix = h.prefix + prefix + " "
	return &c
}

// Handle writes r as one line.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	if h.w == nil {
		return nil
	}
	h.shared.mu.Lock()
	defer h.shared.mu.Unlock()
	secrets := h.shared.secrets
	var b strings.Builder
	b.WriteString(levelName(r.Level))
	b.WriteByte(' ')
	// One record, one line: the line breaks of a message that wraps errors
	// become spaces, and every other control character (an ESC from a
	// VirusTotal answer, a tab in an event) is written escaped, so that no
	// value from data reaches splunkd.log or a terminal raw.
	b.WriteString(termtext.Clean(newlines.Replace(Scrub(h.prefix+r.Message, secrets...))))
	for _, ba := range h.attrs {
		writeAttr(&b, ba.group, ba.attr, secrets)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a, secrets)
		return true
	})
	// Once more over the whole line, for a secret that spans a key and
	// its value or a prefix and the message.
	line := Scrub(b.String(), secrets...) + "\n"
	_, err := io.WriteString(h.w, line)
	return err
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	case l < LevelFatal:
		return "ERROR"
	default:
		return "FATAL"
	}
}

func writeAttr(b *strings.Builder, group string, a slog.Attr, secrets []string) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			writeAttr(b, g, ga, secrets)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(termtext.Clean(strings.Map(noSpace, Scrub(group+a.Key, secrets...))))
	b.WriteByte('=')
	b.WriteString(quote(Scrub(valueText(a.Value), secrets...)))
}

// noSpace keeps a key one word, so that key=value pairs stay parseable.
func noSpace(r rune) rune {
	if r == ' ' || r == '=' || r == '"' {
		return '_'
	}
	return r
}

func valueText(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindDuration:
		return v.Duration().String()
	}
	// An error, a Stringer or any other value prints as with fmt.Sprint,
	// which survives a method that panics on a nil receiver.
	return v.String()
}

// quote returns s as it is when it is one plain word, or Go-quoted (which
// escapes every control character and line break) when it is empty or holds
// a space, a quote, an equals sign or a character termtext escapes.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \"=") && termtext.Clean(s) == s {
		return s
	}
	return strconv.Quote(s)
}

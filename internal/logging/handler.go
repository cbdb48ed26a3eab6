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
// data is written escaped (see termtext). The secrets of its registry are
// replaced by "****" in the message, the prefix, every key and every
// value. A Handler and the handlers derived from it share one lock and one
// registry, which may grow after they are made (a password is read from
// storage/passwords during a run). It is safe for concurrent use.
type Handler struct {
	w      io.Writer
	min    slog.Leveler
	shared *shared
	prefix string      // text before the message, from WithPrefix
	attrs  []boundAttr // from WithAttrs, formatted at Handle time
	group  string      // open groups, "a.b." (keys are qualified with it)
}

// shared is what a Handler and the handlers derived from it have in common.
type shared struct {
	mu      sync.Mutex
	secrets *Secrets
}

type boundAttr struct {
	group string
	attr  slog.Attr
}

// NewHandler returns a Handler writing records at min (INFO if nil) or
// above to w, redacting the secrets of secrets (a new, empty registry if
// nil), including those added to it later.
func NewHandler(w io.Writer, min slog.Leveler, secrets *Secrets) *Handler {
	if min == nil {
		min = slog.LevelInfo
	}
	if secrets == nil {
		secrets = NewSecrets()
	}
	return &Handler{w: w, min: min, shared: &shared{secrets: secrets}}
}

// Secrets returns the registry h redacts with.
func (h *Handler) Secrets() *Secrets { return h.shared.secrets }

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

// WithPrefix returns a logger like l whose lines carry prefix between the
// level and the message, as in "WARN input=default VirusTotal ...": the
// input's name leads every line of a modular input, as splunkd.log readers
// and docs/operations.md expect. When l does not write through a Handler,
// the prefix becomes an attribute "prefix".
func WithPrefix(l *slog.Logger, prefix string) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	h, ok := l.Handler().(*Handler)
	if !ok {
		return l.With("prefix", prefix)
	}
	return slog.New(h.withPrefix(prefix))
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
	b.WriteString(termtext.Clean(newlines.Replace(secrets.Scrub(h.prefix + r.Message))))
	for _, ba := range h.attrs {
		writeAttr(&b, ba.group, ba.attr, secrets)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a, secrets)
		return true
	})
	// Once more over the whole line, for a secret that spans a key and
	// its value or a prefix and the message.
	line := secrets.Scrub(b.String()) + "\n"
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

func writeAttr(b *strings.Builder, group string, a slog.Attr, secrets *Secrets) {
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
	b.WriteString(termtext.Clean(strings.Map(noSpace, secrets.Scrub(group+a.Key))))
	b.WriteByte('=')
	b.WriteString(quote(secrets.Scrub(valueText(a.Value))))
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

// Package logging writes vtsync's log lines: one line per record, prefixed
// with a level splunkd understands (DEBUG, INFO, WARN, ERROR, FATAL), with
// registered secrets redacted and the control characters of data escaped.
package logging

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/vtsync/vtsync/internal/termtext"
)

// Level is a log severity.
type Level int

// Levels, lowest first.
const (
	Debug Level = iota
	Info
	Warn
	Error
	Fatal
)

var names = [...]string{"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

func (l Level) String() string { return names[l] }

// Logger writes leveled single-line records to an io.Writer (stderr under
// splunkd). It is safe for concurrent use. The zero value discards.
type Logger struct {
	w      io.Writer
	min    Level
	prefix string
	shared *shared
}

// shared is what a Logger and the Loggers derived from it with With have in
// common: the writer's lock and the secrets, so that a secret registered on
// any of them is redacted by all.
type shared struct {
	mu      sync.Mutex
	secrets []string
}

// New returns a Logger writing records at min or above to w.
func New(w io.Writer, min Level) *Logger { return &Logger{w: w, min: min, shared: &shared{}} }

// Discard returns a Logger that writes nothing.
func Discard() *Logger { return &Logger{shared: &shared{}} }

// With returns a Logger that prefixes every message with prefix (for example
// the input name) and shares the parent's writer and secrets.
func (l *Logger) With(prefix string) *Logger {
	if l == nil || l.shared == nil {
		return Discard()
	}
	return &Logger{w: l.w, min: l.min, prefix: l.prefix + prefix + " ", shared: l.shared}
}

// Redact registers secrets (API keys, session keys, passwords) that must
// never be written; they are replaced by "****" in every later record.
func (l *Logger) Redact(secrets ...string) {
	if l == nil || l.shared == nil {
		return
	}
	l.shared.mu.Lock()
	defer l.shared.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			l.shared.secrets = append(l.shared.secrets, s)
		}
	}
}

// Logf writes one record at level lvl.
func (l *Logger) Logf(lvl Level, format string, args ...any) {
	if l == nil || l.w == nil || lvl < l.min {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.shared.mu.Lock()
	defer l.shared.mu.Unlock()
	msg = Scrub(l.prefix+msg, l.shared.secrets...)
	// One record, one line: the line breaks of a message that wraps errors
	// become spaces, and every other control character (an ESC from a
	// VirusTotal answer, a tab in an event) is written escaped, so that no
	// value from data reaches splunkd.log or a terminal raw.
	msg = termtext.Clean(newlines.Replace(msg))
	fmt.Fprintf(l.w, "%s %s\n", lvl, msg)
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// Debugf logs at DEBUG.
func (l *Logger) Debugf(format string, args ...any) { l.Logf(Debug, format, args...) }

// Infof logs at INFO.
func (l *Logger) Infof(format string, args ...any) { l.Logf(Info, format, args...) }

// Warnf logs at WARN.
func (l *Logger) Warnf(format string, args ...any) { l.Logf(Warn, format, args...) }

// Errorf logs at ERROR.
func (l *Logger) Errorf(format string, args ...any) { l.Logf(Error, format, args...) }

// Fatalf logs at FATAL; it does not exit.
func (l *Logger) Fatalf(format string, args ...any) { l.Logf(Fatal, format, args...) }

// Scrub returns s with every non-empty secret replaced by "****": the one
// rule for keeping keys, session keys and passwords out of logs, events and
// error messages.
func Scrub(s string, secrets ...string) string {
	if len(secrets) > 1 {
		// Longest first: a secret that contains another must not be cut
		// into pieces that no longer match.
		secrets = slices.Clone(secrets)
		slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	}
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "****")
		}
	}
	return s
}

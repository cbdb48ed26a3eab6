// Package logging writes vtsync's log lines and keeps its secrets out of
// every text it writes. Handler is the one log/slog handler of the
// program: one line per record, prefixed with a level splunkd understands
// (DEBUG, INFO, WARN, ERROR, FATAL), with the control characters of data
// escaped and the secrets of a Secrets registry redacted. Secrets is the
// one list of those secrets: the composition root makes it, the Handler
// redacts with it, and the components that learn a secret add to it and
// scrub their error texts with it. Logger is a thin layer over a
// *slog.Logger that keeps the printf-style calls until the last caller has
// moved to *slog.Logger.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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

// LevelFatal is the slog level of FATAL records, above slog.LevelError:
// splunkd's ExecProcessor knows FATAL, slog does not.
const LevelFatal = slog.LevelError + 4

var names = [...]string{"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

func (l Level) String() string { return names[l] }

// Slog returns the slog level of l.
func (l Level) Slog() slog.Level {
	return [...]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, LevelFatal}[l]
}

// Logger writes leveled single-line records through a Handler to an
// io.Writer (stderr under splunkd). It is safe for concurrent use. The zero
// value and a nil *Logger discard.
type Logger struct {
	sl *slog.Logger
	h  *Handler
}

// New returns a Logger writing records at min or above to w, with a
// registry of its own.
func New(w io.Writer, min Level) *Logger { return fromHandler(NewHandler(w, min.Slog(), nil)) }

// FromHandler returns a Logger writing through h, for code not yet moved
// to *slog.Logger.
func FromHandler(h *Handler) *Logger { return fromHandler(h) }

// Discard returns a Logger that writes nothing.
func Discard() *Logger { return &Logger{} }

func fromHandler(h *Handler) *Logger { return &Logger{sl: slog.New(h), h: h} }

// Slog returns the *slog.Logger under l, for code that logs with key/value
// pairs; it never returns nil.
func (l *Logger) Slog() *slog.Logger {
	if l == nil || l.sl == nil {
		return slog.New(discard{})
	}
	return l.sl
}

// With returns a Logger that prefixes every message with prefix (for example
// the input name) and shares the parent's writer and secrets.
func (l *Logger) With(prefix string) *Logger {
	if l == nil || l.h == nil {
		return Discard()
	}
	return fromHandler(l.h.withPrefix(prefix))
}

// WithAttrs returns a Logger that adds the key/value pairs args (as for
// slog.Logger.With) to every record and shares the parent's secrets.
func (l *Logger) WithAttrs(args ...any) *Logger {
	if l == nil || l.h == nil {
		return Discard()
	}
	sl := l.sl.With(args...)
	return &Logger{sl: sl, h: sl.Handler().(*Handler)}
}

// Secrets returns the registry l redacts with (nil for a Logger that
// discards).
func (l *Logger) Secrets() *Secrets {
	if l == nil || l.h == nil {
		return nil
	}
	return l.h.Secrets()
}

// Redact adds secrets to l's registry (see Secrets.Add).
//
// Transitional: add to the Secrets the composition root made.
func (l *Logger) Redact(secrets ...string) { l.Secrets().Add(secrets...) }

// Logf writes one record at level lvl.
func (l *Logger) Logf(lvl Level, format string, args ...any) {
	if l == nil || l.sl == nil || !l.h.Enabled(context.Background(), lvl.Slog()) {
		return
	}
	l.sl.Log(context.Background(), lvl.Slog(), fmt.Sprintf(format, args...))
}

// Log writes one record at level lvl with a short message and key/value
// pairs, as slog.Logger.Log does.
func (l *Logger) Log(lvl Level, msg string, args ...any) {
	if l == nil || l.sl == nil {
		return
	}
	l.sl.Log(context.Background(), lvl.Slog(), msg, args...)
}

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

// Debug logs msg and key/value pairs at DEBUG.
func (l *Logger) Debug(msg string, args ...any) { l.Log(Debug, msg, args...) }

// Info logs msg and key/value pairs at INFO.
func (l *Logger) Info(msg string, args ...any) { l.Log(Info, msg, args...) }

// Warn logs msg and key/value pairs at WARN.
func (l *Logger) Warn(msg string, args ...any) { l.Log(Warn, msg, args...) }

// Error logs msg and key/value pairs at ERROR.
func (l *Logger) Error(msg string, args ...any) { l.Log(Error, msg, args...) }

// Scrub returns s with secrets replaced as Secrets.Scrub does.
//
// Transitional: scrub with the registry the composition root made, which
// also holds the secrets learned during the run.
func Scrub(s string, secrets ...string) string { return NewSecrets(secrets...).Scrub(s) }

// discard is the handler of a Logger that writes nothing.
type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }

package modinput

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"
)

// Event is one event for splunkd's XML stream. Empty fields are omitted
// (splunkd then uses the input's defaults); a zero Time lets Splunk assign
// the time.
type Event struct {
	Stanza     string // the input the event belongs to, "<scheme>://<name>"
	Time       time.Time
	Host       string
	Index      string
	Source     string
	Sourcetype string
	Data       string
}

// EventWriter writes events as splunkd's XML stream (streaming_mode xml).
// Each event is complete (unbroken="1" with <done/>) and reaches the
// underlying writer in a single Write, flushed, so a reader never sees half
// an event. It is safe for concurrent use.
type EventWriter struct {
	mu      sync.Mutex
	w       io.Writer
	buf     bytes.Buffer
	started bool
	closed  bool
	err     error // first write error; the stream is unusable after it
}

// NewEventWriter returns an EventWriter writing to w (stdout under splunkd).
// Nothing is written until the first event.
func NewEventWriter(w io.Writer) *EventWriter { return &EventWriter{w: w} }

var errClosed = errors.New("modinput: write to a closed EventWriter")

// Write writes one event, preceded by <stream> if it is the first. Text
// that XML cannot carry (invalid UTF-8, control characters) is replaced by
// U+FFFD, so the stream stays well-formed whatever the data.
func (e *EventWriter) Write(ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return errClosed
	}
	b := &e.buf
	b.Reset()
	if !e.started {
		b.WriteString("<stream>\n")
	}
	b.WriteString("<event")
	if ev.Stanza != "" {
		b.WriteString(` stanza="`)
		escapeAttr(b, ev.Stanza)
		b.WriteByte('"')
	}
	b.WriteString(` unbroken="1">`)
	if !ev.Time.IsZero() {
		ms := ev.Time.Round(time.Millisecond).UnixMilli()
		b.WriteString("<time>")
		b.WriteString(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64))
		b.WriteString("</time>")
	}
	field := func(name, v string) {
		if v != "" {
			b.WriteString("<" + name + ">")
			escapeText(b, v)
			b.WriteString("</" + name + ">")
		}
	}
	field("source", ev.Source)
	field("sourcetype", ev.Sourcetype)
	field("index", ev.Index)
	field("host", ev.Host)
	b.WriteString("<data>")
	escapeText(b, ev.Data)
	b.WriteString("</data><done/></event>\n")
	if err := e.write(); err != nil {
		return err
	}
	e.started = true
	return nil
}

// Close ends the stream with </stream> if an event was written. Further
// writes fail; closing twice is harmless. It does not close the underlying
// writer.
func (e *EventWriter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil || e.closed {
		return e.err
	}
	e.closed = true
	if !e.started {
		return nil
	}
	e.buf.Reset()
	e.buf.WriteString("</stream>\n")
	return e.write()
}

// write sends e.buf and flushes a buffered underlying writer. Any error
// is kept: after a partial write the stream cannot be continued.
func (e *EventWriter) write() error {
	_, err := e.w.Write(e.buf.Bytes())
	if f, ok := e.w.(interface{ Flush() error }); ok && err == nil {
		err = f.Flush()
	}
	if err != nil {
		e.err = err
	}
	return err
}

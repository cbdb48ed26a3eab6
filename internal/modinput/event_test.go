package modinput

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sdkEvent is the event of the SDKs' stream fixtures.
func sdkEvent(ms int64) Event {
	return Event{
		Stanza:     "fubar",
		Time:       time.UnixMilli(ms),
		Host:       "localhost",
		Index:      "main",
		Source:     "hilda",
		Sourcetype: "misc",
		Data:       "This is a test of the emergency broadcast system.",
	}
}

func writeEvents(t *testing.T, events ...Event) []byte {
	t.Helper()
	var out bytes.Buffer
	w := NewEventWriter(&out)
	for _, ev := range events {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestEventWriterMatchesSDKStreams(t *testing.T) {
	ev := sdkEvent(1372275124466)
	for _, tt := range []struct {
		file   string
		events []Event
	}{
		{"splunk-sdk-python/modularinput/stream_with_one_event.xml", []Event{ev}},
		{"splunk-sdk-python/modularinput/stream_with_two_events.xml", []Event{ev, ev}},
		{"splunk-sdk-javascript/modularinput/stream_with_two_events.xml", []Event{ev, ev}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			sameTree(t, parseTree(t, writeEvents(t, tt.events...)), parseTree(t, fixture(t, tt.file)))
		})
	}
}

func TestEventWriterMatchesSDKEvents(t *testing.T) {
	for _, tt := range []struct {
		file string
		ev   Event
	}{
		{"splunk-sdk-python/modularinput/event_maximal.xml", sdkEvent(1372274622493)},
		{"splunk-sdk-python/modularinput/event_minimal.xml", Event{
			Stanza: "fubar",
			Time:   time.Unix(1372187084, 0),
			Data:   "This is a test of the emergency broadcast system.",
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			stream := parseTree(t, writeEvents(t, tt.ev))
			if len(stream.Children) != 1 {
				t.Fatalf("stream has %d children", len(stream.Children))
			}
			sameTree(t, stream.Children[0], parseTree(t, fixture(t, tt.file)))
		})
	}
}

func TestEventWriterOutput(t *testing.T) {
	got := string(writeEvents(t,
		Event{Stanza: `vtsync://a"b`, Time: time.Unix(1700000000, 999600000), Sourcetype: "vtsync:run", Data: `{"k":"<v> & w"}`},
		Event{Data: "line 1\nline 2\r\n"},
	))
	want := `<stream>
<event stanza="vtsync://a&quot;b" unbroken="1"><time>1700000001.000</time><sourcetype>vtsync:run</sourcetype><data>{"k":"&lt;v&gt; &amp; w"}</data><done/></event>
<event unbroken="1"><data>line 1
line 2&#13;
</data><done/></event>
</stream>
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEventWriterTime(t *testing.T) {
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1372187084, 0), "1372187084.000"},
		{time.UnixMilli(1356998400001), "1356998400.001"},
		{time.Unix(1356998400, 465500000), "1356998400.466"}, // rounds like "%.3f"
		{time.Unix(1356998400, 999999999).In(time.FixedZone("x", 3600)), "1356998401.000"},
		{time.Unix(0, 1000000), "0.001"},
	} {
		ev := parseTree(t, writeEvents(t, Event{Time: tt.t, Data: "x"})).Children[0]
		if got := ev.child("time"); got == nil || got.Text != tt.want {
			t.Errorf("%v: <time> = %v, want %s", tt.t, got, tt.want)
		}
	}
	ev := parseTree(t, writeEvents(t, Event{Data: "x"})).Children[0]
	if ev.child("time") != nil {
		t.Errorf("zero time written: %v", ev)
	}
}

func TestEventWriterHostileData(t *testing.T) {
	data := "ok \x00\x01\x08\x0b\x0c\x1f \xff\xfe bad utf8 \uFFFE\uFFFF ]]> </data></event></stream> &amp; \ud7ff"
	out := writeEvents(t, Event{Stanza: "\x00<&>\n", Host: "\x7f\x1b[31m", Data: data})
	stream := parseTree(t, out) // well-formed
	ev := stream.Children[0]
	wantData := "ok \uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD \uFFFD\uFFFD bad utf8 \uFFFD\uFFFD ]]> </data></event></stream> &amp; \ud7ff"
	if got := ev.child("data").Text; got != wantData {
		t.Errorf("data = %q\nwant   %q", got, wantData)
	}
	if got := ev.Attr["stanza"]; got != "\uFFFD<&>\n" {
		t.Errorf("stanza = %q", got)
	}
	if got := ev.child("host").Text; got != "\x7f\uFFFD[31m" {
		t.Errorf("host = %q", got)
	}
}

func TestEventWriterNothingWritten(t *testing.T) {
	var out bytes.Buffer
	w := NewEventWriter(&out)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q without events", out.String())
	}
	if err := w.Write(Event{Data: "late"}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

type flushRecorder struct {
	bytes.Buffer
	writes, flushes int
}

func (f *flushRecorder) Write(p []byte) (int, error) { f.writes++; return f.Buffer.Write(p) }
func (f *flushRecorder) Flush() error                { f.flushes++; return nil }

func TestEventWriterFlushesEachEvent(t *testing.T) {
	var f flushRecorder
	w := NewEventWriter(&f)
	for i := range 3 {
		if err := w.Write(Event{Data: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if f.writes != i+1 || f.flushes != i+1 {
			t.Fatalf("after event %d: %d writes, %d flushes; want one each per event", i, f.writes, f.flushes)
		}
		// What is on the wire is always whole events.
		if !strings.HasSuffix(f.String(), "</event>\n") {
			t.Fatalf("partial event on the wire: %q", f.String())
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("broken pipe")
	}
	f.n--
	return len(p), nil
}

func TestEventWriterStopsAfterWriteError(t *testing.T) {
	fw := &failWriter{n: 1}
	w := NewEventWriter(fw)
	if err := w.Write(Event{Data: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Event{Data: "b"}); err == nil {
		t.Fatal("write error not returned")
	}
	fw.n = 10
	if err := w.Write(Event{Data: "c"}); err == nil {
		t.Error("write after an error succeeded; the stream may hold half an event")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after an error succeeded")
	}
}

func TestEventWriterConcurrent(t *testing.T) {
	var out bytes.Buffer
	w := NewEventWriter(&out)
	var wg sync.WaitGroup
	const writers, each = 8, 50
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := w.Write(Event{Stanza: fmt.Sprintf("vtsync://%d", g), Data: strings.Repeat("x", 100) + fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	stream := parseTree(t, out.Bytes())
	if len(stream.Children) != writers*each {
		t.Errorf("%d events, want %d", len(stream.Children), writers*each)
	}
}

func BenchmarkEventWriter(b *testing.B) {
	w := NewEventWriter(discard{})
	ev := Event{
		Stanza: "vtsync://main", Time: time.Unix(1700000000, 0), Sourcetype: "vtsync:run",
		Data: `{"candidates":1200,"fresh":1100,"looked_up":100,"errors":0,"note":"a < b & c"}`,
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(ev); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestLinesAreLeveledSingleAndRedacted(t *testing.T) {
	var buf bytes.Buffer
	key := "0123456789abcdef0123456789abcdef"
	l := slog.New(NewHandler(&buf, slog.LevelInfo, NewSecrets(key, "")))
	l.Debug("hidden")
	l.Info("start run")
	WithPrefix(l, "input=default").Warn("key " + key + " rejected\nsecond line\r\nthird")
	l.Error("short words stay")
	l.Log(t.Context(), LevelFatal, "cannot go on")
	want := "INFO start run\n" +
		"WARN input=default key **** rejected second line third\n" +
		"ERROR short words stay\n" +
		"FATAL cannot go on\n"
	if buf.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", buf.String(), want)
	}
}

// A value from data (a certificate issuer, an event's field, a file name)
// never carries a raw control character into a log line: no ESC to clear
// a terminal or set its title, no CR to overwrite the line, no tab; in the
// message, in the prefix and in an attribute's value alike.
func TestDataControlCharactersAreEscaped(t *testing.T) {
	var buf bytes.Buffer
	l := WithPrefix(slog.New(NewHandler(&buf, slog.LevelInfo, nil)), "input=\x1b[2Jx")
	issuer := "CN=R10\x1b]0;owned\x07\rERROR forged\t\u202egro.evil\u009b31m\xff"
	l.Warn("lookup of example.com: issuer " + issuer)
	l.Warn("lookup", "issuer", issuer)
	want := `WARN input=\x1b[2Jx lookup of example.com: issuer CN=R10\x1b]0;owned\a ERROR forged\t\u202egro.evil\u009b31m\xff` + "\n" +
		`WARN input=\x1b[2Jx lookup issuer="CN=R10\x1b]0;owned\a\rERROR forged\t\u202egro.evil\u009b31m\xff"` + "\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestConcurrentLinesDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, slog.LevelDebug, nil))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				l.Info(strings.Repeat("x", 100))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	for _, line := range lines {
		if line != "INFO "+strings.Repeat("x", 100) {
			t.Fatalf("garbled line %q", line)
		}
	}
}

func TestNilWriterDiscards(t *testing.T) {
	l := slog.New(NewHandler(nil, slog.LevelDebug, nil))
	if l.Enabled(t.Context(), LevelFatal) {
		t.Error("a Handler with no writer is enabled")
	}
	l.Error("nothing")
}

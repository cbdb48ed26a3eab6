package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestLinesAreLeveledSingleAndRedacted(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Info)
	key := "0123456789abcdef0123456789abcdef"
	l.Redact(key, "")
	l.Debugf("hidden")
	l.Infof("start %s", "run")
	l.With("input=default").Warnf("key %s rejected\nsecond line\r\nthird", key)
	l.Errorf("short words stay")
	want := "INFO start run\n" +
		"WARN input=default key **** rejected second line third\n" +
		"ERROR short words stay\n"
	if buf.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", buf.String(), want)
	}
}

// A value from data (a certificate issuer, an event's field, a file name)
// never carries a raw control character into a log line: no ESC to clear
// a terminal or set its title, no CR to overwrite the line, no tab.
func TestDataControlCharactersAreEscaped(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Info).With("input=\x1b[2Jx")
	issuer := "CN=R10\x1b]0;owned\x07\rERROR forged\t\u202egro.evil\u009b31m\xff"
	l.Warnf("lookup of example.com: issuer %s", issuer)
	want := `WARN input=\x1b[2Jx lookup of example.com: issuer CN=R10\x1b]0;owned\a ERROR forged\t\u202egro.evil\u009b31m\xff` + "\n"
	if buf.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", buf.String(), want)
	}
}

func TestConcurrentLinesDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Debug)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				l.Infof("%s", strings.Repeat("x", 100))
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

func TestZeroAndNilLoggersDiscard(t *testing.T) {
	var l *Logger
	l.Errorf("nothing")
	Discard().Fatalf("nothing")
}

func TestSecretsAreSharedWithDerivedLoggers(t *testing.T) {
	var buf bytes.Buffer
	root := New(&buf, Info)
	a, b := root.With("a"), root.With("b")
	a.Redact("secret-one-1234")
	b.Redact("secret-two-1234")
	root.Infof("secret-one-1234 secret-two-1234")
	a.Infof("secret-two-1234")
	if strings.Contains(buf.String(), "secret-") {
		t.Errorf("a secret registered on one logger leaked through another:\n%s", buf.String())
	}
	var zero Logger
	zero.Redact("secret-three-123")
	zero.With("x").Infof("nothing")
}

func TestScrubLongestFirst(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got := Scrub("key "+key+" pw cdef0", "cdef0", key); got != "key **** pw ****" {
		t.Errorf("Scrub = %q: a secret inside another leaked pieces", got)
	}
}

package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestHandlerLevelPrefixes(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, slog.LevelDebug-4, nil))
	ctx := context.Background()
	for _, lvl := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelInfo + 1, slog.LevelWarn, slog.LevelError, LevelFatal, LevelFatal + 4} {
		l.Log(ctx, lvl, "m")
	}
	want := "DEBUG m\nDEBUG m\nINFO m\nINFO m\nWARN m\nERROR m\nFATAL m\nFATAL m\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestHandlerLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	l := slog.New(NewHandler(&buf, &lv, nil))
	l.Info("dropped")
	l.Warn("kept")
	lv.Set(slog.LevelError)
	l.Warn("dropped too")
	l.Error("kept too")
	if buf.String() != "WARN kept\nERROR kept too\n" {
		t.Errorf("got %q", buf.String())
	}
	if slog.New(NewHandler(&buf, slog.LevelWarn, nil)).Enabled(context.Background(), slog.LevelInfo) {
		t.Error("a WARN logger is enabled for INFO")
	}
}

func TestHandlerAttrsGroupsAndQuoting(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, slog.LevelInfo, nil)).With("input", "default").WithGroup("run")
	l.Info("run finished", "status", "ok", "fetched", 12, "why", "quota left: 3", "empty", "",
		slog.Group("kv", "coll", "vt_domain"), "eq", "a=b", "q", `say "hi"`,
		slog.Attr{}, slog.Group("none"), slog.Group("", "inline", 1))
	l.WithGroup("unused").Info("no attrs")
	want := `INFO run finished input=default run.status=ok run.fetched=12 run.why="quota left: 3" run.empty="" run.kv.coll=vt_domain run.eq="a=b" run.q="say \"hi\"" run.inline=1` + "\n" +
		"INFO no attrs input=default\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// A value from data never splits a record: CR, LF and ESC in a value, a
// key or the message stay on the one line, escaped.
func TestHandlerOneLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, slog.LevelInfo, nil))
	l.Warn("lookup\r\nERROR forged", "issuer", "CN=R10\r\nERROR forged\x1b[2J", "k\nx", "v", "err", errors.New("a\nb"))
	out := buf.String()
	if strings.Count(out, "\n") != 1 || strings.ContainsAny(strings.TrimSuffix(out, "\n"), "\r\n\x1b") {
		t.Fatalf("a record was split or kept a control character: %q", out)
	}
	want := `WARN lookup ERROR forged issuer="CN=R10\r\nERROR forged\x1b[2J" k\nx=v err="a\nb"` + "\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestHandlerRedactsEverywhere(t *testing.T) {
	var buf bytes.Buffer
	secrets := NewSecrets()
	root := slog.New(NewHandler(&buf, slog.LevelDebug, secrets))
	early := root.With("bound", "x")
	key := "0123456789abcdef0123456789abcdef"
	pw := `pa ss"w=rd`
	// Registered after the derived logger was made: it still applies.
	secrets.Add(key, pw, "")
	early.Info("key "+key+" refused", "attr", key, "err", fmt.Errorf("login with %q: %w", pw, errors.New("denied "+key)),
		"pw", pw, slog.Group("g", "inner", "x"+key+"x"))
	early.WithGroup("grp").With("k", key).Info("m", key, "v")
	out := buf.String()
	if strings.Contains(out, key) || strings.Contains(out, "rd") || strings.Contains(out, `pa ss`) {
		t.Errorf("a secret leaked:\n%s", out)
	}
	want := `INFO key **** refused bound=x attr=**** err="login with \"****\": denied ****" pw=**** g.inner=x****x` + "\n" +
		"INFO m bound=x grp.k=**** grp.****=v\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestHandlerConcurrentRecordsAndSecrets(t *testing.T) {
	var buf bytes.Buffer
	secrets := NewSecrets()
	l := slog.New(NewHandler(&buf, slog.LevelDebug, secrets))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := l.With("worker", i)
			for j := range 100 {
				secrets.Add(fmt.Sprintf("secret-%d-%d-xyz", i, j))
				sub.Info("lookup", "n", j, "key", fmt.Sprintf("secret-%d-%d-xyz", i, j))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "INFO lookup worker=") || !strings.HasSuffix(line, " key=****") {
			t.Fatalf("garbled or unredacted line %q", line)
		}
	}
}

func TestWithPrefix(t *testing.T) {
	var buf bytes.Buffer
	secrets := NewSecrets("prefix-secret")
	root := slog.New(NewHandler(&buf, slog.LevelInfo, secrets))
	l := WithPrefix(WithPrefix(root, "input=default"), "kind=\x1b")
	l.With("a", 1).Warn("lookup failed", "b", "prefix-secret")
	WithPrefix(root, "input=prefix-secret").Info("m")
	root.Info("no prefix")
	want := `WARN input=default kind=\x1b lookup failed a=1 b=****` + "\n" + "INFO input=**** m\n" + "INFO no prefix\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	var other bytes.Buffer
	WithPrefix(slog.New(slog.NewTextHandler(&other, nil)), "input=x").Info("m")
	if !strings.Contains(other.String(), `prefix="input=x"`) {
		t.Errorf("another handler lost the prefix: %q", other.String())
	}
	WithPrefix(nil, "x").Info("nothing")
}

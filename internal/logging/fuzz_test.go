package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/termtext"
)

// Whatever a message, key or value holds, a record is one line with no raw
// control character, and a registered secret placed anywhere in it is not
// written.
func FuzzHandlerOneLineNoSecret(f *testing.F) {
	f.Add("run finished", "status", "ok", "default")
	f.Add("a\r\nb", "k\x1b", "v\u202e\n", "x\xff")
	f.Add("", "", "", "")
	f.Add(`"quoted" msg`, "a=b", `pa ss"w\rd`, "in put")
	const secret = "S3CRET-KEY-0123abcd"
	f.Fuzz(func(t *testing.T, msg, key, value, prefix string) {
		var buf bytes.Buffer
		l := WithPrefix(slog.New(NewHandler(&buf, slog.LevelDebug, NewSecrets(secret))), prefix)
		l.Warn(msg+secret, key, value, key+secret, value+secret+value, "err", errors.New(value+secret))
		l.With("bound", secret+value).WithGroup(key).Error(msg, "v", value)
		out := buf.String()
		if strings.Count(out, "\n") != 2 || !strings.HasSuffix(out, "\n") {
			t.Fatalf("two records did not make two lines: %q", out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if termtext.Clean(line) != line {
				t.Fatalf("a raw control character reached the line %q", line)
			}
		}
		if strings.Contains(out, secret) {
			t.Fatalf("the secret leaked: %q", out)
		}
	})
}

package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"C=US, O=Let's Encrypt, CN=R10", "C=US, O=Let's Encrypt, CN=R10"},
		{"bücher.de", "bücher.de"},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"\x1b]0;owned\x07", `\x1b]0;owned\a`},
		{"evil.com\r\nfake.com  0  ok", `evil.com\r\nfake.com  0  ok`},
		{"a\tb", `a\tb`},
		{"\u009b31m", `\u009b31m`},
		{"abc\u202egnp.exe", `abc\u202egnp.exe`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"real \ufffd stays", "real \ufffd stays"},
		{"\x7f", `\x7f`},
	} {
		if got := Clean(c.in); got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mred", "\r\n", "\xff\xfe", "\u202e", "é\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Clean(%q) = %q: not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unsafe(r) {
				t.Fatalf("Clean(%q) = %q keeps %U", s, out, r)
			}
		}
		if firstUnsafe(s) < 0 && out != s {
			t.Fatalf("Clean changed safe text %q to %q", s, out)
		}
		if strings.ContainsAny(out, "\x1b\r\n") {
			t.Fatalf("Clean(%q) = %q", s, out)
		}
	})
}

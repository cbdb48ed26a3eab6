// Package termtext makes text that comes from data (VirusTotal objects,
// events, file contents) safe to write to a person's terminal: no control
// character from data ever reaches it raw.
package termtext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s with every control character (C0, DEL, C1, and the
// Unicode format characters that reorder or hide text, such as U+202E)
// and every invalid UTF-8 byte written as a visible Go escape (\x1b, \n,
// \u202e), so that ESC/OSC sequences cannot clear the screen or set the
// title and CR/LF cannot forge rows. A backslash is kept as it is: Clean
// is for display, not for round-tripping. Text without such characters is
// returned unchanged, without allocating.
func Clean(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafe(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

func firstUnsafe(s string) int {
	for i, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && unsafe(r) || r == utf8.RuneError {
			if r == utf8.RuneError {
				if _, w := utf8.DecodeRuneInString(s[i:]); w != 1 {
					continue // a real U+FFFD
				}
			}
			return i
		}
	}
	return -1
}

func unsafe(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Cf, r)
}

package modinput

import (
	"bytes"
	"unicode/utf8"
)

// escapeText appends s as XML character data. Only the characters XML
// requires are escaped, so newlines and quotes stay readable; '\r' is
// written as a character reference because a parser would otherwise turn
// it into '\n'. Bytes that are not UTF-8 and characters XML 1.0 does not
// allow (most control characters, U+FFFE, U+FFFF) become U+FFFD, so the
// output is always well-formed.
func escapeText(b *bytes.Buffer, s string) { escape(b, s, false) }

// escapeAttr appends s as the value of a double-quoted attribute.
func escapeAttr(b *bytes.Buffer, s string) { escape(b, s, true) }

func escape(b *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '\r':
			esc = "&#13;"
		case attr && r == '"':
			esc = "&quot;"
		case attr && r == '\n':
			esc = "&#10;"
		case attr && r == '\t':
			esc = "&#9;"
		case !xmlChar(r) || r == utf8.RuneError && width == 1:
			esc = "\uFFFD"
		default:
			i += width
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		i += width
		last = i
	}
	b.WriteString(s[last:])
}

// xmlChar reports whether r may appear in an XML 1.0 document (the Char
// production).
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// Package jsonlex scans JSON text in place, without decoding it: the few
// primitives that vtsync's hot-path decoders (export rows, KV records) use
// on input encoding/json has already validated, or that they check as they go.
package jsonlex

import "encoding/json"

// Unquote decodes a JSON string literal with escapes or invalid UTF-8 (as
// encoding/json does: invalid bytes become U+FFFD).
func Unquote(lit []byte) (string, error) {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", err
	}
	return s, nil
}

// StringEnd returns the index just past the JSON string literal starting
// at b[i], and whether it holds escapes; -1 if it does not end.
func StringEnd(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			i++
		}
	}
	return -1, escaped
}

// ValueEnd returns the index just past the JSON value starting at b[i],
// or -1 if b ends inside it.
func ValueEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			end, _ := StringEnd(b, i)
			if end < 0 || depth == 0 {
				return end
			}
			i = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\r', '\n':
			if depth == 0 {
				return i
			}
		}
	}
	if depth > 0 {
		return -1
	}
	return len(b)
}

// ValueText returns the JSON value starting at b[i], for a message.
func ValueText(b []byte, i int) []byte {
	if end := ValueEnd(b, i); end > i {
		return b[i:end]
	}
	return b[i:]
}

// SkipSpace returns the index of the first byte at or after b[i] that is
// not JSON white space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// Int parses a JSON integer exactly: an optional minus sign and decimal
// digits, no fraction, exponent, quotes or white space, within int64.
func Int(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

package modinput

import (
	"bufio"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// newDecoder returns a strict XML decoder for a protocol document. splunkd
// sends UTF-8, but the SDKs' test documents are UTF-16 (big- or
// little-endian, usually with a byte-order mark) or declare utf-16 while
// being ASCII. The byte-order mark, or the zero byte of a leading '<',
// decides the transcoding; the declared encoding only has to be one we can
// read.
func newDecoder(r io.Reader) *xml.Decoder {
	br := bufio.NewReader(r)
	var src io.Reader = br
	// Peek may return fewer bytes (and an error) for a tiny input; the
	// decoder then reports the real problem.
	b, _ := br.Peek(3)
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		br.Discard(3)
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		br.Discard(2)
		src = &utf16Reader{r: br, order: binary.BigEndian}
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		br.Discard(2)
		src = &utf16Reader{r: br, order: binary.LittleEndian}
	case len(b) >= 2 && b[0] == 0 && b[1] != 0:
		src = &utf16Reader{r: br, order: binary.BigEndian}
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		src = &utf16Reader{r: br, order: binary.LittleEndian}
	}
	d := xml.NewDecoder(src)
	d.CharsetReader = charsetReader
	return d
}

// charsetReader accepts the declared encodings newDecoder has already
// turned into UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-16", "utf-16be", "utf-16le", "utf16", "ucs-2", "us-ascii", "ascii", "utf8":
		return input, nil
	}
	return nil, fmt.Errorf("declared encoding %q is not supported; splunkd sends UTF-8", label)
}

var errOddUTF16 = errors.New("UTF-16 input ends in the middle of a character (odd number of bytes)")

// utf16Reader transcodes UTF-16 to UTF-8. Unpaired surrogates become
// U+FFFD. Once it has produced some output it returns rather than wait for
// more input, so a decoder can stop at the end of the root element while
// the writer keeps the stream open.
type utf16Reader struct {
	r     *bufio.Reader
	order binary.ByteOrder
	err   error
	pend  []byte // encoded bytes that did not fit the caller's buffer
	tmp   [utf8.UTFMax]byte
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := copy(p, u.pend)
	u.pend = u.pend[n:]
	for n < len(p) && u.err == nil {
		if n > 0 && u.r.Buffered() < 2 {
			break
		}
		var r rune
		r, u.err = u.rune()
		if u.err != nil {
			break
		}
		if len(p)-n >= utf8.UTFMax {
			n += utf8.EncodeRune(p[n:], r)
			continue
		}
		k := utf8.EncodeRune(u.tmp[:], r)
		c := copy(p[n:], u.tmp[:k])
		n += c
		u.pend = u.tmp[c:k]
		break
	}
	if n > 0 {
		return n, nil
	}
	return 0, u.err
}

func (u *utf16Reader) rune() (rune, error) {
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = errOddUTF16
		}
		return 0, err
	}
	c := rune(u.order.Uint16(b[:]))
	switch {
	case c < 0xD800 || c >= 0xE000:
		return c, nil
	case c >= 0xDC00: // low surrogate without a high one
		return utf8.RuneError, nil
	}
	// A high surrogate: the next unit should be its low half. A document
	// never ends here, so waiting for two more bytes cannot stall a read
	// that has reached the end of the root element.
	if next, _ := u.r.Peek(2); len(next) == 2 {
		if c2 := rune(u.order.Uint16(next)); c2 >= 0xDC00 && c2 < 0xE000 {
			u.r.Discard(2)
			return utf16.DecodeRune(c, c2), nil
		}
	}
	return utf8.RuneError, nil
}

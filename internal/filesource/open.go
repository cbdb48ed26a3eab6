package filesource

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

// sniffLen is how much of a file's start is checked for being text.
const sniffLen = 8 << 10

var gzipMagic = []byte{0x1f, 0x8b}

// containers are the compressed and archive formats other than gzip, by
// their magic bytes: they are named rather than read as text.
var containers = []struct {
	magic []byte
	name  string
}{
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd-compressed"},
	{[]byte("BZh"), "bzip2-compressed"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, "xz-compressed"},
	{[]byte("PK\x03\x04"), "a zip archive"},
	{[]byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, "a 7z archive"},
}

// textFile is an open input file, decompressed if need be.
type textFile struct {
	io.Reader
	closers []io.Closer
}

func (t *textFile) Close() error {
	var err error
	for i := len(t.closers) - 1; i >= 0; i-- {
		if cerr := t.closers[i].Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// openText opens the file at path (what: "events file", "domains file",
// for messages) to be read as text. gzip-compressed content is
// decompressed, whatever the file's name: it is recognised by its magic
// bytes. Content that is not text (other compressed formats, UTF-16, NUL
// bytes or many control characters in its first 8 KiB) is refused with an
// error naming the file, rather than read as lines that are all rejected.
func openText(path, what string) (*textFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	t := &textFile{closers: []io.Closer{f}}
	br := bufio.NewReaderSize(f, sniffLen)
	if magic, _ := br.Peek(len(gzipMagic)); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("%s %s: starts as gzip but cannot be decompressed: %v", what, path, err)
		}
		t.closers = append(t.closers, zr)
		br = bufio.NewReaderSize(zr, sniffLen)
	}
	t.Reader = br
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		t.Close()
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if why := notText(head); why != "" {
		t.Close()
		return nil, fmt.Errorf("%s %s is not a text file: %s. Give an NDJSON or CSV export or a list of domains, as UTF-8 text, plain or gzip-compressed", what, path, why)
	}
	return t, nil
}

// notText says why head, the start of a file, is not text, or returns "".
func notText(head []byte) string {
	for _, c := range containers {
		if bytes.HasPrefix(head, c.magic) {
			return "it is " + c.name + "; decompress it first (gzip is read as it is)"
		}
	}
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}) {
		return "it is UTF-16 text; save it as UTF-8"
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return fmt.Sprintf("it holds binary data (a NUL byte at offset %d)", i)
	}
	controls := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			controls++
		}
	}
	if controls > 3 && controls*20 > len(head) { // text has next to none; random bytes about 12%
		return fmt.Sprintf("it holds binary data (%d control bytes in its first %d)", controls, len(head))
	}
	return ""
}

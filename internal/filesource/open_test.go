package filesource

import (
	"bytes"
	"compress/gzip"
	"context"
	"github.com/vtsync/vtsync/internal/kind"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func candidates(t *testing.T, src Source) ([]string, error) {
	t.Helper()
	src.Domain = namedKind{name: "domain"}
	var got []string
	err := src.Candidates(context.Background(), func(_ kind.Kind, v string) error { got = append(got, v); return nil })
	return got, err
}

// gzip content is read as what it compresses, recognised by its magic
// bytes whatever the file is called.
func TestGzipIsReadTransparently(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"events.ndjson", "events.csv", "domains.txt"} {
		plain, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		fields := Fields{}
		if name == "events.csv" {
			fields.Domain = "http_host"
		}
		want, err := candidates(t, Source{Path: filepath.Join("testdata", name), Fields: fields})
		if err != nil || len(want) == 0 {
			t.Fatalf("%s: %q, %v", name, want, err)
		}
		// By name (.gz), and by content alone (a gzip file named as plain).
		for _, fname := range []string{name + ".gz", "packed-" + name} {
			path := filepath.Join(dir, fname)
			if err := os.WriteFile(path, gz(t, plain), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := candidates(t, Source{Path: path, Fields: fields})
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %q, %v; want %q", fname, got, err, want)
			}
		}
	}
	if f := FormatOf("x/events.NDJSON.gz"); f != NDJSON {
		t.Errorf("FormatOf(events.NDJSON.gz) = %s", f)
	}
	// A gzip stream cut short is an error naming the file.
	path := filepath.Join(dir, "cut.ndjson.gz")
	full := gz(t, bytes.Repeat([]byte(`{"query":"a.example.com"}`+"\n"), 5000))
	os.WriteFile(path, full[:len(full)/2], 0o600)
	if _, err := candidates(t, Source{Path: path}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated gzip: %v", err)
	}
}

// Content that is not text is refused, naming the file, instead of being
// read as lines that are all rejected.
func TestBinaryContentIsRefused(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 8))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	utf16 := []byte{0xff, 0xfe}
	for _, c := range "example.com\n" {
		utf16 = append(utf16, byte(c), 0)
	}
	cases := map[string][]byte{
		"random":       random,
		"nul":          []byte("example.com\nexample.org\x00\x01\x02\n"),
		"zip":          append([]byte("PK\x03\x04"), random[:100]...),
		"zstd":         append([]byte{0x28, 0xb5, 0x2f, 0xfd}, random[:100]...),
		"utf16":        utf16,
		"gzip of junk": gz(t, random),
		"late nul":     append(bytes.Repeat([]byte("example.com\n"), 1000), 0, '\n'),
	}
	for name, body := range cases {
		for _, ext := range []string{".txt", ".ndjson", ".csv"} {
			if name == "late nul" && ext != ".txt" {
				continue // NDJSON and CSV refuse the line by their syntax
			}
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+ext)
			if err := os.WriteFile(path, body, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := candidates(t, Source{Path: path, Fields: Fields{Domain: "query"}})
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a text file") {
				t.Errorf("%s%s: %d candidates, %v; want it refused as not text, naming the file", name, ext, len(got), err)
			}
		}
	}
	// Text with a few stray control bytes, and Latin-1, is still text.
	path := filepath.Join(dir, "latin1.txt")
	os.WriteFile(path, []byte("caf\xe9.example\nexample.com\x1b[0m\nexample.org\n"), 0o600)
	if got, err := candidates(t, Source{Path: path}); err != nil || len(got) != 3 {
		t.Errorf("latin1: %q, %v", got, err)
	}
}

// With domain_field unset, an events file in which no record has any of
// the default domain fields is an error naming the file and the key to
// set: it would otherwise yield no candidate and look like a quiet run.
func TestNoDefaultDomainField(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"none.ndjson": `{"Host":"a.example.com","User":"x"}` + "\n" + `{"Host":"b.example.com"}` + "\n",
		"none.csv":    "Host,User\na.example.com,x\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o600)
		n := 0
		_, err := Read(context.Background(), path, "", Fields{}, func(Event) error { n++; return nil })
		if err == nil || n != 0 {
			t.Errorf("%s: %d events, %v; want an error", name, n, err)
			continue
		}
		for _, want := range []string{path, "domain_field", "source.file.domain_field", "DestinationHostname", "Host"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v; does not say %q", name, err, want)
			}
		}
	}
	// Some records without the field (other Sysmon event types) are fine.
	path := filepath.Join(dir, "mixed.ndjson")
	os.WriteFile(path, []byte(`{"EventID":1}`+"\n"+`{"EventID":3,"DestinationHostname":"a.example.com"}`+"\n"), 0o600)
	if got, err := candidates(t, Source{Path: path}); err != nil || len(got) != 1 {
		t.Errorf("mixed: %q, %v", got, err)
	}
	// An empty file has no records to tell from: no candidates, no error.
	path = filepath.Join(dir, "empty.ndjson")
	os.WriteFile(path, nil, 0o600)
	if got, err := candidates(t, Source{Path: path}); err != nil || len(got) != 0 {
		t.Errorf("empty: %q, %v", got, err)
	}
}

package modinput

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vtsync/vtsync/internal/logging"
)

// addSeeds seeds f with every conformance XML document in testdata, a
// truncated copy of each, and documents built to break a parser.
func addSeeds(f *testing.F, root string) {
	files, _ := filepath.Glob(filepath.Join(conformanceDir, "*", "modularinput", "*.xml"))
	files = append(files, filepath.Join(conformanceDir, "splunk-otel-collector", "Splunk_TA_otel.inputs.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-1])
	}
	item := "<stanza name=\"vtsync://a\">"
	end := "</stanza>"
	if root == "items" {
		item, end = "<item name=\"vtsync://a\">", "</item>"
	}
	open, closing := "<"+root+">", "</"+root+">"
	doc := func(body string) []byte { return []byte(open + body + closing) }
	hostile := [][]byte{
		nil,
		[]byte(open),
		doc(""),
		doc(item + `<param name="p">v</param>` + end),
		doc(item + `<param_list name="l"><value>a</value><value>b</value></param_list>` + end),
		doc(`<configuration>` + item + `<param name="p">v</param>` + end + `</configuration>`),
		doc(item + end + item + end),
		doc(strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000)),
		doc(item + strings.Repeat("<param name=\"x\">", 5000)),
		[]byte(strings.Repeat("<"+root+">", 10000)),
		doc(`<server_host>` + strings.Repeat("x", 1<<16) + `</server_host>`),
		// Entity tricks.
		[]byte(`<!DOCTYPE ` + root + ` [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>` + open + `<server_host>&c;</server_host>` + closing),
		[]byte(`<!DOCTYPE ` + root + ` [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + open + `<server_host>&x;</server_host>` + closing),
		doc(`<server_host>&#0;</server_host>`),
		doc(`<server_host>&#xD800;&#x110000;&#65;&amp;lt;&lt</server_host>`),
		doc(`<server_host><![CDATA[ ]]> ]]]]><![CDATA[> ]]></server_host>`),
		[]byte(`<?xml version="1.0" encoding="ebcdic"?>` + open + closing),
		[]byte(`<?xml version="1.1"?>` + open + closing),
		[]byte("\uFEFF\uFEFF" + open + closing),
		doc("\xff\xfe\x00"),
		// UTF-16: odd lengths, a high surrogate at the end, NUL.
		utf16BE(open+closing, true)[:7],
		utf16LE(open+closing, true)[:5],
		append(utf16BE(open, true), 0xD8, 0x00),
		append(utf16LE(open, false), 0x00),
		utf16BE(open+"<server_host>\x00</server_host>"+closing, false),
		{0xFE, 0xFF},
		{0xFF},
		{0x00},
	}
	for _, b := range hostile {
		f.Add(b)
	}
}

func FuzzReadDefinition(f *testing.F) {
	addSeeds(f, "input")
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := ReadDefinition(bytes.NewReader(data))
		if err != nil {
			if def != nil {
				t.Fatalf("both a definition and an error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "modinput: input definition: ") {
				t.Fatalf("error without context: %v", err)
			}
		} else {
			for _, s := range def.Stanzas {
				if s.Params == nil || s.Lists == nil {
					t.Fatalf("stanza %q has nil maps", s.Name)
				}
			}
		}
		// How the bytes arrive must not change the result.
		def2, err2 := ReadDefinition(&oneByteReader{data})
		if !reflect.DeepEqual(def, def2) || errString(err) != errString(err2) {
			t.Fatalf("one byte at a time: %+v, %v; whole: %+v, %v", def2, err2, def, err)
		}
	})
}

func FuzzReadValidation(f *testing.F) {
	addSeeds(f, "items")
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ReadValidation(bytes.NewReader(data))
		if err != nil {
			if v != nil {
				t.Fatalf("both a request and an error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "modinput: validation request: ") {
				t.Fatalf("error without context: %v", err)
			}
		} else if v.Params == nil || v.Lists == nil {
			t.Fatalf("item %q has nil maps", v.ItemName)
		}

		var stdout, stderr bytes.Buffer
		switch code := ValidateArguments(bytes.NewReader(data), &stdout, slog.New(logging.NewHandler(&stderr, slog.LevelDebug, nil)), nil); code {
		case 0:
			if err != nil || stdout.Len() != 0 {
				t.Fatalf("exit 0 with read error %v, stdout %q", err, stdout.String())
			}
		case 1:
			n, perr := tree(stdout.Bytes())
			if perr != nil || n.Name != "error" || n.child("message") == nil {
				t.Fatalf("stdout is not a validation error (%v): %q", perr, stdout.String())
			}
		default:
			t.Fatalf("exit code %d", code)
		}
		if strings.Count(stderr.String(), "\n") > 1 {
			t.Fatalf("more than one log line: %q", stderr.String())
		}
		if err == nil && len(v.SessionKey) >= 4 && strings.Contains(stdout.String()+stderr.String(), v.SessionKey) {
			t.Fatalf("session key %q written: %q %q", v.SessionKey, stdout.String(), stderr.String())
		}
	})
}

func FuzzEventWriter(f *testing.F) {
	f.Add("vtsync://main", "This is a test of the emergency broadcast system.", "localhost", int64(1372275124466))
	f.Add("", "", "", int64(0))
	f.Add("a\"b'<c>&", "]]> </data></event></stream> <![CDATA[ &amp; &#0;", "h\r\n", int64(-1))
	f.Add("\x00", "\xff\xfe\x00\x01\x1f\x7f\u0085\u2028\uFFFE\uFFFF\U0010FFFF", "\t", int64(1<<62))
	f.Add("x", "multi\nline\r\nevent\rdata\t", "h", int64(1700000000001))
	f.Fuzz(func(t *testing.T, stanza, data, host string, ms int64) {
		var out bytes.Buffer
		w := NewEventWriter(&out)
		ev := Event{Stanza: stanza, Time: time.UnixMilli(ms), Host: host, Source: data, Data: data}
		for range 2 {
			if err := w.Write(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		stream, err := tree(out.Bytes())
		if err != nil {
			t.Fatalf("stream is not well-formed XML: %v\n%q", err, out.String())
		}
		if stream.Name != "stream" || len(stream.Children) != 2 {
			t.Fatalf("stream shape: %s", stream)
		}
		for _, e := range stream.Children {
			if e.Name != "event" || e.Attr["unbroken"] != "1" || e.child("done") == nil || e.child("data") == nil {
				t.Fatalf("event shape: %s", e)
			}
			if carriesXML(data) && e.child("data").Text != data {
				t.Fatalf("data %q came back as %q", data, e.child("data").Text)
			}
			if carriesXML(stanza) && stanza != "" && e.Attr["stanza"] != stanza {
				t.Fatalf("stanza %q came back as %q", stanza, e.Attr["stanza"])
			}
			if carriesXML(host) && host != "" && e.child("host").Text != host {
				t.Fatalf("host %q came back as %q", host, e.child("host").Text)
			}
		}
	})
}

// carriesXML reports whether XML can carry s unchanged: valid UTF-8 made of
// characters XML 1.0 allows.
func carriesXML(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !xmlChar(r) {
			return false
		}
	}
	return true
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var _ io.Reader = (*oneByteReader)(nil)

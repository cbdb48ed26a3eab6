package appcheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/params"
)

func TestParseConf(t *testing.T) {
	in := "\xef\xbb\xbfglobal = 1\r\n" +
		"# comment\n" +
		"[first]\n" +
		"  a = 1 \n" +
		"b=two words = and more\n" +
		"   # indented comment\n" +
		"c = line one \\\n" +
		"| line two\\\n" +
		"line three\n" +
		"\n" +
		"[]\n" +
		"access = read : [ * ]\n" +
		"[vtsync - a saved search]\n" +
		"empty =\n"
	c, err := ParseConf([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range c.Stanzas {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, "|"); got != "default|first||vtsync - a saved search" {
		t.Fatalf("stanzas %q", got)
	}
	check := func(stanza, key, want string) {
		t.Helper()
		if got, ok := c.Stanza(stanza).Get(key); !ok || got != want {
			t.Errorf("[%s] %s = %q, %v; want %q", stanza, key, got, ok, want)
		}
	}
	check("default", "global", "1")
	check("first", "a", "1")
	check("first", "b", "two words = and more")
	check("first", "c", "line one \n| line two\nline three")
	check("", "access", "read : [ * ]")
	check("vtsync - a saved search", "empty", "")
	if _, ok := c.Stanza("missing").Get("a"); ok {
		t.Error("missing stanza has keys")
	}
	if got := c.Stanza("first").Keys; strings.Join(got, ",") != "a,b,c" {
		t.Errorf("keys %v", got)
	}
}

func TestParseConfErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[a]\nx = 1\n[b]\n[a]\n", "line 4: stanza [a] repeats the one on line 1"},
		{"[a]\nx = 1\nx = 2\n", "line 3: key x repeats in stanza [a]"},
		{"x = 1\n[default]\n", "line 2: stanza [default] repeats"},
		{"[a]\nnot a setting\n", "line 2:"},
		{"[a\nx = 1\n", "line 1: stanza header"},
		{"[a]\n= 1\n", "line 2:"},
		{"[a]\nsome key = 1\n", "line 2:"},
	} {
		_, err := ParseConf([]byte(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConf(%q) = %v; want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseSpecDocs(t *testing.T) {
	c, err := ParseSpec(InputsSpec("vtsync", params.Args()))
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stanza("vtsync://<name>")
	if st == nil || len(st.Keys) != len(params.Args()) {
		t.Fatalf("spec stanza %+v", st)
	}
	for i, a := range params.Args() {
		if st.Keys[i] != a.Name || st.Values[a.Name] != "<value>" {
			t.Errorf("key %d = %s = %q; want %s = <value>", i, st.Keys[i], st.Values[a.Name], a.Name)
		}
		docs := st.Docs[a.Name]
		if len(docs) < 2 || docs[0] != a.Description {
			t.Errorf("%s docs %q", a.Name, docs)
		}
	}
	if got := st.Docs["api_key"]; got[len(got)-1] != "Default: (none)" {
		t.Errorf("api_key default line %q", got[len(got)-1])
	}
	// A ".spec" doc line is a syntax error in a .conf file.
	if _, err := ParseConf([]byte("[a]\nx = 1\n* doc\n")); err == nil {
		t.Error("ParseConf accepted a * line")
	}
}

// Every shipped .conf file parses (Check parses them too; this names them).
func TestShippedConfsParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(appDir(t), "default", "*.conf"))
	files = append(files, filepath.Join(appDir(t), "metadata", "default.meta"))
	if len(files) < 8 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConf(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func FuzzParseConf(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "splunk_app", "vtsync", "default", "*.conf"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("[a]\nx = \\\n"))
	f.Add([]byte("\\\n\\\n[\n]"))
	f.Add([]byte("[]\n=\n[[]]\nk=v\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) (*Conf, error){ParseConf, ParseSpec} {
			c, err := parse(data)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Line < 1 {
					t.Fatalf("error %v is not a ParseError with a line", err)
				}
				continue
			}
			seen := map[string]bool{}
			for _, s := range c.Stanzas {
				if seen[s.Name] || c.Stanza(s.Name) != s {
					t.Fatalf("stanza %q repeated or not indexed", s.Name)
				}
				seen[s.Name] = true
				if len(s.Keys) != len(s.Values) {
					t.Fatalf("stanza %q: %d keys, %d values", s.Name, len(s.Keys), len(s.Values))
				}
			}
		}
	})
}

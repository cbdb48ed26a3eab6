package modinput

import (
	"bytes"
	"encoding/binary"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// twoInputs is the content of the SDKs' conf_with_2_inputs.xml; app names
// are set per copy.
func twoInputs(appA, appB, checkpointDir string) *Definition {
	return &Definition{
		ServerHost:    "tiny",
		ServerURI:     "https://127.0.0.1:8089",
		SessionKey:    "123102983109283019283",
		CheckpointDir: checkpointDir,
		Stanzas: []Stanza{
			{
				Name: "foobar://aaa", App: appA,
				Params: map[string]string{"param1": "value1", "param2": "value2", "disabled": "0", "index": "default"},
				Lists:  map[string][]string{},
			},
			{
				Name: "foobar://bbb", App: appB,
				Params: map[string]string{"param1": "value11", "param2": "value22", "disabled": "0", "index": "default"},
				Lists: map[string][]string{
					"multiValue":  {"value1", "value2"},
					"multiValue2": {"value3", "value4"},
				},
			},
		},
	}
}

func TestReadDefinitionFixtures(t *testing.T) {
	tests := []struct {
		file string
		want *Definition
	}{
		// UTF-16BE with BOM, app attributes.
		{"splunk-sdk-python/modularinput/conf_with_2_inputs.xml", twoInputs("search", "my_app", "/some/dir")},
		// UTF-16BE, no app attribute (older splunkd).
		{"splunk-sdk-java/modularinput/conf_with_2_inputs.xml", twoInputs("", "", "/some/dir")},
		// Declares utf-16, bytes are ASCII with CRLF.
		{"splunk-sdk-javascript/modularinput/conf_with_2_inputs.xml", twoInputs("", "", "/some/dir")},
		// UTF-16LE with BOM.
		{"splunk-sdk-csharp/modularinput/InputDefinition.xml", twoInputs("", "", "/opt/splunk/var/lib/splunk/modinputs")},
		{"splunk-sdk-python/modularinput/conf_with_0_inputs.xml", &Definition{
			ServerHost: "tiny", ServerURI: "https://127.0.0.1:8089",
			SessionKey: "123102983109283019283", CheckpointDir: "/some/dir",
		}},
		{"splunk-sdk-javascript/modularinput/conf_with_0_inputs.xml", &Definition{
			ServerHost: "tiny", ServerURI: "https://127.0.0.1:8089",
			SessionKey: "123102983109283019283", CheckpointDir: "/some/dir",
		}},
		// Real splunkd output (print-modinput-config), UTF-8.
		{"splunk-otel-collector/Splunk_TA_otel.inputs.xml", &Definition{
			ServerHost:    "R91395DV",
			ServerURI:     "https://127.0.0.1:8089",
			SessionKey:    "_fake_session_key",
			CheckpointDir: `C:\Program Files\Splunk\var\lib\splunk\modinputs\Splunk_TA_otel`,
			Stanzas: []Stanza{{
				Name: "Splunk_TA_otel://Splunk_TA_otel", App: "Splunk_TA_otel",
				Params: map[string]string{
					"disabled":                 "false",
					"host":                     "$decideOnStartup",
					"index":                    "_internal",
					"interval":                 "60",
					"sourcetype":               "Splunk_TA_otel",
					"splunk_access_token_file": "$SPLUNK_OTEL_TA_HOME/local/access_token",
					"splunk_api_url":           "https://api.us0.observability.splunkcloud.com",
					"splunk_bundle_dir":        "$SPLUNK_OTEL_TA_PLATFORM_HOME/bin/agent-bundle",
					"splunk_collectd_dir":      "$SPLUNK_OTEL_TA_PLATFORM_HOME/bin/agent-bundle/run/collectd",
					"splunk_config":            "$SPLUNK_OTEL_TA_HOME/configs/ta-agent-config.yaml",
					"splunk_ingest_url":        "https://ingest.us0.observability.splunkcloud.com",
					"splunk_listen_interface":  "localhost",
					"splunk_realm":             "us0",
					"splunk_trace_url":         "https://ingest.us0.observability.splunkcloud.com/v2/trace",
					"start_by_shell":           "false",
				},
				Lists: map[string][]string{},
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ReadDefinition(bytes.NewReader(fixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadDefinitionFiveInputs(t *testing.T) {
	def, err := ReadDefinition(bytes.NewReader(fixture(t, "splunk-sdk-javascript/modularinput/conf_with_5_inputs.xml")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range def.Stanzas {
		names = append(names, s.InputName())
	}
	if want := []string{"aaa", "bbb", "ccc", "ddd", "eee"}; !reflect.DeepEqual(names, want) {
		t.Errorf("inputs %v, want %v", names, want)
	}
	if got := def.Stanzas[3].Lists["multiValue2"]; !reflect.DeepEqual(got, []string{"value3", "value4"}) {
		t.Errorf("ddd multiValue2 = %v", got)
	}
}

func TestReadDefinitionInvalidStanza(t *testing.T) {
	for _, file := range []string{
		"splunk-sdk-python/modularinput/conf_with_invalid_inputs.xml",
		"splunk-sdk-java/modularinput/conf_with_invalid_inputs.xml",
		"splunk-sdk-javascript/modularinput/conf_with_invalid_inputs.xml",
	} {
		t.Run(file, func(t *testing.T) {
			def, err := ReadDefinition(bytes.NewReader(fixture(t, file)))
			if err == nil {
				t.Fatalf("no error; got %+v", def)
			}
			for _, s := range []string{"<editor>", `<stanza name="foobar://aaa">`, "line 9"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func TestReadDefinitionShapes(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	tests := []struct {
		name string
		doc  string
		want *Definition
	}{
		{
			name: "any element order, unknown elements and attributes ignored",
			doc: head + `<input xmlns="urn:x" version="2">
  <configuration>
    <stanza name="vtsync://main" app="vtsync" extra="1">
      <param name="search" other="x">search index=dns | head 1</param>
      <!-- a comment -->
      <param_list name="tags"><value>a</value><value></value><value>c</value></param_list>
      <param name="empty"/>
    </stanza>
  </configuration>
  <future_element><nested deep="1"><x/></nested></future_element>
  <checkpoint_dir>/cp</checkpoint_dir>
  <session_key>k</session_key>
  <server_uri>https://127.0.0.1:8089</server_uri>
  <server_host>sh1</server_host>
</input>`,
			want: &Definition{
				ServerHost: "sh1", ServerURI: "https://127.0.0.1:8089", SessionKey: "k", CheckpointDir: "/cp",
				Stanzas: []Stanza{{
					Name: "vtsync://main", App: "vtsync",
					Params: map[string]string{"search": "search index=dns | head 1", "empty": ""},
					Lists:  map[string][]string{"tags": {"a", "", "c"}},
				}},
			},
		},
		{
			name: "entities, character references, CDATA and whitespace are kept",
			doc: `<input><configuration><stanza name="vtsync://x">` +
				`<param name="search">| tstats count where x&lt;3 &amp; y&gt;"a" &#233;&#x1F600;</param>` +
				`<param name="s2"><![CDATA[<raw> & stuff]]></param>` +
				`<param name="s3">  two  lines` + "\n" + `</param>` +
				`</stanza></configuration></input>`,
			want: &Definition{Stanzas: []Stanza{{
				Name: "vtsync://x",
				Params: map[string]string{
					"search": `| tstats count where x<3 & y>"a" é😀`,
					"s2":     "<raw> & stuff",
					"s3":     "  two  lines\n",
				},
				Lists: map[string][]string{},
			}}},
		},
		{
			name: "UTF-8 byte-order mark",
			doc:  "\uFEFF" + head + `<input><server_host>h</server_host></input>`,
			want: &Definition{ServerHost: "h"},
		},
		{
			name: "empty configuration",
			doc:  `<input><configuration></configuration></input>`,
			want: &Definition{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadDefinition(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadDefinitionErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "the document is empty; expected <input>"},
		{"whitespace only", " \n", "the document is empty"},
		{"wrong root", `<items><item name="a"/></items>`, "root element is <items>; expected <input>"},
		{"truncated", `<input><server_host>tiny</server_host><configuration><stanza name="a://b">`, "unexpected EOF"},
		{"truncated in text", `<input><server_host>ti`, "unexpected EOF"},
		{"mismatched tags", `<input><server_host>x</server_uri></input>`, "syntax error"},
		{"element in metadata", `<input><session_key>a<b/></session_key></input>`, "unexpected <b> inside <session_key>"},
		{"unknown child of configuration", `<input><configuration><input_stanza name="x"/></configuration></input>`, "unexpected <input_stanza> in <configuration>"},
		{"stanza without name", `<input><configuration><stanza app="x"/></configuration></input>`, "<stanza> has no name attribute"},
		{"param without name", `<input><configuration><stanza name="a://b"><param>v</param></stanza></configuration></input>`, "<param> has no name attribute"},
		{"param with element", `<input><configuration><stanza name="a://b"><param name="p"><x/></param></stanza></configuration></input>`, "unexpected <x> inside <param>"},
		{"param_list with param", `<input><configuration><stanza name="a://b"><param_list name="l"><param name="v"/></param_list></stanza></configuration></input>`, `unexpected <param> in <param_list name="l">`},
		{"undefined entity", `<!DOCTYPE input [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><input><server_host>&xxe;</server_host></input>`, "invalid character entity &xxe;"},
		{"unsupported encoding", `<?xml version="1.0" encoding="iso-8859-1"?><input/>`, `declared encoding "iso-8859-1" is not supported`},
		{"NUL character", "<input><server_host>a\x00b</server_host></input>", "illegal character"},
		{"odd UTF-16", string(utf16BE("<input></input>", true)[:9]), "odd number of bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := ReadDefinition(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("no error; got %+v", def)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "modinput: input definition: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func utf16BE(s string, bom bool) []byte { return encodeUTF16(s, binary.BigEndian, bom) }
func utf16LE(s string, bom bool) []byte { return encodeUTF16(s, binary.LittleEndian, bom) }

func encodeUTF16(s string, order binary.AppendByteOrder, bom bool) []byte {
	var b []byte
	if bom {
		b = order.AppendUint16(b, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return b
}

func TestReadDefinitionUTF16(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="utf-16"?><input><configuration><stanza name="vtsync://ü"><param name="p">😀 x</param></stanza></configuration></input>`
	want := &Definition{Stanzas: []Stanza{{
		Name: "vtsync://ü", Params: map[string]string{"p": "😀 x"}, Lists: map[string][]string{},
	}}}
	for name, b := range map[string][]byte{
		"BE with BOM":    utf16BE(doc, true),
		"LE with BOM":    utf16LE(doc, true),
		"BE without BOM": utf16BE(doc, false),
		"LE without BOM": utf16LE(doc, false),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ReadDefinition(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v", got)
			}
			// A reader that returns one byte at a time exercises the
			// transcoder's partial reads.
			got, err = ReadDefinition(&oneByteReader{b})
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("one byte at a time: %+v, %v", got, err)
			}
		})
	}
	t.Run("unpaired surrogates become U+FFFD", func(t *testing.T) {
		b := utf16BE(`<input><server_host>`, true)
		b = binary.BigEndian.AppendUint16(b, 0xD800) // high surrogate, then 'a'
		b = binary.BigEndian.AppendUint16(b, 'a')
		b = binary.BigEndian.AppendUint16(b, 0xDC00) // lone low surrogate
		b = append(b, utf16BE(`</server_host></input>`, false)...)
		got, err := ReadDefinition(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got.ServerHost != "\uFFFDa\uFFFD" {
			t.Errorf("server_host = %q", got.ServerHost)
		}
	})
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

// splunkd may keep stdin open after the document: the reader must return
// at the end of the root element.
func TestReadStopsAtEndOfRoot(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<input><server_host>h</server_host><configuration><stanza name="vtsync://a"><param name="p">v</param></stanza></configuration></input>
`
	val := `<items><item name="vtsync://a"><param name="p">v</param></item></items>`
	cases := []struct {
		name string
		data []byte
		read func(io.Reader) error
	}{
		{"definition UTF-8", []byte(doc), func(r io.Reader) error { _, err := ReadDefinition(r); return err }},
		{"definition UTF-16", utf16LE(doc, true), func(r io.Reader) error { _, err := ReadDefinition(r); return err }},
		{"validation UTF-8", []byte(val), func(r io.Reader) error { _, err := ReadValidation(r); return err }},
		{"validation UTF-16", utf16BE(val, true), func(r io.Reader) error { _, err := ReadValidation(r); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pr.Close() })
			go pw.Write(c.data) // never closed: stdin stays open
			done := make(chan error, 1)
			go func() { done <- c.read(pr) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second): // safety net only
				t.Fatal("reader waited for EOF after the root element")
			}
		})
	}
}

func TestStanzaNames(t *testing.T) {
	tests := []struct{ name, scheme, input string }{
		{"vtsync://main", "vtsync", "main"},
		{"foobar://a://b", "foobar", "a://b"},
		{"plain", "", "plain"},
		{"", "", ""},
	}
	for _, tt := range tests {
		s := Stanza{Name: tt.name}
		if s.Scheme() != tt.scheme || s.InputName() != tt.input {
			t.Errorf("%q: Scheme %q InputName %q, want %q %q", tt.name, s.Scheme(), s.InputName(), tt.scheme, tt.input)
		}
		if v := (Validation{ItemName: tt.name}); v.InputName() != tt.input {
			t.Errorf("Validation %q: InputName %q, want %q", tt.name, v.InputName(), tt.input)
		}
	}
}

func TestReadValidationFixtures(t *testing.T) {
	want := &Validation{
		ServerHost:    "tiny",
		ServerURI:     "https://127.0.0.1:8089",
		SessionKey:    "123102983109283019283",
		CheckpointDir: "/opt/splunk/var/lib/splunk/modinputs",
		ItemName:      "aaa",
		Params:        map[string]string{"param1": "value1", "param2": "value2", "disabled": "0", "index": "default"},
		Lists: map[string][]string{
			"multiValue":  {"value1", "value2"},
			"multiValue2": {"value3", "value4"},
		},
	}
	for _, file := range []string{
		"splunk-sdk-python/modularinput/validation.xml",     // UTF-16BE
		"splunk-sdk-javascript/modularinput/validation.xml", // declares utf-16, ASCII
		"splunk-sdk-csharp/modularinput/ValidationItems.xml",
	} {
		t.Run(file, func(t *testing.T) {
			got, err := ReadValidation(bytes.NewReader(fixture(t, file)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestReadValidationErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"no item", `<items><server_host>h</server_host></items>`, "<items> holds no <item>"},
		{"two items", `<items><item name="a"/><item name="b"/></items>`, "more than one <item>"},
		{"item without name", `<items><item><param name="p">v</param></item></items>`, "<item> has no name attribute"},
		{"unknown tag in item", `<items><item name="a"><editor name="p">v</editor></item></items>`, `unexpected <editor> in <item name="a">`},
		{"wrong root", `<input/>`, "root element is <input>; expected <items>"},
		{"truncated", `<items><item name="a"><param name="p">v`, "unexpected EOF"},
		{"empty", ``, "the document is empty; expected <items>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ReadValidation(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("no error; got %+v", v)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "modinput: validation request: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadValidationSchemePrefixedName(t *testing.T) {
	v, err := ReadValidation(strings.NewReader(`<items><item name="vtsync://aaa"><param name="search">| x</param></item></items>`))
	if err != nil {
		t.Fatal(err)
	}
	if v.ItemName != "vtsync://aaa" || v.InputName() != "aaa" || v.Params["search"] != "| x" {
		t.Errorf("got %+v", v)
	}
}

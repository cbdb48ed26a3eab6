package splunkd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vtsync/vtsync/internal/kind"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/splunktest"
)

// readFixture returns a recorded splunkd answer from testdata (see
// testdata/README.md for where each comes from).
func readFixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func collect(t testing.TB, r io.Reader) ([]map[string][]string, error) {
	t.Helper()
	var rows []map[string][]string
	err := readExport(r, func(m map[string][]string) error {
		rows = append(rows, copyRow(m)) // m is reused for the next row
		return nil
	}, nil)
	return rows, err
}

func copyRow(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

func column(rows []map[string][]string, field string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r[field], "|"))
	}
	return out
}

// The recorded export stream starts with a BOM and re-sends three preview
// tables before the final one; only the final five rows count.
func TestReadExportJavaFixture(t *testing.T) {
	raw := readFixture(t, "splunk-sdk-java", "search_results", "resultsExport.json")
	if !bytes.HasPrefix(raw, bom) {
		t.Fatal("fixture lost its BOM")
	}
	rows, err := collect(t, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	wantHosts := []string{"172.16.35.130", "ANDY-PC", "Andy-PC", "andy-pc", "three.four.com"}
	wantCounts := []string{"16", "29732", "36185", "135", "35994"}
	if got := column(rows, "host"); !reflect.DeepEqual(got, wantHosts) {
		t.Errorf("hosts = %q, want %q", got, wantHosts)
	}
	if got := column(rows, "count"); !reflect.DeepEqual(got, wantCounts) {
		t.Errorf("counts = %q, want %q", got, wantCounts)
	}
}

// Multi-value fields: arrays (current splunkd) and "\n"-joined strings
// (Splunk 4/5) read the same; also the Splunk 4 top-level array and the
// oneshot bodies with leading blank lines.
func TestReadExportMultiValueFixtures(t *testing.T) {
	for _, name := range []string{
		"resultsMV5.json", "resultsMVFuture.json", "resultsMV4.json",
		"resultsMVOneshot4.json", "resultsMVOneshot5.json", "resultsMVOneshotFuture.json",
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := collect(t, bytes.NewReader(readFixture(t, "splunk-sdk-java", "search_results", name)))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			if got, want := rows[0]["_si"], []string{"dfoster-mbp17.local", "_internal"}; !reflect.DeepEqual(got, want) {
				t.Errorf("_si = %q, want %q", got, want)
			}
			if got := rows[0]["host"]; !reflect.DeepEqual(got, []string{"dfoster-mbp17.local"}) {
				t.Errorf("host = %q", got)
			}
		})
	}
	rows, err := collect(t, bytes.NewReader(readFixture(t, "splunk-sdk-java", "search_results", "results5.json")))
	if err != nil {
		t.Fatal(err)
	}
	if got := column(rows, "series"); !reflect.DeepEqual(got, []string{"twitter", "splunkd", "splunkd_access"}) {
		t.Errorf("results5 series = %q", got)
	}
}

// The recorded XML export that ends in a FATAL message after its results.
func TestReadExportXMLFailure(t *testing.T) {
	raw := readFixture(t, "splunk-sdk-csharp-pcl", "client_xml", "Service.ExportSearchResults-failure.xml")
	_, err := collect(t, bytes.NewReader(raw))
	var e *Error
	if !errors.As(err, &e) || !e.InBand {
		t.Fatalf("err = %v, want an in-band *Error", err)
	}
	if !strings.Contains(err.Error(), "JournalSliceDirectory: Cannot seek to 0") {
		t.Errorf("error %q lacks the FATAL text", err)
	}
}

func TestReadExportStreamShapes(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []string // host column
		wantErr string
	}{
		{"empty body", "", nil, ""},
		{"blank lines", "\n\r\n{\"preview\":false,\"result\":{\"host\":\"a\"}}\n\n{\"preview\":false,\"result\":{\"host\":\"b\"}}\n", []string{"a", "b"}, ""},
		{"results array", `{"preview":false,"results":[{"host":"a"},{"host":["b","c"]}]}`, []string{"a", "b|c"}, ""},
		{"preview inherited by later lines", `{"preview":true,"result":{"host":"p"}}` + "\n" + `{"result":{"host":"p2"}}` + "\n" + `{"preview":false,"result":{"host":"f"}}`, []string{"f"}, ""},
		{"info messages ignored", `{"messages":[{"type":"INFO","text":"hello"}]}` + "\n" + `{"preview":false,"result":{"host":"a"}}`, []string{"a"}, ""},
		{"error message", `{"preview":false,"result":{"host":"a"}}` + "\n" + `{"messages":[{"type":"ERROR","text":"Error in 'stats' command"}]}`, nil, "Error in 'stats' command"},
		{"cut mid-line", `{"preview":false,"result":{"host":"a"}}` + "\n" + `{"preview":false,"res`, nil, "middle of a record"},
		{"garbage", `{"preview":false,"result":{"host":"a"}} nonsense`, nil, "malformed JSON"},
		{"object value", `{"preview":false,"result":{"host":{"x":1}}}`, nil, "not a string"},
		{"xml without messages", `<results preview='0'></results>`, nil, "XML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := collect(t, strings.NewReader(c.in))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := column(rows, "host"); !reflect.DeepEqual(got, c.want) {
				t.Errorf("hosts = %q, want %q", got, c.want)
			}
		})
	}
}

// The row map is reused: a row never shows fields of an earlier row, a
// line without result delivers nothing, and the strings handed over stay
// valid after the callback.
func TestReadExportReusedRowIsFresh(t *testing.T) {
	in := strings.Join([]string{
		`{"preview":false,"result":{"a":"1","b":["x","y"]}}`,
		`{"preview":false,"result":{"a":"2"}}`,
		`{"messages":[{"type":"INFO","text":"no row here"}]}`,
		`{"preview":false,"results":[{"c":"3"},null,{"a":"\u00e9\nz","b":[]}]}`,
		`{"preview":false}`,
		`{"result":{}}`,
		`{"preview":false,"result":{"a":null,"d":[null,"w"]}}`,
	}, "\n")
	var rows []map[string][]string
	var kept []string
	err := readExport(strings.NewReader(in), func(m map[string][]string) error {
		rows = append(rows, copyRow(m))
		for _, v := range m {
			kept = append(kept, v...)
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string][]string{
		{"a": {"1"}, "b": {"x", "y"}},
		{"a": {"2"}},
		{"c": {"3"}},
		{"a": {"é", "z"}, "b": {}},
		{},
		{"a": nil, "d": {"", "w"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %q\nwant %q", rows, want)
	}
	slices.Sort(kept)
	if want := []string{"", "1", "2", "3", "w", "x", "y", "z", "é"}; !reflect.DeepEqual(kept, want) {
		t.Errorf("strings kept from the callbacks = %q, want %q", kept, want)
	}
}

func TestReadExportStopsOnRowError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := readExport(strings.NewReader(`{"preview":false,"result":{"a":"1"}}`+"\n"+`{"preview":false,"result":{"a":"2"}}`),
		func(map[string][]string) error { n++; return stop }, nil)
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err = %v after %d rows, want stop after 1", err, n)
	}
}

func newClient(t testing.TB, s *splunktest.Server, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: s.URL(), SessionKey: s.SessionKey(), RetryBase: time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExportServesRecordedStream(t *testing.T) {
	raw := readFixture(t, "splunk-sdk-java", "search_results", "resultsExport.json")
	s := splunktest.New(t, splunktest.WithExportRaw(raw))
	c := newClient(t, s)
	var hosts []string
	err := c.Export(context.Background(), "index=_internal | stats count by host", "-24h", "now", func(m map[string][]string) error {
		hosts = append(hosts, m["host"]...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"172.16.35.130", "ANDY-PC", "Andy-PC", "andy-pc", "three.four.com"}; !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts = %q, want %q", hosts, want)
	}
	ex := s.Exports()
	if len(ex) != 1 {
		t.Fatalf("%d export requests, want 1", len(ex))
	}
	if ex[0].Search != "search index=_internal | stats count by host" || ex[0].EarliestTime != "-24h" || ex[0].LatestTime != "now" || ex[0].App != DefaultApp {
		t.Errorf("splunkd received %+v", ex[0])
	}
}

func TestExportPreviewTablesSkipped(t *testing.T) {
	s := splunktest.New(t, splunktest.WithExportPreview(), splunktest.WithExportRows(
		map[string]any{"domain": "a.example"},
		map[string]any{"domain": []string{"b.example", "c.example"}},
		map[string]any{"domain": "d.example\ne.example"},
	))
	c := newClient(t, s)
	var got []string
	err := c.Export(context.Background(), "| inputlookup x", "", "", func(m map[string][]string) error {
		got = append(got, m["domain"]...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.example", "b.example", "c.example", "d.example", "e.example"}; !reflect.DeepEqual(got, want) {
		t.Errorf("values = %q, want %q", got, want)
	}
	if f := s.Exports()[0].Form; f.Has("earliest_time") || f.Has("latest_time") {
		t.Errorf("empty time bounds were sent: %v", f)
	}
}

func TestExportInBandFatal(t *testing.T) {
	s := splunktest.New(t, splunktest.WithExportRows(map[string]any{"domain": "a.example"}),
		splunktest.WithExportFatal("JournalSliceDirectory: Cannot seek to 0"))
	c := newClient(t, s)
	rows := 0
	err := c.Export(context.Background(), "search x", "", "", func(map[string][]string) error { rows++; return nil })
	var e *Error
	if !errors.As(err, &e) || !e.InBand || e.Status != http.StatusOK {
		t.Fatalf("err = %#v, want in-band *Error", err)
	}
	if !strings.Contains(err.Error(), "JournalSliceDirectory: Cannot seek to 0") || !strings.Contains(err.Error(), "search/jobs/export") {
		t.Errorf("error %q lacks the message or the endpoint", err)
	}
	if rows != 1 {
		t.Errorf("%d rows before the failure, want 1", rows)
	}
}

func TestExportCutMidLine(t *testing.T) {
	s := splunktest.New(t, splunktest.WithExportCut(), splunktest.WithExportRows(
		map[string]any{"domain": "a.example"}, map[string]any{"domain": "b.example"}))
	c := newClient(t, s)
	rows := 0
	err := c.Export(context.Background(), "search x", "", "", func(map[string][]string) error { rows++; return nil })
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("err = %v, want an incomplete-stream error", err)
	}
	if rows != 1 {
		t.Errorf("%d rows, want 1 (the cut row must not be delivered)", rows)
	}
}

func TestExportSearchPrefix(t *testing.T) {
	s := splunktest.New(t)
	// splunkd itself refuses SPL that does not start with "search " or "|".
	form := url.Values{"search": {"index=main foo"}, "output_mode": {"json"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/servicesNS/nobody/vtsync/search/jobs/export", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Splunk "+s.SessionKey())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `Unknown search command 'index'.`) {
		t.Fatalf("fake answered %d %s", resp.StatusCode, body)
	}

	c := newClient(t, s)
	noop := func(map[string][]string) error { return nil }
	if err := c.Export(context.Background(), "index=main foo", "", "", noop); err != nil {
		t.Fatal(err)
	}
	if got := s.Exports()[0].Search; got != "search index=main foo" {
		t.Errorf("sent %q, want the search prefix added", got)
	}
	// A leading macro cannot be prefixed safely: refused before any request.
	err = c.Export(context.Background(), "`vtsync_candidates`", "", "", noop)
	var pe *params.Error
	if !errors.As(err, &pe) || pe.Param != "search" {
		t.Fatalf("err = %v, want a params.Error for search", err)
	}
	if n := s.Count("export"); n != 1 {
		t.Errorf("%d export requests, want 1", n)
	}
}

// splunkd's HTTP 400 about a time bound must send the admin to that
// parameter, not to the search.
func TestExportRefusalNamesTheParameter(t *testing.T) {
	fake := newClient(t, splunktest.New(t, splunktest.WithExportRows(map[string]any{"domain": "a.example"})))
	// The fake runs any search it can start; a parse error comes from a
	// stand-in answering as splunkd does.
	parseError := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"messages":[{"type":"FATAL","text":"Error in 'search' command: Unable to parse the search: Unbalanced parentheses."}]}`))
	}))
	defer parseError.Close()
	standIn, err := New(Config{BaseURL: parseError.URL, SessionKey: "stand-in-session-key"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		c                        *Client
		search, earliest, latest string
		want, notWant            []string
	}{
		{fake, "search x", "-20x", "now", []string{"Invalid earliest_time.", "check the earliest_time (-20x) parameter"}, []string{"search parameter", "latest_time"}},
		{fake, "search x", "-20m", "-5y@q+x", []string{"Invalid latest_time.", "check the latest_time (-5y@q+x) parameter"}, []string{"search parameter", "earliest_time ("}},
		{standIn, "search (x", "-20m", "now", []string{"Unbalanced parentheses.", "check the search parameter (search (x)"}, []string{"earliest_time", "latest_time"}},
	}
	for _, c := range cases {
		err := c.c.Export(context.Background(), c.search, c.earliest, c.latest, func(map[string][]string) error { return nil })
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			t.Errorf("%s %s %s: err = %v, want HTTP 400 *Error", c.search, c.earliest, c.latest, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(err.Error(), w) {
				t.Errorf("error %q should not mention %q", err, w)
			}
		}
	}
	// Both bounds named by splunkd: both are named.
	e := &Error{Status: http.StatusBadRequest, Messages: []Message{{"FATAL", "Invalid earliest_time."}, {"FATAL", "Invalid latest_time."}}}
	if h := refusalHint(e, "search x", "a", "b"); !strings.Contains(h, "earliest_time (a) and the latest_time (b)") {
		t.Errorf("hint %q does not name both bounds", h)
	}
}

func TestSearchSource(t *testing.T) {
	s := splunktest.New(t, splunktest.WithExportRows(
		map[string]any{"ut_domain": "a.example", "count": "3"},
		map[string]any{"count": "1"},
		map[string]any{"ut_domain": []string{"b.example", " ", "c.example"}},
	))
	src := &SearchSource{Client: newClient(t, s), Search: "| tstats count", EarliestTime: "-20m", LatestTime: "now", Fields: domainField("ut_domain")}
	var got []string
	if err := src.Candidates(context.Background(), func(_ kind.Kind, v string) error { got = append(got, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.example", "b.example", "c.example"}; !reflect.DeepEqual(got, want) {
		t.Errorf("emitted %q, want %q", got, want)
	}

	stop := errors.New("full")
	if err := src.Candidates(context.Background(), func(kind.Kind, string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("emit error: got %v", err)
	}

	src.Fields = domainField("domain")
	err := src.Candidates(context.Background(), func(kind.Kind, string) error { return nil })
	var pe *params.Error
	if !errors.As(err, &pe) || pe.Param != "domain_field" || !strings.Contains(err.Error(), `"domain"`) {
		t.Errorf("missing field: err = %v, want a domain_field error", err)
	}
}

// ipKind stands for the IP kind: the source only passes it along.
type ipKind struct{ kind.Kind }

func (ipKind) Name() string { return "ip" }

// One search feeds several kinds: each row gives each configured field's
// values to that field's kind; a row may lack some fields, and only a
// search whose rows carry none of them is an error, naming every field.
func TestSearchSourceSeveralKinds(t *testing.T) {
	s := splunktest.New(t, splunktest.WithExportRows(
		map[string]any{"ut_domain": "a.example", "dest_ip": "8.8.8.8"},
		map[string]any{"dest_ip": []string{"1.1.1.1", "9.9.9.9"}},
		map[string]any{"ut_domain": "b.example"},
		map[string]any{"count": "1"},
	))
	fields := append(domainField("ut_domain"), Field{Name: "dest_ip", Param: "ip_field", Kind: ipKind{}})
	src := &SearchSource{Client: newClient(t, s), Search: "| tstats count", Fields: fields}
	var got []string
	if err := src.Candidates(context.Background(), func(k kind.Kind, v string) error { got = append(got, k.Name()+":"+v); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"domain:a.example", "ip:8.8.8.8", "ip:1.1.1.1", "ip:9.9.9.9", "domain:b.example"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("emitted %q, want %q", got, want)
	}

	src.Fields = []Field{{Name: "src_ip", Param: "ip_field", Kind: ipKind{}}, {Name: "hash", Param: "hash_field", Kind: ipKind{}}}
	err := src.Candidates(context.Background(), func(kind.Kind, string) error { return nil })
	var pe *params.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Param, "ip_field") || !strings.Contains(pe.Param, "hash_field") || !strings.Contains(err.Error(), "nothing to look up") {
		t.Errorf("no configured field in any row: err = %v, want an error naming ip_field and hash_field", err)
	}
	// The run warns of it rather than failing (pipeline.Source).
	var empty interface{ NothingToLookUp() bool }
	if !errors.As(err, &empty) || !empty.NothingToLookUp() {
		t.Errorf("no configured field in any row: err = %#v, want one that says it yields nothing to look up", err)
	}
	src.Fields = domainField("domain")
	if err := src.Candidates(context.Background(), func(kind.Kind, string) error { return nil }); !errors.As(err, &empty) || !strings.Contains(err.Error(), "domain_field") {
		t.Errorf("the one configured field in no row: err = %v, want one that says it yields nothing to look up, naming domain_field", err)
	}
}

func FuzzExportReader(f *testing.F) {
	dir := "testdata"
	for _, p := range []string{
		"splunk-sdk-java/search_results/resultsExport.json",
		"splunk-sdk-java/search_results/resultsMV5.json",
		"splunk-sdk-java/search_results/resultsMVFuture.json",
		"splunk-sdk-java/search_results/resultsMV4.json",
		"splunk-sdk-java/search_results/resultsMVOneshot5.json",
		"splunk-sdk-csharp-pcl/client_xml/Service.ExportSearchResults-failure.xml",
	} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "\xef\xbb\xbf", "\xef\xbb", "[", "[]", "[{}]x", "]", "{", "}", "null", "[null]",
		`{"preview":false,"result":null}`,
		`{"preview":false,"result":{"a":null,"b":[null],"c":["x",1]}}`,
		`{"preview":"yes","result":{"a":"1"}}`,
		`{"preview":false,"results":[null,{"a":"\n\n"}]}`,
		`{"messages":[{"type":"FATAL"}]}`, `{"messages":null}`, `{"messages":[null]}`,
		`{"preview":false,"result":{"a":"1"}}{"preview":false,"result":{"a":"2"}}`,
		"<response><messages><msg type=\"ERROR\">x</msg>", "<", "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
		`{"preview":false,"offset":0,"lastrow":true,"result":{"host":"h","count":"1"}}` + "\r\n",
		"\"str\"", "123", `{"result":{"a":"` + strings.Repeat("x", 70000) + `"}}`,
	} {
		f.Add([]byte(s))
	}
	stop := errors.New("stop")
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := 0
		err := readExport(bytes.NewReader(data), func(m map[string][]string) error {
			if m == nil {
				t.Fatal("nil row")
			}
			rows++
			if rows == 3 {
				return stop
			}
			return nil
		}, func(Message) {})
		if rows == 3 && !errors.Is(err, stop) {
			t.Fatalf("row error not returned: %v", err)
		}
		if rows > 3 {
			t.Fatalf("%d rows delivered after the callback failed", rows)
		}
		if err != nil && !errors.Is(err, stop) && err.Error() == "" {
			t.Fatal("empty error text")
		}
	})
}

// refValues is the result field decoding rowReader replaced: encoding/json
// into map[string]refValues. FuzzRowReader holds rowReader to it.
type refValues []string

func (v *refValues) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = strings.Split(s, "\n")
		return nil
	case '[':
		var a []string
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		*v = a
		return nil
	case 'n':
		*v = nil
		return nil
	}
	return errors.New("not a string or a list of strings")
}

// FuzzRowReader: for every JSON value, rowReader reads the same row as
// encoding/json does, or fails when it fails, also when its map and
// buffers are reused from a previous row.
func FuzzRowReader(f *testing.F) {
	for _, s := range []string{
		`{"a":"1","b":["x","y"]}`, `{}`, `null`, `[]`, `"s"`, `1`,
		`{"a":null,"b":[null,"w"],"c":[]}`, `{"a":"x\ny","b":["p\nq"]}`,
		`{"\u0061":"\ud83d\ude00","a":"dup"}`, "{\"k\xff\":\"v\xfe\"}",
		` { "a" : [ "1" , "2" ] , "b" : "3" } `, `{"a":{"x":[1]}}`, `{"a":[["x"]]}`,
		`{"a":true}`, `{"a":-1.5e3}`, `{"a":["x",{"y":"]"}]}`,
		"{0a\":\"", `{"a":["x",`, `{"a":"x"`, `{"a":{]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var loose rowReader
		loose.read(data) // any bytes: must not panic
		if !json.Valid(data) {
			return // rowReader reads what the decoder has validated
		}
		var want map[string]refValues
		wantErr := json.Unmarshal(data, &want)
		var p rowReader
		if _, err := p.read([]byte(`{"a":"old","z":["o","p"]}`)); err != nil {
			t.Fatal(err)
		}
		got, err := p.read(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: err = %v, encoding/json: %v", data, err, wantErr)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		if (got == nil) != (want == nil) || len(got) != len(want) {
			t.Fatalf("%q: read %q, encoding/json %q", data, got, want)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !slices.Equal(g, v) || (g == nil) != (v == nil) {
				t.Fatalf("%q: field %q = %q, encoding/json %q", data, k, g, v)
			}
		}
	})
}

func BenchmarkExportReader(b *testing.B) {
	var buf bytes.Buffer
	buf.Write(bom)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&buf, `{"preview":true,"offset":%d,"result":{"ut_domain":"host%d.example.com","count":"%d"}}`+"\n", i, i, i)
	}
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&buf, `{"preview":false,"offset":%d,"result":{"ut_domain":["host%d.example.com","www.example%d.org"],"count":"%d"}}`+"\n", i, i, i, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := readExport(bytes.NewReader(data), func(m map[string][]string) error { n += len(m["ut_domain"]); return nil }, nil); err != nil || n != 20000 {
			b.Fatalf("n=%d err=%v", n, err)
		}
	}
}

// The export streams for as long as the search runs: the per-request
// timeout of the other calls must not cut it, but ctx still does.
func TestExportNotBoundByRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"preview":false,"offset":0,"result":{"d":"a"}}` + "\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte(`{"preview":false,"offset":1,"lastrow":true,"result":{"d":"b"}}` + "\n"))
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, SessionKey: "k", Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.Export(context.Background(), "search x", "", "", func(m map[string][]string) error {
		got = append(got, m["d"]...)
		if len(got) == 1 {
			time.Sleep(100 * time.Millisecond) // longer than Timeout
			close(release)
		}
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("got %q, err %v", got, err)
	}

	hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"preview":false,"offset":0,"result":{"d":"a"}}` + "\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer hang.Close()
	c, err = New(Config{BaseURL: hang.URL, SessionKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = c.Export(ctx, "search x", "", "", func(map[string][]string) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled export: err = %v, want context.Canceled", err)
	}
}

package splunktest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/params"
)

const exportPath = "/servicesNS/nobody/vtsync/search/jobs/export"

// splunkd answers HTTP 400 {"messages":[{"type":"FATAL","text":"Invalid
// earliest_time."}]} to a time bound outside its grammar; the fake must not
// run a search splunkd would refuse.
func TestExportRefusesInvalidTimeBounds(t *testing.T) {
	s := New(t, WithExportRows(map[string]any{"d": "a"}))
	auth := "Splunk " + s.SessionKey()
	cases := []struct {
		earliest, latest string
		code             int
		want             string
	}{
		{"-20x", "now", http.StatusBadRequest, `{"messages":[{"type":"FATAL","text":"Invalid earliest_time."}]}`},
		{"-20m", "yesterday", http.StatusBadRequest, `{"messages":[{"type":"FATAL","text":"Invalid latest_time."}]}`},
		{"20m", "", http.StatusBadRequest, "Invalid earliest_time."},
		{"@w8", "", http.StatusBadRequest, "Invalid earliest_time."},
		{"13/01/2024:00:00:00", "", http.StatusBadRequest, "Invalid earliest_time."},
		{"rt-5m", "rt", http.StatusBadRequest, "real-time"},
		{"-20m", "now", http.StatusOK, `"result":{"d":"a"}`},
		{"-1d@d+8h", "@d-2h", http.StatusOK, `"result":{"d":"a"}`},
		{"-7d@w1", "-5m@m", http.StatusOK, `"result":{"d":"a"}`},
		{"0", "1714521600.5", http.StatusOK, `"result":{"d":"a"}`},
		{"05/01/2024:00:00:00", "2024-05-02T00:00:00.000+00:00", http.StatusOK, `"result":{"d":"a"}`},
		{"", "", http.StatusOK, `"result":{"d":"a"}`},
	}
	for _, c := range cases {
		f := url.Values{"search": {"search x"}, "output_mode": {"json"}}
		if c.earliest != "" {
			f.Set("earliest_time", c.earliest)
		}
		if c.latest != "" {
			f.Set("latest_time", c.latest)
		}
		code, body := call(t, s, "POST", exportPath, auth, form, f.Encode())
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("earliest_time=%q latest_time=%q: %d %q, want %d containing %q", c.earliest, c.latest, code, body, c.code, c.want)
		}
	}
}

// The search command may be followed by any white space, or stand alone.
func TestExportSearchCommandPrefix(t *testing.T) {
	s := New(t, WithExportRows(map[string]any{"d": "a"}))
	auth := "Splunk " + s.SessionKey()
	for spl, want := range map[string]int{
		"search\tindex=main":   http.StatusOK,
		"search\nindex=main":   http.StatusOK,
		"SEARCH\r\nindex=main": http.StatusOK,
		"search":               http.StatusOK,
		" search index=main":   http.StatusOK,
		"searchindex=main":     http.StatusBadRequest,
		"search_x index=main":  http.StatusBadRequest,
	} {
		f := url.Values{"search": {spl}, "output_mode": {"json"}}
		if code, body := call(t, s, "POST", exportPath, auth, form, f.Encode()); code != want {
			t.Errorf("search=%q: %d %q, want %d", spl, code, body, want)
		}
	}
}

// fakeTakes reports whether the fake runs an export bounded by v.
func fakeTakes(v string) bool { return !realTime.MatchString(v) && isSplunkTime(v) }

// The fake's time grammar is its own code; it must take exactly what
// params.ValidTime lets through, or a valid input would fail only in tests
// (or an invalid one pass them).
func FuzzTimeBoundsAgreeWithParams(f *testing.F) {
	for _, v := range []string{"now", "0", "1714521600.25", "-20m", "-h", "@w0", "@w7", "-1d@d+8h", "@d-2h",
		"-2seconds", "-3cs", "-20M", "NOW", "5/1/2024:8:30:00", "2024-05-01T00:00:00Z", "2024-05-01T08:30:00.5-0500",
		"-20x", "20m", "-20", "@w8", "-1w0", "rt", "-rt-5m", "now-1d", "1e9", "13/01/2024:00:00:00", "2024-05-01", "-1ſ", "ſearch"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || strings.TrimSpace(v) != v {
			return // params takes the default for empty and trims
		}
		err := params.ValidTime("earliest_time", v)
		if fake := fakeTakes(v); fake != (err == nil) {
			t.Fatalf("earliest_time=%q: fake takes it: %v; params.ValidTime: %v", v, fake, err)
		}
	})
}

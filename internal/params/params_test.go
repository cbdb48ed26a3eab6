package params

import "testing"

// Every parameter is documented; config's tests check that the defaults
// validate.
func TestEveryArgHasDocs(t *testing.T) {
	for _, a := range Args() {
		if a.Title == "" || a.Description == "" || (a.DataType != "string" && a.DataType != "number" && a.DataType != "boolean") {
			t.Errorf("parameter %s lacks a title, description or data type", a.Name)
		}
		if Default(a.Name) != a.Default {
			t.Errorf("Default(%s) = %q, want %q", a.Name, Default(a.Name), a.Default)
		}
	}
}

func TestNormalizeSearch(t *testing.T) {
	cases := map[string]string{
		"index=main sourcetype=sysmon":  "search index=main sourcetype=sysmon",
		"  search index=main ":          "search index=main",
		"SEARCH index=main":             "SEARCH index=main",
		"| tstats count by http_host":   "| tstats count by http_host",
		"|`vtsync_candidates`":          "|`vtsync_candidates`",
		"searchindex=main":              "search searchindex=main",
		"index=main | search `mymacro`": "search index=main | search `mymacro`",
		"search\tindex=main":            "search\tindex=main",
		"search\nindex=main":            "search\nindex=main",
		"Search\r\nindex=main":          "Search\r\nindex=main",
		"search":                        "search",
		"search_index=main":             "search search_index=main",
		"search|head 1":                 "search search|head 1",
	}
	for in, want := range cases {
		got, err := NormalizeSearch(in)
		if err != nil || got != want {
			t.Errorf("NormalizeSearch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "`vtsync_candidates`"} {
		if _, err := NormalizeSearch(in); err == nil {
			t.Errorf("NormalizeSearch(%q) should be refused", in)
		}
	}
}

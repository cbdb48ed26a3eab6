package splunktest

import (
	"net/http"
	"strings"
	"testing"
)

func TestInputsEndpoints(t *testing.T) {
	s := New(t, WithSessionKey("k"), WithScheme("vtsync", "search", "api_key"),
		WithInput("vtsync", "vtsync", "default", map[string]string{"disabled": "1", "interval": "900"}),
		WithConfStanza("vtsync", "inputs", "vtsync", map[string]string{"index": "main", "interval": "60"}))
	const base = "/servicesNS/nobody/vtsync/data/inputs/vtsync"
	auth := "Splunk k"
	steps := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", base + "?output_mode=json&count=-1", "", 200, `"interval":"900"`},
		{"GET", base + "?output_mode=json", "", 200, `"index":"main"`},
		{"GET", base + "?output_mode=json", "", 200, `"disabled":true`},
		{"GET", base + "/_new?output_mode=json", "", 200, `"optional":["search","api_key","disabled"`},
		{"POST", base, "name=branch&search=x&bogus=1&output_mode=json", 400, `Argument \"bogus\" is not supported`},
		{"POST", base, "search=x&output_mode=json", 400, "required arguments are missing: name"},
		{"POST", base, "name=branch&search=x&interval=60&output_mode=json", 201, `"name":"branch"`},
		{"POST", base, "name=branch&output_mode=json", 409, "already exists"},
		{"POST", base + "/branch/disable", "output_mode=json", 200, `"disabled":true`},
		{"POST", base + "/default/enable", "output_mode=json", 200, `"disabled":false`},
		{"POST", base + "/nothere/enable", "output_mode=json", 404, "Could not find"},
		{"POST", base + "/default/restart", "output_mode=json", 404, "Not Found"},
		{"GET", "/servicesNS/nobody/vtsync/data/inputs/other?output_mode=json", "", 404, "Not Found"},
		{"GET", "/servicesNS/nobody/vtsync/configs/conf-inputs/vtsync?output_mode=json", "", 200, `"interval":"60"`},
		{"POST", "/servicesNS/nobody/vtsync/configs/conf-inputs/vtsync", "requests_per_minute=8&output_mode=json", 200, `"requests_per_minute":"8"`},
		{"GET", "/servicesNS/nobody/vtsync/configs/conf-inputs/none?output_mode=json", "", 404, "Could not find"},
		{"POST", "/servicesNS/nobody/vtsync/configs/conf-inputs", "name=vtsync&output_mode=json", 409, "already exists"},
		{"GET", base + "?output_mode=json&count=-1", "", 200, `"requests_per_minute":"8"`}, // inherited
	}
	for _, st := range steps {
		ctype := ""
		if st.body != "" {
			ctype = form
		}
		code, body := call(t, s, st.method, st.path, auth, ctype, st.body)
		if code != st.status || !strings.Contains(body, st.want) {
			t.Errorf("%s %s %s: %d %s; want %d with %s", st.method, st.path, st.body, code, body, st.status, st.want)
		}
	}
	if got := s.InputParams("vtsync", "vtsync", "branch"); got["disabled"] != "1" || got["interval"] != "60" {
		t.Errorf("branch = %v", got)
	}
	if got := s.Inputs("vtsync", "vtsync"); strings.Join(got, ",") != "branch,default" {
		t.Errorf("inputs %v", got)
	}
	if got := s.ConfStanza("vtsync", "inputs", "vtsync"); got["requests_per_minute"] != "8" || got["index"] != "main" {
		t.Errorf("[vtsync] = %v", got)
	}
	reqs := s.Requests()
	if len(reqs) != len(steps) || reqs[6].Method != "POST" || reqs[6].Path != base || reqs[6].Form.Get("name") != "branch" || reqs[6].Status != http.StatusCreated {
		t.Errorf("request log %+v", reqs)
	}
}

// f= keeps only the named content keys: a page can tell that a key is
// stored without receiving it.
func TestPasswordsFieldFilterAndPaging(t *testing.T) {
	opts := []Option{WithSessionKey("k")}
	for _, u := range []string{"a", "b", "c"} {
		opts = append(opts, WithPassword("vtsync", "vtsync", u, "secret-"+u))
	}
	s := New(t, opts...)
	const p = "/servicesNS/nobody/vtsync/storage/passwords?output_mode=json"
	_, body := call(t, s, "GET", p+"&count=-1&f=realm&f=username", "Splunk k", "", "")
	if strings.Contains(body, "secret-") || !strings.Contains(body, `"username":"c"`) {
		t.Errorf("filtered list: %s", body)
	}
	_, body = call(t, s, "GET", p+"&count=2", "Splunk k", "", "")
	if !strings.Contains(body, "secret-b") || strings.Contains(body, "secret-c") {
		t.Errorf("count=2: %s", body)
	}
	_, body = call(t, s, "GET", p+"&count=2&offset=2", "Splunk k", "", "")
	if strings.Contains(body, "secret-a") || !strings.Contains(body, "secret-c") {
		t.Errorf("offset=2: %s", body)
	}
}

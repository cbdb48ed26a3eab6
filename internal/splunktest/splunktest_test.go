package splunktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// call sends one raw request to s and returns status and body.
func call(t *testing.T, s *Server, method, path, auth, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const (
	form     = "application/x-www-form-urlencoded"
	jsonType = "application/json"
	dataPath = "/servicesNS/nobody/vtsync/storage/collections/data/vtsync_domains"
)

func TestAuthentication(t *testing.T) {
	s := New(t, WithSessionKey("k1"), WithToken("t1"))
	path := "/services/server/info?output_mode=json"
	for _, auth := range []string{"", "Splunk k2", "Bearer k1", "Splunk t1", "splunk k1", "Basic YWRtaW46Y2hhbmdlbWU="} {
		code, body := call(t, s, "GET", path, auth, "", "")
		if code != http.StatusUnauthorized || strings.TrimSpace(body) != `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}` {
			t.Errorf("auth %q: %d %s", auth, code, body)
		}
	}
	for _, auth := range []string{"Splunk k1", "Bearer t1"} {
		if code, body := call(t, s, "GET", path, auth, "", ""); code != http.StatusOK {
			t.Errorf("auth %q: %d %s", auth, code, body)
		}
	}
	s.Expire()
	if code, _ := call(t, s, "GET", path, "Splunk k1", "", ""); code != http.StatusUnauthorized {
		t.Errorf("after Expire: %d", code)
	}
}

func TestLoginIssuesKey(t *testing.T) {
	s := New(t, WithUser("admin", "pw"))
	code, body := call(t, s, "POST", "/services/auth/login", "", form, "username=admin&password=nope")
	if code != http.StatusUnauthorized || !strings.Contains(body, "Login failed") {
		t.Fatalf("bad password: %d %s", code, body)
	}
	code, body = call(t, s, "POST", "/services/auth/login", "", form, "username=admin&password=pw")
	if code != http.StatusOK || !strings.Contains(body, "<sessionKey>"+s.SessionKey()+"</sessionKey>") {
		t.Fatalf("login: %d %s", code, body)
	}
}

func TestExportStrict(t *testing.T) {
	s := New(t, WithExportRows(map[string]any{"d": "a"}, map[string]any{"d": []string{"b", "c"}}), WithExportPreview())
	auth := "Splunk " + s.SessionKey()
	path := "/servicesNS/nobody/vtsync/search/jobs/export"
	cases := []struct {
		method, ctype, body string
		code                int
		want                string
	}{
		{"GET", "", "", http.StatusMethodNotAllowed, ""},
		{"POST", form, "search=index%3Dmain&output_mode=json", http.StatusBadRequest, `{"type":"FATAL","text":"Unknown search command 'index'."}`},
		{"POST", form, "search=search+x", http.StatusBadRequest, "output_mode=json"},
		{"POST", jsonType, `{"search":"search x"}`, http.StatusBadRequest, "x-www-form-urlencoded"},
		{"POST", form, "search=search+x&output_mode=json&earliest_time=-1h", http.StatusOK,
			"\ufeff" + `{"preview":true,"offset":0,"lastrow":true,"result":{"d":"a"}}` + "\n" +
				`{"preview":false,"offset":0,"result":{"d":"a"}}` + "\n" +
				`{"preview":false,"offset":1,"lastrow":true,"result":{"d":["b","c"]}}` + "\n"},
	}
	for _, c := range cases {
		code, body := call(t, s, c.method, path, auth, c.ctype, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %q: %d %q, want %d containing %q", c.method, c.ctype, c.body, code, body, c.code, c.want)
		}
	}
	if ex := s.Exports(); len(ex) != 1 || ex[0].Search != "search x" || ex[0].EarliestTime != "-1h" {
		t.Errorf("recorded %+v", ex)
	}
}

func TestBatchSaveStrict(t *testing.T) {
	s := New(t, WithCollection("vtsync", "vtsync_domains"))
	auth := "Splunk " + s.SessionKey()
	docs := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"_key":"k%d","n":%d}`, i, i)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	cases := []struct {
		path, ctype, body string
		code              int
		want              string
	}{
		{dataPath + "/batch_save", jsonType, docs(1001), http.StatusBadRequest,
			"Request exceeds API limits - see limits.conf for details. (Too many documents for a single batch save, max_documents_per_batch_save=1000)"},
		{dataPath + "/batch_save", form, docs(1), http.StatusBadRequest, "application/json"},
		{dataPath + "/batch_save", jsonType, `{"_key":"a"}`, http.StatusBadRequest, "JSON array"},
		{dataPath + "/batch_save", jsonType, `[{"_key":1}]`, http.StatusBadRequest, "_key must be a string"},
		{dataPath + "/batch_save", jsonType, `[1]`, http.StatusBadRequest, "not a JSON object"},
		{"/servicesNS/admin/vtsync/storage/collections/data/vtsync_domains/batch_save", jsonType, docs(1), http.StatusBadRequest, "nobody"},
		{"/servicesNS/nobody/vtsync/storage/collections/data/other/batch_save", jsonType, docs(1), http.StatusNotFound, "not found"},
		{dataPath + "/batch_save", jsonType, docs(1000), http.StatusOK, `"k999"`},
		{dataPath + "/batch_find", jsonType, strings.Repeat(`{"query":{"_key":"k1"}},`, 1000) + "{}", http.StatusBadRequest, "JSON array"},
		{dataPath + "/batch_find", jsonType, "[" + strings.Repeat(`{"query":{"_key":"k1"}},`, 1000) + "{}]", http.StatusBadRequest, "max_queries_per_batch=1000"},
		{dataPath + "/batch_find", jsonType, `[{"query":{"n":{"$regex":"3"}}}]`, http.StatusBadRequest, "not implemented"},
		{dataPath + "/batch_find", jsonType, `[{"query":{"_key":"k7"}},{"query":{"$or":[{"n":2},{"n":3}]}},{"query":{"_key":"zz"}}]`, http.StatusOK, ""},
	}
	for _, c := range cases {
		code, body := call(t, s, "POST", c.path, auth, c.ctype, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("POST %s %.60q: %d %.200q, want %d containing %q", c.path, c.body, code, body, c.code, c.want)
		}
	}
	if n := len(s.Documents("vtsync", "vtsync_domains")); n != 1000 {
		t.Errorf("%d documents stored, want 1000 (only the valid batch)", n)
	}
	_, body := call(t, s, "POST", dataPath+"/batch_find", auth, jsonType, `[{"query":{"_key":"k7"}},{"query":{"$or":[{"n":2},{"n":3}]}},{"query":{"_key":"zz"}}]`)
	var res [][]map[string]any
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || len(res[0]) != 1 || res[0][0]["_key"] != "k7" || len(res[1]) != 2 || len(res[2]) != 0 {
		t.Errorf("batch_find results %v", res)
	}
}

func TestKVInitializingAndSizeLimit(t *testing.T) {
	s := New(t, WithCollection("vtsync", "vtsync_domains"), WithKVInitializing(-1), WithMaxBatchSaveBytes(50))
	auth := "Splunk " + s.SessionKey()
	for i := 0; i < 3; i++ {
		code, body := call(t, s, "POST", dataPath+"/batch_save", auth, jsonType, `[]`)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, TextKVInitializing) {
			t.Fatalf("initializing: %d %s", code, body)
		}
	}
	s.SetKVInitializing(0)
	code, body := call(t, s, "POST", dataPath+"/batch_save", auth, jsonType, `[{"_key":"a","pad":"`+strings.Repeat("x", 60)+`"}]`)
	if code != http.StatusBadRequest || !strings.Contains(body, "max_size_per_batch_save_mb") {
		t.Errorf("size limit: %d %s", code, body)
	}
}

func TestPasswordsAndInputs(t *testing.T) {
	s := New(t, WithInput("vtsync", "vtsync", "main", map[string]string{"api_key": "k"}))
	auth := "Splunk " + s.SessionKey()
	base := "/servicesNS/nobody/vtsync/storage/passwords"
	create := url.Values{"name": {"a:b"}, "password": {"s1"}, "realm": {"vtsync"}, "output_mode": {"json"}}.Encode()
	if code, body := call(t, s, "POST", base, auth, form, create); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := call(t, s, "POST", base, auth, form, create); code != http.StatusConflict || !strings.Contains(body, "already exists") {
		t.Errorf("duplicate create: %d %s", code, body)
	}
	entity := base + "/" + url.PathEscape(`vtsync:a\:b:`) + "?output_mode=json"
	code, body := call(t, s, "GET", entity, auth, "", "")
	if code != http.StatusOK || !strings.Contains(body, `"clear_password":"s1"`) || !strings.Contains(body, `"password":"********"`) || !strings.Contains(body, `"username":"a:b"`) {
		t.Errorf("read: %d %s", code, body)
	}
	if code, body := call(t, s, "POST", entity, auth, form, "password=s2&realm=x"); code != http.StatusBadRequest || !strings.Contains(body, `Argument \"realm\" is not supported`) {
		t.Errorf("update with extra arg: %d %s", code, body)
	}
	if code, _ := call(t, s, "POST", entity, auth, form, "password=s2"); code != http.StatusOK {
		t.Errorf("update: %d", code)
	}
	if got, _ := s.StoredPassword("vtsync", "vtsync", "a:b"); got != "s2" {
		t.Errorf("stored %q", got)
	}
	if code, _ := call(t, s, "GET", base+"/nope%3A?output_mode=json", auth, "", ""); code != http.StatusNotFound {
		t.Errorf("missing entity: %d", code)
	}
	if code, _ := call(t, s, "POST", "/servicesNS/nobody/vtsync/data/inputs/vtsync/other", auth, form, "api_key=x"); code != http.StatusNotFound {
		t.Errorf("unknown input: %d", code)
	}
	if code, _ := call(t, s, "POST", "/servicesNS/nobody/vtsync/data/inputs/vtsync/main", auth, form, "api_key=%2A%2A%2A%2A%2A%2A%2A%2A&interval=300"); code != http.StatusOK {
		t.Errorf("edit input: %d", code)
	}
	if p := s.InputParams("vtsync", "vtsync", "main"); p["api_key"] != "********" || p["interval"] != "300" {
		t.Errorf("input params %v", p)
	}
}

// TestKVQueryAndDelete: GET with comparison operators, a projection and
// _key order; DELETE with a query deletes the matching documents, without
// one every document (as splunkd does).
func TestKVQueryAndDelete(t *testing.T) {
	s := New(t, WithCollection("vtsync", "vtsync_domains"))
	auth := "Splunk " + s.SessionKey()
	var docs []string
	for i := range 6 {
		docs = append(docs, fmt.Sprintf(`{"_key":"k%d","t":%d,"s":"x"}`, i, 100+i))
	}
	if code, body := call(t, s, "POST", dataPath+"/batch_save", auth, jsonType, "["+strings.Join(docs, ",")+`,{"_key":"nt"}]`); code != http.StatusOK {
		t.Fatalf("batch_save: %d %s", code, body)
	}
	get := func(params url.Values) (int, string) {
		return call(t, s, "GET", dataPath+"?"+params.Encode(), auth, "", "")
	}
	for _, c := range []struct {
		params url.Values
		code   int
		want   string
	}{
		{url.Values{"query": {`{"t":{"$lt":102}}`}, "fields": {"_key"}, "sort": {"_key:1"}}, http.StatusOK, `[{"_key":"k0"},{"_key":"k1"}]`},
		{url.Values{"query": {`{"t":{"$gte":104}}`}, "fields": {"_key,t"}, "limit": {"1"}}, http.StatusOK, `[{"_key":"k4","t":104}]`},
		{url.Values{"query": {`{"$and":[{"t":{"$lt":105}},{"_key":{"$lte":"k1"}}]}`}, "fields": {"_key"}}, http.StatusOK, `[{"_key":"k0"},{"_key":"k1"}]`},
		{url.Values{"query": {`{"t":{"$lt":"z"}}`}, "fields": {"_key"}}, http.StatusOK, `[]`},
		{url.Values{"query": {`{"t":{"$ne":100}}`}, "fields": {"_key"}, "limit": {"2"}}, http.StatusOK, `[{"_key":"k1"},{"_key":"k2"}]`},
		{url.Values{"query": {`{"t":{"$in":[1]}}`}}, http.StatusBadRequest, "not implemented"},
		{url.Values{"sort": {"t:-1"}}, http.StatusBadRequest, "not implemented"},
		{url.Values{"fields": {"t:0"}}, http.StatusBadRequest, "not implemented"},
	} {
		code, body := get(c.params)
		if code != c.code || !strings.Contains(strings.ReplaceAll(body, " ", ""), strings.ReplaceAll(c.want, " ", "")) {
			t.Errorf("GET %v: %d %s, want %d %s", c.params, code, body, c.code, c.want)
		}
	}
	code, body := call(t, s, "DELETE", dataPath+"?"+url.Values{"query": {`{"t":{"$lt":103}}`}}.Encode(), auth, "", "")
	if code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if d := s.Documents("vtsync", "vtsync_domains"); len(d) != 4 || d["k3"] == nil || d["nt"] == nil || d["k0"] != nil {
		t.Fatalf("after DELETE with a query: %v", d)
	}
	if code, _ := call(t, s, "DELETE", dataPath, auth, "", ""); code != http.StatusOK || len(s.Documents("vtsync", "vtsync_domains")) != 0 {
		t.Fatalf("DELETE without a query: %d, %d left", code, len(s.Documents("vtsync", "vtsync_domains")))
	}
}

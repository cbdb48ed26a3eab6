package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// binary is the vtsync executable built once for the end-to-end tests,
// which run it exactly as splunkd does: input XML on stdin, events read
// back from stdout and log lines from stderr.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vtsync-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "vtsync")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building vtsync: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const inputXML = `<?xml version="1.0" encoding="UTF-8"?>
<input>
  <server_host>sh1</server_host>
  <server_uri>{{.URI}}</server_uri>
  <session_key>{{.SessionKey}}</session_key>
  <checkpoint_dir>{{.Checkpoint}}</checkpoint_dir>
  <configuration>
    <stanza name="vtsync://default" app="vtsync">
      <param name="disabled">0</param>
      <param name="host">$decideOnStartup</param>
      <param name="index">main</param>
      <param name="interval">900</param>
      <param name="search">| ` + "`vtsync_candidates`" + `</param>
      <param name="api_key">{{.Key}}</param>
      <param name="vt_api_url">{{.VT}}</param>
      <param name="requests_per_minute">600000</param>
      <param name="max_concurrency">8</param>
      <param name="daily_lookup_budget">0</param>
    </stanza>
  </configuration>
</input>
`

type env struct {
	t          *testing.T
	splunk     *splunktest.Server
	vt         *vttest.Server
	checkpoint string
}

func newEnv(t *testing.T, rows []map[string]any, opts ...splunktest.Option) *env {
	t.Helper()
	opts = append([]splunktest.Option{
		splunktest.WithCollection("vtsync", "vtsync_domains"),
		splunktest.WithInput("vtsync", "vtsync", "default", map[string]string{"api_key": vttest.APIKey}),
		splunktest.WithExportRows(rows...),
	}, opts...)
	e := &env{t: t, splunk: splunktest.New(t, opts...), vt: vttest.New(), checkpoint: t.TempDir()}
	t.Cleanup(e.vt.Close)
	return e
}

// run runs the binary once as splunkd would, with the stanza's api_key set
// to key, and returns stdout and stderr.
func (e *env) run(key string) (stdout, stderr string) {
	e.t.Helper()
	var in bytes.Buffer
	tmpl := template.Must(template.New("in").Parse(inputXML))
	if err := tmpl.Execute(&in, map[string]string{"URI": e.splunk.URL(), "SessionKey": e.splunk.SessionKey(),
		"Checkpoint": e.checkpoint, "Key": key, "VT": e.vt.URL()}); err != nil {
		e.t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(binary)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, &out, &errb
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=")
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("vtsync exited with %v\nstderr:\n%s", err, errb.String())
	}
	checkStreams(e.t, out.String(), errb.String(), vttest.APIKey, e.splunk.SessionKey())
	return out.String(), errb.String()
}

var levelLine = regexp.MustCompile(`^(DEBUG|INFO|WARN|ERROR|FATAL) `)

// checkStreams asserts what splunkd depends on: stdout is only the XML event
// stream, every stderr line carries a level, and no secret leaks.
func checkStreams(t *testing.T, stdout, stderr string, secrets ...string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if line != "" && !levelLine.MatchString(line) {
			t.Errorf("stderr line without a level prefix: %q", line)
		}
	}
	if !strings.HasPrefix(stdout, "<stream>") || !strings.HasSuffix(strings.TrimSpace(stdout), "</stream>") {
		t.Errorf("stdout is not an XML event stream: %q", stdout)
	}
	for _, s := range secrets {
		if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
			t.Errorf("a secret appears in stdout or stderr")
		}
	}
}

type streamEvent struct {
	Stanza     string `xml:"stanza,attr"`
	Sourcetype string `xml:"sourcetype"`
	Data       string `xml:"data"`
}

// summary parses the single vtsync:run event of stdout.
func summary(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var s struct {
		Events []streamEvent `xml:"event"`
	}
	if err := xml.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("stdout is not well-formed XML: %v", err)
	}
	if len(s.Events) != 1 || s.Events[0].Sourcetype != "vtsync:run" || s.Events[0].Stanza != "vtsync://default" {
		t.Fatalf("want one vtsync:run event for vtsync://default, got %+v", s.Events)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s.Events[0].Data), &m); err != nil {
		t.Fatalf("summary is not JSON: %v", err)
	}
	return m
}

func num(m map[string]any, k string) int {
	f, _ := m[k].(float64)
	return int(f)
}

const domainAttrs = `{"creation_date": 1483018099, "last_analysis_stats": {"malicious": 6, "suspicious": 1},
 "last_https_certificate": {"issuer": {"C": "US", "O": "Let's Encrypt", "CN": "R10"}, "validity": {"not_before": "2024-01-02 03:04:05"}},
 "categories": {"alphaMountain.ai": "Malicious", "Forcepoint ThreatSeeker": "malicious web sites"},
 "popularity_ranks": {}, "reputation": -37, "registrar": "NameCheap, Inc.", "tags": ["dga"]}`

func TestModularInputSyncsCollection(t *testing.T) {
	rows := []map[string]any{
		{"ut_domain": "evil-example.com"},
		{"ut_domain": "WWW.Evil-Example.com."}, // same registered domain
		{"ut_domain": "cdn.evil-example.com:443"},
		{"ut_domain": "unknown-example.net"},
		{"ut_domain": []string{"10.0.0.1", "foo.bar.co.uk"}},
		{"ut_domain": "192.168.1.1"},
		{"ut_domain": ""},
		{"ut_domain": "bad host|name.com"},
		{"ut_domain": strings.Repeat("a", 70) + ".com"},
	}
	e := newEnv(t, rows)
	e.vt.AddDomain("evil-example.com", json.RawMessage(domainAttrs))
	e.vt.AddDomain("bar.co.uk", json.RawMessage(`{"creation_date": 1700000000, "last_analysis_stats": {"malicious": 0}}`))

	out, _ := e.run(vttest.APIKey)
	sum := summary(t, out)
	if got := num(sum, "looked_up"); got != 3 {
		t.Errorf("looked_up = %d, want 3 (evil-example.com, unknown-example.net, bar.co.uk)", got)
	}
	if num(sum, "found") != 2 || num(sum, "not_found") != 1 || num(sum, "failed") != 0 {
		t.Errorf("found/not_found/failed = %v/%v/%v, want 2/1/0", sum["found"], sum["not_found"], sum["failed"])
	}
	if num(sum, "rejected_total") != 4 {
		t.Errorf("rejected_total = %v, want 4 (IP twice, empty, illegal, over-long): %v", sum["rejected_total"], sum["rejected"])
	}
	if got := e.vt.Requests(); got != 3 {
		t.Errorf("VirusTotal saw %d requests, want 3: each registered domain once, no junk", got)
	}
	for _, d := range []string{"evil-example.com", "unknown-example.net", "bar.co.uk"} {
		if n := e.vt.DomainRequests(d); n != 1 {
			t.Errorf("VirusTotal saw %s %d times, want 1", d, n)
		}
	}

	docs := e.splunk.Documents("vtsync", "vtsync_domains")
	if len(docs) != 3 {
		t.Fatalf("collection holds %d documents, want 3: %v", len(docs), docs)
	}
	evil := docs["evil-example.com"]
	want := map[string]any{"domain": "evil-example.com", "vt_found": true, "whois_creation_date": "2016-12-29",
		"last_analysis_positive": 6.0, "cert_issuer_org": "Let's Encrypt", "cert_issuer": "C=US, O=Let's Encrypt, CN=R10",
		"registrar": "NameCheap, Inc.", "reputation": -37.0}
	for k, v := range want {
		if evil[k] != v {
			t.Errorf("evil-example.com %s = %#v, want %#v", k, evil[k], v)
		}
	}
	if neg := docs["unknown-example.net"]; neg["vt_found"] != false {
		t.Errorf("unknown-example.net should be a negative record, got %v", neg)
	}

	if key, ok := e.splunk.StoredPassword("vtsync", "vtsync", "default"); !ok || key != vttest.APIKey {
		t.Errorf("the key was not stored in storage/passwords (realm vtsync, user default)")
	}
	if got := e.splunk.InputParams("vtsync", "vtsync", "default")["api_key"]; got != "********" {
		t.Errorf("api_key in inputs.conf = %q, want the mask", got)
	}

	// Second run: the stanza now holds the mask; everything is fresh.
	out, _ = e.run("********")
	if got := e.vt.Requests(); got != 3 {
		t.Errorf("second run made %d VirusTotal calls, want 0", got-3)
	}
	if sum := summary(t, out); num(sum, "fresh") != 3 || num(sum, "looked_up") != 0 {
		t.Errorf("second run fresh/looked_up = %v/%v, want 3/0", sum["fresh"], sum["looked_up"])
	}

	// Age one found record past refresh_days and the negative one past
	// not_found_refresh_hours: only those two are looked up again.
	old := docs["evil-example.com"]
	old["enriched_time"] = float64(time.Now().Add(-8 * 24 * time.Hour).Unix())
	e.splunk.PutDocument("vtsync", "vtsync_domains", old)
	neg := docs["unknown-example.net"]
	neg["enriched_time"] = float64(time.Now().Add(-25 * time.Hour).Unix())
	e.splunk.PutDocument("vtsync", "vtsync_domains", neg)
	e.run("********")
	if got := e.vt.Requests(); got != 5 {
		t.Errorf("third run made %d VirusTotal calls, want 2 (the stale records only)", got-3)
	}
	if e.vt.DomainRequests("bar.co.uk") != 1 {
		t.Errorf("the fresh record bar.co.uk was looked up again")
	}
}

func TestModularInputBatchesAndBoundedReads(t *testing.T) {
	// More than one batch_save (1000 documents) and one freshness chunk.
	rows := make([]map[string]any, 1200)
	for i := range rows {
		rows[i] = map[string]any{"ut_domain": fmt.Sprintf("host%d.example%d.com", i%3, i)}
	}
	e := newEnv(t, rows)
	out, _ := e.run(vttest.APIKey)
	sum := summary(t, out)
	if num(sum, "distinct_domains") != 1200 || num(sum, "not_found") != 1200 {
		t.Fatalf("distinct/not_found = %v/%v, want 1200/1200", sum["distinct_domains"], sum["not_found"])
	}
	for i, n := range e.splunk.BatchSaveSizes() {
		if n > 1000 {
			t.Errorf("batch_save %d carried %d documents, more than 1000", i, n)
		}
	}
	if n := len(e.splunk.Documents("vtsync", "vtsync_domains")); n != 1200 {
		t.Errorf("collection holds %d documents, want 1200", n)
	}
	if reads := e.splunk.Count("batch_find") + e.splunk.Count("kv_get"); reads > 12 {
		t.Errorf("freshness reads took %d requests for 1200 candidates, want at most 12", reads)
	}
}

func TestModularInputWithoutKey(t *testing.T) {
	e := newEnv(t, []map[string]any{{"ut_domain": "example.com"}})
	var in bytes.Buffer
	template.Must(template.New("in").Parse(inputXML)).Execute(&in, map[string]string{"URI": e.splunk.URL(),
		"SessionKey": e.splunk.SessionKey(), "Checkpoint": e.checkpoint, "Key": "********", "VT": e.vt.URL()})
	var out, errb bytes.Buffer
	cmd := exec.Command(binary)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, &out, &errb
	err := cmd.Run()
	if err == nil {
		t.Errorf("a run without a key should exit non-zero")
	}
	checkStreams(t, out.String(), errb.String(), e.splunk.SessionKey())
	if !strings.Contains(errb.String(), "ERROR") || !strings.Contains(errb.String(), "api_key") {
		t.Errorf("stderr should say the key is missing and name api_key:\n%s", errb.String())
	}
	if sum := summary(t, out.String()); sum["status"] != "failed" {
		t.Errorf("status = %v, want failed", sum["status"])
	}
	if e.vt.Requests() != 0 {
		t.Errorf("VirusTotal was called without a key")
	}
}

func TestSchemeAndValidation(t *testing.T) {
	out, err := exec.Command(binary, "--scheme").Output()
	if err != nil || !bytes.Contains(out, []byte("<streaming_mode>xml</streaming_mode>")) {
		t.Fatalf("--scheme: %v\n%s", err, out)
	}
	bad := `<items><server_uri>https://127.0.0.1:8089</server_uri><session_key>2f8a9c1e5b7d4a6f</session_key><item name="x"><param name="requests_per_minute">lots</param></item></items>`
	cmd := exec.Command(binary, "--validate-arguments")
	cmd.Stdin = strings.NewReader(bad)
	out, err = cmd.Output()
	if err == nil {
		t.Errorf("invalid arguments should exit non-zero")
	}
	if !bytes.HasPrefix(out, []byte("<error><message>")) || !bytes.Contains(out, []byte("requests_per_minute")) {
		t.Errorf("validation error on stdout should name the parameter: %s", out)
	}
}

package modrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/keyquota"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// The tests in this package run whole modular-input runs in process, as
// splunkd would start them (input definition XML on stdin, events on
// stdout, log lines on stderr), against the strict fakes of splunkd and
// VirusTotal. Every run is checked for what must hold whatever happened
// (see env.run): stdout is an event stream with exactly one summary event,
// every log line has a level, and neither the VirusTotal key nor the
// session key appears in any output, KV document or checkpoint file.

func TestMain(m *testing.M) {
	// A hanging VirusTotal would otherwise hold a test for the default
	// 30 s request timeout.
	vtTimeout = 2 * time.Second
	// The runs mostly wait (retry backoff, the KV store's 503 retries, run
	// deadlines), so run more of them at once than there are CPUs, unless
	// -test.parallel was given.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "32")
	}
	os.Exit(m.Run())
}

const app, collection = "vtsync", "vtsync_domains"

// paidVT is the VirusTotal fake behind a listener that records, per
// domain, the answers VirusTotal would charge for and the client can use:
// a domain object (200 with a body) or NotFoundError (404). Faults,
// rejected requests and requests abandoned before an answer are not paid
// answers.
type paidVT struct {
	*vttest.Server
	srv *httptest.Server

	mu     sync.Mutex
	paid   map[string]int
	asked  []string // the domain of every request, in order
	paths  []string // the path of every request, below /api/v3/, in order
	total  int
	onPaid func(total int) // called after each paid answer, if set before the run

	// revoked: VirusTotal no longer accepts the key (a fake that knows
	// another key answers instead).
	revoked atomic.Bool
	other   *vttest.Server
}

func newPaidVT(t *testing.T, opts ...vttest.Option) *paidVT {
	v := &paidVT{Server: vttest.NewInMemory(opts...), paid: map[string]int{},
		other: vttest.NewInMemory(vttest.WithAPIKey(strings.Repeat("f", 64)))}
	v.srv = httptest.NewServer(http.HandlerFunc(v.serve))
	// Cleanups run last-in first-out: release hanging requests, then stop
	// the listener (which waits for its handlers).
	t.Cleanup(v.srv.Close)
	t.Cleanup(v.Server.Close)
	return v
}

// URL is the vt_api_url of the fake.
func (v *paidVT) URL() string { return v.srv.URL + "/api/v3" }

func (v *paidVT) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusWriter{ResponseWriter: w}
	if v.revoked.Load() {
		v.other.ServeHTTP(rec, r)
	} else {
		v.Server.ServeHTTP(rec, r)
	}
	v.mu.Lock()
	v.paths = append(v.paths, strings.TrimPrefix(r.URL.Path, "/api/v3/"))
	v.mu.Unlock()
	d, ok := strings.CutPrefix(r.URL.Path, "/api/v3/domains/")
	if !ok {
		return
	}
	v.mu.Lock()
	v.asked = append(v.asked, d)
	v.mu.Unlock()
	if rec.status == http.StatusOK && rec.bytes > 0 || rec.status == http.StatusNotFound {
		v.mu.Lock()
		v.paid[strings.ToLower(d)]++
		v.total++
		n, hook := v.total, v.onPaid
		v.mu.Unlock()
		if hook != nil {
			hook(n)
		}
	}
}

// Asked returns the domain path segment of every request received.
func (v *paidVT) Asked() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.asked)
}

// Paths returns the path below /api/v3/ of every request received, of
// every kind (domains/…, ip_addresses/…, files/…).
func (v *paidVT) Paths() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.paths)
}

// Paid returns the paid answers per domain.
func (v *paidVT) Paid() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.paid))
	for d, n := range v.paid {
		out[d] = n
	}
	return out
}

// statusWriter records the status and body size of an answer; it lets the
// fake hijack the connection for its Reset fault.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errNoConn
	}
	return hj.Hijack()
}

// errNoConn: an in-memory answer has no connection to hijack.
var errNoConn = errors.New("no connection: in-memory transport")

// inMemory, the servers by host name that the runs reach without the
// network (see modrun's transportFor).
var inMemory sync.Map // host → http.RoundTripper

func init() {
	transportFor = func(host string) http.RoundTripper {
		if rt, ok := inMemory.Load(host); ok {
			return rt.(http.RoundTripper)
		}
		return nil
	}
}

// inMemory makes the runs of e reach its fakes by calling them directly,
// without the network, so that a run can go in a synctest bubble: its
// clock then moves only while every goroutine is blocked, and retry
// backoffs and run deadlines cost no real time. Faults that need a
// connection to drop (WithExportCut) need the network.
func (e *env) inMemory() {
	hosts := map[string]http.RoundTripper{}
	// VirusTotal through the paid fake, which counts what it serves; a
	// Reset fault, which finds no connection to hijack there, fails the
	// request as a reset would.
	paid := vttest.HandlerTransport(http.HandlerFunc(e.vt.serve))
	for raw, rt := range map[string]http.RoundTripper{e.splunk.URL(): e.splunk.Transport(), e.vt.URL(): paid} {
		u, err := url.Parse(raw)
		if err != nil {
			e.t.Fatal(err)
		}
		hosts[u.Host] = rt
	}
	for h, rt := range hosts {
		inMemory.Store(h, rt)
	}
	e.t.Cleanup(func() {
		for h := range hosts {
			inMemory.Delete(h)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of several
// loggers sharing it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t          *testing.T
	splunk     *splunktest.Server
	vt         *paidVT
	checkpoint string
	// params are the stanza's parameters (api_key, vt_api_url and the
	// implicit ones are added by input).
	params map[string]string
	key    string // api_key in the stanza; the mask by default
	stanza string // the input's name; "default" unless newEnvNamed
}

// newEnv starts the fakes: splunkd holding the VirusTotal key in
// storage/passwords and serving rows as the search's results.
func newEnv(t *testing.T, rows []map[string]any, splunkOpts []splunktest.Option, vtOpts ...vttest.Option) *env {
	t.Helper()
	return newEnvNamed(t, "default", rows, splunkOpts, vtOpts...)
}

// newEnvNamed is newEnv for an input named stanza.
func newEnvNamed(t *testing.T, stanza string, rows []map[string]any, splunkOpts []splunktest.Option, vtOpts ...vttest.Option) *env {
	t.Helper()
	splunkOpts = append([]splunktest.Option{
		splunktest.WithCollection(app, collection),
		splunktest.WithInput(app, Scheme, stanza, map[string]string{"api_key": "********"}),
		splunktest.WithPassword(app, Realm, stanza, vttest.APIKey),
		splunktest.WithExportRows(rows...),
	}, splunkOpts...)
	return &env{
		stanza:     stanza,
		t:          t,
		splunk:     splunktest.New(t, splunkOpts...),
		vt:         newPaidVT(t, vtOpts...),
		checkpoint: t.TempDir(),
		key:        "********",
		params: map[string]string{
			"search":              "| `vtsync_candidates`",
			"requests_per_minute": "600000",
			"max_concurrency":     "4",
			"daily_lookup_budget": "0",
		},
	}
}

// input returns the input definition splunkd would write to stdin.
func (e *env) input() string {
	var b strings.Builder
	esc := func(s string) string {
		var w strings.Builder
		xml.EscapeText(&w, []byte(s))
		return w.String()
	}
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<input>\n  <server_host>sh1</server_host>\n  <server_uri>%s</server_uri>\n  <session_key>%s</session_key>\n  <checkpoint_dir>%s</checkpoint_dir>\n  <configuration>\n    <stanza name=\"vtsync://%s\" app=\"vtsync\">\n",
		esc(e.splunk.URL()), esc(e.splunk.SessionKey()), esc(e.checkpoint), esc(e.stanza))
	params := map[string]string{"disabled": "0", "host": "$decideOnStartup", "index": "main", "interval": "900",
		"api_key": e.key, "vt_api_url": e.vt.URL()}
	for k, v := range e.params {
		params[k] = v
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "      <param name=%q>%s</param>\n", k, esc(params[k]))
	}
	b.WriteString("    </stanza>\n  </configuration>\n</input>\n")
	return b.String()
}

// result is one run as splunkd sees it.
type result struct {
	code    int
	stdout  string
	stderr  string
	summary pipeline.Summary
	raw     map[string]any // the summary event as JSON, for field names
	// cancelled: the harness's deadline had passed when Run returned, so
	// the run may have ended only because runWithin cancelled it.
	cancelled bool
}

// runWithin runs the input once in process with ctx cancelled at limit and
// checks what must hold whatever the run met. A run that has not returned
// 10 s after limit fails the test; one that returned after the
// cancellation has result.cancelled set, for callers whose run must end by
// itself.
func (e *env) runWithin(ctx context.Context, limit time.Duration) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var out, errb syncBuffer
	type ended struct {
		code      int
		cancelled bool
	}
	done := make(chan ended, 1)
	go func() {
		code := Run(ctx, strings.NewReader(e.input()), &out, slog.New(logging.NewHandler(&errb, slog.LevelInfo, nil)), nil)
		done <- ended{code, ctx.Err() != nil}
	}()
	var end ended
	select {
	case end = <-done:
	case <-time.After(limit + 10*time.Second):
		e.t.Fatalf("the run did not end %s after its deadline\nstderr:\n%s", 10*time.Second, errb.String())
	}
	r := result{code: end.code, stdout: out.String(), stderr: errb.String(), cancelled: end.cancelled}
	r.summary, r.raw = parseSummary(e.t, r.stdout, e.stanza)
	checkLogLines(e.t, r.stderr)
	e.checkNoSecrets(r)
	return r
}

// run runs the input once with a generous safety deadline.
func (e *env) run() result {
	e.t.Helper()
	return e.runWithin(context.Background(), 60*time.Second)
}

var levelLine = regexp.MustCompile(`^(DEBUG|INFO|WARN|ERROR|FATAL) `)

func checkLogLines(t *testing.T, stderr string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if line != "" && !levelLine.MatchString(line) {
			t.Errorf("stderr line without a level prefix: %q", line)
		}
	}
}

// parseSummary checks that stdout is an XML event stream holding exactly
// one vtsync:run event for the stanza and returns it.
func parseSummary(t *testing.T, stdout, stanza string) (pipeline.Summary, map[string]any) {
	t.Helper()
	var s struct {
		XMLName xml.Name `xml:"stream"`
		Events  []struct {
			Stanza     string `xml:"stanza,attr"`
			Sourcetype string `xml:"sourcetype"`
			Data       string `xml:"data"`
		} `xml:"event"`
	}
	if err := xml.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("stdout is not an XML event stream: %v\n%s", err, stdout)
	}
	if len(s.Events) != 1 || s.Events[0].Sourcetype != Sourcetype || s.Events[0].Stanza != "vtsync://"+stanza {
		t.Fatalf("want one %s event for vtsync://%s, got %+v", Sourcetype, stanza, s.Events)
	}
	var sum pipeline.Summary
	var raw map[string]any
	if err := json.Unmarshal([]byte(s.Events[0].Data), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v", err)
	}
	json.Unmarshal([]byte(s.Events[0].Data), &raw)
	return sum, raw
}

// checkNoSecrets asserts that neither the VirusTotal key nor the session
// key appears in stdout, stderr, the KV store or any file under
// checkpoint_dir (read byte-wise: the journal holds records verbatim).
func (e *env) checkNoSecrets(r result) {
	e.t.Helper()
	secrets := map[string]string{"the VirusTotal key": vttest.APIKey, "the session key": e.splunk.SessionKey()}
	docs, _ := json.Marshal(e.splunk.Documents(app, collection))
	places := map[string][]byte{"stdout": []byte(r.stdout), "stderr": []byte(r.stderr), "the KV store": docs}
	filepath.WalkDir(e.checkpoint, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			e.t.Errorf("reading %s: %v", path, err)
			return nil
		}
		places[path] = b
		return nil
	})
	for name, secret := range secrets {
		for place, b := range places {
			if bytes.Contains(b, []byte(secret)) {
				e.t.Errorf("%s appears in %s", name, place)
			}
		}
	}
}

// assertKept checks rule (i): every answer VirusTotal was paid for is in
// the KV store (or, with journaled true, waits in the input's journal for
// the next run), with the content VirusTotal gave: vt_found true exactly
// for the domains it knows.
func (e *env) assertKept(known map[string]bool, journaled bool) {
	e.t.Helper()
	docs := e.splunk.Documents(app, collection)
	if journaled {
		st, err := checkpoint.Open(e.checkpoint, "default")
		if err != nil {
			e.t.Fatalf("opening the input's state: %v", err)
		}
		pending, _, err := st.Pending()
		st.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		for _, en := range pending {
			var doc map[string]any
			json.Unmarshal(en.Doc, &doc)
			docs[en.Key] = doc
		}
	}
	for d := range e.vt.Paid() {
		doc, ok := docs[d]
		if !ok {
			e.t.Errorf("VirusTotal was paid for %s but neither the KV store nor the journal has its record", d)
			continue
		}
		if doc["domain"] != d || doc["vt_found"] != known[d] {
			e.t.Errorf("record of %s = %v; want domain %s, vt_found %t", d, doc, d, known[d])
		}
		if et, _ := doc["enriched_time"].(float64); et <= 0 {
			e.t.Errorf("record of %s has no enriched_time: %v", d, doc)
		}
	}
}

// assertBoughtOnce checks rule (ii): no domain's answer was paid for more
// than once. Failed requests (faults, 429s, timeouts, resets) are not
// answers: retrying them is allowed and is not double spend.
func (e *env) assertBoughtOnce() {
	e.t.Helper()
	for d, n := range e.vt.Paid() {
		if n > 1 {
			e.t.Errorf("VirusTotal answered %s %d times: an answer was bought twice", d, n)
		}
	}
}

// hasLine reports whether stderr holds a line at one of levels containing
// every part.
func hasLine(stderr string, levels []string, parts ...string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		lvl, _, _ := strings.Cut(line, " ")
		if !slices.Contains(levels, lvl) {
			continue
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

var warnOrError = []string{"WARN", "ERROR", "FATAL"}

// rows returns n result rows with domain_field values d0.<suffix> … .
func rows(n int, format string) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"ut_domain": fmt.Sprintf(format, i)}
	}
	return out
}

// addKnown makes every other domain of rs known to VirusTotal and returns
// which are.
func addKnown(v *paidVT, rs []map[string]any) map[string]bool {
	known := map[string]bool{}
	for i, r := range rs {
		d := r["ut_domain"].(string)
		if i%2 == 0 {
			v.AddDomain(d, json.RawMessage(`{"creation_date": 1700000000, "last_analysis_stats": {"malicious": 3}, "registrar": "Example Registrar"}`))
			known[d] = true
		}
	}
	return known
}

// keyQuota opens the quota file of the fake's key in e's checkpoint
// directory, as the runs do.
func keyQuota(e *env) *keyquota.Key {
	e.t.Helper()
	k, err := keyquota.Open(e.checkpoint, vttest.APIKey, time.Second, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

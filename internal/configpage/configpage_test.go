package configpage

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/splunktest"
)

var screenshot = flag.String("screenshot", "", "write a PNG screenshot of the configuration page to this file")

const (
	app    = "vtsync"
	scheme = "vtsync"
	realm  = "vtsync"
	appDir = "../../splunk_app/vtsync"
	page0  = "/en-US/app/vtsync/vtsync_config"
)

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// shippedInputs returns the stanzas of the app's default/inputs.conf.
func shippedInputs(t *testing.T) *appcheck.Conf {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(appDir, "default", "inputs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := appcheck.ParseConf(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func values(st *appcheck.Stanza) map[string]string {
	out := map[string]string{}
	for _, k := range st.Keys {
		out[k] = st.Values[k]
	}
	return out
}

// fakeSplunk is splunkd as the shipped app leaves it, plus an input whose
// key an admin once typed into inputs.conf and that has run.
func fakeSplunk(t *testing.T, typedKey string) *splunktest.Server {
	conf := shippedInputs(t)
	var args []string
	for _, a := range params.Args() {
		args = append(args, a.Name)
	}
	legacy := map[string]string{"disabled": "0", "interval": "900", "api_key": typedKey}
	return splunktest.New(t,
		splunktest.WithUser("admin", "changeme-admin"),
		splunktest.WithScheme(scheme, args...),
		splunktest.WithConfStanza(app, "inputs", scheme, values(conf.Stanza(scheme))),
		splunktest.WithInput(app, scheme, "default", values(conf.Stanza(scheme+"://default"))),
		splunktest.WithInput(app, scheme, "legacy", legacy),
		splunktest.WithPassword(app, "other_realm", "default", "not-vtsync"),
		splunktest.WithExportRows(map[string]any{
			"_time": "2026-12-04T10:55:02.000+00:00", "input": "legacy", "status": "partial",
			"quota_state": "quota_exceeded", "looked_up": "12", "failed": "0",
			"errors{}": []string{"VirusTotal quota exceeded (429 QuotaExceededError); looking up again after 00:00 UTC"},
		}),
	)
}

// the keys the test stores (64 hex digits, as VirusTotal's).
var (
	typedKey = strings.Repeat("0a", 32)
	key1     = strings.Repeat("1b", 32)
	key2     = strings.Repeat("2c", 32)
	key3     = strings.Repeat("3d", 32)
)

type session struct {
	t   *testing.T
	p   *page
	web *splunkWeb
}

func (s *session) html() string {
	var h string
	s.p.mustEval(`document.documentElement.outerHTML`, &h)
	return h
}

// noKeyShown fails if any VirusTotal key is anywhere in the page.
func (s *session) noKeyShown(when string) {
	s.t.Helper()
	h := s.html()
	for _, k := range []string{typedKey, key1, key2, key3} {
		if strings.Contains(h, k) {
			s.t.Errorf("%s: the page shows a key (%s…)", when, k[:8])
		}
	}
	var fields []string
	s.p.mustEval(`[...document.querySelectorAll("input")].filter(i => i.value.length >= 32).map(i => i.id)`, &fields)
	if len(fields) > 0 {
		s.t.Errorf("%s: fields %v still hold a key", when, fields)
	}
}

// message waits for the page's status message after an action and
// returns it; an error message fails the test.
func (s *session) message(want string) string {
	s.t.Helper()
	s.p.waitFor(`document.getElementById("vtsync-message").textContent !== ""`, "a message")
	var m struct{ Text, Class string }
	s.p.mustEval(`(() => { const e = document.getElementById("vtsync-message"); return {Text: e.textContent, Class: e.className}; })()`, &m)
	if !strings.Contains(m.Class, "vtsync-ok") || !strings.Contains(m.Text, want) {
		s.t.Fatalf("message %q (%s); want success saying %q", m.Text, m.Class, want)
	}
	s.p.mustEval(`document.getElementById("vtsync-message").textContent = ""`, nil)
	return m.Text
}

func (s *session) cell(input, col string) string {
	s.t.Helper()
	return s.p.text(`tr[data-input="` + input + `"] td[data-col="` + col + `"]`)
}

func (s *session) load() {
	s.t.Helper()
	s.p.navigate(s.web.URL() + page0)
	s.p.waitFor(`document.querySelector("#vtsync-config") && document.querySelector("#vtsync-config").dataset.state !== "loading"`, "the page to read splunkd")
	if st := s.p.text("#vtsync-message"); st != "" {
		s.t.Fatalf("the page says %q after loading", st)
	}
	var state string
	s.p.mustEval(`document.querySelector("#vtsync-config").dataset.state`, &state)
	if state != "ready" {
		s.t.Fatalf("page state %q", state)
	}
}

// requests returns the fake splunkd's requests since n, as "METHOD path".
func requests(sd *splunktest.Server, from int) ([]splunktest.Request, []string) {
	all := sd.Requests()[from:]
	var lines []string
	for _, r := range all {
		lines = append(lines, r.Method+" "+r.Path)
	}
	return all, lines
}

func TestConfigurationPage(t *testing.T) {
	sd := fakeSplunk(t, typedKey)
	web := newSplunkWeb(t, sd, map[string]string{app: appDir})
	b := startBrowser(t)
	p := b.newPage(1280, 900)
	s := &session{t: t, p: p, web: web}

	// Sign in as Splunk Web does, then open the page from the app's nav.
	p.navigate(web.URL() + "/en-US/account/insecurelogin?username=admin&password=changeme-admin&return_to=" + url.QueryEscape(page0))
	s.p.waitFor(`document.querySelector("#vtsync-config") && document.querySelector("#vtsync-config").dataset.state === "ready"`, "the page to read splunkd")

	// What the page shows before any change: both inputs, no key stored
	// (the typed key of "legacy" is reported, never shown), the last run
	// of "legacy" with its quota state and error.
	if got := s.cell("default", "state") + "/" + s.cell("default", "key"); got != "disabled/not stored" {
		t.Errorf("default: %s", got)
	}
	if got := s.cell("legacy", "key"); got != "in inputs.conf, moved at next run" {
		t.Errorf("legacy key: %q", got)
	}
	if s.cell("legacy", "status") != "partial" || s.cell("legacy", "quota") != "quota_exceeded" || s.cell("legacy", "looked_up") != "12" ||
		!strings.Contains(s.cell("legacy", "errors"), "429 QuotaExceededError") {
		t.Errorf("legacy run: status %q quota %q looked_up %q errors %q", s.cell("legacy", "status"), s.cell("legacy", "quota"), s.cell("legacy", "looked_up"), s.cell("legacy", "errors"))
	}
	if got := s.cell("default", "run"); got != "no run in the last 7 days" {
		t.Errorf("default run: %q", got)
	}
	s.noKeyShown("first load")
	ex := sd.Exports()
	if len(ex) != 1 || !strings.Contains(ex[0].Search, "`vtsync_summary_index` sourcetype=\"vtsync:run\"") || ex[0].EarliestTime != "-7d" {
		t.Errorf("runs search: %+v", ex)
	}
	// The key list is asked for without the keys.
	for _, r := range sd.Requests() {
		if strings.HasSuffix(r.Path, "/storage/passwords") && r.Method == "GET" && !slices.Equal(r.Query["f"], []string{"realm", "username"}) {
			t.Errorf("passwords listed with f=%v: the answer carries the keys", r.Query["f"])
		}
	}

	// Enter a key for "default", save, reload: stored, never shown.
	n := len(sd.Requests())
	p.choose("#key-input", "default")
	p.typeInto("#key-value", key1)
	p.click("#key-save")
	s.message("Stored the VirusTotal key of input default")
	if got, ok := sd.StoredPassword(app, realm, "default"); !ok || got != key1 {
		t.Fatalf("storage/passwords vtsync:default: = %q, %v", got, ok)
	}
	reqs, lines := requests(sd, n)
	if len(reqs) == 0 || reqs[0].Method != "POST" || reqs[0].Path != "/servicesNS/nobody/vtsync/storage/passwords" ||
		reqs[0].Form.Get("name") != "default" || reqs[0].Form.Get("realm") != realm || reqs[0].Status != http.StatusCreated {
		t.Errorf("requests after saving the key: %v", lines)
	}
	for _, r := range reqs {
		if r.Method == "POST" && (strings.Contains(r.Path, "conf-") || strings.Contains(r.Path, "/data/inputs/")) {
			t.Errorf("saving a key for a clean input touched %s %s", r.Method, r.Path)
		}
	}
	s.load()
	if got := s.cell("default", "key"); got != "stored" {
		t.Errorf("after reload, default key: %q", got)
	}
	s.noKeyShown("after reload")

	// Rotate: a second key replaces the first, by updating the entry the
	// page knows is there.
	n = len(sd.Requests())
	p.choose("#key-input", "default")
	p.typeInto("#key-value", key2)
	p.click("#key-save")
	s.message("Stored the VirusTotal key of input default")
	if got, _ := sd.StoredPassword(app, realm, "default"); got != key2 {
		t.Errorf("after rotation the key is %q…", got[:8])
	}
	reqs, lines = requests(sd, n)
	if len(reqs) < 1 || reqs[0].Method != "POST" || reqs[0].Path != `/servicesNS/nobody/vtsync/storage/passwords/vtsync:default:` ||
		reqs[0].Status != http.StatusOK || reqs[0].Form.Get("password") != key2 {
		t.Errorf("rotation requests: %v", lines)
	}

	// A key for "legacy", whose inputs.conf holds a typed key: the typed
	// key is masked so that the next run reads storage/passwords instead
	// of storing the old key over the new one.
	p.choose("#key-input", "legacy")
	p.typeInto("#key-value", key3)
	p.click("#key-save")
	s.message("Stored the VirusTotal key of input legacy")
	if got, _ := sd.StoredPassword(app, realm, "legacy"); got != key3 {
		t.Errorf("legacy key %q…", got[:8])
	}
	if got := sd.InputParams(app, scheme, "legacy")["api_key"]; got != params.Mask {
		t.Errorf("legacy api_key in inputs.conf = %q; want the mask", got)
	}
	s.noKeyShown("after storing legacy's key")

	// A key that is not a VirusTotal key is refused by the page.
	n = len(sd.Requests())
	p.choose("#key-input", "legacy")
	p.typeInto("#key-value", "not-a-key")
	p.click("#key-save")
	p.waitFor(`document.getElementById("vtsync-message").classList.contains("vtsync-error")`, "the error")
	if msg := p.text("#vtsync-message"); !strings.Contains(msg, "64 hexadecimal characters") {
		t.Errorf("bad key message %q", msg)
	}
	if _, lines := requests(sd, n); len(lines) != 0 {
		t.Errorf("a bad key was sent: %v", lines)
	}
	p.typeInto("#key-value", "")
	p.mustEval(`document.getElementById("vtsync-message").textContent = ""`, nil)

	// Defaults every input inherits: the [vtsync] stanza of inputs.conf.
	want := map[string]string{"requests_per_minute": "8", "daily_lookup_budget": "1000", "refresh_days": "3", "proxy_url": "http://proxy.example.com:3128"}
	var argNames []string
	for _, a := range params.Args() {
		argNames = append(argNames, a.Name)
	}
	if slices.Contains(argNames, "retention_days") {
		want["retention_days"] = "30"
	} else {
		var n int
		p.mustEval(`document.querySelectorAll("#default-retention_days").length`, &n)
		if n != 0 {
			t.Error("the page offers retention_days, which this vtsync does not take")
		}
	}
	for k, v := range want {
		p.typeInto("#default-"+k, v)
	}
	p.click("#defaults-save")
	s.message("Saved the defaults in the [vtsync] stanza of inputs.conf")
	got := sd.ConfStanza(app, "inputs", scheme)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("[vtsync] %s = %q; want %q", k, got[k], v)
		}
	}
	if got["sourcetype"] != "vtsync:run" || got["index"] != "main" {
		t.Errorf("the app's own defaults changed: %v", got)
	}
	s.load()
	var shown string
	p.mustEval(`document.getElementById("default-requests_per_minute").value`, &shown)
	if shown != "8" {
		t.Errorf("after reload requests_per_minute shows %q", shown)
	}

	// Create and enable a new input with its key.
	p.typeInto("#new-name", "branch_office")
	p.typeInto("#new-key", key1)
	p.click("#new-create")
	s.message("Created input branch_office with its key in storage/passwords, enabled.")
	bp := sd.InputParams(app, scheme, "branch_office")
	if bp["disabled"] != "0" || bp["interval"] != "10,25,40,55 * * * *" || bp["api_key"] != "" {
		t.Errorf("branch_office = %v", bp)
	}
	if got, _ := sd.StoredPassword(app, realm, "branch_office"); got != key1 {
		t.Errorf("branch_office key %q…", got[:8])
	}
	if got := s.cell("branch_office", "state") + "/" + s.cell("branch_office", "key"); got != "enabled/stored" {
		t.Errorf("branch_office row: %s", got)
	}

	// Enable the shipped input, whose key is stored now.
	p.click(`tr[data-input="default"] button[data-action="enable"]`)
	s.message("Enabled input default.")
	if d := sd.InputParams(app, scheme, "default")["disabled"]; d != "0" {
		t.Errorf("default disabled = %q", d)
	}

	// Delete a key: gone from storage/passwords, shown as not stored.
	p.click(`tr[data-input="branch_office"] button[data-action="delete-key"]`)
	s.message("Deleted the VirusTotal key of input branch_office.")
	if _, ok := sd.StoredPassword(app, realm, "branch_office"); ok {
		t.Error("branch_office's key is still stored")
	}
	if got := s.cell("branch_office", "key"); got != "not stored" {
		t.Errorf("branch_office key after delete: %q", got)
	}
	if _, ok := sd.StoredPassword(app, "other_realm", "default"); !ok {
		t.Error("a key of another realm was touched")
	}

	// Every change went through the proxy with the CSRF token: nothing was
	// refused, and splunkd answered every request without an error.
	if n := web.refusedCount(); n != 0 {
		t.Errorf("Splunk Web refused %d of the page's requests", n)
	}
	for _, r := range sd.Requests() {
		if r.Status >= 400 {
			t.Errorf("splunkd answered %d to %s %s", r.Status, r.Method, r.Path)
		}
	}
	s.noKeyShown("at the end")
	if probs := b.Problems(); len(probs) > 0 {
		t.Errorf("the page logged problems: %v", probs)
	}
	if *screenshot != "" {
		s.load()
		p.mustEval(`window.scrollTo(0, 0)`, nil)
		if err := p.screenshot(*screenshot, 1280); err != nil {
			t.Fatal(err)
		}
	}
}

// The fake Splunk Web must refuse what Splunk Web refuses, or the browser
// test proves nothing about the session and the CSRF token.
func TestSplunkWebProxyRefuses(t *testing.T) {
	sd := fakeSplunk(t, typedKey)
	web := newSplunkWeb(t, sd, map[string]string{app: appDir})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	passwords := web.URL() + "/en-US/splunkd/__raw/servicesNS/nobody/vtsync/storage/passwords?output_mode=json"
	post := func(formKey string) int {
		req, _ := http.NewRequest("POST", passwords, strings.NewReader("name=x&password="+key1+"&realm=vtsync"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if formKey != "" {
			req.Header.Set("X-Splunk-Form-Key", formKey)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(u string) int {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(passwords); code != http.StatusUnauthorized {
		t.Errorf("GET without a session: %d", code)
	}
	if code := get(web.URL() + page0); code != http.StatusSeeOther {
		t.Errorf("page without a session: %d; want a redirect to the login", code)
	}
	if code := get(web.URL() + "/en-US/account/insecurelogin?username=admin&password=wrong"); code != http.StatusUnauthorized {
		t.Errorf("login with a wrong password: %d", code)
	}
	if code := get(web.URL() + "/en-US/account/insecurelogin?username=admin&password=changeme-admin"); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	if code := get(passwords); code != http.StatusOK {
		t.Errorf("GET with a session: %d", code)
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Errorf("POST without X-Splunk-Form-Key: %d", code)
	}
	if code := post("forged"); code != http.StatusUnauthorized {
		t.Errorf("POST with a wrong X-Splunk-Form-Key: %d", code)
	}
	if _, ok := sd.StoredPassword(app, realm, "x"); ok || sd.Count("passwords_create") != 0 {
		t.Error("a refused POST reached splunkd")
	}
	var token string
	u, _ := url.Parse(web.URL())
	for _, ck := range jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "splunkweb_csrf_token_") {
			token = ck.Value
		}
	}
	if code := post(token); code != http.StatusCreated {
		t.Errorf("POST with the CSRF token: %d", code)
	}
	if code := get(web.URL() + "/en-US/app/vtsync/vtsync_health"); code != http.StatusNotImplemented {
		t.Errorf("a Simple XML view was served as a page: %d", code)
	}
	if code := get(web.URL() + "/en-US/static/@1/app/vtsync/../default/inputs.conf"); code != http.StatusNotFound && code != http.StatusMovedPermanently {
		t.Errorf("static path outside appserver/static: %d", code)
	}
}

// A key stored behind the page's back (another admin, the input's first
// run) after the page loaded: creating answers 409, and the page replaces
// the stored key instead of failing.
func TestKeyStoredMeanwhile(t *testing.T) {
	sd := fakeSplunk(t, typedKey)
	web := newSplunkWeb(t, sd, map[string]string{app: appDir})
	b := startBrowser(t)
	p := b.newPage(1280, 900)
	s := &session{t: t, p: p, web: web}
	p.navigate(web.URL() + "/en-US/account/insecurelogin?username=admin&password=changeme-admin&return_to=" + url.QueryEscape(page0))
	s.p.waitFor(`document.querySelector("#vtsync-config") && document.querySelector("#vtsync-config").dataset.state === "ready"`, "the page to read splunkd")
	if got := s.cell("default", "key"); got != "not stored" {
		t.Fatalf("default key: %q", got)
	}
	req, _ := http.NewRequest("POST", sd.URL()+"/servicesNS/nobody/vtsync/storage/passwords",
		strings.NewReader(url.Values{"name": {"default"}, "realm": {realm}, "password": {key1}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Splunk "+sd.SessionKey())
	resp, err := sd.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("storing a key behind the page: %v %v", resp, err)
	}
	resp.Body.Close()
	n := len(sd.Requests())
	p.choose("#key-input", "default")
	p.typeInto("#key-value", key2)
	p.click("#key-save")
	s.message("Stored the VirusTotal key of input default")
	if got, _ := sd.StoredPassword(app, realm, "default"); got != key2 {
		t.Errorf("stored key %q…; want the one just saved", got[:8])
	}
	reqs, lines := requests(sd, n)
	if len(reqs) < 2 || reqs[0].Status != http.StatusConflict || reqs[1].Path != `/servicesNS/nobody/vtsync/storage/passwords/vtsync:default:` || reqs[1].Status != http.StatusOK {
		t.Errorf("requests: %v", lines)
	}
	for _, pr := range b.Problems() {
		if !strings.Contains(pr, "409") {
			t.Errorf("page problem: %s", pr)
		}
	}
	if got := s.cell("default", "key"); got != "stored" {
		t.Errorf("default key after saving: %q", got)
	}
}

package configpage

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/splunktest"
)

// Texts Splunk Web answers its splunkd proxy with when the session or the
// CSRF token is missing.
const (
	textNoSession = "call not properly authenticated"
	textCSRF      = "Splunk cannot authenticate the request. CSRF validation failed."
)

// splunkWeb is a fake Splunk Web in front of a splunktest.Server, doing
// what the configuration page relies on:
//
//   - /<locale>/account/insecurelogin?username=&password=&return_to= logs
//     in to splunkd (auth/login) and sets the cookies splunkd_<port>
//     (HttpOnly, the splunkd session) and splunkweb_csrf_token_<port>;
//   - /<locale>/app/<app>/<view> renders a view whose XML is
//     <view template="pages/splunk_ui_app.html" type="html"> as Splunk's
//     template does: an empty body and the script
//     /<locale>/static/@<build>/app/<app>/pages/<view>.js; any other view
//     is refused;
//   - /<locale>/static/[@<build>/]app/<app>/<path> serves
//     appserver/static/<path> of the app;
//   - /<locale>/splunkd/__raw/<path> forwards to splunkd with the
//     session's key, refusing a request without the session cookie, and a
//     request other than GET or HEAD without X-Splunk-Form-Key equal to the
//     CSRF token.
type splunkWeb struct {
	t       testing.TB
	srv     *httptest.Server
	splunkd *splunktest.Server
	apps    map[string]string // app → its directory
	port    string

	mu       sync.Mutex
	sessions map[string]bool // splunkd session keys handed out
	csrf     map[string]bool
	refused  int // proxy requests refused for session or CSRF
}

func newSplunkWeb(t testing.TB, splunkd *splunktest.Server, apps map[string]string) *splunkWeb {
	w := &splunkWeb{t: t, splunkd: splunkd, apps: apps, sessions: map[string]bool{}, csrf: map[string]bool{}}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	_, w.port, _ = net.SplitHostPort(w.srv.Listener.Addr().String())
	return w
}

// URL is the base URL, http://127.0.0.1:<port>.
func (w *splunkWeb) URL() string { return w.srv.URL }

func (w *splunkWeb) refusedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (w *splunkWeb) serve(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/favicon.ico" {
		rw.Header().Set("Content-Type", "image/x-icon")
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) < 2 || parts[0] != "en-US" {
		http.NotFound(rw, r)
		return
	}
	rest := ""
	if len(parts) == 3 {
		rest = parts[2]
	}
	switch parts[1] {
	case "account":
		w.login(rw, r, rest)
	case "app":
		w.view(rw, r, rest)
	case "static":
		w.static(rw, r, rest)
	case "splunkd":
		raw, ok := strings.CutPrefix(rest, "__raw/")
		if !ok {
			http.NotFound(rw, r)
			return
		}
		w.proxy(rw, r, raw)
	default:
		http.NotFound(rw, r)
	}
}

func (w *splunkWeb) login(rw http.ResponseWriter, r *http.Request, rest string) {
	if rest != "insecurelogin" || r.Method != http.MethodGet {
		http.NotFound(rw, r)
		return
	}
	q := r.URL.Query()
	form := url.Values{"username": {q.Get("username")}, "password": {q.Get("password")}, "output_mode": {"json"}}
	resp, err := w.splunkd.Client().PostForm(w.splunkd.URL()+"/services/auth/login", form)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var login struct {
		SessionKey string `json:"sessionKey"`
	}
	if resp.StatusCode != http.StatusOK || jsonDecode(resp.Body, &login) != nil || login.SessionKey == "" {
		http.Error(rw, "Login failed", http.StatusUnauthorized)
		return
	}
	token := randomToken()
	w.mu.Lock()
	w.sessions[login.SessionKey] = true
	w.csrf[token] = true
	w.mu.Unlock()
	http.SetCookie(rw, &http.Cookie{Name: "splunkd_" + w.port, Value: login.SessionKey, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(rw, &http.Cookie{Name: "splunkweb_csrf_token_" + w.port, Value: token, Path: "/", SameSite: http.SameSiteStrictMode})
	to := q.Get("return_to")
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		to = "/en-US/app/search/search"
	}
	http.Redirect(rw, r, to, http.StatusSeeOther)
}

// session returns the splunkd session key of the request's cookie.
func (w *splunkWeb) session(r *http.Request) (string, bool) {
	c, err := r.Cookie("splunkd_" + w.port)
	if err != nil {
		return "", false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return c.Value, w.sessions[c.Value]
}

func (w *splunkWeb) view(rw http.ResponseWriter, r *http.Request, rest string) {
	if _, ok := w.session(r); !ok {
		http.Redirect(rw, r, "/en-US/account/login?return_to="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	}
	app, name, ok := strings.Cut(rest, "/")
	dir, known := w.apps[app]
	if !ok || !known || strings.ContainsAny(name, "/.") {
		http.NotFound(rw, r)
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, "default", "data", "ui", "views", name+".xml"))
	if err != nil {
		http.NotFound(rw, r)
		return
	}
	var v struct {
		Template string `xml:"template,attr"`
		Type     string `xml:"type,attr"`
		Label    string `xml:"label"`
	}
	if err := xml.Unmarshal(data, &v); err != nil || v.Template != appcheck.PageTemplate || v.Type != "html" {
		http.Error(rw, fmt.Sprintf("splunkweb fake: view %s is not a %s page (%v)", name, appcheck.PageTemplate, err), http.StatusNotImplemented)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(rw, "<!doctype html>\n<html lang=\"en-US\"><head><meta charset=\"utf-8\"><title>%s | Splunk</title></head>\n<body>\n<script src=\"/en-US/static/@100000.1/app/%s/pages/%s.js\"></script>\n</body></html>\n",
		html.EscapeString(v.Label), url.PathEscape(app), url.PathEscape(name))
}

func (w *splunkWeb) static(rw http.ResponseWriter, r *http.Request, rest string) {
	if strings.HasPrefix(rest, "@") {
		_, rest, _ = strings.Cut(rest, "/")
	}
	rel, ok := strings.CutPrefix(rest, "app/")
	if !ok {
		http.NotFound(rw, r)
		return
	}
	app, file, _ := strings.Cut(rel, "/")
	dir, known := w.apps[app]
	clean := path.Clean("/" + file)
	if !known || clean != "/"+file {
		http.NotFound(rw, r)
		return
	}
	http.ServeFile(rw, r, filepath.Join(dir, "appserver", "static", filepath.FromSlash(clean)))
}

func (w *splunkWeb) refuse(rw http.ResponseWriter, text string) {
	w.mu.Lock()
	w.refused++
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "application/json; charset=UTF-8")
	rw.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(rw, `{"messages":[{"type":"ERROR","text":%q}]}`+"\n", text)
}

func (w *splunkWeb) proxy(rw http.ResponseWriter, r *http.Request, raw string) {
	key, ok := w.session(r)
	if !ok {
		w.refuse(rw, textNoSession)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		token := r.Header.Get("X-Splunk-Form-Key")
		c, err := r.Cookie("splunkweb_csrf_token_" + w.port)
		w.mu.Lock()
		valid := err == nil && token != "" && token == c.Value && w.csrf[token]
		w.mu.Unlock()
		if !valid {
			w.refuse(rw, textCSRF)
			return
		}
	}
	target := w.splunkd.URL() + "/" + strings.TrimPrefix(r.URL.EscapedPath(), "/en-US/splunkd/__raw/")
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Splunk "+key)
	resp, err := w.splunkd.Client().Do(req)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		rw.Header().Set("Content-Type", ct)
	}
	rw.WriteHeader(resp.StatusCode)
	io.Copy(rw, resp.Body)
}

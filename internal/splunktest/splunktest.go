// Package splunktest is a strict in-process fake of the parts of splunkd's
// REST API that vtsync uses: auth/login, server/info, the streaming search
// export, KV store batch_save/batch_find, storage/passwords and
// data/inputs. It answers like splunkd does, including the failures
// (401 for a bad session, 400 for SPL without "search "/"|", batch limits,
// 503 while the KV store initialises), and it rejects requests splunkd
// would reject, so that tests cannot pass against behaviour the real
// server does not have.
package splunktest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Texts splunkd answers with.
const (
	TextNotAuthenticated = "call not properly authenticated"
	TextKVInitializing   = "KV Store is initializing. Please try again later."
	TextTooManyDocs      = "Request exceeds API limits - see limits.conf for details. (Too many documents for a single batch save, max_documents_per_batch_save=%d)"
	// The two texts below follow the pattern of TextTooManyDocs; splunkd's
	// exact wording for them is not recorded in public material.
	TextTooLarge     = "Request exceeds API limits - see limits.conf for details. (Size of the request exceeds the limit, max_size_per_batch_save_mb=%d)"
	TextTooManyFinds = "Request exceeds API limits - see limits.conf for details. (Too many queries for a single batch query, max_queries_per_batch=%d)"
)

// Server is a running fake splunkd (HTTPS on 127.0.0.1).
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	keys        map[string]bool // valid session keys
	tokens      map[string]bool
	users       map[string]string
	sessionKey  string
	roles       []string
	rolesJSON   *string // set by WithServerRolesJSON: raw server_roles, "" to omit it
	infoDown    bool
	collections map[string]map[string]map[string]map[string]any // app → collection → _key → document
	passwords   map[string]map[string]*credential               // app → entity → credential
	inputs      map[string]map[string]string                    // app/scheme/name → params
	schemes     map[string][]string                             // scheme → its arguments
	confs       map[string]map[string]string                    // confKey(app, file, stanza) → values
	requests    []Request
	kvInit      int // 503 answers left; <0: until SetKVInitializing(0)
	maxSave     int
	maxSaveSize int // bytes; 0: none
	maxFind     int
	export      exportConfig
	exports     []ExportRequest
	counts      map[string]int
	saveSizes   []int
	findSizes   []int
}

type credential struct {
	realm, user, secret string
}

type exportConfig struct {
	rows    []map[string]any
	raw     []byte
	preview bool
	fatal   string
	cut     bool
}

// ExportRequest is what the fake received on search/jobs/export.
type ExportRequest struct {
	App          string
	Search       string
	EarliestTime string
	LatestTime   string
	Form         url.Values
}

// Option configures a Server.
type Option func(*Server)

// WithSessionKey sets the session key the server accepts
// (Authorization: Splunk <key>); the default is random (see SessionKey).
func WithSessionKey(key string) Option { return func(s *Server) { s.sessionKey = key } }

// WithToken makes the server accept Authorization: Bearer <token>.
func WithToken(token string) Option { return func(s *Server) { s.tokens[token] = true } }

// WithUser lets auth/login succeed for user and password.
func WithUser(user, password string) Option { return func(s *Server) { s.users[user] = password } }

// WithServerInfoDown makes server/info answer 503, as splunkd does while it
// is restarting.
func WithServerInfoDown() Option { return func(s *Server) { s.infoDown = true } }

// WithServerRoles sets server/info's server_roles.
func WithServerRoles(roles ...string) Option { return func(s *Server) { s.roles = roles } }

// WithServerRolesJSON makes server/info's server_roles the raw JSON value
// raw (e.g. "null"), or leaves the key out when raw is "": answers that
// do not state the roles, for testing that clients do not guess them.
func WithServerRolesJSON(raw string) Option { return func(s *Server) { s.rolesJSON = &raw } }

// WithCollection declares a KV store collection in app (collections.conf).
func WithCollection(app, collection string) Option {
	return func(s *Server) { s.collection(app, collection, true) }
}

// WithInput declares the modular input <scheme>://<name> in app with its
// current parameters; only declared inputs can be edited.
func WithInput(app, scheme, name string, params map[string]string) Option {
	return func(s *Server) {
		p := make(map[string]string, len(params))
		for k, v := range params {
			p[k] = v
		}
		s.inputs[app+"/"+scheme+"/"+name] = p
	}
}

// WithPassword stores a credential in app's storage/passwords.
func WithPassword(app, realm, user, secret string) Option {
	return func(s *Server) { s.creds(app)[entity(realm, user)] = &credential{realm, user, secret} }
}

// WithKVInitializing makes the next n KV store requests answer 503 "KV
// Store is initializing"; n < 0 keeps answering 503 until
// SetKVInitializing(0).
func WithKVInitializing(n int) Option { return func(s *Server) { s.kvInit = n } }

// WithMaxDocumentsPerBatchSave sets limits.conf max_documents_per_batch_save
// (default 1000, the value before Splunk 9.1).
func WithMaxDocumentsPerBatchSave(n int) Option { return func(s *Server) { s.maxSave = n } }

// WithMaxBatchSaveBytes refuses batch_save bodies larger than n bytes, as
// max_size_per_batch_save_mb does (in bytes here so tests stay small).
func WithMaxBatchSaveBytes(n int) Option { return func(s *Server) { s.maxSaveSize = n } }

// WithMaxQueriesPerBatch sets limits.conf max_queries_per_batch (default 1000).
func WithMaxQueriesPerBatch(n int) Option { return func(s *Server) { s.maxFind = n } }

// WithExportRows sets the final results of every export: field → string or
// []string (multi-value).
func WithExportRows(rows ...map[string]any) Option {
	return func(s *Server) { s.export.rows = rows }
}

// WithExportPreview sends a preview table (preview:true, partial counts)
// before the final table, as splunkd does for transforming searches.
func WithExportPreview() Option { return func(s *Server) { s.export.preview = true } }

// WithExportRaw serves body verbatim as the export answer (a recorded
// stream), instead of rows.
func WithExportRaw(body []byte) Option { return func(s *Server) { s.export.raw = body } }

// WithExportFatal ends the export stream, after the rows, with an in-band
// {"messages":[{"type":"FATAL","text":text}]} line while the status is
// already 200.
func WithExportFatal(text string) Option { return func(s *Server) { s.export.fatal = text } }

// WithExportCut drops the connection in the middle of the last row.
func WithExportCut() Option { return func(s *Server) { s.export.cut = true } }

// New starts a fake splunkd for the test; it is closed at cleanup.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:           t,
		keys:        map[string]bool{},
		tokens:      map[string]bool{},
		users:       map[string]string{},
		roles:       []string{"indexer", "search_head", "kv_store"},
		collections: map[string]map[string]map[string]map[string]any{},
		passwords:   map[string]map[string]*credential{},
		inputs:      map[string]map[string]string{},
		schemes:     map[string][]string{},
		confs:       map[string]map[string]string{},
		maxSave:     1000,
		maxFind:     1000,
		counts:      map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.sessionKey == "" {
		s.sessionKey = randomHex(16)
	}
	s.keys[s.sessionKey] = true
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the server URI, https://127.0.0.1:<port>.
func (s *Server) URL() string { return s.srv.URL }

// Transport returns a RoundTripper that serves each request by calling the
// fake directly, with no network and no goroutine: for tests in a
// testing/synctest bubble, whose clock moves only while every goroutine in
// it is blocked on something other than the network. Create the Server
// outside the bubble. Faults that drop the connection (WithExportCut) need
// the network and are not served this way.
func (s *Server) Transport() http.RoundTripper { return memTransport{s} }

// memTransport serves requests by calling the Server's handler.
type memTransport struct{ s *Server }

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.s.serve(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// Client returns an *http.Client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertPEM returns the server certificate in PEM (it is its own CA; it is
// valid for 127.0.0.1, ::1 and example.com).
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// WriteCAFile writes CertPEM to a file in a test temp dir and returns its path.
func (s *Server) WriteCAFile() string {
	p := filepath.Join(s.t.TempDir(), "splunkd-ca.pem")
	if err := os.WriteFile(p, s.CertPEM(), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// SessionKey returns the session key the server accepts.
func (s *Server) SessionKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionKey
}

// Expire invalidates every session key and token: all later authenticated
// requests get 401 (a new login issues a valid key).
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = map[string]bool{}
	s.tokens = map[string]bool{}
}

// SetKVInitializing changes how many KV store requests still answer 503
// (< 0: all until set to 0).
func (s *Server) SetKVInitializing(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kvInit = n
}

// Count returns how many requests reached an endpoint after
// authentication: "login", "server_info", "export", "batch_save",
// "batch_find", "kv_get", "kv_503", "passwords_create", "passwords_list",
// "passwords_get", "passwords_update", "passwords_delete", "inputs_edit",
// "inputs_list", "inputs_create", "inputs_new", "inputs_get",
// "inputs_enable", "inputs_disable", "conf_get", "conf_update",
// "conf_create", or "unauthorized".
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// BatchSaveSizes returns the number of documents in each batch_save body
// received (including refused ones), in order.
func (s *Server) BatchSaveSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.saveSizes...)
}

// BatchFindSizes returns the number of queries in each batch_find body.
func (s *Server) BatchFindSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.findSizes...)
}

// Documents returns a copy of the documents of a collection by _key.
func (s *Server) Documents(app, collection string) map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for k, d := range s.collection(app, collection, false) {
		out[k] = clone(d)
	}
	return out
}

// PutDocument stores doc under its "_key" in a declared collection.
func (s *Server) PutDocument(app, collection string, doc map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.collection(app, collection, false)
	if c == nil {
		s.t.Fatalf("splunktest: collection %s/%s not declared", app, collection)
	}
	d := clone(doc)
	d["_user"] = "nobody"
	c[d["_key"].(string)] = d
}

// Exports returns the export requests received.
func (s *Server) Exports() []ExportRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ExportRequest(nil), s.exports...)
}

// StoredPassword returns the secret stored for realm and user in app.
func (s *Server) StoredPassword(app, realm, user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds(app)[entity(realm, user)]
	if !ok {
		return "", false
	}
	return c.secret, true
}

// InputParams returns the current parameters of a declared input.
func (s *Server) InputParams(app, scheme, name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.inputs[app+"/"+scheme+"/"+name] {
		out[k] = v
	}
	return out
}

func (s *Server) collection(app, coll string, create bool) map[string]map[string]any {
	a := s.collections[app]
	if a == nil {
		if !create {
			return nil
		}
		a = map[string]map[string]map[string]any{}
		s.collections[app] = a
	}
	c := a[coll]
	if c == nil && create {
		c = map[string]map[string]any{}
		a[coll] = c
	}
	return c
}

func (s *Server) creds(app string) map[string]*credential {
	c := s.passwords[app]
	if c == nil {
		c = map[string]*credential{}
		s.passwords[app] = c
	}
	return c
}

// entity is the storage/passwords name of realm and user (realm:user:,
// ":" and "\" escaped with "\").
func entity(realm, user string) string {
	esc := func(v string) string {
		return strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `:`, `\:`)
	}
	return esc(realm) + ":" + esc(user) + ":"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func clone(d map[string]any) map[string]any {
	b, _ := json.Marshal(d)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// ---- HTTP ----

func (s *Server) count(name string) {
	s.mu.Lock()
	s.counts[name]++
	s.mu.Unlock()
}

// jsonMode reports whether the request asked for output_mode=json, in the
// query or in a form body (splunkd reads both).
func jsonMode(r *http.Request) bool { return r.FormValue("output_mode") == "json" }

// writeMessages answers status with one message, as JSON when the request
// asked for output_mode=json (or is a KV store data call, which always
// speaks JSON) and as splunkd's XML <response> otherwise.
func writeMessages(w http.ResponseWriter, r *http.Request, status int, typ, text string) {
	if jsonMode(r) || strings.Contains(r.URL.Path, "/storage/collections/data/") {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(messagesBody(typ, text))
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.WriteHeader(status)
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <messages>\n    <msg type=\"%s\">%s</msg>\n  </messages>\n</response>\n", typ, esc)
}

// message keeps splunkd's key order: type, then text.
type message struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func messagesBody(typ, text string) any {
	return struct {
		Messages []message `json:"messages"`
	}{[]message{{typ, text}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := strings.CutPrefix(h, "Splunk "); ok {
		return s.keys[k]
	}
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return s.tokens[t]
	}
	return false
}

// segments splits the escaped path and unescapes each segment, so that an
// escaped "/" stays inside its segment.
func segments(r *http.Request) ([]string, bool) {
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	seg, ok := segments(r)
	if !ok {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "malformed path")
		return
	}
	if len(seg) == 3 && seg[0] == "services" && seg[1] == "auth" && seg[2] == "login" {
		s.login(w, r)
		return
	}
	if !s.authorized(r) {
		s.count("unauthorized")
		writeMessages(w, r, http.StatusUnauthorized, "WARN", TextNotAuthenticated)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() { s.logRequest(r, "/"+strings.Join(seg, "/"), rec.status) }()
	w = rec
	var owner, app string
	var rest []string
	switch {
	case len(seg) >= 1 && seg[0] == "services":
		owner, app, rest = "", "search", seg[1:]
	case len(seg) >= 3 && seg[0] == "servicesNS":
		owner, app, rest = seg[1], seg[2], seg[3:]
	default:
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Not Found")
		return
	}
	switch {
	case len(rest) == 2 && rest[0] == "server" && rest[1] == "info":
		s.serverInfo(w, r)
	case len(rest) == 3 && rest[0] == "search" && rest[1] == "jobs" && rest[2] == "export":
		s.exportSearch(w, r, app)
	case len(rest) >= 4 && rest[0] == "storage" && rest[1] == "collections" && rest[2] == "data":
		s.kv(w, r, owner, app, rest[3:])
	case len(rest) >= 2 && rest[0] == "storage" && rest[1] == "passwords":
		s.storagePasswords(w, r, owner, app, rest[2:])
	case len(rest) == 3 && rest[0] == "data" && rest[1] == "inputs":
		s.inputsCollection(w, r, app, rest[2])
	case len(rest) == 4 && rest[0] == "data" && rest[1] == "inputs" && rest[3] == "_new":
		s.inputsNew(w, r, rest[2])
	case len(rest) == 4 && rest[0] == "data" && rest[1] == "inputs" && r.Method == http.MethodGet:
		s.getInput(w, r, app, rest[2], rest[3])
	case len(rest) == 4 && rest[0] == "data" && rest[1] == "inputs":
		s.editInput(w, r, app, rest[2], rest[3])
	case len(rest) == 5 && rest[0] == "data" && rest[1] == "inputs":
		s.inputAction(w, r, app, rest[2], rest[3], rest[4])
	case len(rest) >= 2 && rest[0] == "configs" && strings.HasPrefix(rest[1], "conf-") && len(rest[1]) > len("conf-"):
		s.confEndpoint(w, r, app, strings.TrimPrefix(rest[1], "conf-"), rest[2:])
	default:
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Not Found")
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	s.count("login")
	if r.Method != http.MethodPost {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return
	}
	if !formBody(w, r) {
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	s.mu.Lock()
	want, ok := s.users[user]
	var key string
	if ok && user != "" && pass == want {
		key = randomHex(16)
		s.keys[key] = true
		s.sessionKey = key
	}
	s.mu.Unlock()
	if key == "" {
		w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "<response>\n  <messages>\n    <msg type=\"WARN\" code=\"incorrect_username_or_password\">Login failed</msg>\n  </messages>\n</response>\n")
		return
	}
	if jsonMode(r) {
		writeJSON(w, http.StatusOK, map[string]string{"sessionKey": key})
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	fmt.Fprintf(w, "<response>\n  <sessionKey>%s</sessionKey>\n</response>\n", key)
}

// formBody parses a form-encoded POST body, answering 400 when the body is
// not form-encoded.
func formBody(w http.ResponseWriter, r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.ContentLength != 0 && ct != "application/x-www-form-urlencoded" {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "Content-Type must be application/x-www-form-urlencoded, got "+ct)
		return false
	}
	if err := r.ParseForm(); err != nil {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", err.Error())
		return false
	}
	return true
}

func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request) {
	s.count("server_info")
	if r.Method != http.MethodGet {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return
	}
	s.mu.Lock()
	roles, rolesJSON, down := append([]string{}, s.roles...), s.rolesJSON, s.infoDown
	s.mu.Unlock()
	if down {
		writeMessages(w, r, http.StatusServiceUnavailable, "ERROR", "Service Unavailable")
		return
	}
	if !jsonMode(r) {
		writeAtom(w, "server-info")
		return
	}
	s.mu.Lock()
	kvStatus := "ready"
	if s.kvInit != 0 {
		kvStatus = "starting"
	}
	s.mu.Unlock()
	content := map[string]any{
		"serverName":    "splunktest",
		"version":       "9.2.0",
		"server_roles":  roles,
		"kvStoreStatus": kvStatus,
	}
	switch {
	case rolesJSON == nil:
	case *rolesJSON == "":
		delete(content, "server_roles")
	case !json.Valid([]byte(*rolesJSON)):
		s.t.Errorf("splunktest: WithServerRolesJSON(%q) is not JSON", *rolesJSON)
	default:
		content["server_roles"] = json.RawMessage(*rolesJSON)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"links": map[string]any{},
		"entry": []map[string]any{{
			"name":    "server-info",
			"id":      "https://127.0.0.1:8089/services/server/info/server-info",
			"content": content,
		}},
	})
}

// writeAtom answers a non-JSON request with a minimal Atom feed, as splunkd
// does when output_mode is not json (clients of this fake ask for JSON).
func writeAtom(w http.ResponseWriter, title string) {
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:s=\"http://dev.splunk.com/ns/rest\"><title>%s</title></feed>\n", title)
}

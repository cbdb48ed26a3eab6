// Package vttest is a strict fake of the VirusTotal API v3 object lookups
// vtsync makes — GET /api/v3/domains/{domain}, /api/v3/ip_addresses/{ip}
// and /api/v3/files/{md5|sha1|sha256} — for tests and benchmarks: it
// checks the API key, enforces per-minute and daily quotas shared by every
// kind of lookup (they belong to the key), answers with VirusTotal's
// envelopes and error codes, and injects scripted faults.
//
// A file object is found by any of its three hashes, and its id is always
// its SHA-256, as VirusTotal answers. VirusTotal documents no answer for
// a malformed id; the fake refuses a malformed IP address or file hash as
// it refuses a malformed domain, with 400 InvalidArgumentError, which a
// client must treat as a permanent failure of that lookup.
package vttest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// APIKey is the key the fake accepts unless WithAPIKey says otherwise. It
// has the shape of a real key (64 hexadecimal characters).
const APIKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Fault is a scripted misbehaviour served instead of the normal answer.
type Fault int

// Faults, each as VirusTotal (or the network in front of it) produces it.
const (
	QuotaExceeded    Fault = iota + 1 // 429 QuotaExceededError
	TooManyRequests                   // 429 TooManyRequestsError
	Transient                         // 503 TransientError
	DeadlineExceeded                  // 504 DeadlineExceededError
	HTMLError                         // 500 with a text/html error page
	EmptyOK                           // 200 with an empty body
	EmptyError                        // 500 with an empty body
	Hang                              // no answer until the client gives up
	Reset                             // the connection is reset (TCP RST)
	WrongCredentials                  // 401 WrongCredentialsError
)

var faultNames = [...]string{"", "QuotaExceeded", "TooManyRequests", "Transient", "DeadlineExceeded",
	"HTMLError", "EmptyOK", "EmptyError", "Hang", "Reset", "WrongCredentials"}

func (f Fault) String() string {
	if f > 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey sets the only API key the server accepts.
func WithAPIKey(key string) Option { return func(s *Server) { s.key = key } }

// WithMinuteQuota allows q requests in any 60-second window (0: unlimited).
// The window is closed: a request exactly 60 s after an earlier one still
// shares its window. The (q+1)-th request is answered 429
// QuotaExceededError and is itself counted, as a client that keeps
// hammering stays locked out.
func WithMinuteQuota(q int) Option { return func(s *Server) { s.minuteQuota = q } }

// WithDailyQuota allows q requests per UTC day (0: unlimited).
func WithDailyQuota(q int) Option { return func(s *Server) { s.dailyQuota = q } }

// WithLatency delays every answer by d.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	key         string
	minuteQuota int
	dailyQuota  int
	latency     time.Duration

	ts     *httptest.Server
	base   string // URL up to and including /api/v3
	closed chan struct{}
	once   sync.Once

	mu        sync.Mutex
	objects   map[string]*cached // object path ("domains/x.example") → its 200 answer
	next      []Fault
	perFault  map[string][]Fault // by object path
	window    []time.Time        // quota-counted requests in the last minute
	day       string
	dayCount  int
	total     int64
	perObject map[string]int // authenticated requests by object path
	times     []time.Time
	rejected  int // 429 answers
	inFlight  int
	maxFlight int
}

// New starts a fake listening on a loopback port. Close it when done.
func New(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = httptest.NewServer(s)
	s.base = s.ts.URL + "/api/v3"
	return s
}

// NewInMemory returns a fake that does not listen: requests reach it through
// Transport, without sockets. It suits benchmarks and tests that run in a
// testing/synctest bubble, where the network may not be used. Its URL is
// http://virustotal.test/api/v3.
func NewInMemory(opts ...Option) *Server {
	s := newServer(opts)
	s.base = "http://virustotal.test/api/v3"
	return s
}

func newServer(opts []Option) *Server {
	s := &Server{
		key:       APIKey,
		closed:    make(chan struct{}),
		objects:   map[string]*cached{},
		perFault:  map[string][]Fault{},
		perObject: map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// URL returns the API base URL, ending in /api/v3 (the vt_api_url value).
func (s *Server) URL() string { return s.base }

// Close releases hanging requests and stops the listener.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Transport returns a RoundTripper that serves requests by calling the fake
// directly, as NewInMemory servers require (it works for listening servers
// too). A Reset fault surfaces as a "connection reset by peer" error.
func (s *Server) Transport() http.RoundTripper { return memTransport{s} }

// AddDomain makes domain known with the given attributes object. It panics
// if attributes is not a JSON object: that is a bug in the calling test.
func (s *Server) AddDomain(domain string, attributes json.RawMessage) {
	s.addObject("AddDomain", "domain", strings.ToLower(domain), attributes)
}

// AddIPAddress makes the IP address ip known with the given attributes
// object. It panics if ip is not an IP address or attributes is not a
// JSON object.
func (s *Server) AddIPAddress(ip string, attributes json.RawMessage) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		panic("vttest: AddIPAddress: " + err.Error())
	}
	s.addObject("AddIPAddress", "ip_address", a.String(), attributes)
}

// AddFileObject makes a file known with the given attributes object, which
// must hold its "sha256" (the object's id) and may hold "md5" and "sha1":
// the file is then found by any of them. It panics otherwise.
func (s *Server) AddFileObject(attributes json.RawMessage) {
	var h struct{ SHA256 string }
	if isObject(attributes) {
		_ = json.Unmarshal(attributes, &h)
	}
	if !validHash(strings.ToLower(h.SHA256)) || len(h.SHA256) != 64 {
		panic("vttest: AddFileObject: attributes must be a JSON object holding a SHA-256 \"sha256\"")
	}
	s.addObject("AddFileObject", "file", strings.ToLower(h.SHA256), attributes)
}

// collections maps an object type to its API collection.
var collections = map[string]string{"domain": "domains", "ip_address": "ip_addresses", "file": "files"}

// addObject builds the object {id, type, links, attributes} and adds it.
func (s *Server) addObject(caller, typ, id string, attributes json.RawMessage) {
	if !isObject(attributes) {
		panic("vttest: " + caller + ": attributes must be a JSON object")
	}
	obj, err := json.Marshal(struct {
		ID         string            `json:"id"`
		Type       string            `json:"type"`
		Links      map[string]string `json:"links"`
		Attributes json.RawMessage   `json:"attributes"`
	}{id, typ, map[string]string{"self": s.base + "/" + collections[typ] + "/" + id}, attributes})
	if err != nil {
		panic("vttest: " + caller + ": " + err.Error())
	}
	if err := s.add(typ, id, obj); err != nil {
		panic("vttest: " + caller + ": " + err.Error())
	}
}

// cached is an object's response body, plain and gzip-compressed.
type cached struct{ plain, gzipped []byte }

// add stores the envelope {"data":obj} under the path of the object of
// type typ and the given id; a file also under its MD5 and SHA-1.
func (s *Server) add(typ, id string, obj []byte) error {
	coll, ok := collections[typ]
	if !ok {
		return fmt.Errorf("object type %q is not one the fake serves (domain, ip_address, file)", typ)
	}
	paths := []string{coll + "/" + strings.ToLower(id)}
	if typ == "file" {
		var o struct {
			Attributes struct{ MD5, SHA1 json.RawMessage }
		}
		_ = json.Unmarshal(obj, &o)
		for _, raw := range []json.RawMessage{o.Attributes.MD5, o.Attributes.SHA1} {
			var h string
			if json.Unmarshal(raw, &h) == nil && validHash(strings.ToLower(h)) {
				paths = append(paths, coll+"/"+strings.ToLower(h))
			}
		}
	}
	body := make([]byte, 0, len(obj)+10)
	body = append(append(append(body, `{"data":`...), obj...), '}')
	a := &cached{plain: body, gzipped: compress(body)}
	s.mu.Lock()
	for _, p := range paths {
		s.objects[p] = a
	}
	s.mu.Unlock()
	return nil
}

// AddFile makes the object in a JSON file known: a domain, an IP address
// or a file. The JSON file holds either an API response envelope
// {"data":{...}} or the object itself (optionally inside a
// {"request_info":…,"response":{...}} wrapper, as in some public
// fixtures). The object's id names it; a file object is also found by the
// md5 and sha1 of its attributes.
func (s *Server) AddFile(path string) error {
	obj, err := ReadObject(path)
	if err != nil {
		return err
	}
	var head struct {
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		Attributes json.RawMessage `json:"attributes"`
	}
	if err := json.Unmarshal(obj, &head); err != nil || head.ID == "" || collections[head.Type] == "" || !isObject(head.Attributes) {
		return fmt.Errorf("%s: not a VirusTotal domain, ip_address or file object (need id, type and attributes)", path)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, obj); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return s.add(head.Type, head.ID, compact.Bytes())
}

// ReadObject returns the VirusTotal object in the JSON file at path, as
// AddFile reads it: the "data" of an API response envelope {"data":{...}},
// the "response" of a {"request_info":…,"response":{...}} wrapper, or
// else the file itself. It does not check that the object is one.
func ReadObject(path string) (json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var top struct {
		Data     json.RawMessage `json:"data"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case isObject(top.Data):
		return top.Data, nil
	case isObject(top.Response):
		return top.Response, nil
	}
	return b, nil
}

// Object is ReadObject for a test's saved response: it fails t when the
// file cannot be read.
func Object(t testing.TB, path string) json.RawMessage {
	t.Helper()
	obj, err := ReadObject(path)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// LoadDir adds every *.json file of dir with AddFile.
func (s *Server) LoadDir(dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := s.AddFile(p); err != nil {
			return err
		}
	}
	return nil
}

// FailNext serves faults, in order, to the next len(faults) authenticated
// object requests, whatever the object. They take precedence over
// FailDomain and FailPath.
func (s *Server) FailNext(faults ...Fault) {
	s.mu.Lock()
	s.next = append(s.next, faults...)
	s.mu.Unlock()
}

// FailDomain serves faults, in order, to the next requests for domain.
func (s *Server) FailDomain(domain string, faults ...Fault) { s.FailPath("domains/"+domain, faults...) }

// FailPath serves faults, in order, to the next requests for the object at
// path, relative to the API base ("ip_addresses/8.8.8.8", "files/<md5>":
// a kind's Path).
func (s *Server) FailPath(path string, faults ...Fault) {
	path = strings.ToLower(path)
	s.mu.Lock()
	s.perFault[path] = append(s.perFault[path], faults...)
	s.mu.Unlock()
}

// Requests returns how many requests reached the server, whatever their
// outcome.
func (s *Server) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// DomainRequests returns how many authenticated requests asked for domain.
func (s *Server) DomainRequests(domain string) int { return s.PathRequests("domains/" + domain) }

// PathRequests returns how many authenticated, well-formed requests asked
// for the object at path, relative to the API base (a kind's Path). A file
// asked for by its MD5 and by its SHA-256 counts under two paths.
func (s *Server) PathRequests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perObject[strings.ToLower(path)]
}

// Rejected returns how many 429 answers (quota or injected) were sent.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// MaxInFlight returns the largest number of requests served at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight
}

// RequestTimes returns the arrival time of every request, in order.
func (s *Server) RequestTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.times)
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	s.total++
	s.times = append(s.times, now)
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	if s.latency > 0 && !s.wait(r, s.latency) {
		return
	}
	key := r.Header.Get("X-Apikey")
	switch {
	case key == "":
		writeError(w, r, http.StatusUnauthorized, "AuthenticationRequiredError", "X-Apikey header is missing")
		return
	case key != s.key:
		writeError(w, r, http.StatusUnauthorized, "WrongCredentialsError", "Wrong API key")
		return
	}
	coll, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/api/v3/"), "/")
	route, known := routes[coll]
	if !strings.HasPrefix(r.URL.Path, "/api/v3/") || !known || rest == "" || strings.Contains(rest, "/") {
		writeError(w, r, http.StatusNotFound, "NotFoundError", fmt.Sprintf("Resource not found: %s", r.URL.Path))
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, r, http.StatusMethodNotAllowed, "BadRequestError",
			fmt.Sprintf("Method %s not allowed for %s", r.Method, r.URL.Path))
		return
	}
	id := strings.ToLower(rest)
	if !route.valid(id) {
		writeError(w, r, http.StatusBadRequest, "InvalidArgumentError", fmt.Sprintf(route.invalid, rest))
		return
	}
	path := coll + "/" + id

	s.mu.Lock()
	s.perObject[path]++
	var fault Fault
	if len(s.next) > 0 {
		fault, s.next = s.next[0], s.next[1:]
	} else if q := s.perFault[path]; len(q) > 0 {
		fault, s.perFault[path] = q[0], q[1:]
	}
	overQuota := fault == 0 && s.overQuota(now)
	obj := s.objects[path]
	if fault == QuotaExceeded || fault == TooManyRequests || overQuota {
		s.rejected++
	}
	s.mu.Unlock()

	switch {
	case fault != 0:
		s.serveFault(w, r, fault)
	case overQuota:
		writeError(w, r, http.StatusTooManyRequests, "QuotaExceededError", "Quota exceeded")
	case obj == nil:
		writeError(w, r, http.StatusNotFound, "NotFoundError", fmt.Sprintf(route.notFound, id))
	case acceptsGzip(r.Header.Get("Accept-Encoding")):
		write(w, http.StatusOK, obj.gzipped, true)
	default:
		write(w, http.StatusOK, obj.plain, false)
	}
}

// overQuota counts a request at now against the daily and minute quotas and
// reports whether it is over one of them. s.mu is held.
func (s *Server) overQuota(now time.Time) bool {
	over := false
	if s.dailyQuota > 0 {
		if day := now.UTC().Format(time.DateOnly); day != s.day {
			s.day, s.dayCount = day, 0
		}
		s.dayCount++
		over = s.dayCount > s.dailyQuota
	}
	if s.minuteQuota > 0 {
		cut := now.Add(-time.Minute)
		i := 0
		for i < len(s.window) && s.window[i].Before(cut) {
			i++
		}
		s.window = append(s.window[i:], now)
		over = over || len(s.window) > s.minuteQuota
	}
	return over
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	switch f {
	case QuotaExceeded:
		writeError(w, r, http.StatusTooManyRequests, "QuotaExceededError", "Quota exceeded")
	case TooManyRequests:
		writeError(w, r, http.StatusTooManyRequests, "TooManyRequestsError", "Too many requests.")
	case Transient:
		writeError(w, r, http.StatusServiceUnavailable, "TransientError", "Transient server error. Retry might work.")
	case DeadlineExceeded:
		writeError(w, r, http.StatusGatewayTimeout, "DeadlineExceededError", "The operation took too long to complete.")
	case WrongCredentials:
		writeError(w, r, http.StatusUnauthorized, "WrongCredentialsError", "Wrong API key")
	case HTMLError:
		const page = "<html><head><title>500 Server Error</title></head><body><h1>Error: Server Error</h1></body></html>\n"
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(page))
	case EmptyOK, EmptyError:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "0")
		if f == EmptyOK {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusInternalServerError)
		}
	case Hang:
		s.wait(r, 0)
	case Reset:
		reset(w)
	}
}

// wait sleeps for d (d == 0: forever) unless the client goes away or the
// server closes; it reports whether the full delay elapsed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// errReset is the panic value that tells memTransport to fail the request
// with a connection reset, where no connection exists to hijack.
var errReset = errors.New("vttest: connection reset")

func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(errReset)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // close with RST, not FIN
	}
	_ = conn.Close()
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	body, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	writeJSON(w, r, status, body)
}

// writeJSON answers like VirusTotal: JSON, gzip-compressed when the client
// accepts it.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if gz := acceptsGzip(r.Header.Get("Accept-Encoding")); gz {
		write(w, status, compress(body), true)
	} else {
		write(w, status, body, false)
	}
}

// write sends a JSON body, gzip-compressed or not.
func write(w http.ResponseWriter, status int, body []byte, gzipped bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if gzipped {
		h.Set("Content-Encoding", "gzip")
		h.Set("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func compress(body []byte) []byte {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(body)
	_ = zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// routes are the object collections the fake serves: how an id is
// checked, and the messages of a malformed and of an unknown one.
var routes = map[string]struct {
	valid             func(id string) bool
	invalid, notFound string
}{
	"domains":      {validDomain, "Domain %q is not a valid domain pattern", "Domain %q not found"},
	"ip_addresses": {validIP, "%q is not a valid IP address", "IP address %q not found"},
	"files":        {validHash, "%q is not a valid file hash (MD5, SHA-1 or SHA-256)", "File %q not found"},
}

// validIP accepts an IPv4 address in dotted decimal or an IPv6 address,
// without a zone.
func validIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// validHash accepts 32, 40 or 64 lower-case hex digits.
func validHash(s string) bool {
	switch len(s) {
	case 32, 40, 64:
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validDomain accepts host names VirusTotal would look up: dot-separated
// labels of letters, digits, '-' and '_', at most 253 characters.
func validDomain(d string) bool {
	if len(d) > 253 || d == "" || d[0] == '.' || d[len(d)-1] == '.' {
		return false
	}
	label := 0
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			if label++; label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// HandlerTransport returns a RoundTripper that serves each request by
// calling h directly, as Server.Transport does: for a test's own handler
// in front of a Server (one that counts what it serves, say) in a
// testing/synctest bubble. The request reaches h as over a connection, as
// a real transport's trace would tell. A handler that drops the
// connection (a Reset fault, or a panic with http.ErrAbortHandler) fails
// the request with "connection reset by peer"; a request whose context
// ends before h answers fails with the context's error.
func HandlerTransport(h http.Handler) http.RoundTripper { return memTransport{h} }

// memTransport serves requests by calling a handler directly.
type memTransport struct{ h http.Handler }

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tr := httptrace.ContextClientTrace(req.Context()); tr != nil {
		if tr.GotConn != nil {
			tr.GotConn(httptrace.GotConnInfo{})
		}
		if tr.WroteHeaders != nil {
			tr.WroteHeaders()
		}
	}
	rec := httptest.NewRecorder()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		t.h.ServeHTTP(rec, req)
	}()
	select {
	case p := <-done:
		if p == errReset || p == http.ErrAbortHandler {
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
		}
		if p != nil {
			return nil, fmt.Errorf("vttest: handler panicked: %v", p)
		}
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// Package splunkd talks to splunkd's REST API (the management port, 8089):
// the streaming search export, KV store collections, storage/passwords,
// modular-input settings, server roles and login.
//
// TLS is always verified, with one exception that mirrors Splunk's own SDKs
// (the Python SDK connects with verify=False): when the server URI's host is
// a loopback address (127.0.0.0/8, ::1 or "localhost") the client accepts
// any certificate, because splunkd ships a self-signed certificate and a
// modular input always reaches its own splunkd through server_uri
// https://127.0.0.1:8089 — a connection that never leaves the host. For
// every other host the certificate must chain to the system roots or to the
// CA given in Config.CAFile, and must name the host.
package splunkd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vtsync/vtsync/internal/logging"
)

// Config configures a Client. One of SessionKey, Token or Username and
// Password is required.
type Config struct {
	BaseURL    string // server_uri as splunkd gives it, e.g. https://127.0.0.1:8089
	SessionKey string // sent as "Authorization: Splunk <key>"
	Token      string // sent as "Authorization: Bearer <token>"
	Username   string // with Password: POST /services/auth/login for a session key
	Password   string
	App        string // namespace app; default "vtsync"
	CAFile     string // PEM file of extra trusted roots
	// HTTPClient replaces the client built from BaseURL and CAFile (tests).
	// It must not have a Timeout: the search export streams for as long as
	// the search runs.
	HTTPClient *http.Client
	Logger     *slog.Logger // nil: discard
	// Secrets receives the session key, the token, the password and every
	// secret read from or written to storage/passwords, and scrubs the
	// client's errors; nil: the registry of Logger's logging.Handler, or a
	// registry of the client's own.
	Secrets *logging.Secrets
	// Timeout bounds each request other than the export (default 2m).
	Timeout time.Duration
	// RetryBase is the first wait before retrying a KV store request that
	// got 503 (default 500ms); waits double up to 16×RetryBase.
	RetryBase time.Duration
	// ReadyTimeout bounds the 503 retries when the context has no deadline
	// (default 5m).
	ReadyTimeout time.Duration
}

// DefaultApp is the namespace app used when Config.App is empty.
const DefaultApp = "vtsync"

// Client is a splunkd REST client. It is safe for concurrent use.
type Client struct {
	base         string // scheme://host[:port][/prefix], no trailing slash
	app          string
	hc           *http.Client
	log          *slog.Logger
	secrets      *logging.Secrets
	timeout      time.Duration
	retryBase    time.Duration
	readyTimeout time.Duration
	authMode     string // "session", "token", "login"

	username, password, token string

	loginMu    sync.Mutex // one login at a time
	mu         sync.Mutex
	sessionKey string
}

// New validates cfg and returns a Client. It does no I/O; with Username and
// Password the first request logs in.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("splunkd server URI %q is not an http(s) URL such as https://127.0.0.1:8089", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("splunkd server URI %q must not carry credentials, a query or a fragment", u.Redacted())
	}
	c := &Client{
		base:         u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"),
		app:          cfg.App,
		log:          cfg.Logger,
		secrets:      cfg.Secrets,
		timeout:      cfg.Timeout,
		retryBase:    cfg.RetryBase,
		readyTimeout: cfg.ReadyTimeout,
		username:     cfg.Username,
		password:     cfg.Password,
		token:        cfg.Token,
		sessionKey:   cfg.SessionKey,
	}
	if c.app == "" {
		c.app = DefaultApp
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.secrets == nil {
		c.secrets = logging.SecretsOf(c.log)
	}
	if c.secrets == nil {
		c.secrets = logging.NewSecrets()
	}
	if c.timeout <= 0 {
		c.timeout = 2 * time.Minute
	}
	if c.retryBase <= 0 {
		c.retryBase = 500 * time.Millisecond
	}
	if c.readyTimeout <= 0 {
		c.readyTimeout = 5 * time.Minute
	}
	switch {
	case cfg.SessionKey != "":
		c.authMode = "session"
	case cfg.Token != "":
		c.authMode = "token"
	case cfg.Username != "" && cfg.Password != "":
		c.authMode = "login"
	default:
		return nil, errors.New("splunkd: no credentials: give the session key splunkd passed on stdin, an authentication token, or a username and password")
	}
	c.secrets.Add(cfg.SessionKey, cfg.Token, cfg.Password)

	if cfg.HTTPClient != nil {
		c.hc = cfg.HTTPClient
		return c, nil
	}
	tr, err := newTransport(u.Hostname(), cfg.CAFile)
	if err != nil {
		return nil, err
	}
	c.hc = &http.Client{
		Transport: tr,
		// splunkd's REST API does not redirect the calls made here; a
		// redirect would be a misconfiguration (or a proxy login page), so
		// report it instead of following it with credentials.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// App returns the namespace app.
func (c *Client) App() string { return c.app }

// IsLoopback reports whether host (a URL host name without port) is a
// loopback name or address: "localhost", 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// tlsConfig returns the TLS settings for connections to host: any
// certificate for a loopback host (see the package comment), otherwise
// standard verification against the system roots plus the PEM roots in
// caFile.
func tlsConfig(host, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("splunkd CA file %s: %w", caFile, err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("splunkd CA file %s holds no PEM certificate; give the PEM file of the CA that signed splunkd's certificate", caFile)
		}
		cfg.RootCAs = roots
	}
	if IsLoopback(host) {
		cfg.InsecureSkipVerify = true // splunkd's self-signed certificate on this host; see package doc
	}
	return cfg, nil
}

func newTransport(host, caFile string) (*http.Transport, error) {
	tc, err := tlsConfig(host, caFile)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // splunkd is reached directly, never through HTTPS_PROXY
		DialContext:           d.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   15 * time.Second,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}, nil
}

// redact returns err with the registered secrets masked in its text; it
// still unwraps to err, so errors.As and IsUnauthorized keep working.
func (c *Client) redact(err error) error { return c.secrets.ScrubError(err) }

// nsPath returns /servicesNS/nobody/<app>/ followed by the escaped segments.
func (c *Client) nsPath(segments ...string) string {
	var b strings.Builder
	b.WriteString("/servicesNS/nobody/")
	b.WriteString(escapeSegment(c.app))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(s)
	}
	return b.String()
}

// escapeSegment percent-encodes everything in s except RFC 3986 unreserved
// characters, so "/" and ":" inside a name stay inside one path segment
// (splunkd's ids use %3A for ":", as in storage/passwords ids).
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// request is one REST call. path is already escaped.
type request struct {
	method      string
	path        string
	query       url.Values
	form        url.Values // form-encoded body
	json        []byte     // JSON body (Content-Type application/json)
	noAuth      bool       // auth/login
	counter     func()     // called once per HTTP request sent
	maxBodySize int64      // 0: 64 MiB
}

// authorization returns the Authorization header value, logging in first
// when the client works from a username and password.
func (c *Client) authorization(ctx context.Context) (string, error) {
	c.mu.Lock()
	key := c.sessionKey
	c.mu.Unlock()
	switch {
	case key != "":
		return "Splunk " + key, nil
	case c.token != "":
		return "Bearer " + c.token, nil
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	key = c.sessionKey
	c.mu.Unlock()
	if key == "" {
		if err := c.Login(ctx); err != nil {
			return "", err
		}
		c.mu.Lock()
		key = c.sessionKey
		c.mu.Unlock()
	}
	return "Splunk " + key, nil
}

// open sends r and returns the response when its status is 2xx; any other
// status becomes an *Error (body read and closed). With credentials, a 401
// triggers one fresh login and one retry.
func (c *Client) open(ctx context.Context, r request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		e := c.errorFrom(r, resp)
		if e.Status == http.StatusUnauthorized && attempt == 0 && c.authMode == "login" && !r.noAuth {
			c.log.Info("splunkd session expired; logging in again", "user", c.username)
			c.mu.Lock()
			c.sessionKey = ""
			c.mu.Unlock()
			continue
		}
		return nil, e
	}
}

func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	var ctype string
	switch {
	case r.form != nil:
		body, ctype = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.json != nil:
		body, ctype = bytes.NewReader(r.json), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if !r.noAuth {
		auth, err := c.authorization(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", auth)
	}
	if r.counter != nil {
		r.counter()
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("splunkd %s %s: %w", r.method, r.path, ctx.Err())
		}
		return nil, fmt.Errorf("splunkd %s %s: %w", r.method, r.path, unwrapURLError(err))
	}
	return resp, nil
}

// unwrapURLError drops url.Error's copy of the URL (already in our prefix)
// but keeps the cause, and explains certificate failures.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	if errors.As(err, &uae) || errors.As(err, &hne) {
		return fmt.Errorf("%w (splunkd's certificate is not trusted: set ca_file to the PEM file of the CA that signed it)", err)
	}
	return err
}

func (c *Client) errorFrom(r request, resp *http.Response) *Error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msgs := parseMessages(body)
	for i := range msgs {
		msgs[i].Text = c.secrets.Scrub(msgs[i].Text)
	}
	e := &Error{Status: resp.StatusCode, Messages: msgs, Method: r.method, Path: r.path}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		switch {
		case r.noAuth:
			e.Hint = "login failed: check the splunkd username and password"
		case c.authMode == "session":
			e.Hint = "splunkd rejected the session key: it expired or was revoked; splunkd passes a fresh key at the next start of the input — restart a long-running input, or check that splunkd was not restarted with a new key"
		case c.authMode == "token":
			e.Hint = "splunkd rejected the authentication token: it expired, was disabled or is not valid for this server; create a new token"
		default:
			e.Hint = "splunkd rejected the session: check the splunkd username and password"
		}
	case http.StatusForbidden:
		e.Hint = "the splunkd user lacks the capability or permission for this call"
	}
	return e
}

// do sends r and reads the whole 2xx body, bounded by the client timeout
// unless ctx ends sooner.
func (c *Client) do(ctx context.Context, r request) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.open(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	limit := r.maxBodySize
	if limit <= 0 {
		limit = 64 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("splunkd %s %s: reading the answer: %w", r.method, r.path, err)
	}
	if int64(len(body)) > limit {
		return nil, 0, fmt.Errorf("splunkd %s %s: answer larger than %d bytes", r.method, r.path, limit)
	}
	return body, resp.StatusCode, nil
}

// Login exchanges Username and Password for a session key
// (POST /services/auth/login). Requests log in by themselves when needed;
// call Login to check the credentials early.
func (c *Client) Login(ctx context.Context) error {
	if c.username == "" || c.password == "" {
		return errors.New("splunkd: login needs a username and a password")
	}
	body, _, err := c.do(ctx, request{
		method: http.MethodPost,
		path:   "/services/auth/login",
		form:   url.Values{"username": {c.username}, "password": {c.password}},
		noAuth: true,
	})
	if err != nil {
		return c.redact(err)
	}
	var v struct {
		SessionKey string `xml:"sessionKey"`
	}
	if err := xml.Unmarshal(body, &v); err != nil || strings.TrimSpace(v.SessionKey) == "" {
		return errors.New("splunkd POST /services/auth/login: the answer holds no <sessionKey>")
	}
	key := strings.TrimSpace(v.SessionKey)
	c.secrets.Add(key)
	c.mu.Lock()
	c.sessionKey = key
	c.mu.Unlock()
	return nil
}

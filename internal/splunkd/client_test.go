package splunkd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/splunktest"
)

func TestUnauthorized(t *testing.T) {
	s := splunktest.New(t)
	ctx := context.Background()
	const badKey = "0123456789abcdef-wrong-key"
	c := newClient(t, s, func(c *Config) { c.SessionKey = badKey })
	_, err := c.ServerRoles(ctx)
	if !IsUnauthorized(err) {
		t.Fatalf("err = %v, want 401", err)
	}
	for _, want := range []string{"call not properly authenticated", "session key", "expired"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("401 error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), badKey) {
		t.Error("session key in the error")
	}

	// A good key works until the session expires.
	good := newClient(t, s)
	if _, err := good.ServerRoles(ctx); err != nil {
		t.Fatal(err)
	}
	s.Expire()
	err = good.Export(ctx, "search x", "", "", func(map[string][]string) error { return nil })
	if !IsUnauthorized(err) {
		t.Fatalf("after expiry: err = %v, want 401", err)
	}
	if _, err := getDomains(good.KVStore(coll), ctx, []string{"a"}); !IsUnauthorized(err) {
		t.Fatalf("KV after expiry: err = %v, want 401", err)
	}
}

func TestBearerToken(t *testing.T) {
	s := splunktest.New(t, splunktest.WithToken("tok-123"), splunktest.WithServerRoles("search_head", "shc_captain"))
	c := newClient(t, s, func(c *Config) { c.SessionKey, c.Token = "", "tok-123" })
	roles, err := c.ServerRoles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"search_head", "shc_captain"}; !reflect.DeepEqual(roles, want) {
		t.Errorf("roles = %q, want %q", roles, want)
	}
}

func TestLoginAndRelogin(t *testing.T) {
	s := splunktest.New(t, splunktest.WithUser("admin", "changeme!"))
	var logs bytes.Buffer
	c := newClient(t, s, func(c *Config) {
		c.SessionKey, c.Username, c.Password = "", "admin", "changeme!"
		c.Logger = testLogger(&logs, slog.LevelDebug)
	})
	ctx := context.Background()
	if _, err := c.ServerRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Count("login"); n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
	s.Expire()
	if _, err := c.ServerRoles(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := s.Count("login"); n != 2 {
		t.Errorf("%d logins, want a second one after expiry", n)
	}
	if strings.Contains(logs.String(), s.SessionKey()) || strings.Contains(logs.String(), "changeme!") {
		t.Errorf("secret in logs: %s", logs.String())
	}

	bad := newClient(t, s, func(c *Config) { c.SessionKey, c.Username, c.Password = "", "admin", "wrong-pass" })
	err := bad.Login(ctx)
	if !IsUnauthorized(err) || !strings.Contains(err.Error(), "username and password") || !strings.Contains(err.Error(), "Login failed") {
		t.Fatalf("bad login: err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Error("password in the error")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{BaseURL: "127.0.0.1:8089", SessionKey: "k"},
		{BaseURL: "ftp://127.0.0.1", SessionKey: "k"},
		{BaseURL: "https://127.0.0.1:8089"},
		{BaseURL: "https://admin:pw@127.0.0.1:8089", SessionKey: "k"},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("New(%+v) accepted", cfg)
			continue
		}
		if strings.Contains(err.Error(), "pw@") {
			t.Errorf("credentials echoed: %v", err)
		}
	}
}

func TestPasswordsRoundTrip(t *testing.T) {
	s := splunktest.New(t)
	c := newClient(t, s)
	ctx := context.Background()
	realm, user := "vtsync", `in:put\one`

	if _, found, err := c.Password(ctx, realm, user); err != nil || found {
		t.Fatalf("before create: found=%v err=%v", found, err)
	}
	if err := c.SetPassword(ctx, realm, user, "first-secret"); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.StoredPassword(DefaultApp, realm, user); !ok || got != "first-secret" {
		t.Fatalf("stored %q %v", got, ok)
	}
	got, found, err := c.Password(ctx, realm, user)
	if err != nil || !found || got != "first-secret" {
		t.Fatalf("Password = %q %v %v", got, found, err)
	}
	// Second set: splunkd answers 409 to the create, the client updates.
	if err := c.SetPassword(ctx, realm, user, "second-secret"); err != nil {
		t.Fatal(err)
	}
	if s.Count("passwords_create") != 2 || s.Count("passwords_update") != 1 {
		t.Errorf("create %d, update %d; want 2, 1", s.Count("passwords_create"), s.Count("passwords_update"))
	}
	if got, _, _ := c.Password(ctx, realm, user); got != "second-secret" {
		t.Errorf("after update: %q", got)
	}
	// Entity names keep realm and user apart: "a:b" + "c" is not "a" + "b:c".
	if err := c.SetPassword(ctx, "a:b", "c", "x1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ctx, "a", "b:c", "x2"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Password(ctx, "a:b", "c"); got != "x1" {
		t.Errorf("a:b/c = %q", got)
	}
	if got, _, _ := c.Password(ctx, "a", "b:c"); got != "x2" {
		t.Errorf("a/b:c = %q", got)
	}
}

func TestPasswordEntity(t *testing.T) {
	for _, c := range []struct{ realm, user, want string }{
		{"splunk.com", "foobar", "splunk.com:foobar:"},
		{"", "foobar", ":foobar:"},
		{"vtsync", "a:b", `vtsync:a\:b:`},
		{`r\x`, "u", `r\\x:u:`},
	} {
		if got := PasswordEntity(c.realm, c.user); got != c.want {
			t.Errorf("PasswordEntity(%q, %q) = %q, want %q", c.realm, c.user, got, c.want)
		}
	}
	// The path form matches splunkd's ids, e.g. splunk.com%3Afoobar%3A.
	if got := escapeSegment(PasswordEntity("splunk.com", "foobar")); got != "splunk.com%3Afoobar%3A" {
		t.Errorf("escaped entity %q", got)
	}
}

// Secrets sent to splunkd never come back in errors, even when the server
// echoes them.
func TestSecretsNeverInErrors(t *testing.T) {
	const key, secret = "sess-KEY-42", "vt-secret-key-0123456789"
	echo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"messages": []map[string]string{{
			"type": "ERROR", "text": "bad request: " + r.Header.Get("Authorization") + " " + r.PostForm.Encode(),
		}}})
	}))
	defer echo.Close()
	var logs bytes.Buffer
	c, err := New(Config{BaseURL: echo.URL, SessionKey: key, Logger: testLogger(&logs, slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errs := []error{
		c.SetPassword(ctx, "vtsync", "main", secret),
		c.MaskInputParam(ctx, "vtsync", "main", "api_key"),
		c.Export(ctx, "search x", "", "", func(map[string][]string) error { return nil }),
		saveDomains(c.KVStore(coll), ctx, testRecords(1)),
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded against an error server", i)
		}
		if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), secret) {
			t.Errorf("call %d leaked a secret: %v", i, err)
		}
		var e *Error
		if errors.As(err, &e) {
			for _, m := range e.Messages {
				if strings.Contains(m.Text, key) || strings.Contains(m.Text, secret) {
					t.Errorf("call %d: secret inside *Error message %q", i, m.Text)
				}
			}
		}
	}
	if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), secret) {
		t.Errorf("secret in logs: %s", logs.String())
	}
}

func TestMaskInputParam(t *testing.T) {
	s := splunktest.New(t, splunktest.WithInput(DefaultApp, "vtsync", "main feed", map[string]string{
		"api_key": strings.Repeat("ab", 32), "search": "| `vtsync_candidates`",
	}))
	c := newClient(t, s)
	ctx := context.Background()
	if err := c.MaskInputParam(ctx, "vtsync", "main feed", "api_key"); err != nil {
		t.Fatal(err)
	}
	p := s.InputParams(DefaultApp, "vtsync", "main feed")
	if p["api_key"] != params.Mask || p["search"] != "| `vtsync_candidates`" {
		t.Errorf("input params after masking: %v", p)
	}
	if err := c.MaskInputParam(ctx, "vtsync", "other", "api_key"); !IsNotFound(err) {
		t.Errorf("unknown input: err = %v, want 404", err)
	}
	if err := c.MaskInputParam(ctx, "vtsync", "main feed", "no_such_param"); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("unknown parameter: err = %v, want splunkd's 400", err)
	}
}

func TestServerRoles(t *testing.T) {
	s := splunktest.New(t, splunktest.WithServerRoles("indexer", "kv_store", "shc_member"))
	roles, err := newClient(t, s).ServerRoles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"indexer", "kv_store", "shc_member"}; !reflect.DeepEqual(roles, want) {
		t.Errorf("roles = %q, want %q", roles, want)
	}
}

// An answer that does not state the roles is an error, not "no roles": a
// caller must not take a cluster member for a standalone instance. An
// empty list is a statement (no cluster role); a plain string is one role.
func TestServerRolesAnswers(t *testing.T) {
	for _, c := range []struct {
		name  string
		opt   splunktest.Option
		roles []string
		err   string
	}{
		{"missing", splunktest.WithServerRolesJSON(""), nil, "answered without server_roles"},
		{"null", splunktest.WithServerRolesJSON("null"), nil, "answered server_roles: null"},
		{"number", splunktest.WithServerRolesJSON("7"), nil, "server_roles is neither a list nor a string"},
		{"empty list", splunktest.WithServerRoles(), []string{}, ""},
		{"one string", splunktest.WithServerRolesJSON(`"shc_member"`), []string{"shc_member"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			roles, err := newClient(t, splunktest.New(t, c.opt)).ServerRoles(context.Background())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("roles %q, err %v; want an error saying %q", roles, err, c.err)
				}
				if roles != nil {
					t.Errorf("roles %q alongside the error, want none", roles)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(roles, c.roles) {
				t.Errorf("roles = %q, want %q", roles, c.roles)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true, "localhost": true, "LocalHost.": true,
		"10.0.0.1": false, "example.com": false, "localhost.example.com": false, "128.0.0.1": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// clientVia returns a Client for https://example.com:<port> whose
// connections go to the fake (its certificate names example.com), built
// with the same TLS settings New uses for that host.
func clientVia(t *testing.T, s *splunktest.Server, caFile string) (*Client, error) {
	t.Helper()
	tr, err := newTransport("example.com", caFile)
	if err != nil {
		return nil, err
	}
	addr := strings.TrimPrefix(s.URL(), "https://")
	_, port, _ := net.SplitHostPort(addr)
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return New(Config{BaseURL: "https://example.com:" + port, SessionKey: s.SessionKey(), HTTPClient: &http.Client{Transport: tr}})
}

func TestTLSVerification(t *testing.T) {
	s := splunktest.New(t)
	ctx := context.Background()

	// Loopback: splunkd's self-signed certificate is accepted.
	if _, err := newClient(t, s).ServerRoles(ctx); err != nil {
		t.Fatalf("loopback: %v", err)
	}

	// Any other host: refused without the CA, with a hint to set ca_file.
	c, err := clientVia(t, s, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ServerRoles(ctx)
	if err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("remote without CA: err = %v, want a certificate error naming ca_file", err)
	}

	// With the CA file: verified and accepted.
	c, err = clientVia(t, s, s.WriteCAFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerRoles(ctx); err != nil {
		t.Fatalf("remote with CA: %v", err)
	}

	// Bad CA files are reported by name.
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	for _, f := range []string{junk, filepath.Join(dir, "missing.pem")} {
		_, err := New(Config{BaseURL: "https://splunk.example.com:8089", SessionKey: "k", CAFile: f})
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("CA file %s: err = %v, want one naming the file", f, err)
		}
	}
}

package vttest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	vt "github.com/VirusTotal/vt-go"

	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
)

// answer is a decoded response of the fake.
type answer struct {
	status   int
	ctype    string
	encoding string
	body     []byte
	err      error
}

func (a answer) code() string {
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func (a answer) message() string {
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Message
}

// do sends one request like vt-go does (X-Apikey, Accept-Encoding: gzip)
// and decodes the answer.
func do(t *testing.T, rt http.RoundTripper, method, u, key string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Apikey", key)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: rt, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), encoding: resp.Header.Get("Content-Encoding")}
	var r io.Reader = resp.Body
	if a.encoding == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: bad gzip: %v", method, u, err)
		}
		r = zr
	}
	if a.body, err = io.ReadAll(r); err != nil {
		a.err = err
	}
	return a
}

func TestRoutesAndErrors(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddDomain("known.example", json.RawMessage(`{"reputation":5}`))
	rt := http.DefaultTransport
	for _, tc := range []struct {
		method, path, key string
		status            int
		code, message     string
	}{
		{"GET", "/api/v3/domains/known.example", "", 401, "AuthenticationRequiredError", "X-Apikey header is missing"},
		{"GET", "/api/v3/domains/known.example", "wrong", 401, "WrongCredentialsError", "Wrong API key"},
		{"GET", "/api/v3/domains/unknown.example", APIKey, 404, "NotFoundError", `Domain "unknown.example" not found`},
		{"GET", "/api/v3/domains/known.example/resolutions", APIKey, 404, "NotFoundError", ""},
		{"GET", "/api/v3/files/abc", APIKey, 400, "InvalidArgumentError", `"abc" is not a valid file hash (MD5, SHA-1 or SHA-256)`},
		{"GET", "/api/v3/urls/abc", APIKey, 404, "NotFoundError", ""},
		{"GET", "/api/v2/domains/known.example", APIKey, 404, "NotFoundError", ""},
		{"GET", "/api/v3/domains/", APIKey, 404, "NotFoundError", ""},
		{"POST", "/api/v3/domains/known.example", APIKey, 405, "BadRequestError", ""},
		{"DELETE", "/api/v3/domains/known.example", APIKey, 405, "BadRequestError", ""},
		{"GET", "/api/v3/domains/bad%20name.example", APIKey, 400, "InvalidArgumentError", ""},
		{"GET", "/api/v3/domains/a..b", APIKey, 400, "InvalidArgumentError", ""},
	} {
		a := do(t, rt, tc.method, s.ts.URL+tc.path, tc.key)
		if a.err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, a.err)
		}
		if a.status != tc.status || a.code() != tc.code || (tc.message != "" && a.message() != tc.message) ||
			!strings.HasPrefix(a.ctype, "application/json") || a.encoding != "gzip" {
			t.Errorf("%s %s key %q: %d %s %q (%s, %s), want %d %s %q", tc.method, tc.path, tc.key,
				a.status, a.code(), a.message(), a.ctype, a.encoding, tc.status, tc.code, tc.message)
		}
	}
	if s.DomainRequests("known.example") != 0 {
		t.Errorf("rejected requests counted per domain: %d", s.DomainRequests("known.example"))
	}
	if s.Requests() != 12 {
		t.Errorf("Requests() = %d, want 12", s.Requests())
	}
}

func TestDomainEnvelope(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddDomain("Known.Example", json.RawMessage(`{"reputation":5,"tags":["dga"]}`))
	a := do(t, http.DefaultTransport, "GET", s.URL()+"/domains/KNOWN.example", APIKey)
	if a.status != 200 || a.encoding != "gzip" {
		t.Fatalf("%d %s %s", a.status, a.encoding, a.body)
	}
	var env struct {
		Data struct {
			ID, Type   string
			Links      struct{ Self string }
			Attributes map[string]any
		}
	}
	if err := json.Unmarshal(a.body, &env); err != nil {
		t.Fatal(err)
	}
	d := env.Data
	if d.ID != "known.example" || d.Type != "domain" || d.Links.Self != s.URL()+"/domains/known.example" || d.Attributes["reputation"] != 5.0 {
		t.Errorf("envelope %s", a.body)
	}
	if s.DomainRequests("known.example") != 1 {
		t.Errorf("DomainRequests = %d", s.DomainRequests("known.example"))
	}

	// Without Accept-Encoding: gzip the body is plain.
	req, _ := http.NewRequest("GET", s.URL()+"/domains/known.example", nil)
	req.Header.Set("X-Apikey", APIKey)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || !json.Valid(body) {
		t.Errorf("identity answer: %q %q", resp.Header.Get("Content-Encoding"), body)
	}
}

// vt-go itself reads the fake's answers, gzip included.
func TestVTGoClient(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddDomain("vtgo.example", json.RawMessage(`{"last_analysis_stats":{"malicious":6}}`))
	c := vt.NewClient(APIKey)
	u, _ := url.Parse(s.URL() + "/domains/vtgo.example")
	resp, err := c.Get(u)
	if err != nil || !strings.Contains(string(resp.Data), `"malicious":6`) {
		t.Fatalf("%v %v", resp, err)
	}
	u, _ = url.Parse(s.URL() + "/domains/nope.example")
	_, err = c.Get(u)
	var ve vt.Error
	if !errors.As(err, &ve) || ve.Code != "NotFoundError" {
		t.Errorf("got %v, want vt.Error NotFoundError", err)
	}
	s.FailNext(QuotaExceeded)
	_, err = vt.NewClient(APIKey).Get(u)
	if !errors.As(err, &ve) || ve.Code != "QuotaExceededError" {
		t.Errorf("got %v, want vt.Error QuotaExceededError", err)
	}
}

func TestFaults(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddDomain("f.example", json.RawMessage(`{}`))
	u := s.URL() + "/domains/f.example"
	for _, tc := range []struct {
		fault  Fault
		status int
		code   string
		ctype  string
		empty  bool
	}{
		{QuotaExceeded, 429, "QuotaExceededError", "application/json", false},
		{TooManyRequests, 429, "TooManyRequestsError", "application/json", false},
		{Transient, 503, "TransientError", "application/json", false},
		{DeadlineExceeded, 504, "DeadlineExceededError", "application/json", false},
		{WrongCredentials, 401, "WrongCredentialsError", "application/json", false},
		{HTMLError, 500, "", "text/html", false},
		{EmptyOK, 200, "", "application/json", true},
		{EmptyError, 500, "", "application/json", true},
	} {
		s.FailDomain("f.example", tc.fault)
		a := do(t, http.DefaultTransport, "GET", u, APIKey)
		if a.err != nil || a.status != tc.status || a.code() != tc.code || !strings.HasPrefix(a.ctype, tc.ctype) || (len(a.body) == 0) != tc.empty {
			t.Errorf("%v: %d %s %s %q %v", tc.fault, a.status, a.code(), a.ctype, a.body, a.err)
		}
	}
	if s.Rejected() != 2 {
		t.Errorf("Rejected() = %d, want 2", s.Rejected())
	}

	// A fresh transport: on a reused connection net/http would silently
	// resend the GET after the reset.
	s.FailDomain("f.example", Reset)
	if a := do(t, &http.Transport{}, "GET", u, APIKey); a.err == nil {
		t.Errorf("Reset: got %d, want a connection error", a.status)
	}

	s.FailDomain("f.example", Hang)
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("X-Apikey", APIKey)
	_, err := (&http.Client{Timeout: 100 * time.Millisecond}).Do(req)
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Hang: got %v, want a client timeout", err)
	}

	// Faults are spent: the next request is normal.
	if a := do(t, http.DefaultTransport, "GET", u, APIKey); a.status != 200 {
		t.Errorf("after the faults: %d", a.status)
	}
	if got := s.DomainRequests("f.example"); got != 11 {
		t.Errorf("DomainRequests = %d, want 11", got)
	}
}

func TestFailNextBeforeFailDomain(t *testing.T) {
	s := New()
	defer s.Close()
	s.FailDomain("a.example", Transient)
	s.FailNext(TooManyRequests, DeadlineExceeded)
	var codes []string
	for _, d := range []string{"b.example", "a.example", "a.example", "a.example"} {
		codes = append(codes, do(t, http.DefaultTransport, "GET", s.URL()+"/domains/"+d, APIKey).code())
	}
	want := []string{"TooManyRequestsError", "DeadlineExceededError", "TransientError", "NotFoundError"}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
}

func TestMinuteQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewInMemory(WithMinuteQuota(3))
		rt := s.Transport()
		get := func() string { return do(t, rt, "GET", s.URL()+"/domains/q.example", APIKey).code() }
		// 0 s, 20 s, 40 s: within quota; 59 s: the 4th in a minute; 79 s:
		// 20, 40, 59 (rejected, still counted) and 79 are 4 in [19 s, 79 s].
		for i, want := range []string{"NotFoundError", "NotFoundError", "NotFoundError", "QuotaExceededError", "QuotaExceededError"} {
			if got := get(); got != want {
				t.Errorf("request %d: %s, want %s", i, got, want)
			}
			time.Sleep([]time.Duration{20, 20, 19, 20, 41}[i] * time.Second)
		}
		// At 120 s the window [60 s, 120 s] holds 79 s and this one.
		if got := get(); got != "NotFoundError" {
			t.Errorf("at 120 s: %s", got)
		}
		// A request exactly 60 s after another shares its window.
		s2 := NewInMemory(WithMinuteQuota(1))
		rt = s2.Transport()
		if a := do(t, rt, "GET", s2.URL()+"/domains/q.example", APIKey); a.code() != "NotFoundError" {
			t.Errorf("first: %s", a.code())
		}
		time.Sleep(time.Minute)
		if a := do(t, rt, "GET", s2.URL()+"/domains/q.example", APIKey); a.code() != "QuotaExceededError" {
			t.Errorf("60 s later: %s, want QuotaExceededError", a.code())
		}
		if s.Rejected() != 2 || s2.Rejected() != 1 {
			t.Errorf("Rejected() = %d, %d", s.Rejected(), s2.Rejected())
		}
	})
}

func TestDailyQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewInMemory(WithDailyQuota(2)) // the bubble starts at 2000-01-01 00:00 UTC
		rt := s.Transport()
		get := func() string { return do(t, rt, "GET", s.URL()+"/domains/d.example", APIKey).code() }
		for i, want := range []string{"NotFoundError", "NotFoundError", "QuotaExceededError"} {
			if got := get(); got != want {
				t.Errorf("request %d: %s, want %s", i, got, want)
			}
			time.Sleep(time.Hour)
		}
		time.Sleep(21 * time.Hour) // past 00:00 UTC
		if got := get(); got != "NotFoundError" {
			t.Errorf("next day: %s", got)
		}
	})
}

func TestLatencyAndInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewInMemory(WithLatency(2 * time.Second))
		rt := s.Transport()
		start := time.Now()
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() { do(t, rt, "GET", s.URL()+"/domains/l.example", APIKey) })
		}
		wg.Wait()
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("answers after %s of virtual time, want 2s", d)
		}
		if s.MaxInFlight() != 5 || s.Requests() != 5 || len(s.RequestTimes()) != 5 {
			t.Errorf("MaxInFlight %d, Requests %d", s.MaxInFlight(), s.Requests())
		}
	})
}

func TestInMemoryFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewInMemory()
		s.FailNext(Reset, Hang)
		rt := s.Transport()
		if a := do(t, rt, "GET", s.URL()+"/domains/m.example", APIKey); a.err == nil || !strings.Contains(a.err.Error(), "connection reset") {
			t.Errorf("Reset: %v", a.err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/domains/m.example", nil)
		req.Header.Set("X-Apikey", APIKey)
		if _, err := rt.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Hang: %v", err)
		}
	})
}

func TestAddFileAndLoadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"env.json":     `{"data":{"id":"Env.Example","type":"domain","attributes":{"reputation":1}}}`,
		"wrapped.json": `{"request_info":{"method":"GET"},"response":{"id":"wrapped.example","type":"domain","attributes":{}}}`,
		"bare.json":    `{"id":"bare.example","type":"domain","attributes":{"tags":[]}}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := New()
	defer s.Close()
	if err := s.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"env.example", "wrapped.example", "bare.example"} {
		if a := do(t, http.DefaultTransport, "GET", s.URL()+"/domains/"+d, APIKey); a.status != 200 || !strings.HasPrefix(string(a.body), `{"data":{"id":`) {
			t.Errorf("%s: %d %s", d, a.status, a.body)
		}
	}
	for _, body := range []string{`{"data":{"id":"x","type":"url","attributes":{}}}`, `{"data":{"type":"domain"}}`, `[1]`, `{`} {
		p := filepath.Join(t.TempDir(), "bad.json")
		_ = os.WriteFile(p, []byte(body), 0o600)
		if err := s.AddFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("AddFile(%s) = %v, want an error naming the file", body, err)
		}
	}
}

// LoadDir reads an object of each kind, in each form, from testdata.
func TestLoadDirEveryKind(t *testing.T) {
	s := New()
	defer s.Close()
	if err := s.LoadDir("testdata"); err != nil {
		t.Fatal(err)
	}
	for path, id := range map[string]string{
		"domains/example.com":  "example.com",
		"ip_addresses/1.1.1.1": "1.1.1.1",
		"files/275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
		"files/44d88612fea8a8f36de82e1278abb02f":                                 "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
		"files/3395856CE81F2B7382DEE72602F798B642F14140":                         "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
	} {
		a := do(t, http.DefaultTransport, "GET", s.URL()+"/"+path, APIKey)
		var env struct{ Data struct{ ID string } }
		if a.status != 200 || json.Unmarshal(a.body, &env) != nil || env.Data.ID != id {
			t.Errorf("%s: %d %.80s", path, a.status, a.body)
		}
	}
}

// The IP address and file routes answer as the domain route does: the
// object, NotFoundError, or InvalidArgumentError for a malformed id.
func TestIPAndFileRoutes(t *testing.T) {
	s := New()
	defer s.Close()
	s.AddIPAddress("2001:4860:4860:0:0:0:0:8888", json.RawMessage(`{"asn":15169}`))
	s.AddIPAddress("8.8.8.8", json.RawMessage(`{"asn":15169}`))
	const md5, sha256 = "44d88612fea8a8f36de82e1278abb02f", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	s.AddFileObject(json.RawMessage(`{"md5":"` + md5 + `","sha256":"` + strings.ToUpper(sha256) + `","size":68}`))
	for _, tc := range []struct {
		path          string
		status        int
		code, message string
		id, typ       string
	}{
		{"/ip_addresses/8.8.8.8", 200, "", "", "8.8.8.8", "ip_address"},
		{"/ip_addresses/2001:4860:4860::8888", 200, "", "", "2001:4860:4860::8888", "ip_address"},
		{"/ip_addresses/9.9.9.9", 404, "NotFoundError", `IP address "9.9.9.9" not found`, "", ""},
		{"/ip_addresses/10.0.0.1", 404, "NotFoundError", `IP address "10.0.0.1" not found`, "", ""},
		{"/ip_addresses/999.1.1.1", 400, "InvalidArgumentError", `"999.1.1.1" is not a valid IP address`, "", ""},
		{"/ip_addresses/example.com", 400, "InvalidArgumentError", "", "", ""},
		{"/ip_addresses/fe80::1%25eth0", 400, "InvalidArgumentError", "", "", ""},
		{"/files/" + md5, 200, "", "", sha256, "file"},
		{"/files/" + strings.ToUpper(md5), 200, "", "", sha256, "file"},
		{"/files/" + sha256, 200, "", "", sha256, "file"},
		{"/files/" + strings.Repeat("1", 40), 404, "NotFoundError", `File "` + strings.Repeat("1", 40) + `" not found`, "", ""},
		{"/files/" + md5[:31], 400, "InvalidArgumentError", "", "", ""},
		{"/files/" + md5 + "/behaviours", 404, "NotFoundError", "", "", ""},
	} {
		a := do(t, http.DefaultTransport, "GET", s.URL()+tc.path, APIKey)
		var env struct {
			Data struct {
				ID, Type   string
				Links      struct{ Self string }
				Attributes map[string]any
			}
		}
		_ = json.Unmarshal(a.body, &env)
		if a.status != tc.status || a.code() != tc.code || (tc.message != "" && a.message() != tc.message) ||
			env.Data.ID != tc.id || env.Data.Type != tc.typ {
			t.Errorf("%s: %d %s %q id %q type %q", tc.path, a.status, a.code(), a.message(), env.Data.ID, env.Data.Type)
		}
		if tc.status == 200 && (env.Data.Attributes == nil || !strings.HasSuffix(env.Data.Links.Self, "/"+env.Data.ID)) {
			t.Errorf("%s: object %s", tc.path, a.body)
		}
	}
	if n := s.PathRequests("files/" + md5); n != 2 {
		t.Errorf("PathRequests(files/md5) = %d, want 2", n)
	}
	if n := s.PathRequests("ip_addresses/999.1.1.1"); n != 0 {
		t.Errorf("a malformed id was counted: %d", n)
	}
}

// The key's quota is one, whatever kind of object is asked for; faults
// are scripted per path.
func TestQuotaAndFaultsAcrossKinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewInMemory(WithMinuteQuota(2))
		rt := s.Transport()
		s.FailPath("ip_addresses/8.8.8.8", Transient)
		var codes []string
		for _, p := range []string{"/ip_addresses/8.8.8.8", "/domains/a.example", "/files/" + strings.Repeat("a", 64), "/ip_addresses/8.8.8.8"} {
			codes = append(codes, do(t, rt, "GET", s.URL()+p, APIKey).code())
		}
		want := []string{"TransientError", "NotFoundError", "NotFoundError", "QuotaExceededError"}
		if fmt.Sprint(codes) != fmt.Sprint(want) {
			t.Errorf("codes %v, want %v", codes, want)
		}
		time.Sleep(61 * time.Second)
		if c := do(t, rt, "GET", s.URL()+"/ip_addresses/8.8.8.8", APIKey).code(); c != "NotFoundError" {
			t.Errorf("after a minute: %s", c)
		}
	})
}

func TestAddIPAndFileObjectRefuseBadInput(t *testing.T) {
	for name, add := range map[string]func(){
		"AddIPAddress(not an IP)":      func() { NewInMemory().AddIPAddress("8.8.8", json.RawMessage(`{}`)) },
		"AddIPAddress(array)":          func() { NewInMemory().AddIPAddress("8.8.8.8", json.RawMessage(`[]`)) },
		"AddFileObject(no sha256)":     func() { NewInMemory().AddFileObject(json.RawMessage(`{"md5":"44d88612fea8a8f36de82e1278abb02f"}`)) },
		"AddFileObject(md5 as sha256)": func() { NewInMemory().AddFileObject(json.RawMessage(`{"sha256":"44d88612fea8a8f36de82e1278abb02f"}`)) },
		"AddFileObject(not an object)": func() { NewInMemory().AddFileObject(json.RawMessage(`"x"`)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			add()
		}()
	}
}

func TestAddDomainRejectsNonObjects(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AddDomain accepted a JSON array")
		}
	}()
	NewInMemory().AddDomain("x.example", json.RawMessage(`[1]`))
}

// Each kind's Path reaches its object in the fake, and its Map reads the
// fake's answer: the fake and the kinds agree on routes and envelopes.
func TestKindsReadTheFake(t *testing.T) {
	s := NewInMemory()
	if err := s.LoadDir("testdata"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		kind         kind.Kind
		raw, unknown string
	}{
		{domainkind.Kind{}, "www.Example.com", "example.org"},
		{ipkind.Kind{}, "[::ffff:1.1.1.1]:443", "1.0.0.1"},
		{filekind.Kind{}, "SHA1=3395856CE81F2B7382DEE72602F798B642F14140,IMPHASH=00000000000000000000000000000001",
			"3395856ce81f2b7382dee72602f798b642f14141"},
	} {
		key, reason := tc.kind.Normalize(tc.raw)
		if reason != "" {
			t.Fatalf("%s: Normalize(%q) rejected: %s", tc.kind.Name(), tc.raw, reason)
		}
		a := do(t, s.Transport(), "GET", s.URL()+"/"+tc.kind.Path(key), APIKey)
		if a.status != 200 {
			t.Fatalf("%s %s: %d %s", tc.kind.Name(), key, a.status, a.body)
		}
		r, err := tc.kind.Map(key, a.body, now)
		if err != nil || r.ID() != key || !r.Found() {
			t.Errorf("%s %s: %s, %v", tc.kind.Name(), key, show(r), err)
		}
		a = do(t, s.Transport(), "GET", s.URL()+"/"+tc.kind.Path(tc.unknown), APIKey)
		if a.status != 404 || a.code() != "NotFoundError" {
			t.Errorf("%s: unknown key answered %d %s", tc.kind.Name(), a.status, a.code())
		}
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

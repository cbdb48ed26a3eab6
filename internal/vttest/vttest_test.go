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
		{"GET", "/api/v3/files/abc", APIKey, 404, "NotFoundError", ""},
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
	if s.Requests() != 11 {
		t.Errorf("Requests() = %d, want 11", s.Requests())
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
	for _, body := range []string{`{"data":{"id":"x","type":"ip_address","attributes":{}}}`, `{"data":{"type":"domain"}}`, `[1]`, `{`} {
		p := filepath.Join(t.TempDir(), "bad.json")
		_ = os.WriteFile(p, []byte(body), 0o600)
		if err := s.AddFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("AddFile(%s) = %v, want an error naming the file", body, err)
		}
	}
}

func TestConformanceFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "conformance", "virustotal")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("conformance fixtures absent: shared/ must sit beside the repository")
	}
	s := New()
	defer s.Close()
	if err := s.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"tawuhoju.com", "loremipsum-services.net"} {
		if a := do(t, http.DefaultTransport, "GET", s.URL()+"/domains/"+d, APIKey); a.status != 200 {
			t.Errorf("%s: %d", d, a.status)
		}
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

package vt

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	vtgo "github.com/VirusTotal/vt-go"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/keyquota"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/version"
	"github.com/vtsync/vtsync/internal/vttest"
)

const knownAttrs = `{"creation_date":1483018099,"last_analysis_stats":{"malicious":3,"suspicious":1},"reputation":-4}`

// inMemory returns an Enricher talking to srv without sockets, for use in a
// synctest bubble (virtual time: pacing and backoff cost nothing).
func inMemory(t *testing.T, srv *vttest.Server, cfg Config) *Enricher {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = vttest.APIKey
	}
	cfg.BaseURL = srv.URL()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	e, err := newEnricher(cfg, srv.Transport())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnrichEndToEnd(t *testing.T) {
	srv := vttest.New()
	defer srv.Close()
	if err := srv.LoadDir(conformanceDir); err != nil {
		t.Fatal(err)
	}
	if srv.DomainRequests("tawuhoju.com") != 0 {
		t.Fatal("fresh fake has requests")
	}
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL(), RequestsPerMinute: 60000, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, err := enrichDomain(e, ctx, "tawuhoju.com")
	if err != nil {
		t.Fatal(err)
	}
	want, err := domainkind.MapObject(fixtureData(t, "opencti_vt_test_domain.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if show(got) != show(want) || !got.VTFound || got.Key != "tawuhoju.com" {
		t.Errorf("Enrich:\n got %s\nwant %s", show(got), show(want))
	}

	got, err = enrichDomain(e, ctx, "loremipsum-services.net")
	if err != nil || got.CertIssuerOrg != "Fake Encrypt" || got.Registrar != "" {
		t.Errorf("null-heavy object: %s, %v", show(got), err)
	}

	got, err = enrichDomain(e, ctx, "unknown-to-vt.example")
	if err != nil {
		t.Fatalf("NotFoundError must give a negative record, got %v", err)
	}
	if want := record.NotFound("unknown-to-vt.example", testNow.Unix()); show(got) != show(want) {
		t.Errorf("not found: got %s, want %s", show(got), show(want))
	}
	if e.Calls() != 3 || srv.Requests() != 3 {
		t.Errorf("Calls() = %d, fake saw %d requests; want 3 and 3", e.Calls(), srv.Requests())
	}
}

// The key of the record is the domain the pipeline asked for.
func TestEnrichKeyIsTheRequestedDomain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		srv.AddDomain("mixed.example", json.RawMessage(knownAttrs))
		e := inMemory(t, srv, Config{RequestsPerMinute: 600})
		got, err := enrichDomain(e, t.Context(), "Mixed.Example")
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != "Mixed.Example" || got.Domain != "Mixed.Example" || !got.VTFound || *got.LastAnalysisPositive != 3 {
			t.Errorf("got %s", show(got))
		}
	})
}

func TestRequestHeaders(t *testing.T) {
	fake := vttest.NewInMemory()
	fake.AddDomain("h.example", json.RawMessage(knownAttrs))
	var got http.Header
	var path string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got, path = r.Header.Clone(), r.URL.Path
		mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL + "/api/v3/", RequestsPerMinute: 60000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enrichDomain(e, context.Background(), "h.example"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "/api/v3/domains/h.example" {
		t.Errorf("path %q", path)
	}
	if ua := got.Get("User-Agent"); !strings.HasPrefix(ua, "vtsync/"+version.Version+";") {
		t.Errorf("User-Agent %q, want vtsync/%s first", ua, version.Version)
	}
	if got.Get("X-Apikey") != vttest.APIKey || got.Get("Accept-Encoding") != "gzip" {
		t.Errorf("headers %v", got)
	}
}

func TestEnrichFaults(t *testing.T) {
	errFailed := errors.New("failed")
	for _, tc := range []struct {
		name     string
		faults   []vttest.Fault
		retries  int
		want     error // nil: found record; errFailed: a plain failure
		requests int
	}{
		{"503 TransientError", []vttest.Fault{vttest.Transient}, 0, nil, 2},
		{"429 TooManyRequestsError", []vttest.Fault{vttest.TooManyRequests}, 0, nil, 2},
		{"504 DeadlineExceededError", []vttest.Fault{vttest.DeadlineExceeded}, 0, nil, 2},
		{"500 HTML page", []vttest.Fault{vttest.HTMLError}, 0, nil, 2},
		{"200 empty body", []vttest.Fault{vttest.EmptyOK}, 0, nil, 2},
		{"500 empty body", []vttest.Fault{vttest.EmptyError}, 0, nil, 2},
		{"hang past the timeout", []vttest.Fault{vttest.Hang}, 0, nil, 2},
		{"connection reset", []vttest.Fault{vttest.Reset}, 0, nil, 2},
		{"three transient faults", []vttest.Fault{vttest.TooManyRequests, vttest.HTMLError, vttest.Reset}, 0, nil, 4},
		{"retries exhausted", []vttest.Fault{vttest.Transient, vttest.Transient, vttest.Transient, vttest.Transient}, 0, errFailed, 4},
		{"max_retries 1", []vttest.Fault{vttest.Transient, vttest.Transient}, 1, errFailed, 2},
		{"no retries", []vttest.Fault{vttest.Transient}, -1, errFailed, 1},
		{"429 QuotaExceededError", []vttest.Fault{vttest.QuotaExceeded}, 0, enrich.ErrQuotaExceeded, 1},
		{"401 WrongCredentialsError", []vttest.Fault{vttest.WrongCredentials}, 0, enrich.ErrUnauthorized, 1},
		{"quota after a retry", []vttest.Fault{vttest.Transient, vttest.QuotaExceeded}, 0, enrich.ErrQuotaExceeded, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := vttest.NewInMemory()
				srv.AddDomain("fault.example", json.RawMessage(knownAttrs))
				srv.FailDomain("fault.example", tc.faults...)
				e := inMemory(t, srv, Config{MaxRetries: tc.retries}) // 4/min, 30 s timeout: virtual time
				got, err := enrichDomain(e, t.Context(), "fault.example")
				switch {
				case tc.want == nil && (err != nil || !got.VTFound || *got.LastAnalysisPositive != 3):
					t.Errorf("got %s, %v; want the domain's record", show(got), err)
				case tc.want == errFailed && (err == nil || errors.Is(err, enrich.ErrQuotaExceeded) || errors.Is(err, enrich.ErrUnauthorized)):
					t.Errorf("got %v, want a plain failure", err)
				case tc.want != nil && tc.want != errFailed && !errors.Is(err, tc.want):
					t.Errorf("got %v, want %v", err, tc.want)
				}
				if err != nil && (!strings.Contains(err.Error(), "fault.example") || !strings.Contains(err.Error(), "VirusTotal lookup")) {
					t.Errorf("error %q does not name the domain and the operation", err)
				}
				if n := srv.DomainRequests("fault.example"); n != tc.requests || e.Calls() != int64(tc.requests) {
					t.Errorf("fake saw %d requests, Calls() = %d; want %d", n, e.Calls(), tc.requests)
				}
			})
		})
	}
}

// Retries wait a jittered exponential backoff: between half and all of
// 2 s, 4 s, 8 s.
func TestEnrichBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		srv.AddDomain("slow.example", json.RawMessage(knownAttrs))
		srv.FailDomain("slow.example", vttest.Transient, vttest.Transient, vttest.Transient)
		e := inMemory(t, srv, Config{RequestsPerMinute: 60000}) // pacing 1 ms: backoff dominates
		if _, err := enrichDomain(e, t.Context(), "slow.example"); err != nil {
			t.Fatal(err)
		}
		times := srv.RequestTimes()
		if len(times) != 4 {
			t.Fatalf("%d requests, want 4", len(times))
		}
		for i, base := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
			if gap := times[i+1].Sub(times[i]); gap < base/2 || gap > base+2*time.Millisecond {
				t.Errorf("retry %d came %s after the previous request, want %s..%s", i+1, gap, base/2, base)
			}
		}
	})
}

// After QuotaExceededError no caller sends another request: repeated
// over-quota calls risk the account's suspension.
func TestEnrichQuotaStopsEveryCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		srv.FailNext(vttest.QuotaExceeded)
		e := inMemory(t, srv, Config{RequestsPerMinute: 60})
		var wg sync.WaitGroup
		var quotaErrs atomic.Int32
		for i := range 6 {
			wg.Go(func() {
				_, err := enrichDomain(e, t.Context(), fmt.Sprintf("d%d.example", i))
				if errors.Is(err, enrich.ErrQuotaExceeded) {
					quotaErrs.Add(1)
				}
			})
		}
		wg.Wait()
		if quotaErrs.Load() != 6 || srv.Requests() != 1 || e.Calls() != 1 {
			t.Errorf("%d quota errors, %d requests, Calls() = %d; want 6, 1, 1", quotaErrs.Load(), srv.Requests(), e.Calls())
		}
		// A minute later lookups resume.
		time.Sleep(quotaPause)
		if _, err := enrichDomain(e, t.Context(), "later.example"); err != nil {
			t.Errorf("after the pause: %v", err)
		}
	})
}

// The key's quota hold: a QuotaExceededError starts it (counted from the
// enricher's start, its run's), a second enricher of the key sends nothing
// while it holds and says until when, and an answer after it ends the
// streak.
func TestEnrichKeepsTheKeysQuotaHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		srv.FailNext(vttest.QuotaExceeded)
		hold := &keyquota.Memory{}
		start := time.Now()
		first := inMemory(t, srv, Config{RequestsPerMinute: 60, Hold: hold, Now: time.Now})
		time.Sleep(time.Minute)
		_, err := enrichDomain(first, t.Context(), "a.example")
		if !errors.Is(err, enrich.ErrQuotaExceeded) || !strings.Contains(err.Error(), "no lookups with this key until") {
			t.Fatalf("429: %v", err)
		}
		if until, streak := hold.Held(time.Now()); streak != 1 || !until.Equal(start.Add(keyquota.HoldFirst-keyquota.HoldSlack)) {
			t.Errorf("hold %d until %v, want 1 until %v", streak, until, start.Add(keyquota.HoldFirst-keyquota.HoldSlack))
		}
		second := inMemory(t, srv, Config{RequestsPerMinute: 60, Hold: hold, Now: time.Now})
		_, err = enrichDomain(second, t.Context(), "b.example")
		var held *enrich.HeldError
		if !errors.As(err, &held) || !errors.Is(err, enrich.ErrQuotaExceeded) || !errors.Is(err, enrich.ErrNotSent) || srv.Requests() != 1 {
			t.Fatalf("while held: %v after %d requests; want a HeldError and no request", err, srv.Requests())
		}
		if !strings.Contains(err.Error(), held.Until.UTC().Format(time.DateTime)) {
			t.Errorf("%q does not say until when", err)
		}
		time.Sleep(time.Until(held.Until))
		if _, err := enrichDomain(second, t.Context(), "b.example"); err != nil {
			t.Fatal(err)
		}
		if _, streak := hold.Held(time.Now()); streak != 0 {
			t.Errorf("after an answer: streak %d", streak)
		}
	})
}

func TestEnrichUnauthorizedHidesKey(t *testing.T) {
	const key = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		srv := vttest.NewInMemory() // accepts only vttest.APIKey
		e := inMemory(t, srv, Config{APIKey: key, Logger: slog.New(logging.NewHandler(&logs, slog.LevelDebug, nil))})
		_, err := enrichDomain(e, t.Context(), "k.example")
		if !errors.Is(err, enrich.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		msg := err.Error()
		for _, s := range []string{"k.example", "WrongCredentialsError", "not active on virustotal.com"} {
			if !strings.Contains(msg, s) {
				t.Errorf("error %q does not mention %q", msg, s)
			}
		}
		// Where the key is set depends on the mode: the run's caller says
		// (Settings > Data inputs under splunkd, the YAML key standalone).
		if strings.Contains(msg, "storage/passwords") || strings.Contains(msg, "vtsync input") {
			t.Errorf("error %q gives Splunk advice, which a standalone run cannot follow", msg)
		}
		if strings.Contains(msg, key) || strings.Contains(logs.String(), key) {
			t.Errorf("key leaked: error %q, logs %q", msg, logs.String())
		}
		if srv.Requests() != 1 {
			t.Errorf("%d requests, want 1 (no retry)", srv.Requests())
		}
	})
}

func TestEnrichLogsRetriesWithoutKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		srv := vttest.NewInMemory()
		srv.FailNext(vttest.Transient)
		e := inMemory(t, srv, Config{Logger: slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))})
		if _, err := enrichDomain(e, t.Context(), "l.example"); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		if !strings.HasPrefix(out, "WARN ") || !strings.Contains(out, "l.example") || !strings.Contains(out, "TransientError") ||
			!strings.Contains(out, "retry=1 of=3") || strings.Contains(out, vttest.APIKey) {
			t.Errorf("log %q", out)
		}
	})
}

// Text from VirusTotal's answer reaches the log only as attribute values:
// the retry WARN and the per-attempt DEBUG lines stay one line each, with
// its control characters escaped and the echoed key masked.
func TestEnrichLogLinesEscapeAnswerText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		answer := "busy\r\nERROR forged \x1b[2J key " + vttest.APIKey
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "TransientError", "message": answer}})
		})
		e, err := newEnricher(Config{APIKey: vttest.APIKey, BaseURL: "https://www.virustotal.com/api/v3", MaxRetries: 1,
			Logger: slog.New(logging.NewHandler(&logs, slog.LevelDebug, nil))}, vttest.HandlerTransport(h))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := enrichDomain(e, t.Context(), "esc.example"); err == nil || strings.Contains(err.Error(), vttest.APIKey) {
			t.Fatalf("err = %v, want a failure without the key", err)
		}
		out := logs.String()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "WARN VirusTotal lookup failed; retrying ") {
			t.Fatalf("want DEBUG, WARN, DEBUG lines, got:\n%s", out)
		}
		for _, line := range lines {
			if strings.ContainsAny(line, "\r\x1b") || strings.Contains(line, vttest.APIKey) {
				t.Errorf("raw control character or key in %q", line)
			}
			if !strings.Contains(line, `busy\r\nERROR forged \x1b[2J key ****`) {
				t.Errorf("line %q does not show the answer's text escaped", line)
			}
		}
	})
}

// A server (or a proxy) that echoes the key in an error message does not
// get it into vtsync's errors.
func TestEnrichRedactsEchoedKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":{"code":"ForbiddenError","message":"key %s may not do this"}}`, r.Header.Get("X-Apikey"))
	}))
	defer srv.Close()
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL, RequestsPerMinute: 60000})
	if err != nil {
		t.Fatal(err)
	}
	_, err = enrichDomain(e, context.Background(), "f.example")
	if err == nil || strings.Contains(err.Error(), vttest.APIKey) || !strings.Contains(err.Error(), "ForbiddenError") {
		t.Errorf("got %v", err)
	}
	if e.Calls() != 1 {
		t.Errorf("403 was retried: %d calls", e.Calls())
	}
	// A key that may not look domains up fails every lookup alike: the
	// run stops instead of spending a request on each due domain.
	if !errors.Is(err, enrich.ErrUnauthorized) || !strings.Contains(err.Error(), "allowed domain lookups") {
		t.Errorf("403 ForbiddenError: %v, want the run-stopping key error saying what to check", err)
	}
}

func TestEnrichCancelWhileWaitingForSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		e := inMemory(t, srv, Config{RequestsPerMinute: 1}) // first slot after 61 s
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(5*time.Second, cancel)
		start := time.Now()
		_, err := enrichDomain(e, ctx, "c.example")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if waited := time.Since(start); waited != 5*time.Second {
			t.Errorf("returned after %s of virtual time, want at the cancellation (5s)", waited)
		}
		if e.Calls() != 0 || srv.Requests() != 0 {
			t.Errorf("%d calls, %d requests after cancellation", e.Calls(), srv.Requests())
		}

		// A deadline before the next slot fails at once, as a deadline error.
		ctx, cancel2 := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel2()
		start = time.Now()
		_, err = enrichDomain(e, ctx, "c.example")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 0 || srv.Requests() != 0 {
			t.Errorf("got %v after %s, %d requests; want an immediate deadline error", err, time.Since(start), srv.Requests())
		}
	})
}

func TestEnrichCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		srv.FailNext(vttest.Transient)
		e := inMemory(t, srv, Config{RequestsPerMinute: 60000})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(500*time.Millisecond, cancel) // the first retry waits at least 1 s
		_, err := enrichDomain(e, ctx, "b.example")
		if !errors.Is(err, context.Canceled) || srv.Requests() != 1 {
			t.Errorf("got %v after %d requests, want context.Canceled after 1", err, srv.Requests())
		}
	})
}

// With too little time left for the backoff, Enrich gives up at once
// instead of sleeping into the deadline.
func TestEnrichGivesUpBeforeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		srv.FailNext(vttest.Transient)
		e := inMemory(t, srv, Config{RequestsPerMinute: 60000})
		ctx, cancel := context.WithTimeout(t.Context(), 900*time.Millisecond) // backoff is ≥ 1 s
		defer cancel()
		_, err := enrichDomain(e, ctx, "b.example")
		if err == nil || !strings.Contains(err.Error(), "no time left") || ctx.Err() != nil || srv.Requests() != 1 {
			t.Errorf("got %v (ctx %v) after %d requests", err, ctx.Err(), srv.Requests())
		}
	})
}

// Many goroutines sharing one Enricher never exceed the per-minute quota in
// any 60-second window, measured by a fake that enforces it strictly, also
// across two back-to-back runs (two Enrichers, one after the other).
func TestEnrichPacing(t *testing.T) {
	for _, q := range []int{4, 120} {
		t.Run(fmt.Sprint(q), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := vttest.NewInMemory(vttest.WithMinuteQuota(q), vttest.WithLatency(40*time.Millisecond))
				perRun := q + q/4 + 1
				for run := range 2 {
					e := inMemory(t, srv, Config{RequestsPerMinute: q})
					var wg sync.WaitGroup
					var next atomic.Int32
					for range 8 {
						wg.Go(func() {
							for i := int(next.Add(1)); i <= perRun; i = int(next.Add(1)) {
								if _, err := enrichDomain(e, t.Context(), fmt.Sprintf("r%d-%d.example", run, i)); err != nil {
									t.Error(err)
								}
							}
						})
					}
					wg.Wait()
					if e.Calls() != int64(perRun) {
						t.Errorf("run %d: %d calls, want %d", run, e.Calls(), perRun)
					}
				}
				if srv.Rejected() != 0 {
					t.Errorf("the fake answered 429 %d times", srv.Rejected())
				}
				times := srv.RequestTimes()
				if len(times) != 2*perRun {
					t.Fatalf("%d requests, want %d", len(times), 2*perRun)
				}
				for i := q; i < len(times); i++ {
					if span := times[i].Sub(times[i-q]); span <= time.Minute {
						t.Fatalf("requests %d..%d within %s: over %d per minute", i-q, i, span, q)
					}
				}
			})
		})
	}
}

func TestEnrichRealNetworkFaults(t *testing.T) {
	srv := vttest.New()
	defer srv.Close()
	srv.AddDomain("net.example", json.RawMessage(knownAttrs))
	srv.FailDomain("net.example", vttest.Reset, vttest.Hang, vttest.HTMLError)
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL(), RequestsPerMinute: 60000, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.retryBase = 2 * time.Millisecond
	got, err := enrichDomain(e, context.Background(), "net.example")
	if err != nil || !got.VTFound {
		t.Fatalf("got %s, %v", show(got), err)
	}
	if n := srv.DomainRequests("net.example"); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestEnrichProxy(t *testing.T) {
	fake := vttest.New()
	defer fake.Close()
	fake.AddDomain("p.example", json.RawMessage(knownAttrs))
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy receives the absolute URL of a plain-HTTP request.
		if !r.URL.IsAbs() || !strings.HasPrefix(fake.URL(), r.URL.Scheme+"://"+r.URL.Host) {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		proxied.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: fake.URL(), ProxyURL: proxy.URL, RequestsPerMinute: 60000})
	if err != nil {
		t.Fatal(err)
	}
	got, err := enrichDomain(e, context.Background(), "p.example")
	if err != nil || !got.VTFound {
		t.Fatalf("got %s, %v", show(got), err)
	}
	if proxied.Load() != 1 || fake.Requests() != 1 {
		t.Errorf("proxy forwarded %d requests, fake saw %d; want 1, 1", proxied.Load(), fake.Requests())
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "api_key"},
		{Config{APIKey: "k", BaseURL: "ftp://x"}, "vt_api_url"},
		{Config{APIKey: "k", BaseURL: "https://user:pw@x/api/v3"}, "vt_api_url"},
		{Config{APIKey: "k", RequestsPerMinute: -1}, "requests_per_minute"},
		{Config{APIKey: "k", ProxyURL: "http://user:s3cret@/"}, "proxy_url"},
		{Config{APIKey: "k", ProxyURL: "proxy.example.com:3128"}, "proxy_url"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	e, err := New(Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if e.base.String() != DefaultBaseURL || e.timeout != DefaultTimeout || e.maxRetries != DefaultMaxRetries ||
		e.agent != "vtsync/"+version.Version || e.lim().Burst() != 1 {
		t.Errorf("defaults: %s %s %d %q burst %d", e.base, e.timeout, e.maxRetries, e.agent, e.lim().Burst())
	}
}

func TestEnrichRejectsNonNames(t *testing.T) {
	srv := vttest.New()
	defer srv.Close()
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL(), RequestsPerMinute: 60000})
	if err != nil {
		t.Fatal(err)
	}
	// Whether a key is a domain is the kind's to say (Normalize); the
	// enricher refuses what is not one plain path segment.
	for _, d := range []string{"", "a/b", "../users/me", "..", "a b", "a?x=1", "a#x", "a%2fb", `a\b`, "a\x00b", strings.Repeat("a", 1025)} {
		if _, err := enrichDomain(e, context.Background(), d); err == nil {
			t.Errorf("Enrich(%q) succeeded", d)
		}
	}
	if srv.Requests() != 0 {
		t.Errorf("%d requests sent for invalid names", srv.Requests())
	}
}

func TestClassify(t *testing.T) {
	data := &vtgo.Response{Data: json.RawMessage(`{"id":"x"}`)}
	for _, tc := range []struct {
		status int
		resp   *vtgo.Response
		err    error
		want   outcome
	}{
		{200, data, nil, found},
		{200, &vtgo.Response{}, nil, retry},
		{404, nil, vtgo.Error{Code: "NotFoundError"}, notFound},
		{429, nil, vtgo.Error{Code: "QuotaExceededError"}, quota},
		{429, nil, vtgo.Error{Code: "TooManyRequestsError"}, retry},
		{401, nil, vtgo.Error{Code: "WrongCredentialsError"}, unauthorized},
		{401, nil, vtgo.Error{Code: "AuthenticationRequiredError"}, unauthorized},
		{401, nil, vtgo.Error{Code: "UserNotActiveError"}, unauthorized},
		{401, nil, vtgo.Error{Code: "SomethingNew"}, unauthorized},
		{503, nil, vtgo.Error{Code: "TransientError"}, retry},
		{504, nil, vtgo.Error{Code: "DeadlineExceededError"}, retry},
		{424, nil, vtgo.Error{Code: "FailedDependencyError"}, retry},
		{502, nil, vtgo.Error{Code: "SomethingNew"}, retry},
		{400, nil, vtgo.Error{Code: "BadRequestError"}, failed},
		{400, nil, vtgo.Error{Code: "InvalidArgumentError"}, failed},
		{403, nil, vtgo.Error{Code: "ForbiddenError"}, unauthorized},
		{500, &vtgo.Response{}, nil, retry},
		{404, &vtgo.Response{}, nil, failed}, // a 404 without NotFoundError is not a negative answer
		{401, &vtgo.Response{}, nil, unauthorized},
		{302, nil, errors.New("Expecting JSON response from GET x"), failed},
		{502, nil, errors.New("Expecting JSON response from GET x"), retry},
		{403, nil, errors.New("Expecting JSON response from GET x"), failed},
		{200, nil, io.ErrUnexpectedEOF, retry},
		{0, nil, io.EOF, retry},
		{200, nil, fmt.Errorf("read: %w", errBodyTooLarge), failed},
		{0, nil, fmt.Errorf("Get x: %w", &tlsVerifyErr), failed},
	} {
		if got, why := classify(tc.status, tc.resp, tc.err); got != tc.want {
			t.Errorf("classify(%d, %v) = %d (%s), want %d", tc.status, tc.err, got, why, tc.want)
		}
	}
	// vt-go's error is matched by value: a wrapped vt.Error still classifies.
	if got, _ := classify(429, nil, fmt.Errorf("wrapped: %w", vtgo.Error{Code: "QuotaExceededError"})); got != quota {
		t.Errorf("wrapped vt.Error: %d", got)
	}
}

var tlsVerifyErr = tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}

// A request already sent when the run is cancelled (SIGTERM, deadline) is
// paid for: its answer is kept if it arrives within the grace period; one
// that takes longer is abandoned.
func TestEnrichKeepsAnswerInFlightAtCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory(vttest.WithLatency(2 * time.Second))
		srv.AddDomain("a.example", json.RawMessage(`{"reputation": 5}`))
		e := inMemory(t, srv, Config{RequestsPerMinute: 60000})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel) // the request is in flight until 2 s
		rec, err := enrichDomain(e, ctx, "a.example")
		if err != nil || !rec.VTFound || rec.Reputation == nil || *rec.Reputation != 5 {
			t.Errorf("answer in flight at cancellation: got %+v, %v; want the found record", rec, err)
		}
		// "Not found" reaches vt-go as an error, and is as paid for.
		ctx, cancel = context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		rec, err = enrichDomain(e, ctx, "unknown.example")
		if err != nil || rec.VTFound || rec.Key != "unknown.example" {
			t.Errorf("not-found answer in flight at cancellation: got %+v, %v; want the not-found record", rec, err)
		}

		slow := vttest.NewInMemory(vttest.WithLatency(time.Minute))
		e = inMemory(t, slow, Config{RequestsPerMinute: 60000})
		ctx, cancel = context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		if _, err := enrichDomain(e, ctx, "b.example"); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if took := time.Since(start).Round(time.Second); took != time.Second+inFlightGrace {
			t.Errorf("a request still running was abandoned after %s, want %s (cancel + grace)", took, time.Second+inFlightGrace)
		}
	})
}

// The caller's gate (the daily budget) is passed before waiting for a
// request slot, and refunded when the slot never comes; a request that is
// sent keeps its unit.
func TestEnrichGateAndRefund(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vttest.NewInMemory()
		e := inMemory(t, srv, Config{RequestsPerMinute: 1}) // first slot after 61 s
		var gated, refunded atomic.Int32
		e.budget = &funcBudget{spend: func() error { gated.Add(1); return nil }, refund: func() { refunded.Add(1) }}
		ctx := t.Context()
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(5*time.Second, cancel)
		if _, err := enrichDomain(e, cctx, "a.example"); !errors.Is(err, enrich.ErrNotSent) {
			t.Errorf("cancelled while waiting: %v, want ErrNotSent", err)
		}
		if gated.Load() != 1 || refunded.Load() != 1 || srv.Requests() != 0 {
			t.Errorf("gate %d, refund %d, requests %d; want 1, 1, 0", gated.Load(), refunded.Load(), srv.Requests())
		}
		if _, err := enrichDomain(e, ctx, "a.example"); err != nil {
			t.Fatal(err)
		}
		if gated.Load() != 2 || refunded.Load() != 1 || srv.Requests() != 1 {
			t.Errorf("gate %d, refund %d, requests %d; want 2, 1, 1", gated.Load(), refunded.Load(), srv.Requests())
		}
		e.budget = &funcBudget{spend: func() error { return errors.New("budget spent") }, refund: func() { t.Error("refund without a unit taken") }}
		refuse := t.Context()
		if _, err := enrichDomain(e, refuse, "b.example"); !errors.Is(err, enrich.ErrNotSent) || srv.Requests() != 1 {
			t.Errorf("refused by the gate: %v after %d requests", err, srv.Requests())
		}
	})
}

// A request that never reached VirusTotal (here: connection refused) costs
// no budget and is not counted as a call, retries included.
func TestEnrichUnsentRequestIsRefunded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/api/v3"
	ln.Close() // nothing listens there now
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: base, RequestsPerMinute: 60000, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.retryBase, e.retryMax = time.Millisecond, time.Millisecond
	var gated, refunded atomic.Int32
	e.budget = &funcBudget{spend: func() error { gated.Add(1); return nil }, refund: func() { refunded.Add(1) }}
	ctx := t.Context()
	_, err = enrichDomain(e, ctx, "a.example")
	// Not sent, so still due (deferred); the run reports the outage when
	// lookups in a row get no connection (TestUnreachableStopsLookups).
	if !errors.Is(err, enrich.ErrNotSent) || errors.Is(err, enrich.ErrUnreachable) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Enrich = %v, want a lookup not sent that says the connection was refused", err)
	}
	if gated.Load() != 3 || refunded.Load() != 3 || e.Calls() != 0 {
		t.Errorf("gate %d, refund %d, calls %d; want 3 attempts, all refunded, no call", gated.Load(), refunded.Load(), e.Calls())
	}
}

// A TLS handshake that fails (an untrusted certificate) sent nothing either.
func TestEnrichFailedHandshakeIsRefunded(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the request reached the server through an untrusted certificate")
	}))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL + "/api/v3", RequestsPerMinute: 60000})
	if err != nil {
		t.Fatal(err)
	}
	var gated, refunded atomic.Int32
	e.budget = &funcBudget{spend: func() error { gated.Add(1); return nil }, refund: func() { refunded.Add(1) }}
	ctx := t.Context()
	if _, err := enrichDomain(e, ctx, "a.example"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Enrich = %v, want a certificate failure", err)
	}
	if gated.Load() != 1 || refunded.Load() != 1 || e.Calls() != 0 {
		t.Errorf("gate %d, refund %d, calls %d; want 1, 1, 0", gated.Load(), refunded.Load(), e.Calls())
	}
}

// The per-request context and the HTTP client share one timeout; whichever
// fires first, the retry is logged the same way.
func TestClassifyTimeoutsAlike(t *testing.T) {
	clientTimeout := &url.Error{Op: "Get", URL: "https://www.virustotal.com/api/v3/domains/a.example", Err: &timeoutErr{}}
	ctxTimeout := &url.Error{Op: "Get", URL: "https://www.virustotal.com/api/v3/domains/a.example", Err: context.DeadlineExceeded}
	for _, err := range []error{clientTimeout, ctxTimeout} {
		out, why := classify(0, nil, err)
		if out != retry || !strings.HasPrefix(why, "Timeout: ") {
			t.Errorf("classify(%v) = %s, %q; want retry and a reason starting with Timeout", err, out, why)
		}
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string {
	return "net/http: request canceled (Client.Timeout exceeded while awaiting headers)"
}
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

// VirusTotal refusing connections: a retry of an attempt that got no
// connection reuses its request slot instead of waiting a pacing interval
// for a new one, costs no budget and no call, and after unreachableAfter
// such lookups in a row every lookup fails at once with ErrUnreachable.
// (A synctest bubble: its clock measures the waits, not the wall clock.)
func TestUnreachableStopsLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String() + "/api/v3"
		ln.Close() // nothing listens there now: connections are refused
		e, err := New(Config{APIKey: vttest.APIKey, BaseURL: base, RequestsPerMinute: 1, MaxRetries: 3})
		if err != nil {
			t.Fatal(err)
		}
		interval, _ := Pacing(1) // one slot a minute, plus the guard
		var gated, refunded atomic.Int32
		e.budget = &funcBudget{spend: func() error { gated.Add(1); return nil }, refund: func() { refunded.Add(1) }}
		ctx := t.Context()
		for i := 1; i <= unreachableAfter; i++ {
			start := time.Now()
			_, err = enrichDomain(e, ctx, fmt.Sprintf("d%d.example", i))
			if !errors.Is(err, enrich.ErrNotSent) || errors.Is(err, enrich.ErrUnreachable) != (i == unreachableAfter) {
				t.Fatalf("lookup %d: %v", i, err)
			}
			// One slot for all four attempts: the retries did not queue.
			if took := time.Since(start); took > interval+time.Second {
				t.Errorf("lookup %d took %s on the bubble's clock; want one request slot (%s) for all its attempts", i, took, interval)
			}
		}
		if !strings.Contains(fmt.Sprint(err), "refused") || !strings.Contains(fmt.Sprint(err), "vt_api_url") {
			t.Errorf("the last error does not say why or what to check: %v", err)
		}
		start := time.Now()
		_, err = enrichDomain(e, ctx, "after.example")
		if !errors.Is(err, enrich.ErrUnreachable) || time.Since(start) != 0 {
			t.Errorf("after %d unreachable lookups: %v after %s; want ErrUnreachable at once", unreachableAfter, err, time.Since(start))
		}
		want := int32(unreachableAfter * 4)
		if gated.Load() != want || refunded.Load() != want || e.Calls() != 0 {
			t.Errorf("gate %d, refund %d, calls %d; want %d attempts, all refunded, no call", gated.Load(), refunded.Load(), e.Calls(), want)
		}
	})
}

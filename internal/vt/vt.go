// Package vt enriches registered domains from the VirusTotal API v3: one
// paced, retried GET per key at the path its kind names, mapped to a
// record by its kind.
package vt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vtgo "github.com/VirusTotal/vt-go"
	"golang.org/x/time/rate"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/version"
)

// Defaults for the zero values of Config.
const (
	DefaultBaseURL           = "https://www.virustotal.com/api/v3"
	DefaultRequestsPerMinute = 4 // a public API key
	DefaultTimeout           = 30 * time.Second
	DefaultMaxRetries        = 3
	DefaultMaxConns          = 32
)

const (
	// windowGuard stretches the pacing interval so that any Q+1 requests
	// span at least a minute plus windowGuard: VirusTotal still sees at most
	// Q requests in any 60-second window when the time from grant to
	// arrival differs by less than windowGuard between requests. It costs
	// 1.6% of the throughput.
	windowGuard = time.Second
	// smallQuotaGuard replaces windowGuard up to smallQuota requests per
	// minute. Between a grant and its arrival at VirusTotal come a stall
	// of the process, a new TLS handshake where the previous request
	// reused a connection (every process starts cold), a SYN retransmit
	// (1 s): more than a second apart, two requests Q grants apart fall in
	// one minute, VirusTotal answers QuotaExceededError and the
	// key's lookups are held for 15 minutes. Up to one request a second the
	// wider guard costs 6% of the rate (3.7 instead of 3.9 a minute at
	// Q = 4), which a public key never misses: its 500 requests a day take
	// over two hours either way, and a 429 costs it 15 minutes.
	smallQuotaGuard = 5 * time.Second
	smallQuota      = 60
	// quotaPause is how long lookups fail fast after a QuotaExceededError,
	// so that callers queued on the limiter do not hit VirusTotal again.
	quotaPause = time.Minute
	// maxBody bounds a response body; a domain object is tens of kilobytes.
	maxBody = 16 << 20
	// unreachableAfter is how many lookups in a row may end without any of
	// their attempts reaching VirusTotal before lookups stop (see
	// enrich.ErrUnreachable).
	unreachableAfter = 3
	// unsentRetry is the wait before retrying an attempt that never got a
	// connection; such a retry reuses that attempt's request slot when it
	// goes out within windowGuard/2 of the slot (VirusTotal never saw the
	// first), so it does not queue for a new one.
	unsentRetry = 100 * time.Millisecond
)

// Config configures an Enricher.
type Config struct {
	APIKey            string        // the VirusTotal API key; never logged or shown
	BaseURL           string        // vt_api_url; "" is DefaultBaseURL
	RequestsPerMinute int           // never exceeded in any 60 s window; 0 is DefaultRequestsPerMinute
	Timeout           time.Duration // per HTTP request; 0 is DefaultTimeout
	ProxyURL          string        // proxy_url; "" uses the HTTPS_PROXY/HTTP_PROXY/NO_PROXY environment
	MaxRetries        int           // retries of a transient failure; 0 is DefaultMaxRetries, <0 none
	MaxConns          int           // lookups in flight at once (max_concurrency): connections kept for reuse; 0 is DefaultMaxConns
	Agent             string        // User-Agent product; "" is vtsync/<version>
	Logger            *slog.Logger  // nil: discard
	// Secrets receives the key and scrubs the enricher's error texts; nil:
	// the registry of Logger's logging.Handler, or one of the enricher's own.
	Secrets *logging.Secrets
	// Transport, if set, replaces the network (ProxyURL is then unused):
	// tests pass a fake's in-memory transport.
	Transport http.RoundTripper
	Now       func() time.Time // stamps enriched_time; nil is time.Now
	// Budget, if set, is spent before each request, retries included, and
	// refunded for a request that was not sent after all: the daily
	// lookup budget (internal/budget). Nil: no budget.
	Budget enrich.Budget
	// Pacer, if set, spaces the requests instead of the enricher's own
	// limiter: the key's pacer, shared by every process using the key
	// (internal/keyquota), so that together they stay under the key's
	// requests per minute.
	Pacer Pacer
	// Hold, if set, is the key's quota hold (internal/keyquota), shared
	// by every user of the key: no request is sent while it holds, a
	// QuotaExceededError starts or lengthens it, an answer ends its
	// streak. Nil: no hold beyond this enricher's minute (quotaPause).
	Hold QuotaHold
}

// QuotaHold is a key's quota hold (keyquota.Key, keyquota.Memory).
type QuotaHold interface {
	// Held returns until when lookups are held at now (zero: they are
	// not) and the quota stops in a row.
	Held(now time.Time) (until time.Time, streak int)
	// Stopped records a quota stop at now, in a run that started at
	// start, and returns the hold that follows.
	Stopped(start, now time.Time) (until time.Time, streak int, err error)
	// Answered records an answer: the quota is back.
	Answered() error
}

// Pacer spaces requests: Wait returns when the next may be sent, or an
// error (ctx's, or one saying the slot comes after ctx's deadline).
type Pacer interface {
	Wait(ctx context.Context) error
}

// Enricher looks indicators up in VirusTotal with vt-go. It is safe for
// concurrent use: all callers share one connection pool and one limiter.
type Enricher struct {
	key        string
	base       *url.URL
	transport  http.RoundTripper
	timeout    time.Duration
	agent      string
	perMinute  int
	limOnce    sync.Once
	limiter    *rate.Limiter // made at the first request; see lim
	maxRetries int
	retryBase  time.Duration // first retry waits retryBase/2..retryBase
	retryMax   time.Duration
	log        *slog.Logger
	secrets    *logging.Secrets
	now        func() time.Time
	grace      time.Duration // see inFlightGrace
	pacer      Pacer         // nil: limiter
	budget     enrich.Budget // nil: none
	hold       QuotaHold     // nil: none
	start      time.Time     // when the enricher was built: its run's start, for the hold

	calls      atomic.Int64
	quotaUntil atomic.Int64 // UnixNano until which lookups fail fast
	// unreached counts lookups in a row that ended without reaching
	// VirusTotal; any attempt that reaches it resets the count.
	unreached atomic.Int32
}

var _ interface {
	enrich.Enricher
	enrich.Counter
} = (*Enricher)(nil)

// New checks cfg and returns an Enricher. No request is sent.
func New(cfg Config) (*Enricher, error) { return newEnricher(cfg, nil) }

// newEnricher builds an Enricher; a non-nil rt replaces the HTTP transport
// (tests use the fake's in-memory transport).
func newEnricher(cfg Config, rt http.RoundTripper) (*Enricher, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("api_key is empty: set the VirusTotal API key in the vtsync input")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" ||
		base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("vt_api_url is not an http(s) URL without credentials or query; the default is " + DefaultBaseURL)
	}
	switch {
	case cfg.RequestsPerMinute == 0:
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	case cfg.RequestsPerMinute < 0:
		return nil, fmt.Errorf("requests_per_minute is %d: it must be at least 1", cfg.RequestsPerMinute)
	}
	switch {
	case cfg.MaxConns == 0:
		cfg.MaxConns = DefaultMaxConns
	case cfg.MaxConns < 0:
		return nil, fmt.Errorf("max_concurrency is %d: it must be at least 1", cfg.MaxConns)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.Agent == "" {
		cfg.Agent = "vtsync/" + version.Version
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = logging.SecretsOf(cfg.Logger)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = logging.NewSecrets()
	}
	cfg.Secrets.Add(cfg.APIKey)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if rt == nil {
		rt = cfg.Transport
	}
	if rt == nil {
		proxy := http.ProxyFromEnvironment
		if cfg.ProxyURL != "" {
			pu, err := url.Parse(cfg.ProxyURL)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https" && pu.Scheme != "socks5") || pu.Host == "" {
				// The value is not shown: it may carry a password.
				return nil, errors.New("proxy_url is not a proxy URL such as http://proxy.example.com:3128")
			}
			proxy = http.ProxyURL(pu)
		}
		// http.DefaultTransport's settings, with our proxy, and an idle
		// pool as large as the lookups in flight: connections that answer
		// together all stay open, instead of the surplus being closed and
		// the next lookups paying new TCP and TLS handshakes.
		rt = &http.Transport{
			Proxy:                 proxy,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          cfg.MaxConns,
			MaxIdleConnsPerHost:   cfg.MaxConns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	return &Enricher{
		key:        cfg.APIKey,
		base:       base,
		transport:  rt,
		timeout:    cfg.Timeout,
		agent:      cfg.Agent,
		perMinute:  cfg.RequestsPerMinute,
		maxRetries: cfg.MaxRetries,
		retryBase:  2 * time.Second,
		retryMax:   30 * time.Second,
		log:        cfg.Logger,
		secrets:    cfg.Secrets,
		now:        cfg.Now,
		grace:      inFlightGrace,
		pacer:      cfg.Pacer,
		budget:     cfg.Budget,
		hold:       cfg.Hold,
		start:      cfg.Now(),
	}, nil
}

// inFlightGrace is how long a request already sent may still run once the
// caller's context is done (SIGTERM, the run's deadline): its answer is paid
// for, and the pipeline still saves what arrives. Waiting for a request
// slot or a retry stops at once.
const inFlightGrace = 5 * time.Second

// withGrace returns a context that is cancelled grace after parent is done,
// with parent's cause, or when the returned cancel is called.
func withGrace(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	go func() {
		select {
		case <-parent.Done():
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-t.C:
				cancel(context.Cause(parent))
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// lim returns the enricher's limiter, made at the first request rather than
// in New: a new limiter is empty, so the first request waits one interval
// from the moment a run is ready to send, whatever it did before (taking
// its checkpoint lock, the search).
func (e *Enricher) lim() *rate.Limiter {
	e.limOnce.Do(func() { e.limiter = newLimiter(e.perMinute, time.Now()) })
	return e.limiter
}

// newLimiter returns the limiter that keeps requests under perMinute in any
// 60-second window.
//
// It is a token bucket of burst b = max(1, perMinute/100), refilled one
// token per interval = (60 s + guard) / (perMinute + 1 - b), created
// empty (Pacing, Guard). Any perMinute+1 grants then include at most b
// from the bucket and at least perMinute+1-b a refill apart, so they span
// at least 60 s + guard: VirusTotal sees at most perMinute in any minute,
// with guard to spare for differences in grant-to-arrival time.
//
// The burst lets a process that was kept off the CPU for a moment (a busy
// search head, GC) catch up on the slots that passed, instead of losing
// them: with burst 1 a stall longer than the queued workers cover loses
// throughput for good. It costs 1% of the rate (b/perMinute); below 200
// per minute b is 1 and nothing changes.
//
// A new limiter is empty: its first request waits one interval, so a run's
// first requests cannot land right after the previous run's (or process's)
// last ones.
func newLimiter(perMinute int, now time.Time) *rate.Limiter {
	interval, burst := Pacing(perMinute)
	lim := rate.NewLimiter(rate.Every(interval), burst)
	lim.ReserveN(now, burst)
	return lim
}

// Pacing returns the limiter's refill interval and burst for perMinute
// requests a minute: interval = (60 s + guard) / (perMinute + 1 - burst),
// burst = max(1, perMinute/100), guard = Guard(perMinute).
func Pacing(perMinute int) (interval time.Duration, burst int) {
	burst = max(1, perMinute/100)
	return (time.Minute + Guard(perMinute)) / time.Duration(perMinute+1-burst), burst
}

// Guard is how much longer than a minute any perMinute+1 requests are
// spread: the difference in grant-to-arrival time between requests that
// VirusTotal's 60-second window tolerates.
func Guard(perMinute int) time.Duration {
	if perMinute <= smallQuota {
		return smallQuotaGuard
	}
	return windowGuard
}

// spend spends one request of the budget, if there is one.
func (e *Enricher) spend() error {
	if e.budget == nil {
		return nil
	}
	return e.budget.Spend()
}

// refund gives back what spend took for a request that was not sent.
func (e *Enricher) refund() {
	if e.budget != nil {
		e.budget.Refund()
	}
}

// wait waits for the next request slot: the key's shared pacer when there
// is one, the enricher's own limiter otherwise.
func (e *Enricher) wait(ctx context.Context) error {
	if e.pacer != nil {
		return e.pacer.Wait(ctx)
	}
	return e.lim().Wait(ctx)
}

// url returns the request URL of key at a kind's path: the path's
// segments under the API base. A key that is not one plain path segment,
// or a path that would leave the API base (empty or dot segments, a
// query), is refused: neither comes from a normalised key.
func (e *Enricher) url(key, path string) (*url.URL, error) {
	if key == "" || key == "." || key == ".." || len(key) > 1024 || strings.ContainsAny(key, "/\\?#%") || !printable(key) {
		return nil, errors.New("not a normalised key")
	}
	if path == "" || strings.ContainsAny(path, "?#\\") {
		return nil, fmt.Errorf("no VirusTotal path %q", path)
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		p, err := url.PathUnescape(seg)
		if err != nil || p == "" || p == "." || p == ".." || strings.Contains(p, "/") || !printable(p) {
			return nil, fmt.Errorf("no VirusTotal path %q", path)
		}
		segs[i] = p
	}
	return e.base.JoinPath(segs...), nil
}

// printable reports whether s holds only printable ASCII.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Calls returns how many HTTP requests were sent, retries included.
func (e *Enricher) Calls() int64 { return e.calls.Load() }

// Enrich looks key of kind k up. A key VirusTotal does not know yields
// k.NotFound and a nil error. Errors wrap enrich.ErrQuotaExceeded,
// enrich.ErrUnauthorized or ctx's error when the pipeline must stop; any
// other error is a failure of this key only. The record's ID is key,
// whatever the case of VirusTotal's id.
func (e *Enricher) Enrich(ctx context.Context, k kind.Kind, key string) (kind.Record, error) {
	what := k.Name() + " " + key // "domain example.com", for messages
	u, err := e.url(key, k.Path(key))
	if err != nil {
		return nil, fmt.Errorf("VirusTotal lookup of %q: %v", what, err)
	}
	sentAny := false   // whether any attempt reached VirusTotal
	var slot time.Time // when the last attempt's request slot was granted, if VirusTotal never saw that attempt
	for attempt := 1; ; attempt++ {
		if err := e.unreachable(what); err != nil {
			return nil, notSent(sentAny, err)
		}
		if err := e.quotaPaused(what); err != nil {
			return nil, notSent(sentAny, err)
		}
		if err := e.held(); err != nil {
			return nil, notSent(sentAny, err)
		}
		// The caller's budget is spent before waiting for a slot, not
		// between the slot and the request: a slow budget write must not
		// shift requests out of the limiter's spacing.
		if err := e.spend(); err != nil {
			return nil, notSent(sentAny, fmt.Errorf("VirusTotal lookup of %s: %w", what, err))
		}
		if slot.IsZero() || time.Since(slot) >= windowGuard/2 {
			if err := e.wait(ctx); err != nil {
				e.refund()
				if ctx.Err() != nil {
					return nil, notSent(sentAny, fmt.Errorf("VirusTotal lookup of %s: %w", what, ctx.Err()))
				}
				return nil, notSent(sentAny, fmt.Errorf("VirusTotal lookup of %s: no request slot left before the deadline (requests_per_minute): %w",
					what, context.DeadlineExceeded))
			}
			slot = time.Now()
		}
		if err := e.quotaPaused(what); err != nil { // the quota ran out while we waited
			e.refund()
			return nil, notSent(sentAny, err)
		}
		resp, status, sent, err := e.send(ctx, u)
		if sent {
			e.calls.Add(1)
			sentAny = true
			slot = time.Time{}
			e.unreached.Store(0)
		} else {
			// Refused connection, DNS, proxy or TLS failure: VirusTotal
			// never saw the request, so it costs no budget, and its slot
			// is still unused.
			e.refund()
		}
		// An answer that arrived counts even when the run is ending: a
		// "not found" comes as an error too, and is as paid as an object.
		if err != nil && status == 0 && ctx.Err() != nil {
			return nil, notSent(sentAny, fmt.Errorf("VirusTotal lookup of %s: %w", what, ctx.Err()))
		}
		out, why := classify(status, resp, err)
		why = e.redact(why)
		e.log.Debug("VirusTotal lookup", "indicator", what, "attempt", attempt, "outcome", out, "detail", why)
		if out == found || out == notFound {
			e.answered()
		}
		switch out {
		case found:
			body := make([]byte, 0, len(resp.Data)+len(`{"data":}`))
			body = append(append(append(body, `{"data":`...), resp.Data...), '}')
			rec, err := k.Map(key, body, e.now())
			if err != nil {
				return nil, fmt.Errorf("VirusTotal lookup of %s failed: %s", what, e.redact(err.Error()))
			}
			if rec.ID() != key {
				return nil, fmt.Errorf("VirusTotal lookup of %s failed: its answer maps to %q", what, rec.ID())
			}
			return rec, nil
		case notFound:
			return k.NotFound(key, e.now()), nil
		case quota:
			e.quotaUntil.Store(time.Now().Add(quotaPause).UnixNano())
			return nil, fmt.Errorf("VirusTotal lookup of %s: %w (%s)%s", what, enrich.ErrQuotaExceeded, why, e.stopped())
		case unauthorized:
			return nil, fmt.Errorf("VirusTotal lookup of %s: %w (%s): the key is wrong, not active on virustotal.com, or not allowed %s lookups",
				what, enrich.ErrUnauthorized, why, k.Name())
		case failed:
			return nil, e.unsentFailure(sentAny, fmt.Errorf("VirusTotal lookup of %s failed: %s (not retried)", what, why))
		}
		// retry
		if attempt > e.maxRetries {
			return nil, e.unsentFailure(sentAny, fmt.Errorf("VirusTotal lookup of %s failed after %d attempts: %s", what, attempt, why))
		}
		wait := e.backoff(attempt)
		if !sent {
			// Nothing reached VirusTotal: retry at once with the same slot
			// (a new one would cost a pacing interval per attempt).
			wait = unsentRetry/2 + rand.N(unsentRetry/2+1)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("VirusTotal lookup of %s failed after %d attempts: %s; no time left for another attempt before the deadline",
				what, attempt, why)
		}
		e.log.Warn("VirusTotal lookup failed; retrying", "indicator", what, "detail", why, "retry", attempt, "of", e.maxRetries, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, notSent(sentAny, fmt.Errorf("VirusTotal lookup of %s: %w", what, ctx.Err()))
		case <-t.C:
		}
	}
}

// unsentFailure is the error of a failed lookup. One none of whose attempts
// reached VirusTotal wraps enrich.ErrNotSent and adds to the run of such
// lookups; the one that makes it unreachableAfter long wraps
// enrich.ErrUnreachable too.
func (e *Enricher) unsentFailure(sentAny bool, err error) error {
	if sentAny {
		return err
	}
	if e.unreached.Add(1) >= unreachableAfter {
		err = fmt.Errorf("%w: %d lookups in a row got no connection (last: %w); check vt_api_url, proxy_url, DNS and the firewall between this host and VirusTotal", enrich.ErrUnreachable, unreachableAfter, err)
	}
	return notSent(false, err) // nothing paid: the domain stays due
}

// unreachable returns the error for a lookup not sent because the last
// unreachableAfter lookups could not reach VirusTotal.
func (e *Enricher) unreachable(what string) error {
	if e.unreached.Load() >= unreachableAfter {
		return fmt.Errorf("VirusTotal lookup of %s not sent: %w (%d lookups in a row got no connection)", what, enrich.ErrUnreachable, unreachableAfter)
	}
	return nil
}

// quotaPaused returns the error for a lookup not sent because VirusTotal
// reported the quota exceeded less than quotaPause ago.
func (e *Enricher) quotaPaused(what string) error {
	if time.Now().UnixNano() < e.quotaUntil.Load() {
		return fmt.Errorf("VirusTotal lookup of %s not sent: %w (reported less than %s ago)", what, enrich.ErrQuotaExceeded, quotaPause)
	}
	return nil
}

// held returns the error for a lookup not sent because the key's quota
// hold is in force.
func (e *Enricher) held() error {
	if e.hold == nil {
		return nil
	}
	if until, streak := e.hold.Held(e.now()); !until.IsZero() {
		return &enrich.HeldError{Until: until, Streak: streak}
	}
	return nil
}

// stopped records a quota stop in the key's hold and says until when it
// holds, for the error.
func (e *Enricher) stopped() string {
	if e.hold == nil {
		return ""
	}
	until, streak, err := e.hold.Stopped(e.start, e.now())
	if err != nil {
		e.log.Warn("cannot record the quota hold", "error", err)
		return ""
	}
	e.log.Info("VirusTotal quota hold", "until", until.UTC().Format(time.DateTime+" MST"), "stops_in_a_row", streak)
	return fmt.Sprintf("; no lookups with this key until %s (%d stops in a row)", until.UTC().Format(time.DateTime+" MST"), streak)
}

// answered ends the key's quota streak: VirusTotal answered.
func (e *Enricher) answered() {
	if e.hold == nil {
		return
	}
	if err := e.hold.Answered(); err != nil {
		e.log.Warn("cannot clear the quota hold", "error", err)
	}
}

// backoff returns the jittered exponential wait before retry n (1-based):
// between half and all of retryBase·2^(n-1), capped at retryMax.
func (e *Enricher) backoff(n int) time.Duration {
	d := e.retryMax
	if n < 20 {
		d = min(e.retryBase<<(n-1), e.retryMax)
	}
	return d/2 + rand.N(d/2+1)
}

func (e *Enricher) redact(s string) string { return e.secrets.Scrub(s) }

// notSent marks err as a lookup that sent nothing, unless one of its
// attempts did.
func notSent(sentAny bool, err error) error {
	if !sentAny {
		return fmt.Errorf("%w (%w)", err, enrich.ErrNotSent)
	}
	return err
}

// send sends one GET through vt-go and returns its result, the HTTP
// status (0 when no response arrived) and whether the request may have
// reached the server: false only when no connection was ever obtained
// (refused, DNS, proxy or TLS failure), so that an unsent request is
// never counted as sent the other way round. Once sent, it may outlive
// ctx by e.grace.
//
// vt-go has no context parameter, so the context travels in the transport:
// each request gets its own small vt.Client and http.Client whose
// RoundTripper binds ctx (with the per-request timeout) to the request and
// records the status, around the one shared connection pool.
func (e *Enricher) send(ctx context.Context, u *url.URL) (*vtgo.Response, int, bool, error) {
	ctx, stop := withGrace(ctx, e.grace)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rt := &boundTransport{base: e.transport}
	rt.ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { rt.sent.Store(true) }})
	c := vtgo.NewClient(e.key, vtgo.WithHTTPClient(&http.Client{
		Transport:     rt,
		Timeout:       e.timeout,
		CheckRedirect: refuseRedirect, // X-Apikey would follow a redirect to any host
	}))
	c.Agent = e.agent
	resp, err := c.Get(u)
	return resp, rt.status, rt.status != 0 || rt.sent.Load(), err
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// boundTransport sends a request under ctx and records its status and
// whether it got a connection (ctx's trace sets sent).
type boundTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	status int
	sent   atomic.Bool
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	t.status = resp.StatusCode
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxBody}
	return resp, nil
}

var errBodyTooLarge = fmt.Errorf("response body larger than %d MiB", maxBody>>20)

// limitedBody fails reads past its limit.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// outcome is what one HTTP exchange means for the lookup.
type outcome int

const (
	found        outcome = iota // a domain object
	notFound                    // VirusTotal does not know the domain
	retry                       // transient: try again after a backoff
	failed                      // permanent for this domain: do not retry
	quota                       // the key's quota is spent: stop
	unauthorized                // the key is rejected: stop
)

var outcomeNames = [...]string{"found", "not found", "retry", "failed", "quota exceeded", "unauthorized"}

func (o outcome) String() string { return outcomeNames[o] }

// classify decides the outcome of one exchange from the HTTP status (0 when
// no response arrived) and what vt-go's Client.Get returned, and describes
// failures (the description may quote the server; callers redact it).
func classify(status int, resp *vtgo.Response, err error) (outcome, string) {
	var ve vtgo.Error // vt-go returns its Error by value: a *vtgo.Error target never matches
	switch {
	case errors.As(err, &ve):
		why := fmt.Sprintf("HTTP %d %s: %s", status, ve.Code, ve.Message)
		switch ve.Code {
		case "NotFoundError":
			return notFound, why
		case "QuotaExceededError":
			return quota, why
		case "WrongCredentialsError", "AuthenticationRequiredError", "UserNotActiveError",
			"ForbiddenError": // the key may not look these up: every lookup would fail alike
			return unauthorized, why
		case "TooManyRequestsError", "TransientError", "DeadlineExceededError", "FailedDependencyError":
			return retry, why
		case "BadRequestError", "InvalidArgumentError":
			return failed, why
		}
		return byStatus(status), why
	case err == nil && status/100 == 2:
		if resp == nil || len(resp.Data) == 0 {
			return retry, fmt.Sprintf("HTTP %d with an empty body", status)
		}
		return found, fmt.Sprintf("HTTP %d", status)
	case err == nil:
		return byStatus(status), fmt.Sprintf("HTTP %d without a VirusTotal error code", status)
	case errors.Is(err, errBodyTooLarge):
		return failed, fmt.Sprintf("HTTP %d: %v", status, errBodyTooLarge)
	case isCertificateError(err):
		return failed, "TLS certificate not trusted: " + err.Error() +
			" (a TLS-inspecting proxy's CA must be trusted by the system)"
	case status == 0 && isTimeout(err):
		// The request's context and the HTTP client share one timeout;
		// whichever fires first, say it the same way.
		return retry, "Timeout: no answer within the request timeout (" + err.Error() + ")"
	case status == 0:
		return retry, err.Error() // no response: reset, refused, DNS
	case status/100 == 2:
		return retry, fmt.Sprintf("HTTP %d with an unreadable body: %v", status, err) // truncated or not JSON
	}
	return byStatus(status), fmt.Sprintf("HTTP %d: %v", status, err) // e.g. an HTML error page
}

// byStatus classifies a response that carries no VirusTotal error code.
func byStatus(status int) outcome {
	switch {
	case status == http.StatusUnauthorized:
		return unauthorized
	case status == http.StatusTooManyRequests, status >= 500:
		return retry
	}
	return failed // other 4xx, redirects
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func isCertificateError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname)
}

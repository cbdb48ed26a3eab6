package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/vttest"
)

// vtServer is the strict VirusTotal fake (vttest) served on a loopback
// listener of our own, so that the TCP connections the enricher opens can
// be counted.
type vtServer struct {
	*vttest.Server
	hs    *http.Server
	url   string
	conns atomic.Int64 // TCP connections accepted
}

func startVT(opts ...vttest.Option) (*vtServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v := &vtServer{Server: vttest.NewInMemory(opts...)}
	v.hs = &http.Server{Handler: v.Server, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			v.conns.Add(1)
		}
	}}
	v.url = "http://" + ln.Addr().String() + "/api/v3"
	go v.hs.Serve(ln)
	return v, nil
}

func (v *vtServer) Close() {
	v.Server.Close() // releases requests held for latency
	v.hs.Close()
}

// vtAttributes returns a VirusTotal domain attributes object shaped like a
// real one (the conformance fixture of a GET /domains answer): 90 engine
// verdicts, DNS records, a certificate, WHOIS text — about 15 KB of JSON.
// Half the domains get a Let's Encrypt certificate and a recent creation
// date, so records differ as the detection sees them.
func vtAttributes(i int, now time.Time) json.RawMessage {
	engines := make(map[string]any, 90)
	for e := range 90 {
		verdict, category := "clean", "harmless"
		if e < i%7 {
			verdict, category = "malicious", "malicious"
		}
		engines[fmt.Sprintf("Engine%02d", e)] = map[string]any{
			"method": "blacklist", "engine_name": fmt.Sprintf("Engine%02d", e),
			"category": category, "result": verdict,
		}
	}
	issuer := map[string]string{"C": "US", "O": "Amazon", "OU": "Server CA 1B", "CN": "Amazon"}
	created := now.AddDate(-3, 0, -i%900).Unix()
	if i%2 == 0 {
		issuer = map[string]string{"C": "US", "O": "Let's Encrypt", "CN": "R10"}
		created = now.AddDate(0, 0, -i%60).Unix()
	}
	attrs := map[string]any{
		"creation_date":      created,
		"last_analysis_date": now.Add(-time.Hour).Unix(),
		"last_analysis_stats": map[string]int{
			"harmless": 70, "malicious": i % 7, "suspicious": i % 2, "undetected": 20 - i%7, "timeout": 0,
		},
		"last_analysis_results": engines,
		"last_https_certificate": map[string]any{
			"issuer":   issuer,
			"validity": map[string]string{"not_before": "2025-09-26 00:00:00", "not_after": "2026-09-26 23:59:59"},
			"subject":  map[string]string{"CN": "*.example.com"},
			"extensions": map[string]any{
				"subject_alternative_name": []string{"example.com", "*.example.com"},
				"key_usage":                []string{"digitalSignature", "keyEncipherment"},
				"extended_key_usage":       []string{"serverAuth", "clientAuth"},
				"CA":                       false,
			},
			"serial_number":       "0c2c27d4c5f1b3b2e54a7a91d0e3e3a1",
			"thumbprint":          "8a0c3e7c5d6f4e2b1a9c8d7e6f5a4b3c2d1e0f9a",
			"signature_algorithm": "sha256RSA",
			"public_key": map[string]any{"algorithm": "RSA", "rsa": map[string]any{
				"key_size": 2048, "exponent": "010001", "modulus": strings.Repeat("c3a1", 128)}},
		},
		"last_dns_records": []map[string]any{
			{"type": "A", "ttl": 60, "value": "192.0.2.10"},
			{"type": "NS", "ttl": 172800, "value": "ns1.example.net"},
			{"type": "NS", "ttl": 172800, "value": "ns2.example.net"},
			{"type": "SOA", "ttl": 900, "value": "ns1.example.net", "rname": "hostmaster.example.net",
				"serial": 2025010101, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 86400},
		},
		"categories": map[string]string{
			"Forcepoint ThreatSeeker": "information technology", "alphaMountain.ai": "Business/Economy",
			"BitDefender": "computersandsoftware", "Sophos": "information technology",
		},
		"popularity_ranks": map[string]any{},
		"reputation":       -i % 40,
		"registrar":        "NameCheap, Inc.",
		"tags":             []string{},
		"total_votes":      map[string]int{"harmless": 0, "malicious": i % 3},
		"whois": "Creation Date: 2022-01-01T00:00:00Z\nRegistrar: NameCheap, Inc.\nRegistrant Country: IS\n" +
			strings.Repeat("Name Server: NS1.EXAMPLE.NET\nDomain Status: clientTransferProhibited\n", 6),
		"jarm": "29d3fd00029d29d21c42d43d00041d5de67cc9954cc85372523050f20b5007",
	}
	if i%5 == 0 {
		attrs["popularity_ranks"] = map[string]any{"Cisco Umbrella": map[string]int{"rank": 1000 + i, "timestamp": 1700000000}}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		panic(err)
	}
	return b
}

// sliceSource is a pipeline.Source emitting fixed values.
type sliceSource []string

func (s sliceSource) Candidates(ctx context.Context, emit func(kind.Kind, string) error) error {
	for _, v := range s {
		if err := emit(domainkind.Kind{}, v); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// memStore is an in-memory pipeline.Store that counts requests as a KV
// store would send them: one per 1000 domains read, one per 1000 saved.
type memStore struct {
	mu       sync.Mutex
	recs     map[string]record.Record
	requests int
}

var _ pipeline.Store = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{recs: map[string]record.Record{}} }

func (m *memStore) Get(_ context.Context, _ kind.Kind, domains []string) (map[string]kind.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests += (len(domains) + 999) / 1000
	out := make(map[string]kind.Record)
	for _, d := range domains {
		if r, ok := m.recs[d]; ok {
			out[d] = r
		}
	}
	return out, nil
}

func (m *memStore) Save(_ context.Context, _ kind.Kind, recs []kind.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests += (len(recs) + 999) / 1000
	for _, r := range recs {
		m.recs[r.ID()] = r.(record.Record)
	}
	return nil
}

func (m *memStore) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// maxInWindow returns the largest number of times that fall in one closed
// window of length w ([t, t+w]), as vttest counts its minute quota.
func maxInWindow(times []time.Time, w time.Duration) int {
	ts := make([]time.Time, len(times))
	copy(ts, times)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) > w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// minGap returns the smallest interval between consecutive sorted times.
func minGap(times []time.Time) time.Duration {
	ts := make([]time.Time, len(times))
	copy(ts, times)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var g time.Duration = -1
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); g < 0 || d < g {
			g = d
		}
	}
	return g
}

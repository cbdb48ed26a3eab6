package vt

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vtsync/vtsync/internal/vttest"
)

// With MaxConns lookups in flight, the connections of one wave of answers
// all stay open for the next wave. (With the default pool of 32, a second
// wave of 64 lookups opens 32 new connections: against VirusTotal, new TCP
// and TLS handshakes.)
func TestEnrichKeepsMaxConnsConnections(t *testing.T) {
	const conc = 2 * DefaultMaxConns
	fake := vttest.NewInMemory()
	for i := range conc {
		fake.AddDomain(fmt.Sprintf("d%d.example", i), json.RawMessage(knownAttrs))
	}
	// Each wave's requests wait for each other at the server, so that conc
	// connections are in use at once.
	var mu sync.Mutex
	arrived, gate := 0, make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == conc {
			close(gate)
		}
		g := gate
		mu.Unlock()
		select {
		case <-g:
		case <-r.Context().Done():
			return
		}
		fake.ServeHTTP(w, r)
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL + "/api/v3", RequestsPerMinute: 1 << 30, MaxConns: conc})
	if err != nil {
		t.Fatal(err)
	}
	wave := func() {
		mu.Lock()
		arrived, gate = 0, make(chan struct{})
		mu.Unlock()
		var wg sync.WaitGroup
		for i := range conc {
			wg.Go(func() {
				if r, err := enrichDomain(e, context.Background(), fmt.Sprintf("d%d.example", i)); err != nil || !r.VTFound {
					t.Errorf("lookup %d: %+v, %v", i, r, err)
				}
			})
		}
		wg.Wait()
	}
	wave()
	if n := conns.Load(); n != conc {
		t.Fatalf("first wave of %d lookups opened %d connections", conc, n)
	}
	wave()
	// A connection is put back in the pool just after its answer is read,
	// so a lookup of the second wave may now and then dial before the last
	// of the first wave's are back; with the default pool, 32 would be new.
	if n := conns.Load() - conc; n >= DefaultMaxConns/4 {
		t.Errorf("second wave opened %d new connections, want them reused", n)
	}
}

func TestNewChecksMaxConns(t *testing.T) {
	if _, err := New(Config{APIKey: "k", MaxConns: -1}); err == nil {
		t.Error("MaxConns -1 accepted")
	}
	for _, tc := range []struct{ in, want int }{{0, DefaultMaxConns}, {4, 4}, {188, 188}} {
		e, err := New(Config{APIKey: "k", MaxConns: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		tr := e.transport.(*http.Transport)
		if tr.MaxIdleConnsPerHost != tc.want || tr.MaxIdleConns != tc.want {
			t.Errorf("MaxConns %d: idle pool %d per host, %d in all; want %d", tc.in, tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tc.want)
		}
	}
}

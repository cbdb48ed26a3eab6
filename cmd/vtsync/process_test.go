package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// The tests in this file run the binary as splunkd does and act on the
// process: kill it, stop it, start it twice. They need a Unix system.

// procEnv is one input on one host: a splunkd fake, a VirusTotal fake with
// latency (so that signals land while lookups are in flight) and a
// checkpoint_dir.
type procEnv struct {
	t          *testing.T
	splunk     *splunktest.Server
	vt         *vttest.Server
	checkpoint string
	domains    []string
	positives  map[string]int // the domains VirusTotal knows → malicious count
	params     map[string]string
}

// newProcEnv serves n distinct registered domains from the search; every
// third is known to VirusTotal.
func newProcEnv(t *testing.T, n int, latency time.Duration, splunkOpts ...splunktest.Option) *procEnv {
	t.Helper()
	e := &procEnv{t: t, checkpoint: t.TempDir(), positives: map[string]int{},
		params: map[string]string{"max_concurrency": "4"}}
	e.vt = vttest.New(vttest.WithLatency(latency))
	t.Cleanup(e.vt.Close)
	rows := make([]map[string]any, n)
	for i := range rows {
		d := fmt.Sprintf("proc%d.example%d.net", i, i)
		e.domains = append(e.domains, fmt.Sprintf("example%d.net", i))
		rows[i] = map[string]any{"ut_domain": d}
		if i%3 == 0 {
			e.positives[e.domains[i]] = i % 7
			e.vt.AddDomain(e.domains[i], json.RawMessage(fmt.Sprintf(`{"last_analysis_stats": {"malicious": %d}, "registrar": "Example"}`, i%7)))
		}
	}
	e.splunk = splunktest.New(t, append([]splunktest.Option{
		splunktest.WithCollection("vtsync", "vtsync_domains"),
		splunktest.WithInput("vtsync", "vtsync", "default", map[string]string{"api_key": vttest.APIKey}),
		splunktest.WithExportRows(rows...),
	}, splunkOpts...)...)
	return e
}

// input is the definition splunkd writes to stdin; the key is typed in the
// stanza (the first run of a new input).
func (e *procEnv) input() string {
	params := map[string]string{"disabled": "0", "index": "main", "interval": "900",
		"search": "| `vtsync_candidates`", "api_key": vttest.APIKey, "vt_api_url": e.vt.URL(),
		"requests_per_minute": "600000", "daily_lookup_budget": "0"}
	for k, v := range e.params {
		params[k] = v
	}
	esc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<input><server_host>sh1</server_host><server_uri>%s</server_uri><session_key>%s</session_key><checkpoint_dir>%s</checkpoint_dir><configuration><stanza name=\"vtsync://default\" app=\"vtsync\">",
		esc(e.splunk.URL()), esc(e.splunk.SessionKey()), esc(e.checkpoint))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "<param name=%q>%s</param>", k, esc(params[k]))
	}
	b.WriteString("</stanza></configuration></input>")
	return b.String()
}

// proc is a running vtsync.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	out, er bytes.Buffer
	done    chan struct{}
	err     error
}

func (e *procEnv) start() *proc {
	e.t.Helper()
	p := &proc{t: e.t, cmd: exec.Command(binary), done: make(chan struct{})}
	p.cmd.Stdin = strings.NewReader(e.input())
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.er
	p.cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=")
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to exit by itself within limit, a safety net.
func (p *proc) wait(limit time.Duration) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("vtsync did not exit within %s\nstderr:\n%s", limit, p.er.String())
	}
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// summary checks the streams of an exited run and returns its summary.
func (p *proc) summary(e *procEnv) map[string]any {
	p.t.Helper()
	checkStreams(p.t, p.out.String(), p.er.String(), vttest.APIKey, e.splunk.SessionKey())
	return summary(p.t, p.out.String())
}

// runToEnd runs the binary once to completion.
func (e *procEnv) runToEnd() (*proc, map[string]any) {
	e.t.Helper()
	p := e.start()
	p.wait(30 * time.Second)
	if p.err != nil {
		e.t.Fatalf("vtsync exited with %v\nstderr:\n%s", p.err, p.er.String())
	}
	return p, p.summary(e)
}

// waitRequests waits until VirusTotal has received at least n requests. It
// gives up only when no request has come for 20 s: a busy machine makes
// the run slower, not stuck.
func (e *procEnv) waitRequests(p *proc, n int64) {
	e.t.Helper()
	seen, stall := e.vt.Requests(), time.Now().Add(20*time.Second)
	for seen < n {
		if !p.running() {
			e.t.Fatalf("vtsync exited before VirusTotal saw %d requests (it saw %d)\nstderr:\n%s", n, seen, p.er.String())
		}
		if now := e.vt.Requests(); now > seen {
			seen, stall = now, time.Now().Add(20*time.Second)
			continue
		}
		if time.Now().After(stall) {
			e.t.Fatalf("VirusTotal saw no request for 20 s after %d, waiting for %d", seen, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// journaled returns the number of answers waiting in the input's journal.
func (e *procEnv) journaled() int {
	e.t.Helper()
	st, err := checkpoint.Open(e.checkpoint, "default")
	if err != nil {
		e.t.Fatalf("the input's state after the run: %v", err)
	}
	defer st.Close()
	return st.Len()
}

// checkComplete asserts that the collection holds a correct record for
// every candidate.
func (e *procEnv) checkComplete() {
	e.t.Helper()
	docs := e.splunk.Documents("vtsync", "vtsync_domains")
	if len(docs) != len(e.domains) {
		e.t.Errorf("collection holds %d records, want %d", len(docs), len(e.domains))
	}
	for _, d := range e.domains {
		doc, ok := docs[d]
		if !ok {
			e.t.Errorf("no record for %s", d)
			continue
		}
		pos, known := e.positives[d]
		if doc["domain"] != d || doc["vt_found"] != known {
			e.t.Errorf("record of %s = %v; want vt_found %t", d, doc, known)
		}
		if known && doc["last_analysis_positive"] != float64(pos) {
			e.t.Errorf("record of %s: last_analysis_positive %v, want %d", d, doc["last_analysis_positive"], pos)
		}
	}
}

// checkSpend asserts the duplicate-spend bound of an interrupted run: over
// all runs, VirusTotal answered each domain at most twice and at most
// maxConcurrency domains twice (the lookups in flight when the process
// died or stopped).
func (e *procEnv) checkSpend(maxConcurrency int) {
	e.t.Helper()
	total, twice := 0, 0
	for _, d := range e.domains {
		n := e.vt.DomainRequests(d)
		total += n
		if n > 1 {
			twice++
		}
		if n > 2 {
			e.t.Errorf("%s was looked up %d times", d, n)
		}
	}
	// Requests counts every request that reached VirusTotal, those the
	// dead process abandoned included.
	if limit := len(e.domains) + maxConcurrency; total > limit || e.vt.Requests() > int64(limit) {
		e.t.Errorf("VirusTotal got %d requests (%d answered) over the runs for %d domains: more than distinct + max_concurrency = %d",
			e.vt.Requests(), total, len(e.domains), limit)
	}
	if twice > maxConcurrency {
		e.t.Errorf("%d domains were bought twice, more than max_concurrency %d", twice, maxConcurrency)
	}
}

// checkFilesFree asserts that no file under checkpoint_dir holds a secret.
func (e *procEnv) checkFilesFree() {
	e.t.Helper()
	filepath.WalkDir(e.checkpoint, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			e.t.Errorf("%s: %v", path, err)
			return nil
		}
		for _, s := range []string{vttest.APIKey, e.splunk.SessionKey()} {
			if bytes.Contains(b, []byte(s)) {
				e.t.Errorf("%s holds a secret", path)
			}
		}
		return nil
	})
}

// TestKilledRunLosesNothing kills the process (SIGKILL: no chance to clean
// up) while lookups are in flight, early (answers only journaled) and in
// the middle (a batch saved, later answers journaled); the next run saves
// what the dead one journaled and looks up only the rest.
func TestKilledRunLosesNothing(t *testing.T) {
	const concurrency = 8
	for _, c := range []struct {
		name   string
		n      int
		killAt int64
		saved  bool // a batch was saved before the kill
	}{
		{"early", 300, 60, false},
		{"middle", 1300, 1150, true}, // after the first batch_save of 1000
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newProcEnv(t, c.n, 5*time.Millisecond)
			e.params["max_concurrency"] = fmt.Sprint(concurrency)
			p := e.start()
			e.waitRequests(p, c.killAt)
			p.signal(syscall.SIGKILL)
			p.wait(10 * time.Second)
			if st, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() {
				t.Fatalf("the run ended before the kill: %v\nstderr:\n%s", p.err, p.er.String())
			}
			journaled, saved := e.journaled(), len(e.splunk.Documents("vtsync", "vtsync_domains"))
			if journaled == 0 || saved > 0 != c.saved {
				t.Errorf("at the kill %d answers were journaled and %d saved; want some journaled and saved %t", journaled, saved, c.saved)
			}
			e.checkFilesFree()

			_, sum := e.runToEnd()
			if sum["status"] != "ok" || num(sum, "replayed") != journaled {
				t.Errorf("next run: status %v, replayed %v; want ok and the %d journaled answers", sum["status"], sum["replayed"], journaled)
			}
			e.checkComplete()
			e.checkSpend(concurrency)
			if e.journaled() != 0 {
				t.Errorf("the journal is not empty after a complete run")
			}
			e.checkFilesFree()
		})
	}
}

// TestStoppedRunFlushes sends SIGTERM, as splunkd does when it stops:
// the process starts no new lookup, saves what it fetched, writes its
// summary and exits by itself.
func TestStoppedRunFlushes(t *testing.T) {
	t.Parallel()
	e := newProcEnv(t, 300, 20*time.Millisecond)
	p := e.start()
	e.waitRequests(p, 40)
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
	if !p.cmd.ProcessState.Exited() {
		t.Fatalf("vtsync did not exit by itself after SIGTERM: %v", p.cmd.ProcessState)
	}
	before := e.vt.Requests()
	sum := p.summary(e)
	fetched := num(sum, "found") + num(sum, "not_found")
	if sum["status"] != "partial" || num(sum, "deferred") == 0 || fetched < 30 {
		t.Errorf("summary status %v, deferred %v, fetched %d; want partial, some deferred, the answers before the signal", sum["status"], sum["deferred"], fetched)
	}
	docs := e.splunk.Documents("vtsync", "vtsync_domains")
	if len(docs) != fetched || num(sum, "kv_writes") != fetched {
		t.Errorf("KV store holds %d records, kv_writes %v; want the %d answers fetched", len(docs), sum["kv_writes"], fetched)
	}
	if e.journaled() != 0 {
		t.Errorf("answers left in the journal: the stop did not flush them")
	}
	if !strings.Contains(p.er.String(), "WARN") || !strings.Contains(p.er.String(), "stopped before it finished") {
		t.Errorf("no WARN line saying the run was stopped:\n%s", p.er.String())
	}
	time.Sleep(50 * time.Millisecond)
	if after := e.vt.Requests(); after != before {
		t.Errorf("VirusTotal got %d requests after the process exited", after-before)
	}

	_, sum = e.runToEnd()
	if sum["status"] != "ok" || num(sum, "fresh") != fetched {
		t.Errorf("next run: status %v fresh %v; want ok and the %d saved records fresh", sum["status"], sum["fresh"], fetched)
	}
	e.checkComplete()
	e.checkSpend(4)
	e.checkFilesFree()
}

// TestOverlappingRunsSpendOnce starts a second run of the same input on the
// same host while the first is looking up: the second is skipped at once,
// and only the first spends quota.
func TestOverlappingRunsSpendOnce(t *testing.T) {
	t.Parallel()
	e := newProcEnv(t, 400, 50*time.Millisecond) // the first run needs at least 5 s
	first := e.start()
	e.waitRequests(first, 5)
	second, sum := e.runToEnd()
	if !first.running() {
		t.Fatalf("the first run ended before the second: the overlap was not tested")
	}
	if sum["status"] != "skipped" || num(sum, "looked_up") != 0 || num(sum, "vt_calls") != 0 {
		t.Errorf("second run: status %v looked_up %v vt_calls %v; want skipped, 0, 0", sum["status"], sum["looked_up"], sum["vt_calls"])
	}
	if !strings.Contains(second.er.String(), "WARN") || !strings.Contains(second.er.String(), "still running") {
		t.Errorf("the skipped run should say why in a WARN line:\n%s", second.er.String())
	}
	first.signal(syscall.SIGTERM) // no need to wait for the rest
	first.wait(10 * time.Second)
	s := first.summary(e)
	for _, d := range e.domains {
		if n := e.vt.DomainRequests(d); n > 1 {
			t.Errorf("%s looked up %d times, want at most once", d, n)
		}
	}
	// Every request VirusTotal got was the first run's (a request the first
	// run counted may have been cancelled by the stop before it was sent).
	if n := e.vt.Requests(); n == 0 || n > int64(num(s, "vt_calls")) {
		t.Errorf("VirusTotal got %d requests; the first run made %v", n, s["vt_calls"])
	}
}

// TestClusterOnlyCaptainSpends runs the input on a captain and a member of
// a search head cluster at once: only the captain asks VirusTotal.
func TestClusterOnlyCaptainSpends(t *testing.T) {
	t.Parallel()
	captain := newProcEnv(t, 50, time.Millisecond, splunktest.WithServerRoles("search_head", "shc_member", "shc_captain", "kv_store"))
	member := newProcEnv(t, 50, time.Millisecond, splunktest.WithServerRoles("search_head", "shc_member", "kv_store"))
	member.vt = captain.vt // one VirusTotal key, one quota
	c, m := captain.start(), member.start()
	c.wait(30 * time.Second)
	m.wait(30 * time.Second)
	cs, ms := c.summary(captain), m.summary(member)
	if cs["role"] != "shc_captain" || cs["status"] != "ok" || num(cs, "looked_up") != 50 {
		t.Errorf("captain: role %v status %v looked_up %v", cs["role"], cs["status"], cs["looked_up"])
	}
	if ms["role"] != "shc_member" || ms["status"] != "skipped" || num(ms, "vt_calls") != 0 {
		t.Errorf("member: role %v status %v vt_calls %v", ms["role"], ms["status"], ms["vt_calls"])
	}
	if !strings.Contains(m.er.String(), "INFO input=default search head role role=shc_member shc_lookup=captain lookups=false") {
		t.Errorf("the member does not log its decision:\n%s", m.er.String())
	}
	if n := captain.vt.Requests(); n != 50 {
		t.Errorf("VirusTotal got %d requests, want 50 (the captain's)", n)
	}
}

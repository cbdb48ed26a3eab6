// Package progress shows a run to a person at a terminal: a one-line
// progress bar of lookups while they run, and a readable summary at the
// end. Off a terminal, callers write machine-readable output instead.
package progress

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/termtext"
)

// IsTerminal reports whether f (a reader or writer, such as os.Stdin or
// os.Stdout) is a terminal.
func IsTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// redrawEvery bounds how often the bar is redrawn.
const redrawEvery = 100 * time.Millisecond

// width is the bar's length in cells.
const width = 30

// Bar is a one-line progress bar on a terminal. Log lines written through
// Writer appear above it. It is safe for concurrent use.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	start   time.Time
	drawn   time.Time
	line    string // what the bar shows, "" when hidden
	visible bool
}

// New returns a Bar drawing on w (a terminal).
func New(w io.Writer) *Bar { return &Bar{w: w, now: time.Now} }

// Update sets the progress to done of total lookups; redraws are
// throttled, but the last one (done == total) is always drawn.
func (b *Bar) Update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.start.IsZero() {
		b.start = now
	}
	if done < total && now.Sub(b.drawn) < redrawEvery {
		return
	}
	b.drawn = now
	b.line = Line(done, total, now.Sub(b.start))
	b.draw()
}

// Line renders the bar: "[=======>      ] 120/500 lookups  3.9/s  ETA 1m37s".
func Line(done, total int, elapsed time.Duration) string {
	if total <= 0 {
		return fmt.Sprintf("%d lookups", done)
	}
	done = min(max(done, 0), total)
	fill := done * width / total
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	s := fmt.Sprintf("[%s] %d/%d lookups", bar, done, total)
	if elapsed > 0 && done > 0 {
		rate := float64(done) / elapsed.Seconds()
		s += fmt.Sprintf("  %.1f/s", rate)
		if done < total {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			s += "  ETA " + eta.Round(time.Second).String()
		}
	}
	return s
}

func (b *Bar) draw() {
	io.WriteString(b.w, "\r\x1b[K"+b.line)
	b.visible = b.line != ""
}

func (b *Bar) clear() {
	if b.visible {
		io.WriteString(b.w, "\r\x1b[K")
		b.visible = false
	}
}

// Done removes the bar from the screen; the next Update starts a new run,
// whose rate and ETA count from its own start.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clear()
	b.line = ""
	b.start, b.drawn = time.Time{}, time.Time{}
}

// Writer returns a writer for log lines: each write clears the bar, writes
// the line and draws the bar again below it.
func (b *Bar) Writer() io.Writer { return barWriter{b} }

type barWriter struct{ b *Bar }

func (w barWriter) Write(p []byte) (int, error) {
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clear()
	n, err := b.w.Write(p)
	if b.line != "" {
		b.draw()
	}
	return n, err
}

// About is what a run worked with, so that its summary speaks of the
// store and the lookups the person configured.
type About struct {
	// Store names where records are kept: "the embedded store
	// .vtsync/vtsync.db", "the KV store collection vtsync_domains".
	Store string
	// Offline: answers come from a folder of saved VirusTotal objects, so
	// a run costs no request and no quota.
	Offline bool
	// Budget is the configuration key of the daily lookup budget.
	Budget string
	// Run and Detect are the commands to run again and to see the
	// detections; Detect is "" when the configuration has no events.
	Run, Detect string
}

// WriteSummary writes a run summary for a person to read: what was looked
// up and found, what VirusTotal flags, what it cost, and what to do next.
// It says the same as the summary's JSON, in words. Text from data (error
// messages quote values, paths and answers) is escaped for the terminal.
func WriteSummary(w io.Writer, s pipeline.Summary, a About) error {
	var sb strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&sb, "  %-11s%s\n", label, termtext.Clean(fmt.Sprintf(format, args...)))
	}
	fmt.Fprintf(&sb, "%s: %s in %.1fs\n", termtext.Clean(s.Input), s.Status, s.Duration)
	if s.Status == pipeline.StatusFailed && s.Candidates == 0 && s.LookedUp == 0 && s.Replayed == 0 {
		// Nothing was read or done: only what went wrong matters.
		for _, e := range s.Errors {
			line("error", "%s", e)
		}
		line("next", "%s", next(s, a)[0])
		_, err := io.WriteString(w, sb.String())
		return err
	}
	line("looked up", "%s (%d found, %d unknown to VirusTotal, %d failed)", indicators(s, s.LookedUp, ""), s.Found, s.NotFound, s.Failed)
	if b := byKind(s); b != "" {
		line("by kind", "%s", b)
	}
	if s.Found > 0 {
		line("flagged", "%d rated malicious by at least one VirusTotal engine", s.Flagged)
	}
	line("candidates", "%d values: %s, %d rejected%s", s.Candidates, indicators(s, s.Distinct, "distinct "), s.RejectedTotal, rejected(s.Rejected))
	line("fresh", "%d already in the store (%.0f%%), %d due, %d deferred to a later run", s.Fresh, s.CacheHitRate*100, s.Due, s.Deferred)
	if s.Replayed > 0 {
		line("replayed", "%s a previous run paid for", plural(s.Replayed, "answer"))
	}
	switch {
	case a.Offline:
		line("cost", "nothing: answers from the offline folder, no VirusTotal requests")
	case s.BudgetLimit > 0:
		line("cost", "%s; daily budget %d of %d used (UTC day)", plural(int(s.VTCalls), "VirusTotal request"), s.BudgetUsed, s.BudgetLimit)
	default:
		line("cost", "%s; daily budget: no cap (%d used today, UTC)", plural(int(s.VTCalls), "VirusTotal request"), s.BudgetUsed)
	}
	if q := quotaWords[s.QuotaState]; q != "" {
		line("quota", "%s", q)
	}
	store := a.Store
	if store == "" {
		store = "the store"
	}
	line("stored", "%s in %s", plural(s.KVWrites, "record"), store)
	if s.Purged > 0 {
		line("purged", "%s not refreshed for retention_days", plural(s.Purged, "record"))
	}
	for _, e := range s.Errors {
		line("error", "%s", e)
	}
	for _, n := range next(s, a) {
		line("next", "%s", n)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

var quotaWords = map[string]string{
	pipeline.QuotaBudgetExhausted: "the daily lookup budget is spent",
	pipeline.QuotaExceeded:        "VirusTotal says the key's quota is exceeded",
	pipeline.QuotaKeyRejected:     "VirusTotal rejected the API key",
}

// next says what to do after a run, most pressing first.
func next(s pipeline.Summary, a About) []string {
	var out []string
	switch s.Status {
	case pipeline.StatusFailed:
		return []string{"fix what the ERROR lines above say, then run again: " + a.Run}
	case pipeline.StatusSkipped:
		return []string{"another run of this input holds its state; run again once it has finished"}
	}
	switch s.QuotaState {
	case pipeline.QuotaBudgetExhausted:
		out = append(out, fmt.Sprintf("%s wait for the next UTC day; raise %s if the key's quota allows", indicators(s, s.Deferred, "due "), a.Budget))
	case pipeline.QuotaExceeded:
		out = append(out, fmt.Sprintf("%s wait until VirusTotal's quota allows; later runs look them up", indicators(s, s.Deferred, "due ")))
	default:
		if s.Deferred > 0 {
			out = append(out, fmt.Sprintf("%s not looked up yet: run again to look them up: %s", indicators(s, s.Deferred, "due "), a.Run))
		}
	}
	if s.Failed > 0 {
		out = append(out, fmt.Sprintf("%s failed and will be retried by the next run; add -v to see each failure", plural(s.Failed, "lookup")))
	}
	if a.Detect != "" && (s.Fresh > 0 || s.KVWrites > 0) {
		out = append(out, "see what the detection flags: "+a.Detect)
	}
	return out
}

// kindNouns name each kind's indicators in words, in the order they are
// listed.
var kindNouns = []struct{ kind, noun, plural string }{
	{"domain", "domain", "domains"}, {"ip", "IP address", "IP addresses"}, {"file", "file", "files"},
}

// indicators writes n indicators of the run's kinds: "18 domains" when the
// run read one kind (domains when the summary has no kinds), "32
// indicators" when it read several. adj goes before the noun ("distinct ").
func indicators(s pipeline.Summary, n int, adj string) string {
	noun := "indicator"
	if len(s.Kinds) <= 1 {
		for _, kn := range kindNouns {
			if _, ok := s.Kinds[kn.kind]; ok || len(s.Kinds) == 0 && kn.kind == "domain" {
				noun = kn.noun
			}
		}
	}
	if n == 1 {
		return "1 " + adj + noun
	}
	if noun == "IP address" {
		return fmt.Sprintf("%d %sIP addresses", n, adj)
	}
	return fmt.Sprintf("%d %s%ss", n, adj, noun)
}

// byKind writes what each kind's lookups found, when the run read several
// kinds: "18 domains (16 found, 4 flagged), 6 IP addresses (5 found, 1
// flagged)", or "".
func byKind(s pipeline.Summary) string {
	if len(s.Kinds) < 2 {
		return ""
	}
	var parts []string
	for _, kn := range kindNouns {
		if ks := s.Kinds[kn.kind]; ks != nil {
			n := kn.plural
			if ks.LookedUp == 1 {
				n = kn.noun
			}
			parts = append(parts, fmt.Sprintf("%d %s (%d found, %d flagged)", ks.LookedUp, n, ks.Found, ks.Flagged))
		}
	}
	return strings.Join(parts, ", ")
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
func rejected(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

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

// WriteSummary writes a run summary for a person to read.
func WriteSummary(w io.Writer, s pipeline.Summary) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %s in %.1fs\n", s.Input, s.Status, s.Duration)
	fmt.Fprintf(&sb, "  candidates  %d values, %d distinct domains, %d rejected%s\n", s.Candidates, s.Distinct, s.RejectedTotal, rejected(s.Rejected))
	fmt.Fprintf(&sb, "  cache       %d fresh (%.0f%% hit), %d due\n", s.Fresh, s.CacheHitRate*100, s.Due)
	fmt.Fprintf(&sb, "  lookups     %d (%d found, %d not found, %d failed), %d deferred, %d API calls\n",
		s.LookedUp, s.Found, s.NotFound, s.Failed, s.Deferred, s.VTCalls)
	quota := s.QuotaState
	if s.BudgetLimit > 0 {
		quota += fmt.Sprintf(", %d of %d today", s.BudgetUsed, s.BudgetLimit)
	}
	fmt.Fprintf(&sb, "  quota       %s\n", quota)
	fmt.Fprintf(&sb, "  stored      %d records\n", s.KVWrites)
	for _, e := range s.Errors {
		fmt.Fprintf(&sb, "  error       %s\n", e)
	}
	_, err := io.WriteString(w, sb.String())
	return err
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

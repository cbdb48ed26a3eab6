package keyquota

import (
	"context"
	"errors"
	"fmt"
	"github.com/vtsync/vtsync/internal/vt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

const testKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func open(t *testing.T, dir string, perMinute int) *Key {
	t.Helper()
	interval, burst := vt.Pacing(perMinute)
	k, err := Open(dir, testKey, interval, burst)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Two users of one key (two Keys: two open files, as two processes have)
// pace from one shared last request: any perMinute+1 of their grants
// together span more than a minute.
func TestTwoUsersShareThePace(t *testing.T) {
	for _, perMinute := range []int{4, 30, 250} {
		t.Run(strconv.Itoa(perMinute), func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				a, b := open(t, dir, perMinute), open(t, dir, perMinute)
				var mu sync.Mutex
				var grants []time.Time
				var wg sync.WaitGroup
				per := perMinute + perMinute/2 + 2 // together 3 per minute + 4
				for _, k := range []*Key{a, b} {
					for range 3 { // workers of each user
						wg.Go(func() {
							for range per / 3 {
								if err := k.Wait(t.Context()); err != nil {
									t.Error(err)
									return
								}
								mu.Lock()
								grants = append(grants, time.Now())
								mu.Unlock()
							}
						})
					}
				}
				wg.Wait()
				slices.SortFunc(grants, func(x, y time.Time) int { return x.Compare(y) })
				if len(grants) <= perMinute {
					t.Fatalf("%d grants: too few to test", len(grants))
				}
				for i := 0; i+perMinute < len(grants); i++ {
					if span := grants[i+perMinute].Sub(grants[i]); span <= time.Minute {
						t.Fatalf("grants %d..%d span %v: %d requests within a minute, limit %d", i, i+perMinute, span, perMinute+1, perMinute)
					}
				}
			})
		})
	}
}

// A user whose context ends while it waits gives its slot back, and a
// slot past the deadline is refused at once.
func TestWaitGivesBackAndRefusesLateSlots(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		k := open(t, dir, 4) // one request every 16.25 s
		if err := k.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if err := k.Wait(ctx); !errors.Is(err, ErrNoSlot) || time.Since(start) != 0 {
			t.Fatalf("Wait with a deadline before the slot = %v after %v, want ErrNoSlot at once", err, time.Since(start))
		}
		ctx, cancel = context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		if err := k.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Wait = %v", err)
		}
		// The cancelled slot was given back: the next comes one interval
		// after the first grant, not two.
		if err := k.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != k.interval {
			t.Errorf("next grant after %v, want %v", got, k.interval)
		}
	})
}

// The daily count is the key's: users with the same key spend one count,
// each against its own limit; a new UTC day starts at zero.
func TestBudgetIsShared(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, 4), open(t, dir, 4)
	day := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	for i, k := range []*Key{a, b, a} {
		if ok, err := k.Take(day, 3); !ok || err != nil {
			t.Fatalf("take %d: %v %v", i, ok, err)
		}
	}
	if ok, _ := b.Take(day, 3); ok {
		t.Error("a fourth lookup passed a shared limit of 3")
	}
	if ok, _ := b.Take(day, 5); !ok || a.UsedToday(day) != 4 {
		t.Errorf("a user with a larger limit: ok=%v, used %d", ok, a.UsedToday(day))
	}
	if err := a.Refund(day); err != nil || b.UsedToday(day) != 3 {
		t.Errorf("after a refund: used %d, %v", b.UsedToday(day), err)
	}
	if next := day.Add(2 * time.Hour); a.UsedToday(next) != 0 {
		t.Errorf("the next UTC day starts at %d", a.UsedToday(next))
	}
	if ok, _ := a.Take(day.Add(2*time.Hour), 1); !ok || a.UsedToday(day.Add(2*time.Hour)) != 1 {
		t.Error("the next day's first lookup was refused")
	}
}

// The file names a hash of the key, never the key; keys do not share
// files; a damaged file starts afresh instead of failing every run.
func TestFileNameAndDamage(t *testing.T) {
	dir := t.TempDir()
	k := open(t, dir, 4)
	other, err := Open(dir, strings.Repeat("f", 64), time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(k.Path(), testKey) || strings.Contains(k.Path(), testKey[:16]) || k.Path() == other.Path() || filepath.Dir(k.Path()) != dir {
		t.Errorf("paths %s and %s", k.Path(), other.Path())
	}
	now := time.Now()
	if ok, _ := k.Take(now, 0); !ok {
		t.Fatal("take refused")
	}
	b, err := os.ReadFile(k.Path())
	if err != nil || strings.Contains(string(b), testKey) {
		t.Fatalf("file %q, %v", b, err)
	}
	if err := os.WriteFile(k.Path(), []byte("damaged, not a quota file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := k.Take(now, 1); !ok || err != nil || k.UsedToday(now) != 1 {
		t.Errorf("after damage: take %v %v, used %d", ok, err, k.UsedToday(now))
	}
}

const childEnv = "VTSYNC_KEYQUOTA_CHILD"

// Processes, not only goroutines, share the count: two child processes
// take lookups against one limit at the same time, and exactly the limit
// is granted.
func TestProcessesShareTheCount(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		k, err := Open(dir, testKey, time.Second, 1)
		if err != nil {
			os.Exit(2)
		}
		n := 0
		for range 80 {
			if ok, err := k.Take(time.Now(), 100); err != nil {
				os.Exit(3)
			} else if ok {
				n++
			}
		}
		fmt.Print(n)
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			cmd := exec.Command(exe, "-test.run=^TestProcessesShareTheCount$")
			cmd.Env = append(os.Environ(), childEnv+"="+dir)
			outs[i], errs[i] = cmd.Output()
		})
	}
	wg.Wait()
	total := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v", i, errs[i])
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(outs[i])))
		if err != nil {
			t.Fatalf("child %d printed %q", i, outs[i])
		}
		total += n
	}
	if k := open(t, dir, 4); total != 100 || k.UsedToday(time.Now()) != 100 {
		t.Errorf("two processes were granted %d lookups (count %d) under a shared limit of 100", total, k.UsedToday(time.Now()))
	}
}

// Concurrent users of one Key never spend past the limit, the count
// survives reopening, and refunds never take it below zero.
func TestTakeNeverExceedsLimit(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	k := open(t, dir, 4)
	var attempts sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 16 {
		attempts.Go(func() {
			for range 10 {
				ok, err := k.Take(t0, 37)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		})
	}
	attempts.Wait()
	if n != 37 || k.UsedToday(t0) != 37 {
		t.Fatalf("took %d, used %d; want 37 of 160 attempts with limit 37", n, k.UsedToday(t0))
	}
	k = open(t, dir, 4)
	if ok, _ := k.Take(t0, 37); ok {
		t.Error("Take after reopen went past the limit")
	}
	if ok, _ := k.Take(t0, 0); !ok || k.UsedToday(t0) != 38 {
		t.Errorf("Take without a cap: ok %t, used %d; want true, 38", ok, k.UsedToday(t0))
	}
	next := t0.Add(24 * time.Hour)
	if ok, _ := k.Take(next, 1); !ok {
		t.Fatal("Take on the next UTC day refused")
	}
	for range 3 {
		if err := k.Refund(next); err != nil {
			t.Fatal(err)
		}
	}
	if got := k.UsedToday(next); got != 0 {
		t.Errorf("refunds went below zero: %d", got)
	}
}

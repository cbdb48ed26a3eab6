package keyquota

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"
	"time"
)

// holder is the hold's interface, as the VirusTotal enricher uses it.
type holder interface {
	Held(now time.Time) (time.Time, int)
	Stopped(start, now time.Time) (time.Time, int, error)
	Answered() error
}

// After a quota stop the key sends nothing for 15 minutes from the run's
// start (less a minute, for schedule jitter), then twice as long after
// each further stop in a row, never past 00:00 UTC; an answer ends the
// streak. The file and the in-memory hold behave alike.
func TestHoldDoublesUntilMidnight(t *testing.T) {
	for name, h := range map[string]holder{"file": open(t, t.TempDir(), 4), "memory": &Memory{}} {
		t.Run(name, func(t *testing.T) {
			held := func(at time.Time) bool {
				until, _ := h.Held(at)
				return !until.IsZero()
			}
			stop := func(start time.Time) (time.Time, int) {
				t.Helper()
				until, streak, err := h.Stopped(start, start.Add(20*time.Second)) // the 429 comes mid-run
				if err != nil {
					t.Fatal(err)
				}
				return until, streak
			}
			at := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
			if held(at) {
				t.Fatal("a new key is held")
			}
			if until, streak := stop(at); streak != 1 || !until.Equal(at.Add(14*time.Minute)) {
				t.Fatalf("first stop: streak %d until %v, want 1 until 12:14", streak, until)
			}
			// The other lookups in flight refused alike are the same stop.
			if _, streak, _ := h.Stopped(at, at.Add(21*time.Second)); streak != 1 {
				t.Errorf("a second refusal within the hold made streak %d", streak)
			}
			if until, streak := h.Held(at.Add(13*time.Minute + 30*time.Second)); streak != 1 || !until.Equal(at.Add(14*time.Minute)) {
				t.Errorf("held at 12:13:30: until %v streak %d", until, streak)
			}
			// The run 15 minutes later goes ahead even 30 s early; refused
			// again, the wait doubles.
			second := at.Add(14*time.Minute + 30*time.Second)
			if held(second) {
				t.Fatal("held after the first hold")
			}
			if until, streak := stop(second); streak != 2 || !until.Equal(second.Add(29*time.Minute)) {
				t.Errorf("second stop: streak %d until %v", streak, until)
			}
			if !held(second.Add(28*time.Minute)) || held(second.Add(30*time.Minute)) {
				t.Error("the second hold is not 29 minutes")
			}
			// The third stop in a row waits an hour, but never past 00:00 UTC.
			late := time.Date(2025, 3, 10, 23, 50, 0, 0, time.UTC)
			midnight := time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)
			if until, streak := stop(late); streak != 3 || !until.Equal(midnight) {
				t.Errorf("third stop: streak %d until %v, want 3 until midnight", streak, until)
			}
			if !held(midnight.Add(-time.Second)) || held(midnight) {
				t.Error("the hold does not end at midnight")
			}
			// An answer ends the streak: the next stop is a first one.
			if err := h.Answered(); err != nil {
				t.Fatal(err)
			}
			if _, streak := h.Held(midnight); streak != 0 {
				t.Errorf("after an answer: streak %d", streak)
			}
			if until, streak := stop(midnight.Add(5 * time.Minute)); streak != 1 || !until.Equal(midnight.Add(19*time.Minute)) {
				t.Errorf("a new stop: streak %d until %v", streak, until)
			}
		})
	}
}

// Two users of a key (two processes) share the hold, and it survives
// reopening; the in-memory hold is shared by the key's users in a process.
func TestHoldIsTheKeys(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, 4), open(t, dir, 4)
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	if _, _, err := a.Stopped(now, now); err != nil {
		t.Fatal(err)
	}
	if until, streak := b.Held(now.Add(time.Minute)); streak != 1 || until.IsZero() {
		t.Errorf("the other user: until %v streak %d, want held", until, streak)
	}
	// b's answer (a request sent before the stop) ends a's streak too.
	if err := b.Answered(); err != nil {
		t.Fatal(err)
	}
	if until, streak := open(t, dir, 4).Held(now.Add(time.Minute)); streak != 0 || !until.IsZero() {
		t.Errorf("after an answer: until %v streak %d", until, streak)
	}
	if first, again := InMemory(testKey), InMemory(testKey); first != again || first == InMemory("another key") {
		t.Error("InMemory is not one hold per key")
	}
}

// A file written before the hold was kept there (version 1) keeps its
// pace and day count, with no hold.
func TestVersion1FileIsRead(t *testing.T) {
	k := open(t, t.TempDir(), 4)
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var v1 [v1Size]byte
	copy(v1[:4], "vtq1")
	binary.LittleEndian.PutUint64(v1[4:], uint64(day.UnixNano()))
	binary.LittleEndian.PutUint32(v1[12:], dayOf(day))
	binary.LittleEndian.PutUint32(v1[16:], 7)
	binary.LittleEndian.PutUint32(v1[20:], crc32.ChecksumIEEE(v1[:20]))
	if err := os.WriteFile(k.Path(), v1[:], 0o600); err != nil {
		t.Fatal(err)
	}
	if until, streak := k.Held(day); k.UsedToday(day) != 7 || streak != 0 || !until.IsZero() {
		t.Fatalf("version 1 file: used %d, hold %d until %v; want 7 and none", k.UsedToday(day), streak, until)
	}
	if ok, err := k.Take(day, 8); !ok || err != nil || k.UsedToday(day) != 8 {
		t.Errorf("take after a version 1 file: %v %v, used %d", ok, err, k.UsedToday(day))
	}
	if _, _, err := k.Stopped(day, day); err != nil {
		t.Fatal(err)
	}
	if _, streak := k.Held(day); streak != 1 || k.UsedToday(day) != 8 {
		t.Errorf("rewritten file: streak %d, used %d", streak, k.UsedToday(day))
	}
}

package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/logging"
)

const crashEnv = "VTSYNC_PIPELINE_CRASH_DIR"

// fileStore is a memStore that persists itself to a file after every Save
// and kills the process during Save number crashAt: a run killed between
// paying for answers and storing them.
type fileStore struct {
	*memStore
	path    string
	crashAt int
}

func (s *fileStore) Save(ctx context.Context, k kind.Kind, recs []kind.Record) error {
	s.mu.Lock()
	crash := s.attempts+1 == s.crashAt
	s.mu.Unlock()
	if crash {
		os.Exit(3)
	}
	if err := s.memStore.Save(ctx, k, recs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(s.recs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(s.path+".tmp", s.path)
}

func crashOpts(dir string) Options {
	return Options{Input: "crash", Lookups: true, MaxConcurrency: 4, BatchSize: 10,
		StateDir: filepath.Join(dir, "state"), Now: func() time.Time { return t0 }}
}

// TestCrashedRunIsReplayed kills a run (the test binary re-run as a child)
// in the middle of its third store batch, then checks that the next run
// stores every answer the dead one journaled without paying for it again.
func TestCrashedRunIsReplayed(t *testing.T) {
	src := &rows{values: domains(60, "crash%d.com")}
	if dir := os.Getenv(crashEnv); dir != "" {
		store := &fileStore{memStore: newStore(), path: filepath.Join(dir, "store.json"), crashAt: 3}
		Run(context.Background(), crashOpts(dir), src, store, newVT(t0.Unix()))
		os.Exit(0) // not reached if the crash happened
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^TestCrashedRunIsReplayed$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child run did not crash as planned: %v\n%s", err, out)
	}

	store := newStore()
	b, err := os.ReadFile(filepath.Join(dir, "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &store.recs); err != nil {
		t.Fatal(err)
	}
	saved := store.keys()
	st, err := checkpoint.Open(filepath.Join(dir, "state"), "crash")
	if err != nil {
		t.Fatalf("state after a crash: %v", err)
	}
	pending, _, err := st.Pending()
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 20 || len(pending) < 10 {
		t.Fatalf("the dead run saved %d and journaled %d; want 2 batches saved, at least the third journaled", len(saved), len(pending))
	}

	vt := newVT(t0.Unix())
	s, err := run(t, crashOpts(dir), src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Replayed != len(pending) {
		t.Errorf("replayed %d, want the %d journaled answers", s.Replayed, len(pending))
	}
	calls := vt.called()
	for _, r := range pending {
		if calls[r.Key] > 0 {
			t.Errorf("%s looked up again although the dead run journaled its answer", r.Key)
		}
	}
	for _, d := range saved {
		if calls[d] > 0 {
			t.Errorf("%s looked up again although the dead run saved it", d)
		}
	}
	if got := len(store.keys()); got != 60 || s.Status != StatusOK {
		t.Errorf("store holds %d of 60 after the next run, status %q", got, s.Status)
	}
}

// A damaged state file does not stop the input: the run says so in an
// ERROR line and its summary, and works on a new state.
func TestDamagedStateFileIsReported(t *testing.T) {
	opt := opts(t)
	opt.StateDir = t.TempDir()
	path := filepath.Join(opt.StateDir, checkpoint.FileName(opt.Input))
	if err := os.WriteFile(path, []byte("not a state file"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	store := newStore()
	s, err := run(t, opt, &rows{values: domains(5, "dmg%d.com")}, store, newVT(t0.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusPartial || s.Found != 5 || len(store.keys()) != 5 {
		t.Errorf("status %s, found %d, stored %d; want partial and the 5 lookups done", s.Status, s.Found, len(store.keys()))
	}
	if !strings.Contains(logs.String(), "ERROR") || !strings.Contains(logs.String(), ".corrupt-") || len(s.Errors) == 0 || !strings.Contains(s.Errors[0], "damaged") {
		t.Errorf("want an ERROR line and an error naming the set-aside file:\n%s%q", logs.String(), s.Errors)
	}
}

//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A bare vtsync typed at a terminal prints its usage and exits, instead of
// waiting for splunkd's input definition on stdin.
func TestBareCommandAtATerminal(t *testing.T) {
	_, tty := openPTY(t)
	cmd := exec.Command(binary)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("vtsync with a terminal on stdin waits for input instead of printing its usage")
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("exit code %d, want 2 (usage)", code)
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "vtsync run --config FILE") || !strings.Contains(errb.String(), "input definition") {
		t.Errorf("stdout %q, stderr:\n%s\nwant the usage on stderr", out.String(), errb.String())
	}
}

// readAll reads what a process wrote to a terminal until it exits.
func readAll(ctl io.Reader) string {
	var b bytes.Buffer
	io.Copy(&b, ctl) // ends with EIO once the process and our side closed the terminal
	return b.String()
}

// copyDemo copies the demo's configuration, events and VirusTotal objects
// into a temporary directory, where runs write their store.
func copyDemo(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "demo")
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dst, ".vtsync"))
	return dst
}

// A run at a terminal ends with a summary a person reads: what was looked
// up, found and flagged, what it cost, where the records are and what to
// do next. Piped, the same run writes one JSON line.
func TestRunSummaryAtATerminal(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	ctl, tty := openPTY(t)
	cmd := exec.Command(binary, "run", "--config", cfg)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = tty, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has its own; reading ctl ends once it exits
	got := make(chan string, 1)
	go func() { got <- readAll(ctl) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	var out string
	select {
	case out = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the terminal was not closed")
	}
	out = strings.ReplaceAll(out, "\r\n", "\n")
	for _, want := range []string{
		"demo: ok in ",
		"\n  looked up  15 domains (13 found, 2 unknown to VirusTotal, 0 failed)\n",
		"\n  flagged    3 rated malicious by at least one VirusTotal engine\n",
		"\n  cost       nothing: answers from the offline folder, no VirusTotal requests\n",
		"\n  stored     15 records in the embedded store " + filepath.Join(dir, ".vtsync", "vtsync.db") + "\n",
		"\n  next       see what the detection flags: vtsync detect --config " + cfg + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary at a terminal lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{") || strings.Contains(out, "kv_writes") || strings.Contains(out, "budget_limit") {
		t.Errorf("the summary at a terminal is not for a person:\n%s", out)
	}

	code, stdout, stderr := runBinary(t, "run", "--config", cfg)
	var sum map[string]any
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); code != 0 || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &sum) != nil {
		t.Fatalf("piped: exit %d, stdout %q, stderr:\n%s\nwant one JSON line", code, stdout, stderr)
	}
	if sum["fresh"] != 15.0 || sum["kv_writes"] != 0.0 || sum["budget_limit"] != 0.0 || sum["flagged"] != 0.0 {
		t.Errorf("piped summary %v", sum)
	}
}

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
		// The demo's story (examples/demo/README.md): 18 domains (2 not in
		// vt/, 4 malicious), 6 public addresses of non-browser processes (1
		// not in vt/, 1 malicious), 8 image hashes (1 not in vt/, 2
		// malicious).
		"\n  looked up  32 indicators (28 found, 4 unknown to VirusTotal, 0 failed)\n",
		"\n  by kind    18 domains (16 found, 4 flagged), 6 IP addresses (5 found, 1 flagged), 8 files (7 found, 2 flagged)\n",
		"\n  flagged    7 rated malicious by at least one VirusTotal engine\n",
		"\n  cost       nothing: answers from the offline folder, no VirusTotal requests\n",
		"\n  stored     32 records in the embedded store " + filepath.Join(dir, ".vtsync", "vtsync.db") + "\n",
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
	if sum["fresh"] != 32.0 || sum["kv_writes"] != 0.0 || sum["budget_limit"] != 0.0 || sum["flagged"] != 0.0 {
		t.Errorf("piped summary %v", sum)
	}
}

// runAtTerminal runs vtsync with stdout on a terminal and returns what the
// terminal showed (line ends as written) and stderr.
func runAtTerminal(t *testing.T, args ...string) (shown, stderr string) {
	t.Helper()
	ctl, tty := openPTY(t)
	cmd := exec.Command(binary, args...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = tty, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	got := make(chan string, 1)
	go func() { got <- readAll(ctl) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vtsync %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	select {
	case shown = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the terminal was not closed")
	}
	return strings.ReplaceAll(shown, "\r\n", "\n"), errb.String()
}

// Text a domain's owner chooses (its certificate issuer, its registrar)
// reaches a terminal escaped, in export, detect and logs, never raw.
func TestDataReachesTheTerminalEscaped(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	path := filepath.Join(dir, "vt", "cdn-telemetry-sync.com.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hostile := "\x1b]0;owned\x07\x1b[2J\rcdn-telemetry-sync.com,0\n\u202egro"
	ob, _ := json.Marshal("Let's Encrypt" + hostile)
	rb, _ := json.Marshal("NameSilo" + hostile)
	s := strings.Replace(string(b), `"O": "Let's Encrypt"`, `"O": `+string(ob), 1)
	s = strings.Replace(s, `"registrar": "NameSilo, LLC"`, `"registrar": `+string(rb), 1)
	if s == string(b) {
		t.Fatal("the demo's VirusTotal object changed: update this test")
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runBinary(t, "run", "--config", cfg, "-v"); code != 0 || strings.ContainsAny(stderr, "\x1b\x07\r\u202e") {
		t.Fatalf("run: exit %d, stderr:\n%q", code, stderr)
	}
	for format, escaped := range map[string]string{
		"csv":  `NameSilo\x1b]0;owned\a\x1b[2J\rcdn-telemetry-sync.com,0\n\u202egro`,
		"json": `NameSilo\u001b]0;owned\u0007\u001b[2J\rcdn-telemetry-sync.com,0\n\u202egro`,
	} {
		shown, stderr := runAtTerminal(t, "export", "--config", cfg, "--format", format)
		if strings.ContainsAny(shown, "\x1b\x07\r\u202e") || strings.ContainsAny(stderr, "\x1b\x07\r\u202e") {
			t.Errorf("export --format %s at a terminal shows raw control characters:\n%q", format, shown)
		}
		if !strings.Contains(shown, escaped) {
			t.Errorf("export --format %s at a terminal lost the escaped value:\n%s", format, shown)
		}
	}
	// detect's findings carry the certificate issuer: escaped in every
	// format at a terminal.
	for _, format := range []string{"table", "json", "csv"} {
		shown, stderr := runAtTerminal(t, "detect", "--config", cfg, "--format", format)
		if strings.ContainsAny(shown, "\x1b\x07\r\u202e") || strings.ContainsAny(stderr, "\x1b\x07\r\u202e") {
			t.Errorf("detect --format %s at a terminal shows raw control characters:\n%q", format, shown)
		}
		if !strings.Contains(shown, "cdn-telemetry-sync.com") || format != "table" && !strings.Contains(shown, `\u202egro`) {
			t.Errorf("detect --format %s at a terminal lost the finding or its escaped issuer:\n%s", format, shown)
		}
	}
	// Redirected, the export is the data as it is.
	_, out, _ := runBinary(t, "export", "--config", cfg)
	if !strings.Contains(out, "Let's Encrypt"+hostile) {
		t.Errorf("export to a pipe changed the values:\n%q", out)
	}
}

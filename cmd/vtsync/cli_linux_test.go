//go:build linux

package main

import (
	"bytes"
	"io"
	"os/exec"
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

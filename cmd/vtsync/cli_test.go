package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// Help goes to stdout with exit 0, for vtsync and each command, and lists
// the exit codes; a command vtsync does not know is a usage error.
func TestHelpAndUnknownCommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, errOut := runBinary(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "vtsync run --config FILE") ||
			!strings.Contains(out, "Exit codes:") || !strings.Contains(out, "3  partial") || !strings.Contains(out, "2  usage") {
			t.Errorf("vtsync %s: exit %d, stderr %q, stdout:\n%s", strings.Join(args, " "), code, errOut, out)
		}
	}
	for _, c := range []struct{ args, want []string }{
		{[]string{"help", "run"}, []string{"usage: vtsync run", "-every interval", "Exit codes: 0 ok; 1 failed; 2 bad flags or configuration; 3 partial"}},
		{[]string{"run", "--help"}, []string{"usage: vtsync run", "-every interval"}},
		{[]string{"help", "export"}, []string{"usage: vtsync export", "-out"}},
		{[]string{"detect", "-h"}, []string{"usage: vtsync detect", "-events file"}},
	} {
		code, out, errOut := runBinary(t, c.args...)
		for _, w := range c.want {
			if code != 0 || errOut != "" || !strings.Contains(out, w) {
				t.Errorf("vtsync %s: exit %d, stderr %q, stdout lacks %q:\n%s", strings.Join(c.args, " "), code, errOut, w, out)
			}
		}
	}
	for _, args := range [][]string{{"frob"}, {"help", "frob"}, {"--frob"}} {
		code, out, errOut := runBinary(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, `unknown command "frob"`) && !strings.Contains(errOut, `unknown command "--frob"`) {
			t.Errorf("vtsync %s: exit %d, stdout %q, stderr %q; want exit 2 and unknown command", strings.Join(args, " "), code, out, errOut)
		}
		if strings.Contains(errOut, "modular input script") {
			t.Errorf("vtsync %s: a person typed it; stderr speaks of the modular input: %s", strings.Join(args, " "), errOut)
		}
	}
}

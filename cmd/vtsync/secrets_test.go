package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/vttest"
)

// The VirusTotal key reaches the binary only on stdin (the input
// definition, or storage/passwords through splunkd's REST API), and the
// session key only on stdin. Neither may come out anywhere: stdout,
// stderr, KV documents, files, process arguments or environments. The
// fault matrix in internal/modrun checks outputs, KV documents and
// checkpoint files after every run; the tests here cover what only the
// process shows.

const sessionSecret = "9d3f0c4b8a7e6d5c4b3a2f1e0d9c8b7a" // shape of a splunkd session key

// Malformed and invalid input definitions and validation requests whose
// secrets sit next to the fault: the error messages must not quote them.
func TestBadInputDoesNotEchoSecrets(t *testing.T) {
	key := vttest.APIKey
	def := func(stanza string) string {
		return "<input><server_host>sh1</server_host><server_uri>https://127.0.0.1:1</server_uri><session_key>" + sessionSecret +
			"</session_key><checkpoint_dir>" + t.TempDir() + "</checkpoint_dir><configuration>" + stanza
	}
	val := func(item string) string {
		return "<items><server_host>sh1</server_host><server_uri>https://127.0.0.1:1</server_uri><session_key>" + sessionSecret +
			"</session_key><checkpoint_dir>/tmp</checkpoint_dir>" + item
	}
	cases := []struct {
		name string
		args []string
		in   string
	}{
		{"definition cut after the key", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + key + `</param>`)},
		{"definition cut inside the key", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + key)},
		{"definition with a mismatched end tag", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + key + `</parm></stanza></configuration></input>`)},
		{"definition with an element inside the key", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + key + `<b/></param></stanza></configuration></input>`)},
		{"definition with an unknown entity", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + key + `&x;</param></stanza></configuration></input>`)},
		{"definition with an unknown element", nil, def(`<stanza name="vtsync://a"><secret>` + key + `</secret></stanza></configuration></input>`)},
		{"definition with an unquoted attribute", nil, def(`<stanza name=vtsync://a><param name="api_key">` + key + `</param></stanza></configuration></input>`)},
		{"session key with an element inside", nil, "<input><session_key>" + sessionSecret + "<b/></session_key></input>"},
		{"session key cut", nil, "<input><session_key>" + sessionSecret},
		{"definition with an invalid parameter", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + key + `</param><param name="max_concurrency">` + key + `</param></stanza></configuration></input>`)},
		{"definition with a key that is not a key", nil, def(`<stanza name="vtsync://a"><param name="api_key">` + sessionSecret + `!</param></stanza></configuration></input>`)},
		{"validation cut after the key", []string{"--validate-arguments"}, val(`<item name="a"><param name="api_key">` + key + `</param>`)},
		{"validation with a mismatched end tag", []string{"--validate-arguments"}, val(`<item name="a"><param name="api_key">` + key + `</parm></item></items>`)},
		{"validation with an invalid parameter", []string{"--validate-arguments"}, val(`<item name="a"><param name="api_key">` + key + `</param><param name="refresh_days">` + key + `</param></item></items>`)},
		{"validation with a key that is not a key", []string{"--validate-arguments"}, val(`<item name="a"><param name="api_key">` + sessionSecret + `!</param></item></items>`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary, c.args...)
			cmd.Stdin = strings.NewReader(c.in)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			if err == nil {
				t.Errorf("vtsync accepted bad input")
			}
			if errb.Len() == 0 && out.Len() == 0 {
				t.Errorf("vtsync said nothing about the bad input")
			}
			for _, s := range []string{key, sessionSecret} {
				if strings.Contains(out.String(), s) || strings.Contains(errb.String(), s) {
					t.Errorf("a secret appears in the output:\nstdout: %s\nstderr: %s", out.String(), errb.String())
				}
			}
		})
	}
}

// While a run is going, the key is neither in the process's arguments nor
// in its environment (Linux /proc).
func TestKeyNotInProcessArgumentsOrEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/cmdline and environ, which only Linux has")
	}
	t.Parallel()
	e := newProcEnv(t, 100, 20*time.Millisecond)
	p := e.start()
	e.waitRequests(p, 5)
	pid := strconv.Itoa(p.cmd.Process.Pid)
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(filepath.Join("/proc", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{vttest.APIKey, e.splunk.SessionKey()} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("/proc/%s/%s holds a secret", pid, f)
			}
		}
	}
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
	p.summary(e) // checks the streams for secrets
	e.checkFilesFree()
}

// The code linked into vtsync never puts anything into its environment and
// never starts a process, so no secret can reach a child environment or a
// command line. A new call of one of these needs a look at what it passes.
func TestNoEnvironmentWritesOrChildProcesses(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}{{end}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]bool{"os.Setenv": true, "syscall.Setenv": true, "os.StartProcess": true,
		"exec.Command": true, "exec.CommandContext": true, "syscall.Exec": true, "syscall.ForkExec": true}
	files := 0
	fset := token.NewFileSet()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, name := range fields[min(1, len(fields)):] {
			path := filepath.Join(fields[0], name)
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files++
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); ok && forbidden[pkg.Name+"."+sel.Sel.Name] {
					t.Errorf("%s: %s.%s in code linked into vtsync", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if files < 20 {
		t.Fatalf("scanned %d files; go list did not return vtsync's packages:\n%s", files, out)
	}
}

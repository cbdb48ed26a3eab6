package configpage

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser is headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ended by a NUL byte, Chromium
// reading file descriptor 3 and writing 4), so no port and no WebSocket
// library are needed.
type browser struct {
	t   testing.TB
	cmd *exec.Cmd
	w   io.WriteCloser

	mu       sync.Mutex
	nextID   int
	pending  map[int]chan message
	problems []string // uncaught exceptions, console errors, failed loads
	done     chan struct{}
}

type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// chromiumPath is Debian's Chromium, or $CHROMIUM.
func chromiumPath(t testing.TB) string {
	p := os.Getenv("CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (Debian: apt-get install chromium; .ci/run installs it) or its path in $CHROMIUM: %v", p, err)
	}
	return p
}

// startBrowser starts headless Chromium with a new profile. The flags keep
// it from reaching out to the network (update checks, sync, field trials)
// and let it run as root in a container.
func startBrowser(t testing.TB) *browser {
	t.Helper()
	profile := t.TempDir()
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromiumPath(t),
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--password-store=basic", "--use-mock-keychain",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	toChrome.Close()
	chromeEnd.Close()
	b := &browser{t: t, cmd: cmd, w: ourEnd, pending: map[int]chan message{}, done: make(chan struct{})}
	go b.read(bufio.NewReader(fromChrome))
	t.Cleanup(func() {
		b.call("", "Browser.close", nil)
		ourEnd.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("Chromium's stderr:\n%s", tail(stderr.String(), 4000))
		}
	})
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (b *browser) read(r *bufio.Reader) {
	defer close(b.done)
	for {
		raw, err := r.ReadBytes(0)
		if err != nil {
			return
		}
		var m message
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		b.event(m)
	}
}

// event keeps what the page did wrong: uncaught exceptions, console
// errors and resources that failed to load.
func (b *browser) event(m message) {
	var problem string
	switch m.Method {
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		json.Unmarshal(m.Params, &p)
		problem = "uncaught exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "warning" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			problem = "console." + p.Type + ": " + strings.Join(parts, " ")
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		json.Unmarshal(m.Params, &p)
		if p.Entry.Level == "error" {
			problem = "browser log: " + p.Entry.Text + " " + p.Entry.URL
		}
	}
	if problem != "" {
		b.mu.Lock()
		b.problems = append(b.problems, problem)
		b.mu.Unlock()
	}
}

// Problems returns and forgets what the page did wrong so far.
func (b *browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// call sends one command (to a page when session is set) and waits for its
// answer.
func (b *browser) call(session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan message, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	if params == nil {
		p = []byte("{}")
	}
	msg, _ := json.Marshal(message{ID: id, Method: method, Params: p, SessionID: session})
	if _, err := b.w.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("%s: writing to Chromium: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-b.done:
		return nil, fmt.Errorf("%s: Chromium exited", method)
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%s: no answer from Chromium in 30 s", method)
	}
}

// page is one tab.
type page struct {
	b       *browser
	t       testing.TB
	session string
}

// newPage opens a tab of width×height CSS pixels with the runtime, log and
// page domains on.
func (b *browser) newPage(width, height int) *page {
	b.t.Helper()
	res, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		b.t.Fatal(err)
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	json.Unmarshal(res, &target)
	res, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		b.t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	json.Unmarshal(res, &att)
	p := &page{b: b, t: b.t, session: att.SessionID}
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		p.must(m, nil)
	}
	p.must("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false})
	return p
}

func (p *page) must(method string, params any) json.RawMessage {
	p.t.Helper()
	res, err := p.b.call(p.session, method, params)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}

// navigate loads url and waits for the document to be complete.
func (p *page) navigate(url string) {
	p.t.Helper()
	res := p.must("Page.navigate", map[string]any{"url": url})
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		p.t.Fatalf("loading %s: %s", url, nav.ErrorText)
	}
	p.waitFor(`document.readyState === "complete"`, "the page to load")
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value into out (which may be nil).
func (p *page) eval(expr string, out any) error {
	res, err := p.b.call(p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true,
	})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("evaluating %s: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out == nil || r.Result.Value == nil {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

func (p *page) mustEval(expr string, out any) {
	p.t.Helper()
	if err := p.eval(expr, out); err != nil {
		p.t.Fatal(err)
	}
}

// text returns the textContent of the first element matching selector
// ("" when none).
func (p *page) text(selector string) string {
	p.t.Helper()
	var s string
	p.mustEval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, selector), &s)
	return s
}

// waitFor polls a JavaScript condition until it is true, for up to 15 s.
func (p *page) waitFor(cond, what string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		var ok bool
		err := p.eval("Boolean("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("waited 15 s for %s (%s): %v; page problems: %v", what, cond, err, p.b.Problems())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// center scrolls the element into view and returns its center.
func (p *page) center(selector string) (x, y float64) {
	p.t.Helper()
	var r struct{ X, Y float64 }
	err := p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error("no element " + %q);
		e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, selector, selector), &r)
	if err != nil {
		p.t.Fatal(err)
	}
	return r.X, r.Y
}

// click clicks the element with the mouse, as a person would.
func (p *page) click(selector string) {
	p.t.Helper()
	x, y := p.center(selector)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		p.must("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1})
	}
}

// typeInto clicks into a field, selects what it holds and types text over
// it.
func (p *page) typeInto(selector, text string) {
	p.t.Helper()
	p.click(selector)
	p.mustEval(fmt.Sprintf(`document.querySelector(%q).select()`, selector), nil)
	if text == "" {
		p.must("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8})
		p.must("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8})
		return
	}
	p.must("Input.insertText", map[string]any{"text": text})
}

// choose picks an option of a <select> (native popups cannot be clicked
// headless) and fires its change event.
func (p *page) choose(selector, value string) {
	p.t.Helper()
	var ok bool
	p.mustEval(fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (![...s.options].some(o => o.value === %q)) return false;
		s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, selector, value, value), &ok)
	if !ok {
		p.t.Fatalf("%s has no option %q", selector, value)
	}
}

// screenshot writes a PNG of the whole page to path: the viewport is made
// as tall as the document first.
func (p *page) screenshot(path string, width int) error {
	var height int
	if err := p.eval(`Math.ceil(document.documentElement.scrollHeight)`, &height); err != nil {
		return err
	}
	if _, err := p.b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		return err
	}
	res, err := p.b.call(p.session, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return err
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &shot); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return err
	}
	if len(png) == 0 {
		return errors.New("empty screenshot")
	}
	return os.WriteFile(path, png, 0o644)
}

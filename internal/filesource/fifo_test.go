//go:build unix

package filesource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A configured NDJSON events file may be a pipe (<(zcat events.ndjson.gz),
// /dev/stdin): the configured-field check must not need to seek, and the
// records read while checking must still come out, in order.
func TestReadEventsConfiguredFieldFromFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "events.ndjson")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	// The process field first appears in the third record: the first two
	// are read before the check passes.
	data := `{"http_host":"a.example.com","host":"h1"}` + "\n" +
		`{"http_host":"b.example.com","host":"h1"}` + "\n" +
		`{"http_host":"c.example.com","host":"h2","Image":"C:\\x\\chrome.exe"}` + "\n" +
		`{"http_host":"d.example.com","host":"h2","Image":"curl.exe"}` + "\n"
	wrote := make(chan error, 1)
	go func() { wrote <- os.WriteFile(fifo, []byte(data), 0o600) }()

	var got []string
	err := ReadEvents(context.Background(), fifo, NDJSON, Fields{Process: "Image", Host: "host"}, func(e Event) error {
		got = append(got, e.Dest+" "+e.Host+" "+e.Process)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	want := "a.example.com h1 |b.example.com h1 |c.example.com h2 chrome.exe|d.example.com h2 curl.exe"
	if s := strings.Join(got, "|"); s != want {
		t.Errorf("events:\n got %s\nwant %s", s, want)
	}
}

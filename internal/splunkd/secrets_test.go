package splunkd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/splunktest"
)

// A secret the client learns mid-run (the VirusTotal key read from
// storage/passwords) joins the process's registry: no later log line, of
// the client or of anyone sharing the registry, and no later error text
// holds it, even when splunkd echoes it back in a search message.
func TestSecretReadMidRunNeverWrittenAfter(t *testing.T) {
	const secret = "vt-key-from-storage-0123456789abcdef"
	echo := []byte(`{"preview":false,"offset":0,"lastrow":true,"result":{"domain":"a.example"}}` + "\n" +
		`{"messages":[{"type":"INFO","text":"lookup vt_key=` + secret + `"}]}` + "\n")
	s := splunktest.New(t,
		splunktest.WithPassword(DefaultApp, "vtsync", "main", secret),
		splunktest.WithExportRaw(echo),
		splunktest.WithExportFatal("Error in 'search' command: unknown field "+secret))
	secrets := logging.NewSecrets()
	var logs bytes.Buffer
	log := slog.New(logging.NewHandler(&logs, slog.LevelDebug, secrets))
	c := newClient(t, s, func(c *Config) { c.Logger, c.Secrets = log, secrets })
	ctx := context.Background()

	if secrets.Scrub(secret) != secret {
		t.Fatal("the registry knew the secret before the client read it")
	}
	got, found, err := c.Password(ctx, "vtsync", "main")
	if err != nil || !found || got != secret {
		t.Fatalf("Password = %q, %v, %v", got, found, err)
	}

	err = c.Export(ctx, "search x", "", "", func(map[string][]string) error { return nil })
	var e *Error
	if !errors.As(err, &e) || !e.InBand {
		t.Fatalf("Export err = %v, want the in-band FATAL", err)
	}
	texts := []string{err.Error()}
	for _, m := range e.Messages {
		texts = append(texts, m.Text)
	}
	// Another component logs it, and writes it into text that is not a
	// log line (a summary error), through the same registry.
	log.Warn("enricher", "key", got, "err", errors.New("401 for "+got))
	texts = append(texts, secrets.Scrub("summary: key "+got+" rejected"))
	texts = append(texts, logs.String())

	if !strings.Contains(logs.String(), "DEBUG search message type=INFO") || !strings.Contains(err.Error(), "unknown field ****") {
		t.Fatalf("the echoed message did not come through: logs %q, err %q", logs.String(), err)
	}
	for _, text := range texts {
		if strings.Contains(text, secret) {
			t.Errorf("the secret read mid-run leaked: %q", text)
		}
	}
}

// With a logger over the program's Handler and no Secrets, the client adds
// what it learns to the handler's registry.
func TestClientFallsBackOnTheLoggersRegistry(t *testing.T) {
	const secret = "stored-secret-0123456789"
	s := splunktest.New(t, splunktest.WithPassword(DefaultApp, "vtsync", "main", secret))
	var logs bytes.Buffer
	log := slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	c := newClient(t, s, func(c *Config) { c.Logger = log })
	if _, _, err := c.Password(context.Background(), "vtsync", "main"); err != nil {
		t.Fatal(err)
	}
	log.Info("m", "v", secret, "session", s.SessionKey())
	if logs.String() != "INFO m v=**** session=****\n" {
		t.Errorf("got %q", logs.String())
	}
}

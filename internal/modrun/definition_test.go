package modrun

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/logging"
)

// An input definition without a checkpoint_dir would run without run
// lock, journal or budget: it is a failed run with an ERROR, and nothing
// is looked up.
func TestEmptyCheckpointDirFails(t *testing.T) {
	for _, dir := range []string{"", "  "} {
		e := newEnv(t, rows(3, "cp%d.com"), nil)
		e.checkpoint = dir
		r := e.run()
		if r.code == 0 || r.summary.Status != "failed" || r.summary.LookedUp != 0 || e.vt.Requests() != 0 {
			t.Errorf("checkpoint_dir %q: code %d, %+v, %d VirusTotal calls; want a failed run that looks nothing up", dir, r.code, r.summary, e.vt.Requests())
		}
		if !strings.Contains(r.stderr, "ERROR ") || !strings.Contains(r.stderr, "<checkpoint_dir>") || !strings.Contains(r.stderr, "budget") {
			t.Errorf("checkpoint_dir %q: stderr does not say why:\n%s", dir, r.stderr)
		}
	}
}

// A definition with no vtsync stanza syncs nothing: an ERROR and a non-zero
// exit, not a silent success.
func TestDefinitionWithoutStanzaFails(t *testing.T) {
	for _, doc := range []string{
		"<input></input>",
		"<input><server_uri>https://127.0.0.1:8089</server_uri><checkpoint_dir>/tmp</checkpoint_dir><configuration/></input>",
		"<input><configuration><stanza name=\"other://x\"><param name=\"a\">b</param></stanza></configuration></input>",
	} {
		var out, errb strings.Builder
		code := Run(context.Background(), strings.NewReader(doc), &out, slog.New(logging.NewHandler(&errb, slog.LevelInfo, nil)), nil)
		if code == 0 || !strings.Contains(errb.String(), "ERROR ") || !strings.Contains(errb.String(), "no vtsync:// stanza") {
			t.Errorf("%s: code %d, stderr:\n%s", doc, code, errb.String())
		}
		if strings.Contains(out.String(), "<event") {
			t.Errorf("%s: events written: %s", doc, out.String())
		}
	}
}

package appcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/detect"
)

// TestDetectDefaultsMatchMacros holds the app's macros to the detection's
// table of settings (detect.Settings), the one source of the defaults of
// the SPL detection and of vtsync detect, so both flag the same domains.
func TestDetectDefaultsMatchMacros(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(appDir(t), "default", "macros.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ParseConf(data)
	if err != nil {
		t.Fatal(err)
	}
	def := func(name string) string {
		st := conf.Stanza(name)
		if st == nil {
			t.Fatalf("macros.conf has no [%s]", name)
		}
		v, _ := st.Get("definition")
		return strings.TrimSpace(v)
	}
	r := detect.DefaultRules()
	for _, s := range detect.Settings {
		if got := def(s.Macro); got != s.Default {
			t.Errorf("macro %s = %q, detect.Settings default %q", s.Macro, got, s.Default)
		}
		if got := r.MacroValue(s.Key); got != def(s.Macro) {
			t.Errorf("macro %s = %q, but vtsync detect's default %s is %q", s.Macro, def(s.Macro), s.Key, got)
		}
		// The detection reads every setting.
		if !strings.Contains(def("vtsync_detection")+def("vtsync_candidates_sysmon")+def("vtsync_candidates_http_host"), "`"+s.Macro+"`") {
			t.Errorf("macro %s is not used by the detection", s.Macro)
		}
	}
	// The reasons the SPL writes are the ones vtsync detect writes.
	for _, words := range []string{`"registered " . printf("%.2f", age_days) . " days before first contact"`,
		`"new domain with a certificate from " . cert_org`, `"1 engine calls"`, `" engines call") . " it malicious"`,
		`"unknown to VirusTotal"`, `"` + detect.ReasonPending + `"`} {
		if !strings.Contains(def("vtsync_detection"), words) {
			t.Errorf("vtsync_detection does not write %s", words)
		}
	}
}

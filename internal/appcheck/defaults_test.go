package appcheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/detect"
)

// TestDetectDefaultsMatchMacros holds the app's macros to the detections'
// table of settings (detect.Settings), the one source of the defaults of
// the SPL detections and of vtsync detect, so both flag the same domains,
// IP addresses and process images.
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
		// Each detection reads exactly the settings the table gives it, so
		// that vtsync detect applies to each kind what the SPL applies.
		for _, kind := range detect.Kinds {
			var spl string
			for _, m := range detectionMacros[kind] {
				spl += def(m)
			}
			if uses, listed := strings.Contains(spl, "`"+s.Macro+"`"), slices.Contains(s.Kinds, kind); uses != listed {
				t.Errorf("macro %s: the %s detection uses it: %v; detect.Settings gives it to the %s detection: %v", s.Macro, kind, uses, kind, listed)
			}
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
	// So do the IP address and process image detections; the latter adds
	// VirusTotal's threat label in brackets.
	for _, m := range []string{"vtsync_ip_detection", "vtsync_file_detection"} {
		for _, words := range []string{`"1 engine calls"`, `" engines call") . " it malicious"`, `"unknown to VirusTotal"`, `"` + detect.ReasonPending + `"`} {
			if !strings.Contains(def(m), words) {
				t.Errorf("%s does not write %s", m, words)
			}
		}
	}
	if !strings.Contains(def("vtsync_file_detection"), `" (" . popular_threat_label . ")"`) {
		t.Error("vtsync_file_detection does not write the threat label in brackets")
	}
}

// detectionMacros are the macros of each detection that may read a
// setting: its candidate searches of the sources vtsync detect reads
// (Sysmon, and for domains the blog's indexed fields) and the detection.
var detectionMacros = map[string][]string{
	detect.KindDomain: {"vtsync_detection", "vtsync_candidates", "vtsync_candidates_sysmon", "vtsync_candidates_http_host"},
	detect.KindIP:     {"vtsync_ip_detection", "vtsync_ip_candidates", "vtsync_ip_candidates_sysmon"},
	detect.KindFile:   {"vtsync_file_detection", "vtsync_file_candidates", "vtsync_file_candidates_sysmon"},
}

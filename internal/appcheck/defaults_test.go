package appcheck

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/detect"
)

// TestDetectDefaultsMatchMacros keeps the standalone detection's defaults
// (vtsync detect) equal to the app's macros, so both flag the same domains.
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
	var browsers []string
	for _, b := range strings.Split(def("vtsync_browser_processes"), ",") {
		browsers = append(browsers, strings.Trim(strings.TrimSpace(b), `"`))
	}
	want := slices.Clone(detect.DefaultBrowsers)
	slices.Sort(browsers)
	slices.Sort(want)
	if !slices.Equal(browsers, want) {
		t.Errorf("vtsync_browser_processes = %v, detect.DefaultBrowsers = %v", browsers, want)
	}
	r := detect.DefaultRules()
	for name, v := range map[string]float64{
		"vtsync_max_age_days":  r.MaxAgeDays,
		"vtsync_max_hosts":     float64(r.MaxDistinctHosts),
		"vtsync_min_positives": float64(r.MinPositives),
	} {
		got, err := strconv.ParseFloat(def(name), 64)
		if err != nil || got != v {
			t.Errorf("macro %s = %q, detect default %v", name, def(name), v)
		}
	}
}

package appcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPageViewsAndScripts(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, d string)
		want string // "" = no problem
	}{
		{"shipped", func(*testing.T, string) {}, ""},
		{"own mako template", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_config.xml", `template="pages/splunk_ui_app.html"`, `template="vtsync:/templates/config.html"`)
		}, "a page view must use Splunk's template"},
		{"template directory", func(t *testing.T, d string) {
			writeFile(t, d, "appserver/templates/config.html", "<html>${make_url('/')}</html>")
		}, "custom Mako templates"},
		{"script missing", func(t *testing.T, d string) {
			if err := os.Remove(filepath.Join(d, "appserver", "static", "pages", "vtsync_config.js")); err != nil {
				t.Fatal(err)
			}
		}, "the page's script appserver/static/pages/vtsync_config.js is missing"},
		{"jquery", func(t *testing.T, d string) {
			appendTo(t, d, "appserver/static/pages/vtsync_config.js", "\n$.ajax({url: '/x'});\n")
		}, "jQuery"},
		{"innerHTML", func(t *testing.T, d string) {
			appendTo(t, d, "appserver/static/pages/vtsync_config.js", "\ndocument.body.innerHTML = x;\n")
		}, "builds code or markup from strings"},
		{"remote script", func(t *testing.T, d string) {
			writeFile(t, d, "appserver/static/extra.js", "var s = '<script src=\"https://cdn.example.com/x.js\"></script>';\n")
		}, "loads code or data from outside Splunk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := copyApp(t, "vtsync")
			tc.edit(t, d)
			probs := Check(d)
			if tc.want == "" {
				for _, p := range probs {
					t.Error(p)
				}
				return
			}
			var msgs []string
			for _, p := range probs {
				msgs = append(msgs, p.String())
			}
			if len(probs) != 1 || !strings.Contains(msgs[0], tc.want) {
				t.Errorf("got %q; want one problem saying %q", msgs, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, d, rel, body string) {
	t.Helper()
	p := filepath.Join(d, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

package appcheck

import (
	"bytes"
	"encoding/xml"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// PageTemplate is Splunk's own page template (Splunk 10.4 and later): a
// view <view template="pages/splunk_ui_app.html" type="html"> loads
// appserver/static/pages/<view>.js. Apps' own Mako templates
// (appserver/templates) are deprecated and fail Splunk Cloud vetting.
const PageTemplate = "pages/splunk_ui_app.html"

// pageView checks a <view> (not Simple XML) view: it must use
// PageTemplate, and its script must exist.
func (c *checker) pageView(rel, name string, data []byte) {
	var v struct {
		XMLName  xml.Name
		Template string `xml:"template,attr"`
		Type     string `xml:"type,attr"`
		Label    string `xml:"label"`
	}
	if err := xml.Unmarshal(data, &v); err != nil {
		c.addf(rel, "not well-formed XML: %v", err)
		return
	}
	if v.Template != PageTemplate || v.Type != "html" {
		c.addf(rel, `<view template=%q type=%q>: a page view must use Splunk's template="%s" type="html" (apps' own templates fail Splunk Cloud vetting)`, v.Template, v.Type, PageTemplate)
	}
	if strings.TrimSpace(v.Label) == "" {
		c.addf(rel, "<view> has no <label>")
	}
	js := "appserver/static/pages/" + name + ".js"
	if _, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(js))); err != nil {
		c.addf(rel, "the page's script %s is missing", js)
	}
}

// rootElement returns the name of an XML document's root element.
func rootElement(data []byte) string {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		t, err := d.Token()
		if err != nil {
			return ""
		}
		if s, ok := t.(xml.StartElement); ok {
			return s.Name.Local
		}
	}
}

// staticScriptRules are what Splunk Cloud vetting questions in an app's
// JavaScript: jQuery-era dashboard code, code built from strings, and
// anything loaded from outside Splunk.
var staticScriptRules = []struct {
	re  *regexp.Regexp
	msg string
}{
	{regexp.MustCompile(`(?i)jquery|\$\.ajax|\brequire\s*\(\s*\[|\bdefine\s*\(\s*\[`), "uses jQuery or RequireJS (jQuery-era dashboard code); use fetch and the DOM"},
	{regexp.MustCompile(`\beval\s*\(|new\s+Function\s*\(|\.innerHTML\s*=|document\.write\s*\(`), "builds code or markup from strings (eval, new Function, innerHTML, document.write)"},
	{regexp.MustCompile(`(?i)(src|href)\s*=\s*["']https?://|import\s*\(\s*["']https?://|fetch\s*\(\s*["']https?://`), "loads code or data from outside Splunk"},
}

// appserver: no app templates (deprecated Mako), no Python controllers,
// and page scripts within the rules above.
func (c *checker) appserver() {
	for _, d := range []string{"appserver/templates", "appserver/controllers", "appserver/modules"} {
		if _, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(d))); err == nil {
			c.addf(d, "must not ship: custom Mako templates, controllers and modules are deprecated and fail Splunk Cloud vetting; pages use %s", PageTemplate)
		}
	}
	static := filepath.Join(c.dir, "appserver", "static")
	filepath.WalkDir(static, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(d.Name()) != ".js" {
			return nil
		}
		rel, _ := filepath.Rel(c.dir, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			c.addf(rel, "cannot read: %v", err)
			return nil
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, r := range staticScriptRules {
				if r.re.MatchString(line) {
					c.addf(rel, "line %d %s", i+1, r.msg)
				}
			}
		}
		return nil
	})
}

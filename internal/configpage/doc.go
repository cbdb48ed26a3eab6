// Package configpage tests the app's configuration page (view
// vtsync_config, appserver/static/pages/vtsync_config.js) in a real
// browser: headless Chromium, driven over the DevTools protocol, loads the
// page from a fake Splunk Web that serves it as Splunk Web does (Splunk's
// page template, static files, the splunkd proxy under
// /<locale>/splunkd/__raw with its session cookie and CSRF check) in front
// of the strict splunkd fake, internal/splunktest.
//
// The package holds only tests. They need Debian's chromium
// (/usr/bin/chromium, or the path in $CHROMIUM); .ci/run installs it.
//
//	go test ./internal/configpage -run TestConfigurationPage -args -screenshot ../../docs/config-page.png
//
// also writes a screenshot of the page.
package configpage

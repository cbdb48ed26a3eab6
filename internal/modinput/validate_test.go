package modinput

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/logging"
)

func TestWriteValidationErrorMatchesSDK(t *testing.T) {
	for _, tt := range []struct{ file, msg string }{
		{"splunk-sdk-python/modularinput/validation_error.xml", "Big fat validation error!"},
		{"splunk-sdk-java/modularinput/validation_error.xml", "Oh, the vogonity!"},
		{"splunk-sdk-csharp/modularinput/ValidationErrorMessage.xml", "test message"},
	} {
		want := bytes.TrimPrefix(fixture(t, tt.file), []byte("\uFEFF"))
		var out bytes.Buffer
		if err := WriteValidationError(&out, tt.msg); err != nil {
			t.Fatal(err)
		}
		if out.String() != string(want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.file, out.String(), want)
		}
	}
}

func TestWriteValidationErrorEscapes(t *testing.T) {
	var out bytes.Buffer
	msg := "a <b> & \"c\"\r\nd\x01"
	if err := WriteValidationError(&out, msg); err != nil {
		t.Fatal(err)
	}
	if want := "<error><message>a &lt;b&gt; &amp; \"c\"&#13;\nd\uFFFD</message></error>"; out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	if got := parseTree(t, out.Bytes()).child("message").Text; got != "a <b> & \"c\"\r\nd\uFFFD" {
		t.Errorf("message parses as %q", got)
	}
}

const testKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func validationDoc(params string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<items>
  <server_host>sh1</server_host>
  <server_uri>https://127.0.0.1:8089</server_uri>
  <session_key>SESSIONKEY-s3cr3t-0001</session_key>
  <checkpoint_dir>/opt/splunk/var/lib/splunk/modinputs/vtsync</checkpoint_dir>
  <item name="vtsync://main">
    <param name="interval">600</param>
    <param name="index">main</param>
    <param name="disabled">0</param>
` + params + `
  </item>
</items>`
}

func TestValidateArguments(t *testing.T) {
	tests := []struct {
		name      string
		stdin     string
		code      int
		wantParam string // the message must name it
	}{
		{"defaults", validationDoc(""), 0, ""},
		{"valid key and settings", validationDoc(`<param name="api_key">` + testKey + `</param>
    <param name="search">index=proxy | stats count by url_domain</param>
    <param name="requests_per_minute">1000</param>`), 0, ""},
		{"masked key", validationDoc(`<param name="api_key">********</param>`), 0, ""},
		{"bad number", validationDoc(`<param name="api_key">` + testKey + `</param>
    <param name="requests_per_minute">four</param>`), 1, "requests_per_minute"},
		{"bad key", validationDoc(`<param name="api_key">my-secret-not-a-key!</param>`), 1, "api_key"},
		{"macro search", validationDoc("<param name=\"search\">`my_macro`</param>"), 1, "search"},
		{"bad collection", validationDoc(`<param name="collection">a b</param>`), 1, "collection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := ValidateArguments(strings.NewReader(tt.stdin), &stdout, slog.New(logging.NewHandler(&stderr, slog.LevelDebug, nil)), nil)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stdout %q stderr %q", code, tt.code, stdout.String(), stderr.String())
			}
			for _, secret := range []string{testKey, "my-secret-not-a-key!", "SESSIONKEY-s3cr3t-0001", "123102983109283019283"} {
				if strings.Contains(stdout.String(), secret) || strings.Contains(stderr.String(), secret) {
					t.Errorf("secret %q written: stdout %q stderr %q", secret, stdout.String(), stderr.String())
				}
			}
			if tt.code == 0 {
				if stdout.Len() != 0 || stderr.Len() != 0 {
					t.Errorf("valid input wrote stdout %q stderr %q", stdout.String(), stderr.String())
				}
				return
			}
			doc := parseTree(t, stdout.Bytes())
			msg := doc.child("message")
			if doc.Name != "error" || msg == nil || len(doc.Children) != 1 {
				t.Fatalf("stdout is not <error><message>: %q", stdout.String())
			}
			if !strings.Contains(msg.Text, "parameter "+tt.wantParam+":") {
				t.Errorf("message %q does not name %s", msg.Text, tt.wantParam)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "ERROR ") || !strings.Contains(lines[0], tt.wantParam) {
				t.Errorf("stderr %q, want one ERROR line naming %s", stderr.String(), tt.wantParam)
			}
		})
	}
}

func TestValidateArgumentsSDKRequest(t *testing.T) {
	// The SDK request carries only parameters vtsync ignores: all defaults.
	var stdout, stderr bytes.Buffer
	stdin := bytes.NewReader(fixture(t, "splunk-sdk-python/modularinput/validation.xml"))
	if code := ValidateArguments(stdin, &stdout, slog.New(logging.NewHandler(&stderr, slog.LevelDebug, nil)), nil); code != 0 || stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("exit code %d, stdout %q, stderr %q; want 0 and no output", code, stdout.String(), stderr.String())
	}
}

func TestValidateArgumentsMalformed(t *testing.T) {
	for name, stdin := range map[string]string{
		"empty":     "",
		"truncated": `<items><session_key>SESSIONKEY-s3cr3t-0001</session_key><item name="vtsync://main"><param name="search">`,
		"no item":   `<items><session_key>SESSIONKEY-s3cr3t-0001</session_key></items>`,
		"not xml":   "--validate-arguments\n",
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := ValidateArguments(strings.NewReader(stdin), &stdout, slog.New(logging.NewHandler(&stderr, slog.LevelDebug, nil)), nil); code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			msg := parseTree(t, stdout.Bytes()).child("message")
			if msg == nil || !strings.Contains(msg.Text, "could not read the validation request") {
				t.Errorf("stdout %q does not explain the problem", stdout.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "s3cr3t") {
				t.Errorf("session key written")
			}
			if !strings.HasPrefix(stderr.String(), "ERROR ") || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr %q, want one ERROR line", stderr.String())
			}
		})
	}
}

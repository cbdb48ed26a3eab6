package domain

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// pslTestsSHA256 pins testdata/tests.txt to the upstream file.
const pslTestsSHA256 = "61a3a502cf471d1a919d5e43c10e910023b0c4230e1db506f8e2ff0b47d2234e"

// pslTestsJSSHA256 is the sha256 of the upstream tests/test_psl.txt.
const pslTestsJSSHA256 = "8f50ad958916d6a8f79fba2363501475571acce752757f9126fe9d2f17dd920d"

type pslCase struct {
	line     int
	in, want string // want "" = no registered domain
}

// readPSLTests parses the PSL project's tests.txt.
func readPSLTests(t testing.TB, path string) []pslCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []pslCase
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("%s:%d: want 2 fields, got %q", path, i+1, line)
		}
		cases = append(cases, newPSLCase(i+1, f[0], f[1]))
	}
	return cases
}

// readPSLTestsJS parses test_psl.txt: checkPublicSuffix('in', 'out');
func readPSLTestsJS(t testing.TB, path string) []pslCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);$`)
	var cases []pslCase
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s:%d: unexpected line %q", path, i+1, line)
		}
		cases = append(cases, newPSLCase(i+1, strings.Trim(m[1], "'"), strings.Trim(m[2], "'")))
	}
	return cases
}

func newPSLCase(line int, in, want string) pslCase {
	if in == "null" {
		in = ""
	}
	if want == "null" {
		want = ""
	}
	return pslCase{line: line, in: in, want: want}
}

// checkPSL runs the cases. Expected Unicode names are compared in their
// punycode form (converted with the stock Lookup profile, not ours).
func checkPSL(t *testing.T, name string, cases []pslCase) {
	t.Helper()
	// 78 cases: 77 with an input, one "null null".
	if len(cases) != 78 {
		t.Fatalf("%s: parsed %d cases, want 78", name, len(cases))
	}
	for _, c := range cases {
		want := c.want
		if want != "" {
			a, err := idna.Lookup.ToASCII(want)
			if err != nil {
				t.Fatalf("%s:%d: expected value %q: %v", name, c.line, want, err)
			}
			want = a
		}
		got, r := Normalize(c.in)
		switch {
		case want == "" && r == "":
			t.Errorf("%s:%d: Normalize(%q) = %q, want a rejection", name, c.line, c.in, got)
		case want != "" && (got != want || r != ""):
			t.Errorf("%s:%d: Normalize(%q) = %q, %q; want %q", name, c.line, c.in, got, r, want)
		}
	}
}

func TestPSLConformance(t *testing.T) {
	t.Run("testdata", func(t *testing.T) {
		path := filepath.Join("testdata", "tests.txt")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != pslTestsSHA256 {
			t.Fatalf("%s differs from the upstream copy (sha256 %x)", path, sum)
		}
		checkPSL(t, path, readPSLTests(t, path))
	})
	t.Run("testdata-js", func(t *testing.T) {
		path := filepath.Join("testdata", "test_psl.txt")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != pslTestsJSSHA256 {
			t.Fatalf("%s differs from the upstream copy (sha256 %x)", path, sum)
		}
		checkPSL(t, path, readPSLTestsJS(t, path))
	})
}

// PSL null cases carry specific reasons users see in the run summary.
func TestPSLNullReasons(t *testing.T) {
	for in, want := range map[string]Reason{
		"":                 Empty,
		"COM":              PublicSuffix,
		".com":             BadLabel,
		".example.com":     BadLabel,
		"example":          SingleLabel,
		"c.mm":             PublicSuffix,
		"test.ck":          PublicSuffix,
		"k12.ak.us":        PublicSuffix,
		"公司.cn":            PublicSuffix,
		"中国":               PublicSuffix,
		"xn--fiqs8s":       PublicSuffix,
		"ide.kyoto.jp":     PublicSuffix,
		".example.example": BadLabel,
	} {
		if got, r := Normalize(in); r != want {
			t.Errorf("Normalize(%q) = %q, %q; want reason %q", in, got, r, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		reason         Reason
	}{
		{"clean", "example.com", "example.com", ""},
		{"subdomain", "a.b.c.example.com", "example.com", ""},
		{"upper case", "WWW.EXAMPLE.COM", "example.com", ""},
		{"mixed case", "Mail.Google.Com", "google.com", ""},
		{"trailing dot", "www.example.com.", "example.com", ""},
		{"two trailing dots", "www.example.com..", "", BadLabel},
		{"surrounding space", " \twww.example.com\n", "example.com", ""},
		{"port", "www.example.com:443", "example.com", ""},
		{"port and dot", "www.example.com.:8443", "example.com", ""},
		{"empty port", "www.example.com:", "example.com", ""},
		{"max port", "example.com:65535", "example.com", ""},
		{"port out of range", "example.com:65536", "", IllegalChar},
		{"port not numeric", "example.com:http", "", IllegalChar},
		{"two ports", "example.com:80:80", "", IllegalChar},
		{"url", "https://www.example.com/a/b?c=d#e", "example.com", ""},
		{"url with port", "http://www.example.com:8080", "example.com", ""},
		{"url with userinfo", "ftp://user:secret@files.example.org/x", "example.org", ""},
		{"url with fake userinfo host", "http://www.bank.com@evil.example/", "evil.example", ""},
		{"url upper-case scheme", "HTTPS://EXAMPLE.COM/", "example.com", ""},
		{"url query only", "http://example.com?x=1", "example.com", ""},
		{"url backslash", "http://evil.com\\@good.com/", "evil.com", ""},
		{"url without host", "https:///path", "", Empty},
		{"url ipv4", "http://10.0.0.1:8080/", "", IP},
		{"url ipv6", "http://[2001:db8::1]:8080/", "", IP},
		{"url bad scheme", "1http://example.com", "", IllegalChar},
		{"bare path", "example.com/index.html", "", IllegalChar},
		{"bare query", "example.com?x", "", IllegalChar},
		{"bare userinfo", "user@example.com", "", IllegalChar},
		{"icann two-level", "www.bbc.co.uk", "bbc.co.uk", ""},
		{"private suffix", "foo.blogspot.com", "foo.blogspot.com", ""},
		{"private suffix deep", "a.b.foo.blogspot.com", "foo.blogspot.com", ""},
		{"private suffix github.io", "www.evil.github.io", "evil.github.io", ""},
		{"private suffix s3", "bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com", ""},
		{"public suffix", "co.uk", "", PublicSuffix},
		{"private public suffix", "github.io", "", PublicSuffix},
		{"tld", "com", "", PublicSuffix},
		{"unlisted tld", "b.example.example", "example.example", ""},
		{"wildcard rule", "a.b.c.mm", "b.c.mm", ""},
		{"exception rule", "www.www.ck", "www.ck", ""},
		{"single label", "intranet", "", SingleLabel},
		{"localhost", "localhost", "", Reserved},
		{"mdns", "printer.local", "", Reserved},
		{"internal tld", "db.prod.internal", "", Reserved},
		{"reverse lookup", "4.3.2.1.in-addr.arpa", "", Reserved},
		{"home.arpa", "nas.home.arpa", "", Reserved},
		{"ipv4", "192.0.2.1", "", IP},
		{"ipv4 trailing dot", "192.0.2.1.", "", IP},
		{"ipv4 port", "192.0.2.1:53", "", IP},
		{"ipv4 decimal", "3232235777", "", IP},
		{"ipv4 hex", "0xC0A80101", "", IP},
		{"ipv4 mixed", "0xc0.168.1", "", IP},
		{"ipv4 octal", "0300.0250.01.01", "", IP},
		{"numeric last label", "host.example.123", "", IP},
		{"numeric subdomain", "1.2.3.4.example.net", "example.net", ""},
		{"hex-looking tld is not hex", "example.0xg", "example.0xg", ""},
		{"ipv6", "2001:db8::8a2e:370:7334", "", IP},
		{"ipv6 brackets", "[2001:db8::1]", "", IP},
		{"ipv6 brackets port", "[::1]:443", "", IP},
		{"ipv6 zone", "fe80::1%eth0", "", IP},
		{"ipv4-mapped ipv6", "::ffff:192.0.2.1", "", IP},
		{"brackets around a name", "[example.com]:80", "", IllegalChar},
		{"unicode", "bücher.example", "xn--bcher-kva.example", ""},
		{"unicode upper", "BÜCHER.DE", "xn--bcher-kva.de", ""},
		{"unicode subdomain", "www.食狮.中国", "xn--85x722f.xn--fiqs8s", ""},
		{"punycode", "www.xn--bcher-kva.de", "xn--bcher-kva.de", ""},
		{"punycode upper", "WWW.XN--BCHER-KVA.DE", "xn--bcher-kva.de", ""},
		{"invalid punycode", "xn--x.de", "", IDNA},
		{"punycode with trailing hyphen", "xn--abc-.de", "", BadLabel},
		{"punycode not decodable", "xn--ab.de", "", IDNA},
		{"invalid punycode in subdomain", "xn--x.example.com", "example.com", ""},
		{"homograph", "аpple.com", "xn--pple-43d.com", ""},
		{"non-transitional sharp s", "straße.de", "xn--strae-oqa.de", ""},
		{"ideographic full stop", "www。example。com", "example.com", ""},
		{"fullwidth", "ＥＸＡＭＰＬＥ.ｃｏｍ", "example.com", ""},
		{"bidi override", "exa\u202emple.com", "", IDNA},
		{"underscore subdomain", "_sip._tcp.example.com", "example.com", ""},
		{"underscore registered", "my_host.com", "", BadLabel},
		{"hyphens in position 3-4", "r1---sn-q4f7sn7z.googlevideo.com", "googlevideo.com", ""},
		{"leading hyphen registered", "-foo.com", "", BadLabel},
		{"trailing hyphen registered", "foo-.com", "", BadLabel},
		{"empty label", "a..example.com", "", BadLabel},
		{"leading dot", ".example.com", "", BadLabel},
		{"label 63", strings.Repeat("x", 63) + ".com", strings.Repeat("x", 63) + ".com", ""},
		{"label 64", strings.Repeat("x", 64) + ".com", "", BadLabel},
		{"subdomain label 64", strings.Repeat("x", 64) + ".example.com", "", BadLabel},
		{"name 253", strings.Repeat("a.", 121) + "example.com", "example.com", ""},
		{"name 254", strings.Repeat("a.", 121) + "xexample.com", "", TooLong},
		{"name 253 plus root dot", strings.Repeat("a.", 121) + "example.com.", "example.com", ""},
		{"long punycode label", strings.Repeat("ü", 60) + ".de", "", BadLabel},
		{"space inside", "exa mple.com", "", IllegalChar},
		{"nul", "example.com\x00", "", IllegalChar},
		{"pipe", "example.com|x", "", IllegalChar},
		{"percent", "ex%61mple.com", "", IllegalChar},
		{"asterisk", "*.example.com", "", IllegalChar},
		{"invalid utf-8", "ex\xc3ample.com", "", IllegalChar},
		{"empty", "", "", Empty},
		{"blank", "  ", "", Empty},
		{"url toolbox none", "None", "", Empty},
		{"log dash", "-", "", Empty},
		{"dot", ".", "", Empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, r := Normalize(tt.in)
			if got != tt.want || r != tt.reason {
				t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tt.in, got, r, tt.want, tt.reason)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for _, d := range []string{
		"example.com", "bbc.co.uk", "foo.blogspot.com", "xn--pple-43d.com",
		"xn--85x722f.xn--fiqs8s", "nip.io", "a-b.example", "123.com",
	} {
		if !Valid(d) {
			t.Errorf("Valid(%q) = false, want true", d)
		}
	}
	for _, d := range []string{
		"", "com", "co.uk", "www.example.com", "Example.com", "example.com.",
		" example.com", "example.com:443", "http://example.com", "1.2.3.4", "::1",
		"localhost", "wpad", "foo.local", "аpple.com", "xn--zz.com", "_x.com",
		"-x.com", "x-.com", "a..com", "example.com\x00", strings.Repeat("a", 64) + ".com",
	} {
		if Valid(d) {
			t.Errorf("Valid(%q) = true, want false", d)
		}
	}
}

func TestReasons(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if !snake.MatchString(string(r)) {
			t.Errorf("reason %q is not lower_snake_case", r)
		}
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
	}
	if len(seen) != 9 {
		t.Errorf("Reasons() has %d entries, want 9", len(seen))
	}
}

type hostileCase struct {
	line   int
	in     string
	want   string // accepted: the exact domain
	reason Reason // rejected: the reason
}

// readHostile parses testdata/hostile.txt (format in testdata/README.md).
func readHostile(t testing.TB) []hostileCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "hostile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := map[Reason]bool{}
	for _, r := range Reasons() {
		known[r] = true
	}
	var cases []hostileCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			t.Fatalf("hostile.txt:%d: %v", n, err)
		}
		in, _ := strconv.Unquote(q)
		c := hostileCase{line: n, in: in}
		rest := strings.TrimSpace(line[len(q):])
		if d, ok := strings.CutPrefix(rest, "-> "); ok {
			c.want = d
		} else if known[Reason(rest)] {
			c.reason = Reason(rest)
		} else {
			t.Fatalf("hostile.txt:%d: want a reason or \"-> domain\", got %q", n, rest)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// cleanDomain is the shape of anything that may be sent to VirusTotal,
// checked independently of the package's own code.
var cleanDomain = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func checkClean(t *testing.T, in, d string) {
	t.Helper()
	if len(d) > 253 || !cleanDomain.MatchString(d) {
		t.Errorf("Normalize(%q) = %q: not a clean registered domain", in, d)
	}
}

func TestHostile(t *testing.T) {
	cases := readHostile(t)
	if len(cases) < 100 {
		t.Fatalf("hostile corpus has %d cases, want at least 100", len(cases))
	}
	reasons := map[Reason]int{}
	for _, c := range cases {
		got, r := Normalize(c.in)
		if c.want != "" {
			if got != c.want || r != "" {
				t.Errorf("hostile.txt:%d: Normalize(%q) = %q, %q; want %q", c.line, c.in, got, r, c.want)
			}
			checkClean(t, c.in, got)
			continue
		}
		reasons[c.reason]++
		if r != c.reason || got != "" {
			t.Errorf("hostile.txt:%d: Normalize(%q) = %q, %q; want rejection %q", c.line, c.in, got, r, c.reason)
		}
	}
	for _, r := range Reasons() {
		if reasons[r] == 0 {
			t.Errorf("hostile corpus has no case rejected as %q", r)
		}
	}
}

// asciiHost is the host Normalize picks its registered domain from.
func asciiHost(raw string) (string, bool) {
	h, r := hostOf(raw)
	if r != "" {
		return "", false
	}
	h, r = toASCII(h)
	if r != "" {
		return "", false
	}
	return strings.TrimSuffix(h, "."), true
}

func FuzzNormalize(f *testing.F) {
	for _, c := range readPSLTests(f, filepath.Join("testdata", "tests.txt")) {
		f.Add(c.in)
	}
	for _, c := range readHostile(f) {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, r := Normalize(raw)
		if r != "" {
			if d != "" {
				t.Fatalf("Normalize(%q) = %q with reason %q", raw, d, r)
			}
			return
		}
		checkClean(t, raw, d)
		if again, r := Normalize(d); again != d || r != "" {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %q", raw, d, d, again, r)
		}
		if !Valid(d) {
			t.Fatalf("Normalize(%q) = %q, which is not Valid", raw, d)
		}
		h, ok := asciiHost(raw)
		if !ok || (h != d && !strings.HasSuffix(h, "."+d)) {
			t.Fatalf("Normalize(%q) = %q, not a suffix of its host %q", raw, d, h)
		}
		// Independent of the package: ASCII input yields a piece of itself.
		if isASCIIString(raw) && !strings.Contains(strings.ToLower(raw), d) {
			t.Fatalf("Normalize(%q) = %q, not part of the input", raw, d)
		}
	})
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// benchHosts is a mix as it comes out of DNS, proxy and Sysmon logs.
var benchHosts = []string{
	"www.google.com",
	"clients4.google.com",
	"r3---sn-5hne6nsr.googlevideo.com",
	"login.microsoftonline.com",
	"WWW.EXAMPLE.COM",
	"Outlook.Office365.com",
	"api.github.com:443",
	"cdn.jsdelivr.net.",
	"foo.blogspot.com",
	"www.bbc.co.uk",
	"d1234abcd.cloudfront.net",
	"_ldap._tcp.dc._msdcs.ad.example.com",
	"10.0.0.12",
	"192.168.1.10:8080",
	"[2001:db8::1]:443",
	"wpad",
	"printer.local",
	"https://updates.example.org/v1/check?x=1",
	"xn--bcher-kva.de",
	"bücher.de",
}

func BenchmarkNormalize(b *testing.B) {
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			Normalize(benchHosts[i%len(benchHosts)])
		}
	})
	b.Run("clean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Normalize("clients4.google.com")
		}
	})
	b.Run("upper-port", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Normalize("Clients4.Google.COM:443")
		}
	})
	b.Run("unicode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Normalize("www.bücher.de")
		}
	})
}

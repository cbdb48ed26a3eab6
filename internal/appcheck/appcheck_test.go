package appcheck

import (
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// appDir is the shipped app, relative to this package.
func appDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "splunk_app", "vtsync")
	if _, err := os.Stat(filepath.Join(dir, "default", "app.conf")); err != nil {
		t.Fatalf("shipped app not found at %s: %v", dir, err)
	}
	return dir
}

func TestShippedApp(t *testing.T) {
	for _, p := range Check(appDir(t)) {
		t.Error(p)
	}
}

// copyApp copies the shipped app into a temp dir named name.
func copyApp(t *testing.T, name string) string {
	t.Helper()
	src := appDir(t)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// edit replaces old by new in the app's file rel; old must occur.
func edit(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, dir, rel, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(rel)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenApps breaks a copy of the app one way at a time; the check must
// name the problem.
func TestBrokenApps(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		want   string // substring of one problem
	}{
		{"version out of step", func(t *testing.T, d string) {
			edit(t, d, "default/app.conf", "\n[launcher]\n", "\n[launcher]\nversion = 0.9.0\n")
		}, "key version repeats"},
		{"launcher version differs", func(t *testing.T, d string) {
			edit(t, d, "default/app.conf", "version = 1.0.0\n\n[package]", "version = 9.9.9\n\n[package]")
		}, "[launcher] version = \"9.9.9\""},
		{"build differs", func(t *testing.T, d string) {
			edit(t, d, "default/app.conf", "build = 1", "build = 7")
		}, "[install] build"},
		{"manifest version differs", func(t *testing.T, d string) {
			edit(t, d, "app.manifest", `"version": "1.0.0"`, `"version": "1.0.1"`)
		}, "info.id.version"},
		{"api key shipped", func(t *testing.T, d string) {
			edit(t, d, "default/inputs.conf", "disabled = 1", "disabled = 1\napi_key = secretvalue")
		}, "sets api_key"},
		{"hex secret in a view", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_detection.xml", "<label>", "<!-- "+strings.Repeat("ab12", 16)+" --><label>")
		}, "hexadecimal"},
		{"spec lacks a parameter", func(t *testing.T, d string) {
			edit(t, d, "README/inputs.conf.spec", "\nshc_lookup = <value>", "\nshc_lookups = <value>")
		}, "properties"},
		{"spec default differs", func(t *testing.T, d string) {
			edit(t, d, "README/inputs.conf.spec", "* Default: 500", "* Default: 1000")
		}, "daily_lookup_budget: description or default differs"},
		{"spec stanza renamed", func(t *testing.T, d string) {
			edit(t, d, "README/inputs.conf.spec", "\n[vtsync://<name>]\n", "\n[vt_sync://<name>]\n")
		}, "want [vtsync://<name>]"},
		{"example input enabled", func(t *testing.T, d string) {
			edit(t, d, "default/inputs.conf", "disabled = 1", "disabled = 0")
		}, "must ship disabled"},
		{"unknown input key", func(t *testing.T, d string) {
			edit(t, d, "default/inputs.conf", "disabled = 1", "disabled = 1\nrequest_per_minute = 4")
		}, "request_per_minute is neither"},
		{"bad input cron", func(t *testing.T, d string) {
			edit(t, d, "default/inputs.conf", "interval = 10,25,40,55 * * * *", "interval = 10,25,40,65 * * * *")
		}, "minute field"},
		{"fields_list lacks a field", func(t *testing.T, d string) {
			edit(t, d, "default/transforms.conf", "registrar, ", "")
		}, "fields_list"},
		{"fields_list names an unknown field", func(t *testing.T, d string) {
			edit(t, d, "default/transforms.conf", "registrar, ", "registrar, vt_malicious, ")
		}, "vt_malicious, which is not a record field"},
		{"collection field wrong type", func(t *testing.T, d string) {
			edit(t, d, "default/collections.conf", "field.vt_found = bool", "field.vt_found = number")
		}, "field.vt_found = number"},
		{"collection array type", func(t *testing.T, d string) {
			appendTo(t, d, "default/collections.conf", "field.tags = array\n")
		}, "types are number, bool, string and time"},
		{"collection field undeclared", func(t *testing.T, d string) {
			edit(t, d, "default/collections.conf", "field.registrar = string\n", "")
		}, "record field registrar is not declared"},
		{"file hashes not accelerated", func(t *testing.T, d string) {
			edit(t, d, "default/collections.conf", "accelerated_fields.sha256 = {\"sha256\": 1}\n", "")
		}, "[vtsync_files] accelerated_fields.sha256"},
		{"ip lookup lacks a field", func(t *testing.T, d string) {
			edit(t, d, "default/transforms.conf", "asn, as_owner, ", "as_owner, ")
		}, "[vtsync_ips] fields_list"},
		{"ip collection lacks its stanza", func(t *testing.T, d string) {
			edit(t, d, "default/collections.conf", "[vtsync_ips]", "[vtsync_ip]")
		}, "no [vtsync_ips] stanza"},
		{"lookup not case-insensitive", func(t *testing.T, d string) {
			edit(t, d, "default/transforms.conf", "\ncase_sensitive_match = false", "\ncase_sensitive_match = true")
		}, "case_sensitive_match"},
		{"undefined macro in a saved search", func(t *testing.T, d string) {
			edit(t, d, "default/savedsearches.conf", "search = | `vtsync_detection`", "search = | `vtsync_detections`")
		}, "macro `vtsync_detections` is not defined"},
		{"undefined nested macro", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "`vtsync_max_hosts`", "`vtsync_max_host`")
		}, "macro `vtsync_max_host` is not defined"},
		{"macro cycle", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "definition = 45", "definition = `vtsync_max_age_days`")
		}, "expands to itself"},
		{"external macro with wrong arity", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "`ut_parse_extended(host_name, list)`", "`ut_parse_extended(host_name)`")
		}, "ut_parse_extended(1)"},
		{"macro arity differs from its args", func(t *testing.T, d string) {
			appendTo(t, d, "default/macros.conf", "\n[vtsync_pick(2)]\nargs = a\ndefinition = $a$\n")
		}, "takes 2 arguments but args names 1"},
		{"bad cron schedule", func(t *testing.T, d string) {
			edit(t, d, "default/savedsearches.conf", "cron_schedule = */15 * * * *", "cron_schedule = */15 * * *")
		}, "has 4 fields"},
		{"duplicate stanza", func(t *testing.T, d string) {
			appendTo(t, d, "default/macros.conf", "\n[vtsync_max_hosts]\ndefinition = 5\n")
		}, "repeats the one on line"},
		{"dashboard reads an unknown summary field", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_health.xml", "stats sum(vt_calls) as vt_calls", "stats sum(vt_lookups) as vt_calls")
		}, "reads vt_lookups"},
		{"dashboard reads a field stats dropped", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_health.xml", "<query>stats count as runs</query>", "<query>stats count as runs | table runs status</query>")
		}, "table reads status"},
		{"detection outputs a non-record field", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "OUTPUT vt_found ", "OUTPUT vt_found vt_malicious ")
		}, "outputs vt_malicious, which is not a record field"},
		{"detection reads a field it never made", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "| where status != \"clear\"", "| where status != \"clear\" AND isnull(whitelisted)")
		}, "reads whitelisted"},
		{"tstats reads a field the events lack", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "min(_time) as event_time where", "min(_time) as event_time values(user) as user where")
		}, "tstats reads user"},
		{"a candidate source reads a field its data model lacks", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "by DNS.query DNS.src", "by DNS.query DNS.src DNS.process")
		}, "[vtsync_candidates_cim_dns] tstats by reads DNS.process"},
		{"the raw Sysmon source reads a field the add-on does not extract", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "coalesce(QueryName, DestinationHostname)", "coalesce(QueryName, dest_host)")
		}, "[vtsync_candidates_sysmon] eval host_name reads dest_host"},
		{"the IP source reads a field the Sysmon add-on does not extract", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "dest_ip = lower(DestinationIp)", "dest_ip = lower(dest_ip_addr)")
		}, "[vtsync_ip_candidates_sysmon] eval dest_ip reads dest_ip_addr"},
		{"the file detection outputs a field the file record lacks", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "OUTPUT vt_found last_analysis_positive last_analysis_suspicious popular_threat_label", "OUTPUT vt_found last_analysis_positive last_analysis_suspicious threat_name")
		}, "lookup vtsync_files outputs threat_name"},
		{"the switch names no candidate source", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "definition = `vtsync_candidates_sysmon`", "definition = `vtsync_candidates_zeek`")
		}, "want one of the candidate sources"},
		{"a view post-processes a base search it does not have", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_detection.xml", `<search id="base">`, `<search id="main">`)
		}, `post-processes base search "base"`},
		{"unknown command", func(t *testing.T, d string) {
			edit(t, d, "default/macros.conf", "| sort 0 - alert + event_time", "| sort 0 - alert + event_time | iplocation dest")
		}, `command "iplocation" is not known`},
		{"search over other events", func(t *testing.T, d string) {
			edit(t, d, "default/savedsearches.conf", "sourcetype=\"vtsync:run\" \\", "sourcetype=\"vtsync:runs\" \\")
		}, "reads events other than"},
		{"inputlookup reads the collection without a where clause", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_detection.xml", "| inputlookup vtsync_domains where last_analysis_positive", "| inputlookup vtsync_domains | where last_analysis_positive")
		}, "reads the whole collection"},
		{"view without version", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_health.xml", `<form version="1.1"`, `<form`)
		}, `version="1.1"`},
		{"broken view XML", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/views/vtsync_health.xml", "</form>", "</dashboard>")
		}, "not well-formed XML"},
		{"nav names a missing view", func(t *testing.T, d string) {
			edit(t, d, "default/data/ui/nav/default.xml", `<view name="vtsync_detection" />`, `<view name="vtsync_hunt" />`)
		}, `names view "vtsync_hunt"`},
		{"collection not exported", func(t *testing.T, d string) {
			edit(t, d, "metadata/default.meta", "[collections/vtsync_domains]\nexport = system", "[collections/vtsync_domains]\nexport = none")
		}, "[collections/vtsync_domains] is not exported"},
		{"meta names a saved search that is not there", func(t *testing.T, d string) {
			appendTo(t, d, "metadata/default.meta", "\n[savedsearches/vtsync%20-%20no%20such%20search]\nexport = none\n")
		}, "names an object default/savedsearches.conf does not define"},
		{"meta names a missing object", func(t *testing.T, d string) {
			appendTo(t, d, "metadata/default.meta", "\n[transforms/vt_domains]\nexport = system\n")
		}, "[transforms/vt_domains] names an object"},
		{"props not json", func(t *testing.T, d string) {
			edit(t, d, "default/props.conf", "KV_MODE = json", "KV_MODE = auto")
		}, "KV_MODE"},
		{"label too short", func(t *testing.T, d string) {
			edit(t, d, "default/app.conf", "label = vtsync - VirusTotal indicator enrichment", "label = vt")
		}, "[ui] label"},
		{"local settings shipped", func(t *testing.T, d string) {
			if err := os.MkdirAll(filepath.Join(d, "local"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "must not ship"},
		{"icon of the wrong size", func(t *testing.T, d string) {
			writePNG(t, filepath.Join(d, "static", "appIcon.png"), 40)
		}, "40x40; want 36x36"},
		{"icon missing", func(t *testing.T, d string) {
			if err := os.Remove(filepath.Join(d, "static", "appIcon_2x.png")); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
		{"garbage line", func(t *testing.T, d string) {
			appendTo(t, d, "default/props.conf", "\nthis is not a setting\n")
		}, "neither [stanza]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyApp(t, "vtsync")
			tc.mutate(t, dir)
			probs := Check(dir)
			for _, p := range probs {
				if strings.Contains(p.String(), tc.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got %v", tc.want, probs)
		})
	}
}

func TestAppIDMustEqualFolder(t *testing.T) {
	dir := copyApp(t, "vtsync_copy")
	probs := Check(dir)
	found := false
	for _, p := range probs {
		found = found || strings.Contains(p.Msg, `must equal the app folder name "vtsync_copy"`)
	}
	if !found {
		t.Errorf("app in folder vtsync_copy passed: %v", probs)
	}
}

func writePNG(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, image.NewNRGBA(image.Rect(0, 0, size, size))); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPackaged(t *testing.T) {
	addBins := func(t *testing.T, d string, mode os.FileMode) {
		for dir, ext := range archBinDirs {
			p := filepath.Join(d, filepath.FromSlash(dir), Scheme+ext)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("binary"), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("complete", func(t *testing.T) {
		d := copyApp(t, "vtsync")
		addBins(t, d, 0o755)
		declare(t, d, nil)
		for _, p := range CheckPackaged(d) {
			t.Error(p)
		}
	})
	t.Run("no executables", func(t *testing.T) {
		d := copyApp(t, "vtsync")
		declare(t, d, nil)
		probs := CheckPackaged(d)
		if len(probs) != 2 || !strings.Contains(probs[0].Msg, "no executable") {
			t.Errorf("got %v", probs)
		}
		if probs := Check(d); len(probs) != 0 {
			t.Errorf("source check wants no executables, got %v", probs)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		d := copyApp(t, "vtsync")
		addBins(t, d, 0o644)
		declare(t, d, nil)
		if probs := CheckPackaged(d); len(probs) != 2 { // linux and darwin
			t.Errorf("got %v", probs)
		}
	})
	t.Run("misnamed executable and dev files", func(t *testing.T) {
		d := copyApp(t, "vtsync")
		addBins(t, d, 0o755)
		declare(t, d, nil)
		for _, f := range []string{"linux_x86_64/bin/vtsync.sh", "default/.DS_Store", "bin/main.go"} {
			p := filepath.Join(d, filepath.FromSlash(f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]bool{}
		for _, p := range CheckPackaged(d) {
			got[p.File] = true
		}
		for _, f := range []string{"linux_x86_64/bin/vtsync.sh", "default/.DS_Store", "bin/main.go"} {
			if !got[f] {
				t.Errorf("no problem for %s; got %v", f, got)
			}
		}
	})
}

// declare writes the package files build/package generates: a README.txt
// whose binary declaration holds the hashes of the executables in d (sums
// overrides some: path → hex), LICENSE and THIRD-PARTY-NOTICES.txt.
func declare(t *testing.T, d string, sums map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("vtsync\n\n" + DeclarationHeading + "\n------------------\n\n")
	for dir, ext := range archBinDirs {
		rel := dir + "/" + Scheme + ext
		sum, err := fileSHA256(filepath.Join(d, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		if s, ok := sums[rel]; ok {
			sum = s
		}
		b.WriteString(rel + "\n    What:       test\n    " + DeclarationSumKey + " " + sum + "\n    Go version: go1.26\n\n")
	}
	for rel, s := range sums {
		if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(rel))); err != nil {
			b.WriteString(rel + "\n    " + DeclarationSumKey + " " + s + "\n\n")
		}
	}
	b.WriteString("Open-source components\n----------------------\n\n  x  v1  MIT\n")
	for name, body := range map[string]string{"README.txt": b.String(), "LICENSE": "Apache License", "THIRD-PARTY-NOTICES.txt": "MIT"} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The packaged README.txt's declaration must match the executables byte
// for byte: a changed binary, an undeclared one or a declared one that is
// not there is refused.
func TestBinaryDeclaration(t *testing.T) {
	addBin := func(t *testing.T, d, rel, body string) {
		p := filepath.Join(d, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const wrong = "0000000000000000000000000000000000000000000000000000000000000000"
	cases := []struct {
		name  string
		setup func(t *testing.T, d string)
		want  []string
	}{
		{"matching", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, nil)
		}, nil},
		{"binary changed after declaring", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, nil)
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf, patched")
		}, []string{"declares linux_x86_64/bin/vtsync with SHA-256"}},
		{"wrong hash", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, map[string]string{"linux_x86_64/bin/vtsync": wrong})
		}, []string{"declares linux_x86_64/bin/vtsync with SHA-256 \"" + wrong}},
		{"undeclared binary", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, nil)
			addBin(t, d, "windows_x86_64/bin/vtsync.exe", "pe")
		}, []string{"does not declare windows_x86_64/bin/vtsync.exe"}},
		{"declared binary missing", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, map[string]string{"darwin_x86_64/bin/vtsync": wrong})
		}, []string{"declares darwin_x86_64/bin/vtsync, which the package does not hold"}},
		{"no declaration", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, nil)
			if err := os.WriteFile(filepath.Join(d, "README.txt"), []byte("vtsync\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"has no \"Binary declaration\" section", "does not declare linux_x86_64/bin/vtsync"}},
		{"no licence", func(t *testing.T, d string) {
			addBin(t, d, "linux_x86_64/bin/vtsync", "elf")
			declare(t, d, nil)
			if err := os.Remove(filepath.Join(d, "LICENSE")); err != nil {
				t.Fatal(err)
			}
		}, []string{"missing from the package", "info.license.text names LICENSE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := copyApp(t, "vtsync")
			tc.setup(t, d)
			probs := CheckPackaged(d)
			if len(probs) != len(tc.want) {
				t.Fatalf("got %v; want %d problems %q", probs, len(tc.want), tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, p := range probs {
					found = found || strings.Contains(p.Msg, w)
				}
				if !found {
					t.Errorf("no problem saying %q in %v", w, probs)
				}
			}
		})
	}
}

// A declared hash is 64 hex digits, which the secret scan would take for a
// key anywhere else.
func TestDeclaredHashIsNotASecret(t *testing.T) {
	d := copyApp(t, "vtsync")
	addTo := filepath.Join(d, "linux_x86_64", "bin")
	if err := os.MkdirAll(addTo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(addTo, Scheme), []byte("elf"), 0o755); err != nil {
		t.Fatal(err)
	}
	declare(t, d, nil)
	for _, p := range CheckPackaged(d) {
		t.Error(p)
	}
	// The same run of hex digits elsewhere is still reported.
	appendTo(t, d, "README.txt", "\nkey 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n")
	if probs := CheckPackaged(d); len(probs) != 1 || !strings.Contains(probs[0].Msg, "hexadecimal") {
		t.Errorf("got %v", probs)
	}
}

func TestManifestLicenceAndPlatform(t *testing.T) {
	d := copyApp(t, "vtsync")
	edit(t, d, "app.manifest", `"name": "Apache-2.0"`, `"name": null`)
	edit(t, d, "app.manifest", `"Enterprise": ">=9.0"`, `"Enterprise": ""`)
	probs := Check(d)
	if len(probs) != 2 || !strings.Contains(probs[0].Msg+probs[1].Msg, "info.license") || !strings.Contains(probs[0].Msg+probs[1].Msg, "platformRequirements") {
		t.Errorf("got %v", probs)
	}
}

func TestSummaryFields(t *testing.T) {
	f := summaryFields()
	for _, ok := range []string{"input", "status", "vt_calls", "cache_hit_rate", "quota_state", "errors{}", "rejected.ip", "_time", "sourcetype"} {
		if !f.has(ok) {
			t.Errorf("summary lacks %s", ok)
		}
	}
	for _, bad := range []string{"errors", "rejected", "rejected.", "domain", "lookups"} {
		if f.has(bad) {
			t.Errorf("summary has %s", bad)
		}
	}
}

// default.meta names objects URL-encoded; an existing one is accepted.
func TestMetaEncodedObjectName(t *testing.T) {
	d := copyApp(t, "vtsync")
	appendTo(t, d, "metadata/default.meta", "\n[savedsearches/vtsync%20-%20input%20has%20not%20run%20successfully]\nexport = none\n")
	for _, p := range Check(d) {
		t.Error(p)
	}
}

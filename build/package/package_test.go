package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/version"
)

const appSrc = "../../splunk_app/vtsync"

var mtime = time.Unix(defaultMtime, 0)

// hello is a small Go executable (linux/amd64) built once for the tests:
// the packager reads the build information of what it packages.
var hello []byte

func TestMain(m *testing.M) {
	// The stand-in executables are real ones (megabytes); compressing them
	// at the best level over and over under -race takes minutes.
	gzipLevel = gzip.BestSpeed
	dir, err := os.MkdirTemp("", "vtsync-package-test-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for name, body := range map[string]string{
			"go.mod":  "module example.com/hello\n\ngo 1.22\n",
			"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				panic(err)
			}
		}
		cmd := exec.Command(goTool(), "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", "hello", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			panic(fmt.Sprintf("building the test executable: %v\n%s", err, out))
		}
		if hello, err = os.ReadFile(filepath.Join(dir, "hello")); err != nil {
			panic(err)
		}
		return m.Run()
	}()
	os.Exit(code)
}

// fakeBins writes a stand-in executable per platform: the test executable
// with the platform's name appended, so that each one differs.
func fakeBins(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, tg := range targets {
		p := filepath.Join(dir, tg.dir+"-"+tg.exe)
		if err := os.WriteFile(p, append(append([]byte{}, hello...), "executable for "+tg.goos...), 0o600); err != nil {
			t.Fatal(err)
		}
		bins[tg.dir+"/bin/"+tg.exe] = p
	}
	return bins
}

// license is a licence file for run.
func license(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "LICENSE")
	if err := os.WriteFile(p, []byte("Apache License\nVersion 2.0, January 2004\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// byDir keys bins by platform directory, as run's -bin flags do.
func byDir(bins map[string]string) map[string]string {
	out := map[string]string{}
	for rel, p := range bins {
		out[strings.SplitN(rel, "/", 2)[0]] = p
	}
	return out
}

func archive(t *testing.T, app string, bins map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeArchive(&b, app, bins, nil, mtime); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type member struct {
	hdr  *tar.Header
	data []byte
}

func readArchive(t *testing.T, data []byte) (*gzip.Reader, []member) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []member
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{h, body})
	}
	return zr, out
}

func TestArchiveIsReproducible(t *testing.T) {
	bins := fakeBins(t)
	a := sha256.Sum256(archive(t, appSrc, bins))
	// Same inputs, different file times on disk: same bytes.
	later := time.Now().Add(time.Hour)
	for _, p := range bins {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	b := sha256.Sum256(archive(t, appSrc, bins))
	if a != b {
		t.Fatalf("two builds of the same inputs differ: %x vs %x", a, b)
	}
	// A changed binary changes the archive: the hash covers the content.
	for _, p := range bins {
		if err := os.WriteFile(p, []byte("other"), 0o600); err != nil {
			t.Fatal(err)
		}
		break
	}
	if c := sha256.Sum256(archive(t, appSrc, bins)); c == a {
		t.Fatal("a different binary gave the same archive")
	}
}

func TestArchiveLayout(t *testing.T) {
	zr, members := readArchive(t, archive(t, appSrc, fakeBins(t)))
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q / mtime %v", zr.Name, zr.ModTime)
	}
	var names []string
	byName := map[string]member{}
	for _, m := range members {
		h := m.hdr
		names = append(names, h.Name)
		byName[h.Name] = m
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d/%d %q/%q; want 0/0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v; want %v", h.Name, h.ModTime, mtime)
		}
		if !strings.HasPrefix(h.Name, "vtsync/") {
			t.Errorf("%s is outside vtsync/", h.Name)
		}
		base := filepath.Base(strings.TrimSuffix(h.Name, "/"))
		if strings.HasPrefix(base, ".") || strings.HasSuffix(base, ".go") || strings.Contains(base, "_test.") {
			t.Errorf("development file %s in the package", h.Name)
		}
		want := int64(0o644)
		switch {
		case h.Typeflag == tar.TypeDir:
			want = 0o755
			if !strings.HasSuffix(h.Name, "/") {
				t.Errorf("directory %s without trailing /", h.Name)
			}
		case h.Typeflag != tar.TypeReg:
			t.Errorf("%s: type %c; want only files and directories", h.Name, h.Typeflag)
		case strings.Contains(h.Name, "/bin/"):
			want = 0o755
		}
		if h.Mode != want {
			t.Errorf("%s: mode %o; want %o", h.Name, h.Mode, want)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries not sorted: %v", names)
	}
	for _, must := range []string{
		"vtsync/", "vtsync/default/", "vtsync/default/app.conf", "vtsync/default/inputs.conf",
		"vtsync/README/inputs.conf.spec", "vtsync/metadata/default.meta", "vtsync/static/appIcon.png",
		"vtsync/app.manifest", "vtsync/default/data/ui/views/vtsync_health.xml",
		"vtsync/linux_x86_64/", "vtsync/linux_x86_64/bin/", "vtsync/linux_x86_64/bin/vtsync",
		"vtsync/darwin_x86_64/bin/vtsync", "vtsync/windows_x86_64/bin/vtsync.exe",
	} {
		if _, ok := byName[must]; !ok {
			t.Errorf("package lacks %s", must)
		}
	}
	if got := byName["vtsync/windows_x86_64/bin/vtsync.exe"].data; !bytes.HasSuffix(got, []byte("executable for windows")) {
		t.Errorf("windows binary content ends in %q", got[max(0, len(got)-30):])
	}
	// Every directory comes before what it holds, and every member's
	// parent directory is in the archive.
	seen := map[string]bool{}
	for _, n := range names {
		parent := filepath.ToSlash(filepath.Dir(strings.TrimSuffix(n, "/"))) + "/"
		if parent != "./" && !seen[parent] {
			t.Errorf("%s comes before (or without) its directory %s", n, parent)
		}
		seen[n] = true
	}
}

// Both packages, extracted, pass the packaged-app check (executables named
// after the scheme with the execute bit, the binary declaration matching
// them, no development files); the cloud package carries only Linux.
func TestPackagesPassAppCheck(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("execute bits are not kept on Windows")
	}
	out := t.TempDir()
	files, err := run(config{app: appSrc, outDir: out, pkg: "./unused", license: license(t), bins: byDir(fakeBins(t)), mtime: mtime})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || filepath.Base(files[1]) != "vtsync-"+version.Version+"-cloud.tgz" {
		t.Fatalf("packages %v", files)
	}
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := extract(data, dir); err != nil {
			t.Fatal(err)
		}
		app := filepath.Join(dir, "vtsync")
		for _, p := range appcheck.CheckPackaged(app) {
			t.Errorf("%s: %v", filepath.Base(f), p)
		}
		readme, err := os.ReadFile(filepath.Join(app, "README.txt"))
		if err != nil {
			t.Fatal(err)
		}
		declared := appcheck.Declared(readme)
		wantBins := []string{"darwin_x86_64/bin/vtsync", "linux_x86_64/bin/vtsync", "windows_x86_64/bin/vtsync.exe"}
		if i == 1 {
			wantBins = wantBins[1:2]
		}
		var got []string
		for rel := range declared {
			got = append(got, rel)
		}
		sort.Strings(got)
		if !slices.Equal(got, wantBins) {
			t.Errorf("%s declares %v; want %v", filepath.Base(f), got, wantBins)
		}
		for _, d := range []string{"darwin_x86_64", "windows_x86_64"} {
			_, err := os.Stat(filepath.Join(app, d))
			if (i == 1) != os.IsNotExist(err) {
				t.Errorf("%s: %s present = %v", filepath.Base(f), d, err == nil)
			}
		}
		for _, want := range []string{"Go version: go1.", "GOOS=linux GOARCH=amd64", "-trimpath", "-ldflags=\"-s -w -buildid=\"",
			"Go standard library and runtime", "BSD-3-Clause", "make package", "leaves this machine"} {
			if !strings.Contains(string(readme), want) {
				t.Errorf("%s: README.txt lacks %q", filepath.Base(f), want)
			}
		}
	}
}

func TestArchiveLeavesOutDevelopmentFiles(t *testing.T) {
	app := filepath.Join(t.TempDir(), "vtsync")
	if err := os.CopyFS(app, os.DirFS(appSrc)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".git/config", "default/.DS_Store", "default/app.conf~", "tools/gen.go",
		"tools/gen_test.go", "local/inputs.conf", "metadata/local.meta", "bin2/__pycache__/x.pyc"} {
		p := filepath.Join(app, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, members := readArchive(t, archive(t, app, fakeBins(t)))
	for _, m := range members {
		for _, bad := range []string{".git", ".DS_Store", "~", ".go", "local", "__pycache__"} {
			if strings.Contains(m.hdr.Name, bad) {
				t.Errorf("%s is in the package", m.hdr.Name)
			}
		}
	}
	// Directories left empty by the filter (tools/) are not packaged.
	for _, m := range members {
		if strings.Contains(m.hdr.Name, "tools") {
			t.Errorf("%s is in the package", m.hdr.Name)
		}
	}
	if err := os.MkdirAll(filepath.Join(app, "linux_x86_64", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeArchive(io.Discard, app, nil, nil, mtime); err == nil || !strings.Contains(err.Error(), "added by the packager") {
		t.Errorf("an app holding linux_x86_64/ was packaged: %v", err)
	}
}

// run refuses an app that fails the app check, before building anything.
func TestRunRefusesBrokenApp(t *testing.T) {
	app := filepath.Join(t.TempDir(), "vtsync")
	if err := os.CopyFS(app, os.DirFS(appSrc)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(app, "static", "appIcon.png")); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err := run(config{app: app, outDir: out, pkg: "./does-not-matter", license: license(t), bins: byDir(fakeBins(t)), mtime: mtime})
	if err == nil || !strings.Contains(err.Error(), "static/appIcon.png") {
		t.Fatalf("run = %v; want the app check's complaint about the icon", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("run left %v in the output dir", entries)
	}
}

func TestRunWritesVersionedPackages(t *testing.T) {
	out := t.TempDir()
	cfg := config{app: appSrc, outDir: out, pkg: "./unused", license: license(t), bins: byDir(fakeBins(t)), mtime: mtime}
	names, err := run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"vtsync-" + version.Version + ".tgz", "vtsync-" + version.Version + "-cloud.tgz"}
	var sums []string
	for i, name := range names {
		if filepath.Base(name) != want[i] {
			t.Errorf("package %s; want %s", name, want[i])
		}
		info, err := os.Stat(name)
		if err != nil || info.Mode().Perm() != 0o644 {
			t.Fatalf("package file: %v %v", info, err)
		}
		data, _ := os.ReadFile(name)
		sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(data)))
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("output dir holds %v; want only the two packages", entries)
	}
	// Packaging again gives the same bytes: the generated README.txt and
	// notices are reproducible too.
	again, err := run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range again {
		data, _ := os.ReadFile(name)
		if fmt.Sprintf("%x", sha256.Sum256(data)) != sums[i] {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// A prebuilt file that is not a Go executable cannot be declared: it is
// refused before anything is written.
func TestRunRefusesUndeclarableBinary(t *testing.T) {
	bins := byDir(fakeBins(t))
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bins["linux_x86_64"] = p
	out := t.TempDir()
	_, err := run(config{app: appSrc, outDir: out, pkg: "./unused", license: license(t), bins: bins, mtime: mtime})
	if err == nil || !strings.Contains(err.Error(), "no Go build information") {
		t.Fatalf("run = %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("run left %v", entries)
	}
}

// The open-source list comes from the modules recorded in the executables,
// with licences identified from the files in the module cache.
func TestComponentsOfVtsync(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles vtsync")
	}
	p := filepath.Join(t.TempDir(), "vtsync")
	if err := buildBinary("../../cmd/vtsync", "linux", "amd64", p); err != nil {
		t.Fatal(err)
	}
	b, err := describeBinary("linux_x86_64/bin/vtsync", "test", p)
	if err != nil {
		t.Fatal(err)
	}
	comps, err := components(goTool(), []binary{b})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range comps {
		got[c.Path] = c.Licence
		if len(c.texts) == 0 {
			t.Errorf("%s: no licence text", c.Path)
		}
	}
	for path, lic := range map[string]string{
		"Go standard library and runtime": "BSD-3-Clause",
		"github.com/VirusTotal/vt-go":     "Apache-2.0",
		"go.etcd.io/bbolt":                "MIT",
		"golang.org/x/net":                "BSD-3-Clause",
		"gopkg.in/yaml.v3":                "MIT AND Apache-2.0",
	} {
		if got[path] != lic {
			t.Errorf("%s: licence %q; want %q", path, got[path], lic)
		}
	}
	// Exactly the modules linked in: the build's own module list.
	if len(comps) != len(b.info.Deps)+1 {
		t.Errorf("%d components for %d linked modules", len(comps), len(b.info.Deps))
	}
	text := string(notices(comps))
	if !strings.Contains(text, "Permission is hereby granted, free of charge") || !strings.Contains(text, "--- NOTICE ---") {
		t.Error("THIRD-PARTY-NOTICES.txt lacks the MIT text or yaml.v3's NOTICE")
	}
}

func TestIdentifyRefusesUnknownLicence(t *testing.T) {
	if _, err := identify([]licenceFile{{"LICENSE", []byte("All rights reserved. Do not copy.")}}); err == nil {
		t.Error("an unknown licence was identified")
	}
	if id, _ := identify([]licenceFile{{"LICENSE", []byte("Redistribution and use in source and binary forms, with or without modification, are permitted.")}}); id != "BSD-2-Clause" {
		t.Errorf("BSD-2-Clause identified as %q", id)
	}
}

// buildBinary gives identical bytes for the same source: -trimpath, no
// build ID, no VCS stamp. Built for linux only to keep the test short.
func TestBuildBinaryIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program")
	}
	mod := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(mod)
	var sums [2][32]byte
	for i := range sums {
		out := filepath.Join(t.TempDir(), "sub", "vtsync")
		if err := buildBinary(".", "linux", "amd64", out); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("\x7fELF")) {
			t.Fatal("not an ELF executable")
		}
		if bytes.Contains(data, []byte(mod)) {
			t.Error("the binary holds the build directory's path")
		}
		sums[i] = sha256.Sum256(data)
	}
	if sums[0] != sums[1] {
		t.Error("two builds of the same source differ")
	}
}

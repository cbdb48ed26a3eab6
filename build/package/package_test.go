package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/version"
)

const appSrc = "../../splunk_app/vtsync"

var mtime = time.Unix(defaultMtime, 0)

// fakeBins writes a stand-in executable per platform.
func fakeBins(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, tg := range targets {
		p := filepath.Join(dir, tg.dir+"-"+tg.exe)
		if err := os.WriteFile(p, []byte("executable for "+tg.goos), 0o600); err != nil {
			t.Fatal(err)
		}
		bins[tg.dir+"/bin/"+tg.exe] = p
	}
	return bins
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
	if err := writeArchive(&b, app, bins, mtime); err != nil {
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
	if got := string(byName["vtsync/windows_x86_64/bin/vtsync.exe"].data); got != "executable for windows" {
		t.Errorf("windows binary content %q", got)
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

// The extracted package passes the packaged-app check: executables named
// after the scheme with the execute bit, no development files.
func TestExtractedPackagePassesAppCheck(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("execute bits are not kept on Windows")
	}
	_, members := readArchive(t, archive(t, appSrc, fakeBins(t)))
	dir := t.TempDir()
	for _, m := range members {
		p := filepath.Join(dir, filepath.FromSlash(m.hdr.Name))
		if m.hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, fs.FileMode(m.hdr.Mode)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, m.data, fs.FileMode(m.hdr.Mode)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, fs.FileMode(m.hdr.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range appcheck.CheckPackaged(filepath.Join(dir, "vtsync")) {
		t.Error(p)
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
	if err := writeArchive(io.Discard, app, nil, mtime); err == nil || !strings.Contains(err.Error(), "added by the packager") {
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
	_, err := run(app, out, "./does-not-matter", byDir(fakeBins(t)), mtime)
	if err == nil || !strings.Contains(err.Error(), "static/appIcon.png") {
		t.Fatalf("run = %v; want the app check's complaint about the icon", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("run left %v in the output dir", entries)
	}
}

func TestRunWritesVersionedPackage(t *testing.T) {
	out := t.TempDir()
	name, err := run(appSrc, out, "./unused", byDir(fakeBins(t)), mtime)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(name) != "vtsync-"+version.Version+".tgz" {
		t.Errorf("package %s", name)
	}
	info, err := os.Stat(name)
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Fatalf("package file: %v %v", info, err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("output dir holds %v; want only the package", entries)
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

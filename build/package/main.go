// Command package builds the installable Splunk app in two packages:
// dist/vtsync-<version>.tgz, the app directory plus the vtsync executable
// for each platform, cross-compiled from ./cmd/vtsync, and
// dist/vtsync-<version>-cloud.tgz, the same with the Linux executable only,
// for Splunk Cloud Platform.
//
//	go run ./build/package [-out dist] [-bin linux_x86_64=path ...]
//
// Each package's README.txt ends in a binary declaration (what each
// executable is, its SHA-256, Go version and build command, read from the
// executable's own build information) and the open-source components
// compiled into it with their licences, from the module graph recorded in
// the executables; their licence texts go into THIRD-PARTY-NOTICES.txt, and
// the project's LICENSE beside them.
//
// The archives are reproducible: the same app files and binaries give the
// same bytes (sorted entries, fixed modes, owner 0 without names, one fixed
// mtime from SOURCE_DATE_EPOCH or -mtime, gzip without name or time). It
// refuses an app that fails the app check (internal/appcheck), before and
// after packaging.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/version"
)

// target is one platform directory of the app and its Go port.
type target struct {
	dir, goos, exe, what string
}

// targets are the platforms the full package carries (AppInspect's arch dirs).
var targets = []target{
	{"linux_x86_64", "linux", appcheck.Scheme, "vtsync modular input and command-line tool, Linux x86-64 (static ELF executable)"},
	{"darwin_x86_64", "darwin", appcheck.Scheme, "vtsync modular input and command-line tool, macOS x86-64 (Mach-O executable)"},
	{"windows_x86_64", "windows", appcheck.Scheme + ".exe", "vtsync modular input and command-line tool, Windows x86-64 (PE executable)"},
}

// flavour is one package: its file name suffix and the platform
// directories it carries.
type flavour struct {
	suffix string
	dirs   []string
}

// flavours: the full package for Splunk Enterprise on any platform, and
// the Linux-only one for Splunk Cloud Platform, which runs Linux and whose
// vetting rejects or questions executables for other platforms.
var flavours = []flavour{
	{"", []string{"linux_x86_64", "darwin_x86_64", "windows_x86_64"}},
	{"-cloud", []string{"linux_x86_64"}},
}

// defaultMtime is the entries' mtime when SOURCE_DATE_EPOCH is unset
// (2024-01-01T00:00:00Z); splunkd ignores it, reproducibility needs it fixed.
const defaultMtime = 1704067200

type binFlags map[string]string

func (b binFlags) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binFlags) Set(s string) error {
	dir, p, ok := strings.Cut(s, "=")
	if !ok || p == "" {
		return fmt.Errorf("want platform_dir=path, e.g. linux_x86_64=bin/vtsync")
	}
	for _, t := range targets {
		if t.dir == dir {
			b[dir] = p
			return nil
		}
	}
	return fmt.Errorf("unknown platform dir %q", dir)
}

func main() {
	bins := binFlags{}
	app := flag.String("app", filepath.Join("splunk_app", appcheck.Scheme), "app directory")
	out := flag.String("out", "dist", "output directory")
	pkg := flag.String("cmd", "./cmd/"+appcheck.Scheme, "Go package of the executable")
	license := flag.String("license", "LICENSE", "the project's licence file, shipped as LICENSE")
	mtime := flag.Int64("mtime", envEpoch(), "mtime of every entry, epoch seconds (default $SOURCE_DATE_EPOCH or 2024-01-01)")
	flag.Var(bins, "bin", "use this binary for a platform instead of building it: platform_dir=path (repeatable)")
	flag.Parse()
	files, err := run(config{app: *app, outDir: *out, pkg: *pkg, license: *license, bins: bins, mtime: time.Unix(*mtime, 0)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}

func envEpoch() int64 {
	if n, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return n
	}
	return defaultMtime
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// config is one packaging run.
type config struct {
	app, outDir, pkg, license string
	bins                      map[string]string // platform dir → prebuilt binary
	mtime                     time.Time
}

func problems(what string, probs []appcheck.Problem) error {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString("\n  " + p.String())
	}
	return fmt.Errorf("%s fails the app check (go test ./internal/appcheck):%s", what, b.String())
}

// run builds (or takes) the binaries and writes every flavour's package;
// it returns the package files written.
func run(cfg config) ([]string, error) {
	if probs := appcheck.Check(cfg.app); len(probs) > 0 {
		return nil, problems("the app in "+cfg.app, probs)
	}
	license, err := os.ReadFile(cfg.license)
	if err != nil {
		return nil, fmt.Errorf("the project's licence: %v", err)
	}
	base, err := os.ReadFile(filepath.Join(cfg.app, "README.txt"))
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "vtsync-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	byDir := map[string]binary{}
	var all []binary
	for _, t := range targets {
		p, ok := cfg.bins[t.dir]
		if !ok {
			p = filepath.Join(tmp, t.dir, t.exe)
			if err := buildBinary(cfg.pkg, t.goos, "amd64", p); err != nil {
				return nil, err
			}
		}
		b, err := describeBinary(t.dir+"/bin/"+t.exe, t.what, p)
		if err != nil {
			return nil, err
		}
		byDir[t.dir] = b
		all = append(all, b)
	}
	comps, err := components(goTool(), all)
	if err != nil {
		return nil, fmt.Errorf("open-source components: %v", err)
	}
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, fl := range flavours {
		var bins []binary
		files := map[string]string{}
		for _, d := range fl.dirs {
			bins = append(bins, byDir[d])
			files[byDir[d].rel] = byDir[d].src
		}
		text, err := readme(base, bins, comps)
		if err != nil {
			return nil, err
		}
		extra := map[string][]byte{
			"README.txt":              text,
			"THIRD-PARTY-NOTICES.txt": notices(comps),
			"LICENSE":                 license,
		}
		name := filepath.Join(cfg.outDir, fmt.Sprintf("%s-%s%s.tgz", appcheck.Scheme, version.Version, fl.suffix))
		if err := writePackage(name, cfg.app, files, extra, cfg.mtime, tmp); err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	return written, nil
}

// writePackage writes one archive to name (through a temporary file) after
// checking its extracted contents with the packaged-app check.
func writePackage(name, app string, bins map[string]string, extra map[string][]byte, mtime time.Time, tmp string) error {
	var buf bytes.Buffer
	if err := writeArchive(&buf, app, bins, extra, mtime); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(tmp, "check-")
	if err != nil {
		return err
	}
	if err := extract(buf.Bytes(), dir); err != nil {
		return err
	}
	if probs := appcheck.CheckPackaged(filepath.Join(dir, appcheck.Scheme)); len(probs) > 0 {
		return problems("the package "+filepath.Base(name), probs)
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".vtsync-*.tgz")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// extract unpacks a package written by writeArchive into dir.
func extract(data []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("archive member %s escapes the package", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, body, fs.FileMode(h.Mode)); err != nil {
			return err
		}
		if err := os.Chmod(p, fs.FileMode(h.Mode)); err != nil {
			return err
		}
	}
}

// gzipLevel compresses the packages; any fixed level keeps them
// reproducible (the tests use a fast one).
var gzipLevel = gzip.BestCompression

// buildFlags are the go build flags of the packaged executables.
var buildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// buildBinary cross-compiles pkg for goos/goarch into out: static (no cgo),
// without local paths, symbols, build ID or VCS stamp, so that the same
// source gives the same bytes.
func buildBinary(pkg, goos, goarch, out string) error {
	args := append(append([]string{"build"}, buildFlags...), "-o", out, pkg)
	cmd := exec.Command(goTool(), args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s for %s/%s: %w", pkg, goos, goarch, err)
	}
	return nil
}

// skip reports whether an app file must stay out of the package:
// dotfiles, Go sources and tests, editor and Python leftovers, local
// settings.
func skip(rel string) bool {
	base := path.Base(rel)
	switch {
	case strings.HasPrefix(base, "."), strings.HasSuffix(base, "~"),
		strings.HasSuffix(base, ".go"), strings.Contains(base, "_test."),
		strings.HasSuffix(base, ".pyc"), strings.HasSuffix(base, ".orig"),
		base == "__pycache__", rel == "local", rel == "metadata/local.meta":
		return true
	}
	return false
}

// entry is one archive member.
type entry struct {
	name string // slash path inside the archive; directories end in /
	src  string // file to copy; "" for directories and generated files
	data []byte // generated content, when not nil
	mode int64
}

// writeArchive writes the gzipped tar of the app directory plus bins
// (archive path inside the app → file) and generated files (path inside
// the app → content, replacing an app file of that name) to w.
func writeArchive(w io.Writer, app string, bins map[string]string, extra map[string][]byte, mtime time.Time) error {
	root := appcheck.Scheme + "/"
	entries := map[string]entry{root: {name: root, mode: 0o755}}
	addDirs := func(rel string) {
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			entries[root+d+"/"] = entry{name: root + d + "/", mode: 0o755}
		}
	}
	err := filepath.WalkDir(app, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(app, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		for _, t := range targets {
			if rel == t.dir || rel == "bin" {
				return fmt.Errorf("%s holds %s/: executables are added by the packager, not kept in the app", app, rel)
			}
		}
		switch {
		case d.IsDir(): // added with the files it holds
		case d.Type().IsRegular():
			addDirs(rel)
			entries[root+rel] = entry{name: root + rel, src: p, mode: 0o644}
		default:
			return fmt.Errorf("%s: not a regular file or directory", p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for rel, p := range bins {
		addDirs(rel)
		entries[root+rel] = entry{name: root + rel, src: p, mode: 0o755}
	}
	for rel, data := range extra {
		addDirs(rel)
		entries[root+rel] = entry{name: root + rel, data: data, mode: 0o644}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	zw, err := gzip.NewWriterLevel(w, gzipLevel)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, n := range names {
		if err := writeEntry(tw, entries[n], mtime.UTC().Truncate(time.Second)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeEntry(tw *tar.Writer, e entry, mtime time.Time) error {
	hdr := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Format: tar.FormatUSTAR, Typeflag: tar.TypeDir}
	if e.data != nil {
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.data))
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		_, err := tw.Write(e.data)
		return err
	}
	if e.src == "" {
		return tw.WriteHeader(hdr)
	}
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return errors.New(e.src + ": not a regular file")
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", e.name, err)
	}
	n, err := io.Copy(tw, f)
	if err == nil && n != info.Size() {
		err = fmt.Errorf("%s changed while packaging", e.src)
	}
	return err
}

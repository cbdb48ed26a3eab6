// Command package builds the installable Splunk app,
// dist/vtsync-<version>.tgz: the app directory plus the vtsync executable
// for each platform, cross-compiled from ./cmd/vtsync.
//
//	go run ./build/package [-out dist] [-bin linux_x86_64=path ...]
//
// The archive is reproducible: the same app files and binaries give the same
// bytes (sorted entries, fixed modes, owner 0 without names, one fixed mtime
// from SOURCE_DATE_EPOCH or -mtime, gzip without name or time). It refuses
// an app that fails the app check (internal/appcheck).
package main

import (
	"archive/tar"
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
	dir, goos, exe string
}

// targets are the platforms the package carries (AppInspect's arch dirs).
var targets = []target{
	{"linux_x86_64", "linux", appcheck.Scheme},
	{"darwin_x86_64", "darwin", appcheck.Scheme},
	{"windows_x86_64", "windows", appcheck.Scheme + ".exe"},
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
	mtime := flag.Int64("mtime", envEpoch(), "mtime of every entry, epoch seconds (default $SOURCE_DATE_EPOCH or 2024-01-01)")
	flag.Var(bins, "bin", "use this binary for a platform instead of building it: platform_dir=path (repeatable)")
	flag.Parse()
	file, err := run(*app, *out, *pkg, bins, time.Unix(*mtime, 0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	fmt.Println(file)
}

func envEpoch() int64 {
	if n, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return n
	}
	return defaultMtime
}

func run(app, outDir, pkg string, bins map[string]string, mtime time.Time) (string, error) {
	if probs := appcheck.Check(app); len(probs) > 0 {
		var b strings.Builder
		for _, p := range probs {
			b.WriteString("\n  " + p.String())
		}
		return "", fmt.Errorf("the app in %s fails the app check (go test ./internal/appcheck):%s", app, b.String())
	}
	tmp, err := os.MkdirTemp("", "vtsync-package-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	all := map[string]string{}
	for _, t := range targets {
		if p, ok := bins[t.dir]; ok {
			all[t.dir+"/bin/"+t.exe] = p
			continue
		}
		p := filepath.Join(tmp, t.dir, t.exe)
		if err := buildBinary(pkg, t.goos, "amd64", p); err != nil {
			return "", err
		}
		all[t.dir+"/bin/"+t.exe] = p
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(outDir, fmt.Sprintf("%s-%s.tgz", appcheck.Scheme, version.Version))
	f, err := os.CreateTemp(outDir, ".vtsync-*.tgz")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := writeArchive(f, app, all, mtime); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return "", err
	}
	return name, os.Rename(f.Name(), name)
}

// buildBinary cross-compiles pkg for goos/goarch into out: static (no cgo),
// without local paths, symbols, build ID or VCS stamp, so that the same
// source gives the same bytes.
func buildBinary(pkg, goos, goarch, out string) error {
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", out, pkg)
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
	src  string // file to copy; "" for directories
	mode int64
}

// writeArchive writes the gzipped tar of the app directory plus bins
// (archive path inside the app → file) to w.
func writeArchive(w io.Writer, app string, bins map[string]string, mtime time.Time) error {
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
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
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

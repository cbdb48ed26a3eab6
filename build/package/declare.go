package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/version"
)

// binary is one executable as it goes into a package.
type binary struct {
	rel  string // path inside the app, e.g. linux_x86_64/bin/vtsync
	what string
	src  string // file on disk
	sum  string // hex SHA-256
	info *buildinfo.BuildInfo
}

// component is one piece of open-source code compiled into the binaries.
type component struct {
	Path, Version, Licence string
	texts                  []licenceFile
}

type licenceFile struct {
	name string // file name in the module, e.g. LICENSE, NOTICE
	text []byte
}

// describeBinary hashes the executable and reads the build information the
// Go linker keeps in it (Go version, build flags, linked modules), so that
// the declaration states what the file is, not what the packager meant to
// build.
func describeBinary(rel, what, src string) (binary, error) {
	f, err := os.Open(src)
	if err != nil {
		return binary{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return binary{}, err
	}
	info, err := buildinfo.ReadFile(src)
	if err != nil {
		return binary{}, fmt.Errorf("%s (for %s) holds no Go build information (%v): the package declares how each binary was built, so it must be a Go executable", src, rel, err)
	}
	return binary{rel: rel, what: what, src: src, sum: hex.EncodeToString(h.Sum(nil)), info: info}, nil
}

// setting returns a build setting recorded in the binary ("" when absent).
func (b binary) setting(key string) string {
	for _, s := range b.info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// buildCommand is the command line that reproduces the binary: the
// environment recorded in it and the packager's flags, which it checks
// against the settings the binary records (Go leaves -ldflags out of the
// build information of a -trimpath build).
func (b binary) buildCommand() (string, error) {
	if b.setting("-trimpath") != "true" || b.setting("CGO_ENABLED") != "0" {
		return "", fmt.Errorf("%s was not built with -trimpath and CGO_ENABLED=0 (its build information says -trimpath=%q CGO_ENABLED=%q); build it with `make package`", b.src, b.setting("-trimpath"), b.setting("CGO_ENABLED"))
	}
	var env []string
	for _, k := range []string{"CGO_ENABLED", "GOOS", "GOARCH", "GOAMD64"} {
		if v := b.setting(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	args := append([]string{"go", "build"}, buildFlags...)
	for i, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok && strings.Contains(v, " ") {
			args[i] = fmt.Sprintf("%s=%q", k, v)
		}
	}
	return strings.Join(env, " ") + " " + strings.Join(append(args, "./cmd/"+appcheck.Scheme), " "), nil
}

// components lists the Go standard library and every module linked into
// the binaries (from their build information), each with its licence files
// from the module cache and the licence they are identified as.
func components(goTool string, bins []binary) ([]component, error) {
	mods := map[string]string{} // path → version
	goVersion := ""
	for _, b := range bins {
		if goVersion == "" {
			goVersion = b.info.GoVersion
		}
		for _, d := range b.info.Deps {
			m := d
			if d.Replace != nil {
				m = d.Replace
			}
			mods[m.Path] = m.Version
		}
	}
	goroot, err := goEnv(goTool, "GOROOT")
	if err != nil {
		return nil, err
	}
	std, err := readLicences(goroot, "the Go standard library")
	if err != nil {
		return nil, err
	}
	out := []component{{Path: "Go standard library and runtime", Version: goVersion, texts: std}}
	if len(mods) > 0 {
		dirs, err := moduleDirs(goTool, mods)
		if err != nil {
			return nil, err
		}
		paths := make([]string, 0, len(mods))
		for p := range mods {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			texts, err := readLicences(dirs[p], p+"@"+mods[p])
			if err != nil {
				return nil, err
			}
			out = append(out, component{Path: p, Version: mods[p], texts: texts})
		}
	}
	for i := range out {
		id, err := identify(out[i].texts)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", out[i].Path, out[i].Version, err)
		}
		out[i].Licence = id
	}
	return out, nil
}

func goEnv(goTool, key string) (string, error) {
	out, err := exec.Command(goTool, "env", key).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// moduleDirs finds each module's directory in the module cache
// (go mod download -json, which reads the cache and fetches only what is
// missing).
func moduleDirs(goTool string, mods map[string]string) (map[string]string, error) {
	args := []string{"mod", "download", "-json"}
	for p, v := range mods {
		args = append(args, p+"@"+v)
	}
	cmd := exec.Command(goTool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	dirs := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct{ Path, Version, Dir, Error string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go mod download -json: %v", err)
		}
		if m.Error != "" || m.Dir == "" {
			return nil, fmt.Errorf("module %s@%s is not in the module cache: %s (run go mod download)", m.Path, m.Version, m.Error)
		}
		dirs[m.Path] = m.Dir
	}
	for p := range mods {
		if dirs[p] == "" {
			return nil, fmt.Errorf("go mod download did not report module %s", p)
		}
	}
	return dirs, nil
}

var licenceName = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|patents)([.-].*)?$`)

// readLicences reads the licence, notice and patent files at the top of a
// module (or GOROOT).
func readLicences(dir, what string) ([]licenceFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", what, err)
	}
	var out []licenceFile
	for _, e := range entries {
		if e.IsDir() || !licenceName.MatchString(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, licenceFile{e.Name(), data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no LICENSE file in %s; its licence must be known before it ships", what, dir)
	}
	return out, nil
}

// licenceMarks identify a licence by phrases of its text, in the order
// they are reported.
var licenceMarks = []struct {
	id    string
	match func(string) bool
}{
	{"MIT", func(t string) bool { return strings.Contains(t, "permission is hereby granted, free of charge") }},
	{"Apache-2.0", func(t string) bool {
		return strings.Contains(t, "apache license") && strings.Contains(t, "version 2.0")
	}},
	{"BSD-3-Clause", func(t string) bool {
		return strings.Contains(t, "redistribution and use in source and binary forms") && strings.Contains(t, "neither the name")
	}},
	{"BSD-2-Clause", func(t string) bool {
		return strings.Contains(t, "redistribution and use in source and binary forms") && !strings.Contains(t, "neither the name")
	}},
	{"ISC", func(t string) bool {
		return strings.Contains(t, "permission to use, copy, modify, and/or distribute this software for any purpose")
	}},
	{"MPL-2.0", func(t string) bool {
		return strings.Contains(t, "mozilla public license") && strings.Contains(t, "2.0")
	}},
}

// identify names the licences of a module's licence files (SPDX ids joined
// by " AND "); text it cannot identify is an error, so that nothing ships
// under an unknown licence.
func identify(files []licenceFile) (string, error) {
	var text strings.Builder
	for _, f := range files {
		if strings.HasPrefix(strings.ToUpper(f.name), "LICEN") || strings.HasPrefix(strings.ToUpper(f.name), "COPYING") {
			text.WriteString(strings.ToLower(strings.Join(strings.Fields(string(f.text)), " ")))
			text.WriteString(" ")
		}
	}
	var ids []string
	for _, m := range licenceMarks {
		if m.match(text.String()) {
			ids = append(ids, m.id)
		}
	}
	if len(ids) == 0 {
		return "", errors.New("licence not recognised (MIT, Apache-2.0, BSD-2/3-Clause, ISC, MPL-2.0 are); review it and teach build/package its text before shipping")
	}
	return strings.Join(ids, " AND "), nil
}

// readme returns the package's README.txt: the app's README.txt followed
// by the binary declaration and the open-source components.
func readme(base []byte, bins []binary, comps []component) ([]byte, error) {
	var b bytes.Buffer
	b.Write(bytes.TrimRight(base, "\n"))
	b.WriteString("\n\n")
	heading(&b, appcheck.DeclarationHeading)
	fmt.Fprintf(&b, "Every executable in this package is the vtsync program (Go package\n./cmd/%s of the vtsync source, version %s), compiled statically\nwithout cgo. No other executable code ships: the configuration page is\nthe JavaScript file appserver/static/pages/vtsync_config.js, shipped as\nsource.\n\n", appcheck.Scheme, version.Version)
	sort.Slice(bins, func(i, j int) bool { return bins[i].rel < bins[j].rel })
	for _, x := range bins {
		cmd, err := x.buildCommand()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s\n", x.rel)
		fmt.Fprintf(&b, "    What:       %s\n", x.what)
		fmt.Fprintf(&b, "    %-11s %s\n", appcheck.DeclarationSumKey, x.sum)
		fmt.Fprintf(&b, "    Go version: %s\n", x.info.GoVersion)
		fmt.Fprintf(&b, "    Built with: %s\n\n", cmd)
	}
	b.WriteString("How to rebuild: install the Go version above, take the vtsync source of\n")
	fmt.Fprintf(&b, "version %s and run `make package` (or the command above from the\n", version.Version)
	b.WriteString("source root). The build is reproducible: the binaries come out\nbyte-identical, so `sha256sum` shows the hashes above.\n\n")

	heading(&b, "Open-source components")
	b.WriteString("Compiled into the binaries, as recorded in them by the Go linker. The\nfull licence and notice texts are in THIRD-PARTY-NOTICES.txt.\n\n")
	w := 0
	for _, c := range comps {
		w = max(w, len(c.Path))
	}
	for _, c := range comps {
		fmt.Fprintf(&b, "  %-*s  %-10s  %s\n", w, c.Path, c.Version, c.Licence)
	}
	b.WriteString("\nvtsync itself is licensed under the Apache License 2.0 (LICENSE).\n")
	return b.Bytes(), nil
}

func heading(b *bytes.Buffer, s string) {
	b.WriteString(s + "\n" + strings.Repeat("-", len(s)) + "\n")
}

// notices returns THIRD-PARTY-NOTICES.txt: every component's licence and
// notice files, verbatim.
func notices(comps []component) []byte {
	var b bytes.Buffer
	b.WriteString("Third-party software compiled into the vtsync executables\n")
	b.WriteString("=========================================================\n")
	for _, c := range comps {
		fmt.Fprintf(&b, "\n%s %s (%s)\n", c.Path, c.Version, c.Licence)
		for _, f := range c.texts {
			fmt.Fprintf(&b, "\n--- %s ---\n\n", f.name)
			b.Write(bytes.TrimRight(f.text, "\n"))
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

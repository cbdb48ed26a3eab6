package appcheck

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The binary declaration ends the packaged README.txt (build/package writes
// it): under DeclarationHeading, one block per executable, its path inside
// the app on a line of its own, then indented "Key: value" lines, one of
// them DeclarationSumKey followed by the file's SHA-256 in hex.
const (
	DeclarationHeading = "Binary declaration"
	DeclarationSumKey  = "SHA-256:"
)

// sumLine is a declared hash line; its hex run is not a secret.
var sumLine = regexp.MustCompile(`^\s+` + regexp.QuoteMeta(DeclarationSumKey) + `\s+[0-9a-f]{64}\s*$`)

// Declared returns the executables README.txt declares, path → SHA-256.
func Declared(readme []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readme))
	in, current := false, ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == DeclarationHeading:
			in = true
		case !in:
		case line == "" || strings.HasPrefix(line, "---"):
		case !strings.HasPrefix(line, " "):
			current = ""
			if isArchBin(line) {
				current = strings.TrimSpace(line)
				out[current] = ""
			}
		case current != "":
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), DeclarationSumKey); ok {
				out[current] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// isArchBin reports whether rel is a file directly in an executable
// directory AppInspect knows.
func isArchBin(rel string) bool {
	dir := rel[:max(0, strings.LastIndex(rel, "/"))]
	_, ok := archBinDirs[dir]
	return ok && !strings.ContainsAny(rel, " \t")
}

// declaration: a package's README.txt declares every executable it holds,
// with the SHA-256 of the file actually packaged, and declares nothing it
// does not hold; the package carries the licence the manifest names.
func (c *checker) declaration() {
	const rf = "README.txt"
	if !c.packaged {
		return
	}
	data, err := os.ReadFile(filepath.Join(c.dir, rf))
	if err != nil {
		c.addf(rf, "cannot read: %v", err)
		return
	}
	declared := Declared(data)
	if len(declared) == 0 {
		c.addf(rf, "has no %q section declaring the executables (Splunk Cloud vets binaries by this declaration)", DeclarationHeading)
	}
	var held []string
	for dir := range archBinDirs {
		entries, _ := os.ReadDir(filepath.Join(c.dir, filepath.FromSlash(dir)))
		for _, e := range entries {
			held = append(held, dir+"/"+e.Name())
		}
	}
	sort.Strings(held)
	for _, rel := range held {
		want, ok := declared[rel]
		if !ok {
			c.addf(rf, "does not declare %s", rel)
			continue
		}
		got, err := fileSHA256(filepath.Join(c.dir, filepath.FromSlash(rel)))
		if err != nil {
			c.addf(rel, "cannot hash: %v", err)
			continue
		}
		if want != got {
			c.addf(rf, "declares %s with SHA-256 %q; the packaged file's is %s", rel, want, got)
		}
	}
	for rel := range declared {
		if _, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(rel))); err != nil {
			c.addf(rf, "declares %s, which the package does not hold", rel)
		}
	}
	for _, f := range []string{"LICENSE", "THIRD-PARTY-NOTICES.txt"} {
		if _, err := os.Stat(filepath.Join(c.dir, f)); err != nil {
			c.addf(f, "missing from the package")
		}
	}
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// manifest: app.manifest states the licence, the Splunk versions and the
// deployments, which Splunk Cloud's vetting reads.
func (c *checker) manifest() {
	const mf = "app.manifest"
	data, err := os.ReadFile(filepath.Join(c.dir, mf))
	if err != nil {
		return // identity() reports it
	}
	var m struct {
		Info struct {
			License struct {
				Name *string `json:"name"`
				Text *string `json:"text"`
				URI  *string `json:"uri"`
			} `json:"license"`
		} `json:"info"`
		PlatformRequirements struct {
			Splunk map[string]string `json:"splunk"`
		} `json:"platformRequirements"`
		SupportedDeployments []string `json:"supportedDeployments"`
		TargetWorkloads      []string `json:"targetWorkloads"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return // identity() reports it
	}
	l := m.Info.License
	if l.Name == nil || *l.Name == "" || l.Text == nil || *l.Text == "" {
		c.addf(mf, "info.license needs a name and the licence file in text")
	} else if c.packaged {
		if _, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(*l.Text))); err != nil {
			c.addf(mf, "info.license.text names %s, which the package does not hold", *l.Text)
		}
	}
	if m.PlatformRequirements.Splunk["Enterprise"] == "" {
		c.addf(mf, `platformRequirements.splunk.Enterprise must state the Splunk Enterprise versions (e.g. ">=9.0")`)
	}
	if len(m.SupportedDeployments) == 0 {
		c.addf(mf, "supportedDeployments is empty")
	}
	if len(m.TargetWorkloads) == 0 {
		c.addf(mf, "targetWorkloads is empty")
	}
}

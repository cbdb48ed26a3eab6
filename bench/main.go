// Command bench measures vtsync end to end against the strict fakes: VT
// pacing at the quota's limit, a simulated day against the per-search
// external-lookup pattern, and a million-row run's memory and CPU. It
// prints Markdown tables and, with -doc, writes them into the marked
// sections of docs/benchmarks.md.
//
//	go run ./bench -scenario all -micro micro.txt -doc docs/benchmarks.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	scenario := flag.String("scenario", "all", "what to run, comma-separated: machine, micro, pacing, weeks, scale, all (these five), stall (pacing under CPU contention, not in all)")
	doc := flag.String("doc", "", "Markdown file whose <!-- bench:NAME --> sections are replaced with the results")
	micro := flag.String("micro", "", "output of go test -bench to tabulate (scenario micro)")
	quick := flag.Bool("quick", false, "smoke run: every scenario, much smaller (numbers are not meaningful)")
	child := flag.String("child", "", "internal: run one scale measurement in this process (set by the scale scenario)")
	pacing := flag.String("pacing", "", "pacing: run only these cases, one after the other: Q/latency/lookups,… (e.g. 1000/50ms/1100)")
	burners := flag.Int("burners", 6, "stall: CPU-bound processes competing with the limiters")
	burnFor := flag.Duration("burn", 0, "internal: keep one CPU busy this long (a stall scenario competitor)")
	cpuprofile := flag.String("cpuprofile", "", "scale: write the CPU profile of the largest child run to this file")
	flag.Parse()

	if *burnFor > 0 {
		os.Exit(burn(*burnFor))
	}
	if *child != "" {
		os.Exit(runScaleChild(*child))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %s "+format+"\n", append([]any{time.Now().Format(time.TimeOnly)}, args...)...)
	}

	want := map[string]bool{}
	for s := range strings.SplitSeq(*scenario, ",") {
		want[strings.TrimSpace(s)] = true
	}
	if want["all"] {
		for _, s := range []string{"machine", "micro", "pacing", "weeks", "scale"} {
			want[s] = true
		}
	}
	sections := map[string]string{}
	failed := false
	run := func(name string, f func() (string, bool)) {
		if !want[name] {
			return
		}
		start, load := time.Now(), loadavg()
		out, ok := f()
		if !ok {
			failed = true
			out += "\n**Target missed** (see above).\n"
		}
		cmd := "go run ./bench -scenario " + name
		if *quick {
			cmd += " -quick"
		}
		sections[name] = fmt.Sprintf("Command: `%s` (took %s; load average before %s, after %s).\n\n%s",
			cmd, time.Since(start).Round(time.Second), load, loadavg(), out)
		fmt.Printf("## %s\n\n%s\n", name, sections[name])
		logf("%s done in %s", name, time.Since(start).Round(time.Second))
	}
	run("machine", func() (string, bool) { return machine(), true })
	run("micro", func() (string, bool) {
		if *micro == "" {
			return "Run with -micro FILE (the output of `go test -run '^$' -bench . -benchmem ./internal/... ./bench/...`).\n", true
		}
		return microTable(*micro)
	})
	run("pacing", func() (string, bool) { return scenarioPacing(ctx, *quick, *pacing, logf) })
	run("weeks", func() (string, bool) { return scenarioWeeks(ctx, *quick, logf) })
	run("scale", func() (string, bool) { return scenarioScale(ctx, *quick, *cpuprofile, logf) })
	run("stall", func() (string, bool) { return scenarioStall(ctx, *quick, *burners, logf) })
	if !slices.ContainsFunc(summaryScenarios, func(s string) bool { return !want[s] }) && !*quick && *pacing == "" {
		sections["summary"] = "Written by `make bench` from the sections below (their tables carry the exact command and conditions of each run).\n\n" + summary()
		fmt.Printf("## summary\n\n%s\n", sections["summary"])
	} else {
		logf("summary not written: it needs the %s scenarios of one full run", strings.Join(summaryScenarios, ", "))
	}

	if *doc != "" && len(sections) > 0 {
		if err := writeSections(*doc, sections); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		logf("wrote %s", *doc)
	}
	if failed {
		os.Exit(2)
	}
}

// machine describes where the numbers were taken.
func machine() string {
	cpu, mem := "unknown", "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return fmt.Sprintf("| what | value |\n|---|---|\n| date | %s |\n| `go version` | %s %s/%s |\n| `nproc` | %d |\n| CPU (/proc/cpuinfo model name) | %s |\n| memory (/proc/meminfo MemTotal) | %s |\n",
		time.Now().UTC().Format(time.DateOnly), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, mem)
}

// loadavg returns the 1-minute load average: other work on the machine
// shows in timing figures.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// writeSections replaces, in the Markdown file path, the text between
// "<!-- bench:NAME -->" and "<!-- /bench:NAME -->" with sections[NAME].
func writeSections(path string, sections map[string]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	for name, body := range sections {
		open, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
		i, j := strings.Index(s, open), strings.Index(s, end)
		if i < 0 || j < i {
			return fmt.Errorf("%s: no %s … %s section to write the %s results into", path, open, end, name)
		}
		s = s[:i+len(open)] + "\n" + body + "\n" + s[j:]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

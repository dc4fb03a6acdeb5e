package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// helpDefaults runs `miosa-mcp CMD --help` and returns each flag's printed
// default ("" where flag prints none: a zero value).
func helpDefaults(t *testing.T, cmd string) map[string]string {
	t.Helper()
	var stderr bytes.Buffer
	code := Run(context.Background(), []string{cmd, "--help"}, Env{Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &stderr, Stderr: &stderr})
	if code != 0 {
		t.Fatalf("%s --help: exit %d\n%s", cmd, code, stderr.String())
	}
	flags := map[string]string{}
	last := ""
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := regexp.MustCompile(`^  -([a-z][a-z-]*)`).FindStringSubmatch(line); m != nil {
			last = m[1]
			flags[last] = ""
		}
		if m := regexp.MustCompile(`\(default "?([^")]*)"?\)$`).FindStringSubmatch(line); m != nil && last != "" {
			flags[last] = m[1]
		}
	}
	if len(flags) < 5 {
		t.Fatalf("%s --help lists %d flags:\n%s", cmd, len(flags), stderr.String())
	}
	return flags
}

// TestLimitsTableMatchesTheBinary checks docs/hosting.md's limits table:
// every flag exists with the documented default (read from --help), every
// variable and fixed value matches the constant the code applies, and every
// message quoted as what a client sees is one the code writes.
func TestLimitsTableMatchesTheBinary(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "hosting.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	start := strings.Index(section, "\n## Limits\n")
	if start < 0 {
		t.Fatal("docs/hosting.md has no ## Limits section")
	}
	section = section[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	help := map[string]map[string]string{"http": helpDefaults(t, "http"), "stdio": helpDefaults(t, "stdio")}
	fixed := map[string]string{
		"runtime.DefaultRateLimitKeys": strconv.Itoa(runtime.DefaultRateLimitKeys),
		"runtime.KeylessBodyBytes":     strconv.Itoa(runtime.KeylessBodyBytes),
	}
	source := goSource(t)
	backticked := regexp.MustCompile("`([^`]+)`")
	rows, flagsSeen := 0, map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 7 || strings.HasPrefix(line, "|---") || strings.TrimSpace(cells[1]) == "Limit" {
			continue
		}
		rows++
		limit, setWith, def, sees := strings.TrimSpace(cells[1]), cells[2], cells[3], cells[4]
		defs := backticked.FindAllStringSubmatch(def, -1)
		if len(defs) == 0 && !strings.HasPrefix(strings.TrimSpace(setWith), "fixed") {
			t.Errorf("%s: the default %q names no value in backticks", limit, def)
			continue
		}
		want := ""
		if len(defs) > 0 {
			want = defs[0][1]
		}
		for _, m := range backticked.FindAllStringSubmatch(setWith, -1) {
			name := m[1]
			switch {
			case strings.HasPrefix(name, "--") || strings.HasPrefix(name, "stdio --"):
				cmd, flag := "http", strings.TrimPrefix(name, "--")
				if c, f, ok := strings.Cut(name, " --"); ok {
					cmd, flag = c, f
				}
				got, ok := help[cmd][flag]
				flagsSeen[cmd+" "+flag] = true
				if !ok {
					t.Errorf("%s: miosa-mcp %s has no --%s", limit, cmd, flag)
				} else if got != want && !(got == "" && want == "0") {
					t.Errorf("%s: miosa-mcp %s --%s defaults to %q, the table says %q", limit, cmd, flag, got, want)
				}
			case name == "MIOSA_TIMEOUT_MS":
				if want != strconv.FormatInt(runtime.DefaultTimeout.Milliseconds(), 10) {
					t.Errorf("%s: MIOSA_TIMEOUT_MS defaults to %d ms, the table says %s", limit, runtime.DefaultTimeout.Milliseconds(), want)
				}
			case name == "GOMEMLIMIT":
				if want != strconv.Itoa(httpMemoryLimit>>20)+"MiB" {
					t.Errorf("%s: the soft memory limit is %d MiB, the table says %s", limit, httpMemoryLimit>>20, want)
				}
				if len(defs) < 2 || defs[1][1] != strconv.Itoa(httpGCPercent) {
					t.Errorf("%s: GOGC is %d, the table says %v", limit, httpGCPercent, defs)
				}
			case name == "GOGC":
			case fixed[name] != "":
				if want != fixed[name] {
					t.Errorf("%s: %s is %s, the table says %s", limit, name, fixed[name], want)
				}
			default:
				t.Errorf("%s: the test cannot check %q; name a flag, a variable or a constant it knows", limit, name)
			}
		}
		for _, q := range regexp.MustCompile(`"([^"]{12,})"`).FindAllStringSubmatch(sees, -1) {
			if !sourceWrites(source, q[1]) {
				t.Errorf("%s: no message in internal/ reads %q", limit, q[1])
			}
		}
	}
	if rows < 10 {
		t.Fatalf("read %d rows from the limits table", rows)
	}
	// The limits the brief of issue #14 names, and every limit flag.
	for _, f := range []string{"http max-connections", "http max-concurrent-calls", "http max-queued-calls", "http rate-limit",
		"http max-body-bytes", "http max-inflight-body-bytes", "http shutdown-grace", "stdio max-concurrent-calls", "stdio max-queued-calls", "stdio rate-limit"} {
		if !flagsSeen[f] {
			t.Errorf("the limits table has no row for miosa-mcp %s", strings.Replace(f, " ", " --", 1))
		}
	}
}

// goSource is the text of the non-test Go files under internal/.
func goSource(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		b.Write(src)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// sourceWrites reports whether a message quoted in the docs is one the
// code formats: "…" stands for any text, and a number for a number or a
// format verb.
func sourceWrites(src, quote string) bool {
	var re strings.Builder
	for i, part := range strings.Split(quote, "…") {
		if i > 0 {
			re.WriteString(`.*?`)
		}
		re.WriteString(regexp.MustCompile(`[0-9]+`).ReplaceAllString(regexp.QuoteMeta(part), `(?:[0-9]+|%d|%s|%v)`))
	}
	return regexp.MustCompile(re.String()).MatchString(src)
}

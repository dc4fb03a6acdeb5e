package mock

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// builtin runs one command. Every command the mock knows acts on the
// in-memory filesystem or the shell's own state; the rest are reported as
// "(mock) ran: …".
func (sh *shell) builtin(words []string, stdin string) execOutcome {
	name, args := words[0], words[1:]
	flags, operands := splitFlags(args)
	okOut := func(s string) execOutcome { return execOutcome{stdout: s} }
	switch name {
	case "echo":
		words, opts := echoFlags(args)
		s := strings.Join(words, " ")
		if strings.Contains(opts, "e") {
			s = unescapeC(s)
		}
		if !strings.Contains(opts, "n") {
			s += "\n"
		}
		return okOut(s)
	case "printf":
		return okOut(printf(args))
	case "pwd":
		return okOut(sh.cwd + "\n")
	case "cd":
		dir := sh.home
		if len(operands) > 0 {
			dir = abs(operands[0], sh.cwd)
		}
		if n, found := sh.fs.stat(dir); !found || !n.dir {
			return execOutcome{stderr: "bash: cd: " + strings.Join(operands, " ") + ": No such file or directory\n", code: 1}
		}
		sh.cwd = dir
		return execOutcome{}
	case "ls":
		return sh.ls(flags, operands)
	case "cat":
		return sh.cat(operands, stdin)
	case "head", "tail":
		return sh.headTail(name, args, stdin)
	case "wc":
		return sh.wc(flags, operands, stdin)
	case "grep":
		return sh.grep(flags, operands, stdin)
	case "sort":
		lines := splitLines(stdin)
		sort.Strings(lines)
		if strings.Contains(flags, "r") {
			sort.Sort(sort.Reverse(sort.StringSlice(lines)))
		}
		return okOut(joinLines(lines))
	case "mkdir":
		for _, d := range operands {
			if err := sh.fs.mkdir(abs(d, sh.cwd), "0755", strings.Contains(flags, "p"), sh.now); err != nil {
				return execOutcome{stderr: fmt.Sprintf("mkdir: cannot create directory '%s': %s\n", d, capital(err)), code: 1}
			}
		}
		return execOutcome{}
	case "touch":
		for _, f := range operands {
			p := abs(f, sh.cwd)
			data, _ := sh.fs.readFile(p)
			if err := sh.fs.writeFile(p, data, sh.now); err != nil {
				return execOutcome{stderr: fmt.Sprintf("touch: cannot touch '%s': %s\n", f, capital(err)), code: 1}
			}
		}
		return execOutcome{}
	case "rm", "rmdir":
		for _, f := range operands {
			err := sh.fs.remove(abs(f, sh.cwd), strings.ContainsAny(flags, "rR"))
			if err != nil && !(errors.Is(err, errNotExist) && strings.Contains(flags, "f")) {
				return execOutcome{stderr: fmt.Sprintf("%s: cannot remove '%s': %s\n", name, f, capital(err)), code: 1}
			}
		}
		return execOutcome{}
	case "cp", "mv":
		if len(operands) != 2 {
			return execOutcome{stderr: name + ": missing file operand\n", code: 1}
		}
		from, to := abs(operands[0], sh.cwd), abs(operands[1], sh.cwd)
		if n, found := sh.fs.stat(to); found && n.dir {
			to = path.Join(to, path.Base(from))
		}
		var err error
		if name == "cp" {
			err = sh.fs.copy(from, to, strings.ContainsAny(flags, "rRa"), sh.now)
		} else {
			err = sh.fs.rename(from, to, sh.now)
		}
		if err != nil {
			return execOutcome{stderr: fmt.Sprintf("%s: cannot stat '%s': %s\n", name, operands[0], capital(err)), code: 1}
		}
		return execOutcome{}
	case "whoami":
		return okOut(sh.user + "\n")
	case "id":
		return okOut(fmt.Sprintf("uid=1000(%s) gid=1000(%s) groups=1000(%s)\n", sh.user, sh.user, sh.user))
	case "hostname":
		return okOut(sh.host + "\n")
	case "uname":
		if strings.Contains(flags, "a") {
			return okOut("Linux " + sh.host + " 6.1.0-miosa #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\n")
		}
		return okOut("Linux\n")
	case "date":
		return okOut(sh.now.UTC().Format("Mon Jan _2 15:04:05 UTC 2006") + "\n")
	case "true", ":", "sleep", "export", "source", ".", "clear", "set", "unset":
		for _, a := range args {
			if isAssignment(a) {
				k, v, _ := strings.Cut(a, "=")
				sh.env[k] = v
			}
		}
		return execOutcome{}
	case "false":
		return execOutcome{code: 1}
	case "exit":
		code := 0
		if len(args) > 0 {
			code, _ = strconv.Atoi(args[0])
		}
		sh.exit = true
		return execOutcome{code: code}
	case "env", "printenv":
		return sh.printenv(operands)
	case "which", "command":
		var b strings.Builder
		for _, a := range operands {
			b.WriteString("/usr/bin/" + a + "\n")
		}
		return okOut(b.String())
	case "nproc":
		return okOut("2\n")
	case "python", "python3", "node":
		return sh.interpreter(name, args)
	case "npm", "yarn", "pnpm":
		if isBuild(operands) {
			return sh.build(words)
		}
	case "bash", "sh", "zsh":
		return sh.subshell(name, args, stdin)
	}
	return okOut("(mock) ran: " + strings.Join(words, " ") + "\n")
}

// splitFlags separates -x style flags (concatenated letters) from operands.
// isBuild reports whether a package manager's operands run the build
// script (npm run build, yarn build, pnpm run build).
func isBuild(operands []string) bool {
	if len(operands) > 0 && operands[0] == "run" {
		operands = operands[1:]
	}
	return len(operands) == 1 && operands[0] == "build"
}

// mockBuildOutput is where a mock build writes its static export,
// relative to the working directory: the output directory of the docs'
// "Deploy a sandbox to production" example (/workspace/.next/out), so the
// publish that follows finds what it names.
const mockBuildOutput = ".next/out"

// build stands in for a project's build script: it writes a static
// export (an index.html) under mockBuildOutput and says so.
func (sh *shell) build(words []string) execOutcome {
	out := abs(mockBuildOutput, sh.cwd)
	page := "<!doctype html><title>mock build</title><p>Built by the MIOSA mock from " + sh.cwd + ".</p>\n"
	if err := sh.fs.mkdirAll(out, "0755", sh.now); err != nil {
		return execOutcome{stderr: "build: " + capital(err) + "\n", code: 1}
	}
	if err := sh.fs.writeFile(out+"/index.html", []byte(page), sh.now); err != nil {
		return execOutcome{stderr: "build: " + capital(err) + "\n", code: 1}
	}
	return execOutcome{stdout: "(mock) ran: " + strings.Join(words, " ") + "\n(mock) static export written to " + out + "\n"}
}

func splitFlags(args []string) (string, []string) {
	var flags strings.Builder
	var ops []string
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && !isNumber(a[1:]) {
			flags.WriteString(a[1:])
		} else if !strings.HasPrefix(a, "--") {
			ops = append(ops, a)
		}
	}
	return flags.String(), ops
}

// echoFlags splits echo's leading -n/-e/-ne flags from the words to
// print; later words that start with a dash are printed as they are.
func echoFlags(args []string) ([]string, string) {
	opts := ""
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		opts += args[0][1:]
		args = args[1:]
	}
	return args, opts
}

func isNumber(s string) bool { _, err := strconv.Atoi(s); return err == nil }

func unescapeC(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`, `\"`, `"`).Replace(s)
}

// printf supports %s, %d and %% with the usual escapes; enough for scripts
// that format a line or two.
func printf(args []string) string {
	if len(args) == 0 {
		return ""
	}
	format, rest := unescapeC(args[0]), args[1:]
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 's', 'd':
			if len(rest) > 0 {
				b.WriteString(rest[0])
				rest = rest[1:]
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

func (sh *shell) ls(flags string, operands []string) execOutcome {
	if len(operands) == 0 {
		operands = []string{"."}
	}
	var out execOutcome
	for _, o := range operands {
		p := abs(o, sh.cwd)
		n, found := sh.fs.stat(p)
		if !found {
			out.stderr += fmt.Sprintf("ls: cannot access '%s': No such file or directory\n", o)
			out.code = 2
			continue
		}
		paths := []string{p}
		if n.dir {
			paths, _ = sh.fs.children(p, 1)
		}
		for _, q := range paths {
			name := path.Base(q)
			if strings.HasPrefix(name, ".") && !strings.Contains(flags, "a") {
				continue
			}
			if strings.Contains(flags, "l") {
				e := sh.fs.entry(q)
				kind, perm := "-", "rw-r--r--"
				if e.IsDir {
					kind, perm = "d", "rwxr-xr-x"
				}
				out.stdout += fmt.Sprintf("%s%s 1 %s %s %6d %s %s\n", kind, perm, sh.user, sh.user, e.Size, e.ModifiedAt.Format("Jan _2 15:04"), name)
			} else {
				out.stdout += name + "\n"
			}
		}
	}
	return out
}

func (sh *shell) cat(files []string, stdin string) execOutcome {
	if len(files) == 0 {
		return execOutcome{stdout: stdin}
	}
	var out execOutcome
	for _, f := range files {
		if f == "-" {
			out.stdout += stdin
			continue
		}
		data, err := sh.fs.readFile(abs(f, sh.cwd))
		if err != nil {
			out.stderr += fmt.Sprintf("cat: %s: %s\n", f, capital(err))
			out.code = 1
			continue
		}
		out.stdout += string(data)
	}
	return out
}

// input returns the text of the operand files, or stdin without operands.
func (sh *shell) input(name string, files []string, stdin string) (string, *execOutcome) {
	r := sh.cat(files, stdin)
	if r.code != 0 {
		r.stderr = strings.ReplaceAll(r.stderr, "cat:", name+":")
		return "", &r
	}
	return r.stdout, nil
}

func (sh *shell) headTail(name string, args []string, stdin string) execOutcome {
	n := 10
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-n" && i+1 < len(args):
			n, _ = strconv.Atoi(strings.TrimPrefix(args[i+1], "+"))
			i++
		case strings.HasPrefix(a, "-n"):
			n, _ = strconv.Atoi(a[2:])
		case len(a) > 1 && a[0] == '-' && isNumber(a[1:]):
			n, _ = strconv.Atoi(a[1:])
		default:
			files = append(files, a)
		}
	}
	text, errR := sh.input(name, files, stdin)
	if errR != nil {
		return *errR
	}
	lines := splitLines(text)
	if name == "head" {
		lines = lines[:min(n, len(lines))]
	} else {
		lines = lines[max(len(lines)-n, 0):]
	}
	return execOutcome{stdout: joinLines(lines)}
}

func (sh *shell) wc(flags string, files []string, stdin string) execOutcome {
	text, errR := sh.input("wc", files, stdin)
	if errR != nil {
		return *errR
	}
	l, w, c := strings.Count(text, "\n"), len(strings.Fields(text)), len(text)
	switch flags {
	case "l":
		return execOutcome{stdout: fmt.Sprintf("%d\n", l)}
	case "w":
		return execOutcome{stdout: fmt.Sprintf("%d\n", w)}
	case "c":
		return execOutcome{stdout: fmt.Sprintf("%d\n", c)}
	}
	return execOutcome{stdout: fmt.Sprintf("%7d %7d %7d\n", l, w, c)}
}

func (sh *shell) grep(flags string, operands []string, stdin string) execOutcome {
	if len(operands) == 0 {
		return execOutcome{stderr: "Usage: grep [OPTION]... PATTERNS [FILE]...\n", code: 2}
	}
	pattern := operands[0]
	if strings.Contains(flags, "i") {
		pattern = "(?i)" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		re = regexp.MustCompile(regexp.QuoteMeta(operands[0]))
	}
	text, errR := sh.input("grep", operands[1:], stdin)
	if errR != nil {
		errR.code = 2
		return *errR
	}
	var hits []string
	for _, line := range splitLines(text) {
		if re.MatchString(line) != strings.Contains(flags, "v") {
			hits = append(hits, line)
		}
	}
	if strings.Contains(flags, "c") {
		return execOutcome{stdout: fmt.Sprintf("%d\n", len(hits)), code: boolCode(len(hits) == 0)}
	}
	return execOutcome{stdout: joinLines(hits), code: boolCode(len(hits) == 0)}
}

func (sh *shell) printenv(names []string) execOutcome {
	if len(names) > 0 {
		var b strings.Builder
		code := 0
		for _, n := range names {
			if v := sh.lookup(n); v != "" {
				b.WriteString(v + "\n")
			} else {
				code = 1
			}
		}
		return execOutcome{stdout: b.String(), code: code}
	}
	all := map[string]string{"HOME": sh.home, "USER": sh.user, "PATH": sh.lookup("PATH"), "SHELL": "/bin/bash", "PWD": sh.cwd}
	for k, v := range sh.env {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + all[k] + "\n")
	}
	return execOutcome{stdout: b.String()}
}

// subshell handles `bash -c '…'` and `bash script.sh` by running the text
// through the same simulator.
func (sh *shell) subshell(name string, args []string, stdin string) execOutcome {
	script := stdin
	switch {
	case len(args) >= 2 && (args[0] == "-c" || args[0] == "-lc" || args[0] == "-ec"):
		script = args[1]
	case len(args) >= 1 && !strings.HasPrefix(args[0], "-"):
		data, err := sh.fs.readFile(abs(args[0], sh.cwd))
		if err != nil {
			return execOutcome{stderr: fmt.Sprintf("%s: %s: No such file or directory\n", name, args[0]), code: 127}
		}
		script = string(data)
	}
	sub := *sh
	sub.exit = false
	return sub.run(script)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func boolCode(failed bool) int {
	if failed {
		return 1
	}
	return 0
}

// capital turns errNotExist into "No such file or directory", as coreutils print it.
func capital(err error) string {
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

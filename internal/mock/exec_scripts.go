package mock

import (
	"fmt"
	"strings"
)

// interpreter handles python/python3/node. Nothing is executed: a script
// made only of print(...)/console.log(...) calls with literal arguments
// prints those literals (so sandbox_python's hello-world round-trips);
// any other script answers "(mock) executed …".
func (sh *shell) interpreter(name string, args []string) execOutcome {
	isNode := name == "node"
	if len(args) == 0 {
		return execOutcome{stdout: fmt.Sprintf("(mock) started %s REPL; nothing is executed\n", name)}
	}
	switch args[0] {
	case "--version", "-V":
		if isNode {
			return execOutcome{stdout: "v20.11.1\n"}
		}
		return execOutcome{stdout: "Python 3.12.3\n"}
	case "-c", "-e", "--eval":
		if len(args) < 2 {
			return execOutcome{stderr: name + ": " + args[0] + " requires an argument\n", code: 2}
		}
		if out, ok := literalPrints(args[1], isNode); ok {
			return execOutcome{stdout: out}
		}
		return execOutcome{stdout: fmt.Sprintf("(mock) executed %s %s <code>\n", name, args[0])}
	case "-m":
		return execOutcome{stdout: "(mock) ran: " + name + " " + strings.Join(args, " ") + "\n"}
	}
	script := args[0]
	data, err := sh.fs.readFile(abs(script, sh.cwd))
	if err != nil {
		if isNode {
			return execOutcome{stderr: fmt.Sprintf("node:internal/modules/cjs/loader\nError: Cannot find module '%s'\n", abs(script, sh.cwd)), code: 1}
		}
		return execOutcome{stderr: fmt.Sprintf("%s: can't open file '%s': [Errno 2] No such file or directory\n", name, abs(script, sh.cwd)), code: 2}
	}
	if out, ok := literalPrints(string(data), isNode); ok {
		return execOutcome{stdout: out}
	}
	return execOutcome{stdout: fmt.Sprintf("(mock) executed %s %s\n", name, strings.Join(args, " "))}
}

// literalPrints evaluates a script whose every statement is print(...) (or
// console.log(...) for node) of string or number literals, blank lines and
// comments. It reports false for anything else.
func literalPrints(src string, node bool) (string, bool) {
	call, comment := "print(", "#"
	if node {
		call, comment = "console.log(", "//"
	}
	var out strings.Builder
	printed := false
	for line := range strings.SplitSeq(src, "\n") {
		line = strings.TrimSpace(line)
		if node {
			line = strings.TrimSpace(strings.TrimSuffix(line, ";"))
		}
		if line == "" || strings.HasPrefix(line, comment) {
			continue
		}
		if !strings.HasPrefix(line, call) || !strings.HasSuffix(line, ")") {
			return "", false
		}
		args, ok := literalArgs(line[len(call) : len(line)-1])
		if !ok {
			return "", false
		}
		out.WriteString(strings.Join(args, " ") + "\n")
		printed = true
	}
	return out.String(), printed
}

// literalArgs parses a comma-separated list of quoted strings and plain
// numbers.
func literalArgs(s string) ([]string, bool) {
	var args []string
	rs := []rune(strings.TrimSpace(s))
	for i := 0; i < len(rs); {
		switch q := rs[i]; {
		case q == '"' || q == '\'' || q == '`':
			var b strings.Builder
			i++
			for ; i < len(rs) && rs[i] != q; i++ {
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
					b.WriteString(map[rune]string{'n': "\n", 't': "\t"}[rs[i]] + keepIf(rs[i]))
					continue
				}
				if q == '`' && rs[i] == '$' {
					return nil, false // template literal with interpolation
				}
				b.WriteRune(rs[i])
			}
			if i >= len(rs) {
				return nil, false
			}
			i++
			args = append(args, b.String())
		case q >= '0' && q <= '9' || q == '-':
			j := i + 1
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == '.') {
				j++
			}
			args = append(args, string(rs[i:j]))
			i = j
		default:
			return nil, false
		}
		for i < len(rs) && rs[i] == ' ' {
			i++
		}
		if i < len(rs) {
			if rs[i] != ',' {
				return nil, false
			}
			i++
			for i < len(rs) && rs[i] == ' ' {
				i++
			}
		}
	}
	return args, true
}

// keepIf returns the escaped rune itself unless it is one of the escapes
// (n, t) already translated.
func keepIf(r rune) string {
	if r == 'n' || r == 't' {
		return ""
	}
	return string(r)
}

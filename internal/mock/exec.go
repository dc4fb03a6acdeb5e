package mock

import (
	"strconv"
	"strings"
	"time"
)

// shell simulates just enough of a POSIX shell for exec to return
// plausible results WITHOUT running anything on the host: quoting, $VAR
// expansion, `;` `&&` `||` lists, pipes, `>`/`>>`/`2>` redirects, and a set
// of builtins (echo, pwd, cd, ls, cat, mkdir, rm, …) that act on the
// resource's in-memory filesystem. Anything else answers
// "(mock) ran: <cmd>" with exit code 0, so a model is never misled into
// thinking a real program produced output.
type shell struct {
	fs   *memfs
	cwd  string
	home string
	user string
	host string
	env  map[string]string
	now  time.Time
	last int // $?
	exit bool
}

type execOutcome struct {
	stdout, stderr string
	code           int
}

// token is a word or an operator (&&, ||, ;, |, >, >>, 2>, 2>>, 2>&1, <).
type token struct {
	s  string
	op bool
}

// run executes a command line and returns its combined outcome.
func (sh *shell) run(cmdline string) execOutcome {
	var out execOutcome
	toks := sh.lex(cmdline)
	// Split into pipelines joined by ;, && and ||.
	var pipe []token
	link := ";"
	flush := func(next string) {
		defer func() { pipe, link = nil, next }()
		if len(pipe) == 0 || sh.exit {
			return
		}
		if (link == "&&" && sh.last != 0) || (link == "||" && sh.last == 0) {
			return
		}
		r := sh.pipeline(pipe)
		out.stdout += r.stdout
		out.stderr += r.stderr
		sh.last = r.code
	}
	for _, t := range toks {
		if t.op && (t.s == ";" || t.s == "&&" || t.s == "||" || t.s == "&") {
			flush(opOr(t.s))
			continue
		}
		pipe = append(pipe, t)
	}
	flush(";")
	out.code = sh.last
	return out
}

// opOr maps a list operator to how the next pipeline is linked ("&" runs
// in the background on a real shell; here it just sequences).
func opOr(op string) string {
	if op == "&" {
		return ";"
	}
	return op
}

// pipeline runs cmd | cmd | … feeding each command's stdout to the next.
func (sh *shell) pipeline(toks []token) execOutcome {
	var out execOutcome
	stdin := ""
	var cmd []token
	runOne := func() {
		r := sh.simple(cmd, stdin)
		stdin = r.stdout
		out.stderr += r.stderr
		out.code = r.code
		cmd = nil
	}
	for _, t := range toks {
		if t.op && t.s == "|" {
			runOne()
			continue
		}
		cmd = append(cmd, t)
	}
	runOne()
	out.stdout = stdin
	return out
}

// simple runs one command with its redirects.
func (sh *shell) simple(toks []token, stdin string) execOutcome {
	var words []string
	type redirect struct{ op, target string }
	var redirs []redirect
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !t.op {
			words = append(words, t.s)
			continue
		}
		switch t.s {
		case "2>&1":
			redirs = append(redirs, redirect{t.s, ""})
		case ">", ">>", "2>", "2>>", "<":
			if i+1 < len(toks) && !toks[i+1].op {
				redirs = append(redirs, redirect{t.s, toks[i+1].s})
				i++
			}
		}
	}
	// Leading NAME=value words set shell variables.
	for len(words) > 0 && isAssignment(words[0]) {
		k, v, _ := strings.Cut(words[0], "=")
		sh.env[k] = v
		words = words[1:]
	}
	for _, r := range redirs {
		if r.op == "<" {
			data, err := sh.fs.readFile(abs(r.target, sh.cwd))
			if err != nil {
				return execOutcome{stderr: "sh: " + r.target + ": No such file or directory\n", code: 1}
			}
			stdin = string(data)
		}
	}
	var res execOutcome
	if len(words) > 0 {
		res = sh.builtin(words, stdin)
	}
	for _, r := range redirs {
		switch r.op {
		case "2>&1":
			res.stdout += res.stderr
			res.stderr = ""
		case ">", ">>":
			out := res.stdout
			res.stdout = ""
			sh.redirect(r.target, out, r.op == ">>", &res)
		case "2>", "2>>":
			errOut := res.stderr
			res.stderr = ""
			sh.redirect(r.target, errOut, r.op == "2>>", &res)
		}
	}
	return res
}

// redirect writes data to target (or discards it for /dev/null); a write
// that fails is reported on res's stderr, as sh does.
func (sh *shell) redirect(target, data string, appendTo bool, res *execOutcome) {
	if target == "/dev/null" {
		return
	}
	p := abs(target, sh.cwd)
	var err error
	if appendTo {
		err = sh.fs.appendFile(p, []byte(data), sh.now)
	} else {
		err = sh.fs.writeFile(p, []byte(data), sh.now)
	}
	if err != nil {
		res.stderr += "sh: " + target + ": " + err.Error() + "\n"
		res.code = 1
	}
}

func isAssignment(w string) bool {
	k, _, found := strings.Cut(w, "=")
	if !found || k == "" {
		return false
	}
	for i, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// lookup expands a variable name.
func (sh *shell) lookup(name string) string {
	switch name {
	case "?":
		return strconv.Itoa(sh.last)
	case "PWD":
		return sh.cwd
	}
	if v, found := sh.env[name]; found {
		return v
	}
	switch name {
	case "HOME":
		return sh.home
	case "USER", "LOGNAME":
		return sh.user
	case "HOSTNAME":
		return sh.host
	case "SHELL":
		return "/bin/bash"
	case "PATH":
		return "/usr/local/bin:/usr/bin:/bin"
	}
	return ""
}

// lex splits a command line into words and operators, applying quotes,
// backslash escapes and $VAR / ${VAR} expansion.
func (sh *shell) lex(src string) []token {
	var toks []token
	var cur strings.Builder
	inWord, quoted := false, false
	flushWord := func() {
		if inWord {
			toks = append(toks, token{s: cur.String()})
		}
		cur.Reset()
		inWord, quoted = false, false
	}
	rs := []rune(src)
	expand := func(i int) int { // rs[i] == '$'; returns index of last consumed rune
		if i+1 >= len(rs) {
			cur.WriteRune('$')
			return i
		}
		if rs[i+1] == '{' {
			end := i + 2
			for end < len(rs) && rs[end] != '}' {
				end++
			}
			cur.WriteString(sh.lookup(string(rs[i+2 : min(end, len(rs))])))
			return end
		}
		if rs[i+1] == '?' {
			cur.WriteString(sh.lookup("?"))
			return i + 1
		}
		j := i + 1
		for j < len(rs) && (rs[j] == '_' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= 'a' && rs[j] <= 'z' || j > i+1 && rs[j] >= '0' && rs[j] <= '9') {
			j++
		}
		if j == i+1 {
			cur.WriteRune('$')
			return i
		}
		cur.WriteString(sh.lookup(string(rs[i+1 : j])))
		return j - 1
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == ' ' || r == '\t' || r == '\r':
			flushWord()
		case r == '\n':
			flushWord()
			toks = append(toks, token{";", true})
		case r == '#' && !inWord:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			i--
		case r == '\'':
			inWord, quoted = true, true
			for i++; i < len(rs) && rs[i] != '\''; i++ {
				cur.WriteRune(rs[i])
			}
		case r == '"':
			inWord, quoted = true, true
			for i++; i < len(rs) && rs[i] != '"'; i++ {
				switch {
				case rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]):
					i++
					cur.WriteRune(rs[i])
				case rs[i] == '$':
					i = expand(i)
				default:
					cur.WriteRune(rs[i])
				}
			}
		case r == '\\':
			inWord = true
			if i+1 < len(rs) {
				i++
				if rs[i] != '\n' {
					cur.WriteRune(rs[i])
				}
			}
		case r == '$':
			inWord = true
			i = expand(i)
		case r == '&' && next == '&', r == '|' && next == '|':
			flushWord()
			toks = append(toks, token{string(r) + string(r), true})
			i++
		case r == ';' || r == '|' || r == '&' || r == '<':
			flushWord()
			toks = append(toks, token{string(r), true})
		case r == '>':
			op := ">"
			if inWord && !quoted && cur.String() == "2" {
				cur.Reset()
				inWord = false
				op = "2>"
			}
			flushWord()
			switch {
			case next == '>':
				op += ">"
				i++
			case next == '&' && op == "2>" && i+2 < len(rs) && rs[i+2] == '1':
				op = "2>&1"
				i += 2
			}
			toks = append(toks, token{op, true})
		default:
			inWord = true
			cur.WriteRune(r)
		}
	}
	flushWord()
	return toks
}

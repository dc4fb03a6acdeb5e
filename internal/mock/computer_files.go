package mock

import (
	"encoding/base64"
	"fmt"
)

// Computer exec and file operations act on the computer's in-memory
// filesystem; relative paths resolve against the user's home, as a shell
// on the VM would.

// execResult is the spec's ExecResult (computer exec).
type execResult struct {
	Output   string `json:"output"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
	Success  bool   `json:"success"`
}

func execComputer(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	var body struct {
		Command string `json:"command"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	env := map[string]string{}
	for k, v := range cmp.env {
		env[k] = v.Value
	}
	sh := &shell{fs: cmp.fs, cwd: computerHome, home: computerHome, user: "user", host: cmp.Slug, env: env, now: c.now}
	res := sh.run(body.Command)
	cmp.logs.add(c.now, "exec: %s (exit %d)", body.Command, res.code)
	return ok(execResult{
		Output: res.stdout + res.stderr, Stdout: res.stdout, Stderr: res.stderr,
		ExitCode: res.code, Success: res.code == 0,
	})
}

func writeComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	var body struct {
		Path, Content, Encoding string
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	data := []byte(body.Content)
	if body.Encoding == "base64" {
		d, err := base64.StdEncoding.DecodeString(body.Content)
		if err != nil {
			return invalid("content", "not valid base64: "+err.Error())
		}
		data = d
	}
	p := abs(body.Path, computerHome)
	if err := cmp.fs.writeFile(p, data, c.now); err != nil {
		return fsFailure(err, p)
	}
	return ok(actionResult{Success: true, Path: p, Message: fmt.Sprintf("wrote %d bytes", len(data))})
}

func downloadComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	p := abs(c.query("path"), computerHome)
	data, err := cmp.fs.readFile(p)
	if err != nil {
		return fsFailure(err, p)
	}
	return binaryReply("application/octet-stream", data)
}

func listComputerFiles(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	p := abs(orDefault(c.query("path"), "/"), computerHome)
	entries, err := cmp.fs.list(p, 1)
	if err != nil {
		return fsFailure(err, p)
	}
	return ok(entries)
}

func deleteComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	p := abs(c.query("path"), computerHome)
	if err := cmp.fs.remove(p, true); err != nil {
		return fsFailure(err, p)
	}
	return noContent()
}

func statComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	var body struct{ Path string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	p := abs(body.Path, computerHome)
	if _, found := cmp.fs.stat(p); !found {
		return fsFailure(errNotExist, p)
	}
	return ok(cmp.fs.entry(p))
}

func mkdirComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	body := struct {
		Path      string
		Recursive bool
		Mode      string
	}{Recursive: true, Mode: "0755"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	p := abs(body.Path, computerHome)
	if err := cmp.fs.mkdir(p, body.Mode, body.Recursive, c.now); err != nil {
		return fsFailure(err, p)
	}
	return ok(actionResult{Success: true, Path: p, Message: "directory created"})
}

func renameComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	var body struct{ From, To string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	from, to := abs(body.From, computerHome), abs(body.To, computerHome)
	if err := cmp.fs.rename(from, to, c.now); err != nil {
		return fsFailure(err, from)
	}
	return ok(actionResult{Success: true, Path: to, Message: "renamed " + from + " to " + to})
}

func copyComputerFile(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	var body struct {
		From, To  string
		Recursive bool
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	from, to := abs(body.From, computerHome), abs(body.To, computerHome)
	if err := cmp.fs.copy(from, to, body.Recursive, c.now); err != nil {
		return fsFailure(err, from)
	}
	return ok(actionResult{Success: true, Path: to, Message: "copied " + from + " to " + to})
}

package mock

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Sandbox files and snapshots.

// sandboxPath resolves a sandbox file path: absolute paths as given,
// relative ones under /workspace (where a sandbox's shell starts).
func sandboxPath(p string) string { return abs(p, sandboxWorkdir) }

func writeSandboxFile(s *state, c *call) reply {
	sb, r := s.runningSandbox(c)
	if r != nil {
		return *r
	}
	var body struct{ Path, Content string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	data, err := base64.StdEncoding.DecodeString(body.Content)
	if err != nil {
		return invalid("content", "must be base64-encoded file content: "+err.Error())
	}
	p := sandboxPath(body.Path)
	if err := sb.fs.writeFile(p, data, c.now); err != nil {
		return fsFailure(err, p)
	}
	return ok(actionResult{Success: true, Path: p, Message: fmt.Sprintf("wrote %d bytes", len(data))})
}

func listSandboxFiles(s *state, c *call) reply {
	sb, r := s.runningSandbox(c)
	if r != nil {
		return *r
	}
	p := sandboxPath(orDefault(c.query("path"), sandboxWorkdir))
	entries, err := sb.fs.list(p, c.queryInt("depth", 1))
	if err != nil {
		return fsFailure(err, p)
	}
	return ok(entries)
}

// readSandboxFile returns the raw bytes, or {data:{content: base64,
// encoding}} when the client asks for JSON only. The path parameter has no
// leading slash ("workspace/app.py" is /workspace/app.py); a path that only
// exists under /workspace is found there too, which is what a caller who
// wrote "app.py" expects.
func readSandboxFile(s *state, c *call) reply {
	sb, r := s.runningSandbox(c)
	if r != nil {
		return *r
	}
	p := abs(c.path("path"), "/")
	data, err := sb.fs.readFile(p)
	if err == errNotExist {
		if alt := sandboxPath(strings.TrimPrefix(c.path("path"), "/")); alt != p {
			if d, altErr := sb.fs.readFile(alt); altErr == nil {
				data, err = d, nil
			}
		}
	}
	if err != nil {
		return fsFailure(err, p)
	}
	accept := c.r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "application/octet-stream") {
		return ok(map[string]string{"content": base64.StdEncoding.EncodeToString(data), "encoding": "base64"})
	}
	return binaryReply("application/octet-stream", data)
}

// sandboxSnapshot is the spec's SandboxSnapshot; it keeps a copy of the
// sandbox filesystem for restores.
type sandboxSnapshot struct {
	meta
	ID               string    `json:"id"`
	SandboxID        string    `json:"sandbox_id"`
	Status           string    `json:"status"`
	Comment          string    `json:"comment,omitempty"`
	Keep             bool      `json:"keep"`
	RetentionSeconds int       `json:"retention_seconds,omitempty"`
	LastUsedAt       time.Time `json:"last_used_at,omitzero"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	CreatedAt        time.Time `json:"created_at,omitzero"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`

	fs *memfs
}

func (sn *sandboxSnapshot) settle(now time.Time) {
	if at, ok := sn.tr.settle(&sn.Status, now); ok {
		sn.UpdatedAt = at
	}
}

func createSandboxSnapshot(s *state, c *call) reply {
	sb, r := s.runningSandbox(c)
	if r != nil {
		return *r
	}
	var body struct {
		Comment           string `json:"comment"`
		Keep              bool   `json:"keep"`
		RetentionSeconds  int    `json:"retention_seconds"`
		ExpirationSeconds int    `json:"expiration_seconds"`
		ExpirationDays    int    `json:"expiration_days"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	id, seq := s.newID("snap_")
	sn := &sandboxSnapshot{
		meta: meta{seq: seq}, ID: id, SandboxID: sb.ID, Comment: body.Comment, Keep: body.Keep,
		RetentionSeconds: body.RetentionSeconds, CreatedAt: c.now, UpdatedAt: c.now, fs: sb.fs.clone(),
	}
	switch {
	case body.ExpirationSeconds > 0:
		sn.ExpiresAt = c.now.Add(time.Duration(body.ExpirationSeconds) * time.Second)
	case body.ExpirationDays > 0:
		sn.ExpiresAt = c.now.AddDate(0, 0, body.ExpirationDays)
	case body.RetentionSeconds > 0 && !body.Keep:
		sn.ExpiresAt = c.now.Add(time.Duration(body.RetentionSeconds) * time.Second)
	}
	c.schedule(&sn.Status, &sn.tr, "creating", "ready")
	sb.snapshots.put(id, sn)
	sb.logs.add(c.now, "snapshot %s started", id)
	return ok(sn)
}

func listSandboxSnapshots(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	items := sb.snapshots.all()
	for _, sn := range items {
		sn.settle(c.now)
	}
	return ok(items)
}

// restoreSandboxSnapshot rolls the sandbox's files back to the snapshot.
func restoreSandboxSnapshot(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	sn, found := sb.snapshots.get(c.path("snapshot_id"))
	if !found {
		return notFound("snapshot", c.path("snapshot_id"))
	}
	sn.settle(c.now)
	if sn.Status != "ready" {
		return invalidState(fmt.Sprintf("snapshot %s is not ready (status %s)", sn.ID, sn.Status))
	}
	if sb.State == "destroyed" {
		return invalidState("sandbox " + sb.ID + " is destroyed")
	}
	sb.fs = sn.fs.clone()
	sn.LastUsedAt = c.now
	if sb.State == "paused" {
		sb.State, sb.Ready, sb.runSince = "running", true, c.now
	}
	sb.logs.add(c.now, "restored snapshot %s", sn.ID)
	return ok(sb)
}

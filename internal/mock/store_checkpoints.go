package mock

import (
	"fmt"
	"time"
)

// checkpoint is a computer snapshot (the spec's Checkpoint). It keeps a
// copy of the computer's filesystem, so restoring one brings files back.
type checkpoint struct {
	meta
	ID                  string    `json:"id"`
	ComputerID          string    `json:"computer_id"`
	TenantID            string    `json:"tenant_id"`
	Comment             string    `json:"comment,omitempty"`
	Status              string    `json:"status"`
	StateSizeBytes      int64     `json:"state_size_bytes"`
	MemorySizeBytes     int64     `json:"memory_size_bytes"`
	RootfsSizeBytes     int64     `json:"rootfs_size_bytes"`
	CompressedSizeBytes int64     `json:"compressed_size_bytes"`
	S3Bucket            string    `json:"s3_bucket"`
	S3Prefix            string    `json:"s3_prefix"`
	ParentSnapshotID    string    `json:"parent_snapshot_id,omitempty"`
	CreatedAt           time.Time `json:"created_at,omitzero"`
	UpdatedAt           time.Time `json:"updated_at,omitzero"`

	fs       *memfs
	template string
	size     string
	name     string
}

func (cp *checkpoint) settle(now time.Time) {
	if at, ok := cp.tr.settle(&cp.Status, now); ok {
		cp.UpdatedAt = at
	}
}

func createCheckpoint(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	var body struct{ Comment string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	id, seq := s.newID("snap_")
	parent := ""
	if prev := cmp.checkpoints.all(); len(prev) > 0 {
		parent = prev[len(prev)-1].ID
	}
	rootfs := 2<<30 + cmp.fs.size()
	cp := &checkpoint{
		meta: meta{seq: seq}, ID: id, ComputerID: cmp.ID, TenantID: tenantID, Comment: body.Comment,
		StateSizeBytes: 64 << 20, MemorySizeBytes: 2 << 30, RootfsSizeBytes: rootfs,
		CompressedSizeBytes: rootfs / 3, S3Bucket: "miosa-snapshots",
		S3Prefix: fmt.Sprintf("%s/%s/%s/", tenantID, cmp.ID, id), ParentSnapshotID: parent,
		CreatedAt: c.now, UpdatedAt: c.now,
		fs: cmp.fs.clone(), template: cmp.TemplateType, size: cmp.Size, name: cmp.Name,
	}
	c.schedule(&cp.Status, &cp.tr, "creating", "ready")
	cmp.checkpoints.put(id, cp)
	cmp.logs.add(c.now, "checkpoint %s started", id)
	return ok(cp)
}

func listCheckpoints(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	items := cmp.checkpoints.all()
	for _, cp := range items {
		cp.settle(c.now)
	}
	return ok(items)
}

func (s *state) checkpoint(c *call) (*computer, *checkpoint, *reply) {
	cmp, r := s.computer(c)
	if r != nil {
		return nil, nil, r
	}
	cp, found := cmp.checkpoints.get(c.path("snapshot_id"))
	if !found {
		nf := notFound("checkpoint", c.path("snapshot_id"))
		return nil, nil, &nf
	}
	cp.settle(c.now)
	return cmp, cp, nil
}

// restoreCheckpoint boots a new computer from the checkpoint (status
// creating, like any new computer) with the checkpoint's files.
func restoreCheckpoint(s *state, c *call) reply {
	cmp, cp, r := s.checkpoint(c)
	if r != nil {
		return *r
	}
	if cp.Status != "ready" {
		return invalidState(fmt.Sprintf("checkpoint %s is not ready (status %s): wait until checkpoint_list shows ready", cp.ID, cp.Status))
	}
	md := map[string]string{"restored_from": cp.ID, "source_computer_id": cmp.ID}
	restored := s.newComputer(c, cp.name+"-restored", cp.template, cp.size, cmp.WorkspaceID, md)
	restored.fs = cp.fs.clone()
	restored.logs.add(c.now, "restoring from checkpoint %s", cp.ID)
	return ok(restored)
}

// deleteCheckpoint answers 200 with the checkpoint marked deleted (the
// spec allows 200 or 204; the body tells the caller what went away).
func deleteCheckpoint(s *state, c *call) reply {
	cmp, cp, r := s.checkpoint(c)
	if r != nil {
		return *r
	}
	cmp.checkpoints.remove(cp.ID)
	cp.Status, cp.UpdatedAt = "deleted", c.now
	cp.tr.cancel()
	return ok(cp)
}

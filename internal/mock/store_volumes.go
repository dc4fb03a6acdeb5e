package mock

import (
	"path"
	"time"
)

// volume is the spec's Volume: persistent block storage, "available" until
// attached to a computer, then "attached".
type volume struct {
	meta
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	TenantID  string    `json:"tenant_id"`
	SizeGB    int       `json:"size_gb"`
	Status    string    `json:"status"`
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// attachment is the spec's VolumeAttachment.
type attachment struct {
	meta
	ID         string    `json:"id"`
	VolumeID   string    `json:"volume_id"`
	ComputerID string    `json:"computer_id"`
	MountPath  string    `json:"mount_path"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
}

func listVolumes(s *state, c *call) reply {
	status := c.query("status")
	items := filter(s.volumes.all(), func(v *volume) bool { return status == "" || v.Status == status })
	page, next, r := cursorOf(items, c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func createVolume(s *state, c *call) reply {
	body := struct {
		Name   string `json:"name"`
		SizeGB int    `json:"size_gb"`
		Region string `json:"region"`
	}{SizeGB: 10, Region: defaultRegion}
	if r := c.bind(&body); r != nil {
		return *r
	}
	for _, v := range s.volumes.all() {
		if v.Name == body.Name {
			return conflict("a volume named " + body.Name + " already exists")
		}
	}
	id, seq := s.newID("vol_")
	v := &volume{meta: meta{seq: seq}, ID: id, Name: body.Name, TenantID: tenantID, SizeGB: body.SizeGB,
		Status: "available", Region: body.Region, CreatedAt: c.now, UpdatedAt: c.now}
	s.volumes.put(id, v)
	return ok(v)
}

func deleteVolume(s *state, c *call) reply {
	id := c.path("volume_id")
	v, found := s.volumes.get(id)
	if !found {
		return notFound("volume", id)
	}
	if v.Status == "attached" {
		return conflict("volume " + id + " is attached to a computer: detach it first")
	}
	s.volumes.remove(id)
	return noContent()
}

// attachVolume mounts the volume on the computer: its mount path appears in
// the computer's filesystem.
func attachVolume(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	var body struct {
		VolumeID  string `json:"volume_id"`
		MountPath string `json:"mount_path"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	v, found := s.volumes.get(body.VolumeID)
	if !found {
		return notFound("volume", body.VolumeID)
	}
	if v.Status == "attached" {
		return conflict("volume " + v.ID + " is already attached")
	}
	mount := path.Clean("/" + orDefault(body.MountPath, "/mnt/"+v.Name))
	if err := cmp.fs.mkdirAll(mount, "0755", c.now); err != nil {
		return fsFailure(err, mount)
	}
	id, seq := s.newID("att_")
	a := &attachment{meta: meta{seq: seq}, ID: id, VolumeID: v.ID, ComputerID: cmp.ID, MountPath: mount, CreatedAt: c.now}
	cmp.attachments.put(id, a)
	v.Status, v.UpdatedAt = "attached", c.now
	cmp.logs.add(c.now, "volume %s mounted at %s", v.ID, mount)
	return ok(a)
}

func detachVolume(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	id := c.path("attachment_id")
	a, found := cmp.attachments.get(id)
	if !found {
		return notFound("volume attachment", id)
	}
	cmp.attachments.remove(id)
	if v, found := s.volumes.get(a.VolumeID); found {
		v.Status, v.UpdatedAt = "available", c.now
	}
	cmp.logs.add(c.now, "volume %s unmounted from %s", a.VolumeID, a.MountPath)
	return noContent()
}

package mock

import (
	"strings"
	"time"
)

// cronJob is the spec's CronJob. The mock never fires jobs on its own (no
// goroutines); run-now executes the command through the exec simulator on
// the target computer or sandbox.
type cronJob struct {
	meta
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	TenantID   string    `json:"tenant_id"`
	Schedule   string    `json:"schedule"`
	Command    string    `json:"command"`
	ComputerID string    `json:"computer_id,omitempty"`
	SandboxID  string    `json:"sandbox_id,omitempty"`
	Status     string    `json:"status"`
	Paused     bool      `json:"paused"`
	LastRunAt  time.Time `json:"last_run_at,omitzero"`
	NextRunAt  time.Time `json:"next_run_at,omitzero"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`

	env map[string]string
}

// validSchedule accepts five- or six-field cron expressions and the
// @hourly-style macros; it does not check field ranges.
func validSchedule(s string) bool {
	if strings.HasPrefix(s, "@") {
		switch s {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@reboot":
			return true
		}
		return strings.HasPrefix(s, "@every ")
	}
	n := len(strings.Fields(s))
	return n == 5 || n == 6
}

// nextRun approximates the next firing as the start of the next minute:
// the mock does not evaluate schedules.
func nextRun(now time.Time) time.Time { return now.Truncate(time.Minute).Add(time.Minute) }

func listCronJobs(s *state, c *call) reply {
	status := c.query("status")
	items := filter(s.cronJobs.all(), func(j *cronJob) bool { return matches(status, j.Status) })
	page, next, r := cursorOf(items, c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func createCronJob(s *state, c *call) reply {
	var body struct {
		Schedule   string            `json:"schedule"`
		Command    string            `json:"command"`
		Name       string            `json:"name"`
		ComputerID string            `json:"computer_id"`
		SandboxID  string            `json:"sandbox_id"`
		Env        map[string]string `json:"env"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if !validSchedule(body.Schedule) {
		return invalid("schedule", "must be a cron expression such as '*/5 * * * *' or a macro such as @hourly")
	}
	if body.ComputerID != "" {
		if _, found := s.computers.get(body.ComputerID); !found {
			return notFound("computer", body.ComputerID)
		}
	}
	if body.SandboxID != "" {
		if _, found := s.sandboxes.get(body.SandboxID); !found {
			return notFound("sandbox", body.SandboxID)
		}
	}
	id, seq := s.newID("cron_")
	j := &cronJob{
		meta: meta{seq: seq}, ID: id, Name: orDefault(body.Name, "cron-"+id[len(id)-4:]), TenantID: tenantID,
		Schedule: body.Schedule, Command: body.Command, ComputerID: body.ComputerID, SandboxID: body.SandboxID,
		Status: "active", NextRunAt: nextRun(c.now), CreatedAt: c.now, UpdatedAt: c.now, env: body.Env,
	}
	s.cronJobs.put(id, j)
	return ok(j)
}

func (s *state) cronJob(c *call) (*cronJob, *reply) {
	id := c.path("cron_job_id")
	j, found := s.cronJobs.get(id)
	if !found {
		r := notFound("cron job", id)
		return nil, &r
	}
	return j, nil
}

func deleteCronJob(s *state, c *call) reply {
	j, r := s.cronJob(c)
	if r != nil {
		return *r
	}
	s.cronJobs.remove(j.ID)
	return noContent()
}

func pauseCronJob(s *state, c *call) reply {
	j, r := s.cronJob(c)
	if r != nil {
		return *r
	}
	j.Status, j.Paused, j.NextRunAt, j.UpdatedAt = "paused", true, time.Time{}, c.now
	return ok(j)
}

func resumeCronJob(s *state, c *call) reply {
	j, r := s.cronJob(c)
	if r != nil {
		return *r
	}
	j.Status, j.Paused, j.NextRunAt, j.UpdatedAt = "active", false, nextRun(c.now), c.now
	return ok(j)
}

// cronExecution is the spec's CronExecution.
type cronExecution struct {
	ID         string    `json:"id"`
	CronJobID  string    `json:"cron_job_id"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	ExitCode   int       `json:"exit_code"`
	Output     string    `json:"output"`
	Error      string    `json:"error,omitempty"`
}

// runCronJob runs the job now on its target (a job without one runs on a
// scratch filesystem). A target that is gone or not running fails the
// execution, not the request, as a scheduler would report it.
func runCronJob(s *state, c *call) reply {
	j, r := s.cronJob(c)
	if r != nil {
		return *r
	}
	env := map[string]string{}
	for k, v := range j.env {
		env[k] = v
	}
	sh := &shell{fs: newFS(c.now, "/tmp", "/home/user"), cwd: "/home/user", home: "/home/user", user: "user", host: "cron", env: env, now: c.now}
	errMsg := ""
	switch {
	case j.ComputerID != "":
		cmp, found := s.computers.get(j.ComputerID)
		if found {
			cmp.settle(c.now)
		}
		switch {
		case !found:
			errMsg = "target computer " + j.ComputerID + " no longer exists"
		case cmp.Status != "running":
			errMsg = "target computer " + j.ComputerID + " is " + cmp.Status
		default:
			sh.fs, sh.cwd, sh.home, sh.host = cmp.fs, computerHome, computerHome, cmp.Slug
		}
	case j.SandboxID != "":
		sb, found := s.sandboxes.get(j.SandboxID)
		if found {
			sb.settle(c.now)
		}
		switch {
		case !found:
			errMsg = "target sandbox " + j.SandboxID + " no longer exists"
		case sb.State != "running":
			errMsg = "target sandbox " + j.SandboxID + " is " + sb.State
		default:
			sh.fs, sh.cwd, sh.host = sb.fs, sandboxWorkdir, sb.Slug
		}
	}
	id, _ := s.newID("exe_")
	ex := cronExecution{ID: id, CronJobID: j.ID, StartedAt: c.now, FinishedAt: c.now.Add(120 * time.Millisecond)}
	if errMsg != "" {
		ex.Status, ex.ExitCode, ex.Error = "failed", 1, errMsg
	} else {
		res := sh.run(j.Command)
		ex.ExitCode, ex.Output = res.code, res.stdout+res.stderr
		ex.Status = "succeeded"
		if res.code != 0 {
			ex.Status, ex.Error = "failed", "command exited with status "+itoa(res.code)
		}
	}
	j.LastRunAt, j.UpdatedAt = c.now, c.now
	return ok(ex)
}

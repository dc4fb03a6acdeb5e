package fakemodel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of the driver, each named once.
const (
	// DefaultPollDelay is how long the model "thinks" before each repeat of
	// a polling step, so a poll loop waits for the mock's boot delay
	// (mock.DefaultReadyAfter, 1 s) in at most three calls: Gemini CLI
	// stops a session that repeats one tool call with the same arguments
	// five times in a row ("Loop detected").
	DefaultPollDelay = 600 * time.Millisecond
	// DefaultMaxPolls bounds a polling step (4 calls, 1.8 s): the mock is
	// ready after the third.
	DefaultMaxPolls = 4
	// maxSearches bounds the tool-search calls that load deferred tools.
	maxSearches = 8
)

// Options configures a Server.
type Options struct {
	Dialect Dialect
	Script  *Script
	Variant Variant
	// Instructions are the initialize instructions the server sent; the
	// recording says how much of them reached the model.
	Instructions string
	// Tools are the server's tool names: what a tool search asks for when
	// the client does not list the deferred names (Codex).
	Tools []string
	// PollDelay and MaxPolls override the defaults above.
	PollDelay time.Duration
	MaxPolls  int
	// DumpDir, when set, receives every request body (NNN-path.json), for
	// debugging a client's protocol.
	DumpDir string
}

// Server is one fake model for one client session. It is an http.Handler.
type Server struct {
	opts Options
	d    dialect

	mu  sync.Mutex
	rec Recording
	// driver state
	loading  bool // still loading deferred tools
	lastDef  int  // deferred count before the last search
	wi, si   int  // current workflow and step
	attempts int  // calls made for the current step
	pending  *action
	seq      int
	dumps    int
	earlier  []string // result texts of the current workflow
}

// New returns a fake model that replays opts.Script.
func New(opts Options) *Server {
	if opts.PollDelay == 0 {
		opts.PollDelay = DefaultPollDelay
	}
	if opts.MaxPolls == 0 {
		opts.MaxPolls = DefaultMaxPolls
	}
	s := &Server{opts: opts, d: dialects[opts.Dialect], loading: true}
	if s.d == nil {
		panic("fakemodel: unknown dialect " + string(opts.Dialect))
	}
	s.rec.Tools = map[string]ToolDef{}
	return s
}

// Recording returns a copy of what the server has seen so far.
func (s *Server) Recording() Recording {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rec
	r.Workflows = slices.Clone(r.Workflows)
	for i := range r.Workflows {
		r.Workflows[i].Steps = slices.Clone(r.Workflows[i].Steps)
	}
	return r
}

// ServeHTTP answers one model request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.opts.DumpDir != "" {
		s.mu.Lock()
		s.dumps++
		n := s.dumps
		s.mu.Unlock()
		name := fmt.Sprintf("%03d-%s.json", n, strings.Trim(strings.NewReplacer("/", "_", ":", "_").Replace(r.URL.Path), "_"))
		_ = os.WriteFile(filepath.Join(s.opts.DumpDir, name), body, 0o644)
	}
	kind := s.d.route(r)
	switch kind {
	case routeNone:
		s.note("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	case routeOK:
		w.WriteHeader(http.StatusOK)
		return
	case routeCount:
		s.count(func(r *Recording) { r.CountRequests++ })
		s.d.writeCount(w, len(body)/4+1)
		return
	}
	t, err := s.d.parse(r, body)
	if err != nil {
		s.note("%s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !t.main {
		s.count(func(r *Recording) { r.SideRequests++ })
		s.d.write(w, t, action{text: t.sideAnswer})
		return
	}
	a := s.step(t, len(body))
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	s.d.write(w, t, a)
}

func (s *Server) count(f func(*Recording)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.rec)
}

func (s *Server) note(format string, args ...any) {
	s.count(func(r *Recording) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) })
}

// step records a main-loop request and decides the model's next move.
func (s *Server) step(t *turn, size int) action {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe(t, size)
	if p := s.pending; p != nil {
		res, ok := t.results[p.callID]
		if !ok {
			// A retry, or a request that does not carry the answer yet:
			// answer the same call again; the client has not run it.
			return *p
		}
		s.pending = nil
		if p.tool != "" {
			s.finish(p, res)
		}
	}
	if s.loading {
		if a, ok := s.search(t); ok {
			return s.emit(a)
		}
		s.loading = false
		s.rec.LoadedAfterSearch = len(s.rec.Tools)
	}
	return s.next()
}

// observe records the tool definitions and instructions of a request.
func (s *Server) observe(t *turn, size int) {
	r := &s.rec
	r.MainRequests++
	first := r.MainRequests == 1
	for name, def := range t.tools {
		r.Tools[name] = def
	}
	if first {
		r.FirstRequestBytes = size
		r.ToolsAtStart = len(t.tools)
		r.DeferredAtStart = len(t.deferred)
		if t.deferredNamespace {
			r.DeferredAtStart = len(s.opts.Tools) - len(t.tools)
		}
	}
	if n := longestPrefix(s.opts.Instructions, t.strings); first {
		r.InstructionsAtStart = n
		r.InstructionsMax = n
	} else if n > r.InstructionsMax {
		r.InstructionsMax = n
	}
}

// search returns the tool search that loads the tools still deferred.
func (s *Server) search(t *turn) (action, bool) {
	var want []string
	switch {
	case !t.canSearch:
		return action{}, false
	case t.deferredNamespace:
		for _, n := range s.opts.Tools {
			if _, ok := t.tools[n]; !ok {
				want = append(want, n)
			}
		}
		if len(t.tools) > 0 {
			want = nil // the namespace was searched: what it lacks is not deferred
		}
	default:
		want = t.deferred
	}
	if len(want) == 0 || s.rec.Searches >= maxSearches || (s.rec.Searches > 0 && len(want) >= s.lastDef) {
		return action{}, false
	}
	s.lastDef = len(want)
	s.rec.Searches++
	return action{search: want}, true
}

// next returns the call for the current step, or the final answer.
func (s *Server) next() action {
	wfs := s.opts.Script.Workflows
	for s.wi < len(wfs) {
		w := wfs[s.wi]
		steps := w.steps(s.opts.Variant)
		if s.si == 0 && s.attempts == 0 && (len(s.rec.Workflows) <= s.wi) {
			s.rec.Workflows = append(s.rec.Workflows, WorkflowRecord{Name: w.Name, Start: time.Now()})
		}
		if s.si >= len(steps) {
			s.rec.Workflows[s.wi].End = time.Now()
			s.wi, s.si, s.attempts, s.earlier = s.wi+1, 0, 0, nil
			continue
		}
		st := steps[s.si]
		a := action{tool: st.Call, args: s.opts.Script.args(st, s.opts.Variant, s.earlier)}
		if s.attempts > 0 {
			a.delay = s.opts.PollDelay
		}
		return s.emit(a)
	}
	s.rec.Done = true
	return action{text: "Done: the four workflows ran; see the tool results above."}
}

func (s *Server) emit(a action) action {
	s.seq++
	a.callID = fmt.Sprintf("fake_call_%03d", s.seq)
	s.pending = &a
	return a
}

// finish records the result of the current step's call and advances.
func (s *Server) finish(p *action, res Result) {
	w := s.opts.Script.Workflows[s.wi]
	st := w.steps(s.opts.Variant)[s.si]
	wr := &s.rec.Workflows[s.wi]
	s.attempts++
	s.earlier = append(s.earlier, res.Text)
	rec := StepRecord{
		Call: st.Call, Args: argsJSON(p.args),
		Premise: st.Premise != "", Attempts: s.attempts, IsError: res.IsError,
		Text: res.Text, Images: res.Images, Image: st.Image,
	}
	switch {
	case res.IsError:
		rec.Failure = "tool error: " + clip(res.Text, 400)
	case st.until != nil && !st.until.MatchString(res.Text):
		if s.attempts < s.opts.MaxPolls {
			return // poll again
		}
		rec.Failure = fmt.Sprintf("after %d polls the result still does not match %q: %s", s.attempts, st.Until, clip(res.Text, 300))
	case st.expect != nil && !st.expect.MatchString(res.Text):
		rec.Failure = fmt.Sprintf("result does not match %q: %s", st.Expect, clip(res.Text, 300))
	case st.Image && !hasPNG(res.Images):
		rec.Failure = "no image/png block reached the model: " + clip(res.Text, 300)
	}
	wr.Steps = append(wr.Steps, rec)
	s.si++
	s.attempts = 0
}

func hasPNG(imgs []Image) bool {
	for _, im := range imgs {
		if im.MIME == "image/png" && bytes.HasPrefix(im.Data, []byte("\x89PNG\r\n\x1a\n")) {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// longestPrefix is the length in bytes of the longest prefix of want that
// occurs in one of texts (0 when want is empty or its first byte is absent).
func longestPrefix(want string, texts []string) int {
	best := 0
	for _, t := range texts {
		if best == len(want) {
			break
		}
		if !strings.Contains(t, want[:min(len(want), best+1)]) {
			continue
		}
		lo, hi := best+1, len(want) // invariant: want[:lo] occurs in t
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if strings.Contains(t, want[:mid]) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		best = lo
	}
	return best
}

// Recording is what one session sent to the model.
type Recording struct {
	MainRequests, SideRequests, CountRequests int
	FirstRequestBytes                         int
	// ToolsAtStart counts the MCP tools defined in the first request;
	// DeferredAtStart those named there but loaded only by a tool search.
	ToolsAtStart, DeferredAtStart int
	Searches                      int
	LoadedAfterSearch             int
	// Tools are the MCP tool definitions as the client last sent them,
	// by server tool name.
	Tools map[string]ToolDef
	// InstructionsAtStart is how many bytes of the server instructions
	// (the longest prefix) the first request carried; InstructionsMax the
	// most any request carried (Codex shows them after a tool search).
	InstructionsAtStart, InstructionsMax int
	Workflows                            []WorkflowRecord
	Done                                 bool
	Problems                             []string
}

// WorkflowRecord is one workflow's calls and timing.
type WorkflowRecord struct {
	Name       string
	Start, End time.Time
	Steps      []StepRecord
}

// Duration is the wall time from the first call to the last result.
func (w WorkflowRecord) Duration() time.Duration {
	if w.End.IsZero() {
		return 0
	}
	return w.End.Sub(w.Start)
}

// Failures lists why the workflow did not complete ("" steps passed).
func (w WorkflowRecord) Failures() []string {
	var out []string
	for _, st := range w.Steps {
		if st.Failure != "" {
			out = append(out, fmt.Sprintf("%s(%s): %s", st.Call, st.Args, st.Failure))
		}
	}
	if w.End.IsZero() {
		out = append(out, "the workflow did not finish")
	}
	return out
}

// StepRecord is one step's last call and its result.
type StepRecord struct {
	Call     string
	Args     string // JSON, as sent
	Premise  bool
	Attempts int
	IsError  bool
	Text     string
	Images   []Image
	Image    bool   // the step expects an image
	Failure  string // empty when the step passed
}

// ToolDef is one MCP tool definition as the client sent it to the model.
type ToolDef struct {
	Name   string          // the server's tool name, the client's prefix removed
	Raw    json.RawMessage // the whole definition object, compacted
	Schema json.RawMessage // its parameter schema
}

// Result is a tool result as the client forwarded it to the model.
type Result struct {
	Text    string // every text block, joined by newlines
	IsError bool
	Images  []Image
}

// Image is an image block of a tool result.
type Image struct {
	MIME string
	Data []byte
}

// Dialect names a model API.
type Dialect string

// The dialects, one file each.
const (
	Anthropic Dialect = "anthropic" // Messages API with SSE (Claude Code)
	Gemini    Dialect = "gemini"    // generateContent / streamGenerateContent (Gemini CLI)
	Responses Dialect = "responses" // OpenAI Responses API with SSE (Codex)
)

var dialects = map[Dialect]dialect{
	Anthropic: anthropicDialect{},
	Gemini:    geminiDialect{},
	Responses: responsesDialect{},
}

type route int

const (
	routeNone  route = iota // not a model endpoint
	routeOK                 // a probe: answer 200
	routeCount              // token counting
	routeModel              // a model turn
)

// dialect is one model API.
type dialect interface {
	route(r *http.Request) route
	parse(r *http.Request, body []byte) (*turn, error)
	write(w http.ResponseWriter, t *turn, a action)
	writeCount(w http.ResponseWriter, tokens int)
}

// turn is one parsed model request.
type turn struct {
	main       bool   // the agent loop (it offers our tools), not a side request
	sideAnswer string // what to answer a side request
	stream     bool
	model      string
	// tools are the MCP tools defined in the request, by server name.
	tools map[string]ToolDef
	// deferred are MCP tools named but not defined (behind a tool search).
	deferred []string
	// deferredNamespace: the client names the server's tools as a deferred
	// namespace without listing them (Codex).
	deferredNamespace bool
	canSearch         bool
	// strings are every string of the request: where the instructions are
	// looked for.
	strings []string
	// results are the tool results in the history, by call id.
	results map[string]Result
}

// action is the model's answer.
type action struct {
	callID string
	tool   string         // server tool name of a call
	args   map[string]any // its arguments
	search []string       // tools to load with the client's tool search
	text   string         // a final answer
	delay  time.Duration
}

// collectStrings appends every string inside a decoded JSON value.
func collectStrings(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = collectStrings(e, out)
		}
	case map[string]any:
		for _, e := range x {
			out = collectStrings(e, out)
		}
	}
	return out
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Package fakemodel is a scripted stand-in for the model behind a real MCP
// client (Claude Code, Gemini CLI, Codex). It speaks each client's model API
// (one file per dialect), replays the MIOSA docs' usage examples as tool
// calls, and records what the client sent: the tool definitions, the server
// instructions as the model sees them, and every tool result.
//
// The script is data (test/clients/workflows.yaml); this file holds its
// types and the dialect-neutral driver that turns a conversation into the
// next tool call.
package fakemodel

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Variant selects how the script fills in ids.
type Variant string

const (
	// AsWritten sends each call with exactly the arguments the docs write.
	AsWritten Variant = "as-written"
	// WithIDs adds the ids the docs leave out (a step's with_ids) and the
	// steps the API needs that the docs skip (only: with-ids).
	WithIDs Variant = "with-ids"
)

// Variants lists both, in the order the suite runs them.
var Variants = []Variant{AsWritten, WithIDs}

// Script is workflows.yaml: the docs' usage examples and the values that
// later calls take from earlier results.
type Script struct {
	// Values are the placeholders a step's arguments may name as $name.
	Values map[string]Value `yaml:"values"`
	// Workflows run in order, in one session, as a user would ask for them.
	Workflows []Workflow `yaml:"workflows"`
}

// Value is a placeholder: the latest match of Pattern in this workflow's
// earlier tool results, or Docs (the docs' own placeholder, e.g. "sbx_...")
// when nothing matched, so the call goes out as the docs write it.
type Value struct {
	Pattern string `yaml:"pattern"`
	Docs    string `yaml:"docs"`
	re      *regexp.Regexp
}

// Workflow is one usage example of the docs page.
type Workflow struct {
	Name   string `yaml:"name"`
	Prompt string `yaml:"prompt"` // the docs' "You:" line
	Docs   string `yaml:"docs"`   // the docs' sentence the steps replay
	Steps  []Step `yaml:"steps"`
}

// Step is one tool call (repeated while Until does not match).
type Step struct {
	Call string         `yaml:"call"`
	Args map[string]any `yaml:"args"` // as the docs write them
	// WithIDs is merged into Args in the with-ids variant.
	WithIDs map[string]any `yaml:"with_ids"`
	// Only limits the step to one variant.
	Only Variant `yaml:"only"`
	// Premise marks a step that sets up what the docs take for granted
	// (e.g. "the sandbox" with the app in it). It is not one of the docs'
	// calls and must pass in every variant.
	Premise string `yaml:"premise"`
	// Until repeats a successful call (a poll) until its result matches.
	Until string `yaml:"until"`
	// Expect must match the result text (e.g. "exit_code":0).
	Expect string `yaml:"expect"`
	// Image requires an image/png block in the result the model received.
	Image bool `yaml:"image"`
	// Note says which words of the docs the step stands for.
	Note string `yaml:"note"`

	until, expect *regexp.Regexp
}

// LoadScript reads and checks workflows.yaml.
func LoadScript(path string) (*Script, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseScript(b)
}

// ParseScript decodes and checks a script.
func ParseScript(b []byte) (*Script, error) {
	var s Script
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("workflows: %w", err)
	}
	for name, v := range s.Values {
		re, err := regexp.Compile(v.Pattern)
		if err != nil || v.Pattern == "" || v.Docs == "" {
			return nil, fmt.Errorf("workflows: value %s: want a valid pattern and the docs' placeholder (%v)", name, err)
		}
		v.re = re
		s.Values[name] = v
	}
	if len(s.Workflows) == 0 {
		return nil, fmt.Errorf("workflows: none")
	}
	seen := map[string]bool{}
	for wi := range s.Workflows {
		w := &s.Workflows[wi]
		if w.Name == "" || seen[w.Name] || len(w.Steps) == 0 {
			return nil, fmt.Errorf("workflows: workflow %d: want a unique name and steps", wi)
		}
		seen[w.Name] = true
		for si := range w.Steps {
			st := &w.Steps[si]
			if err := s.checkStep(st); err != nil {
				return nil, fmt.Errorf("workflows: %s step %d (%s): %w", w.Name, si+1, st.Call, err)
			}
		}
	}
	return &s, nil
}

func (s *Script) checkStep(st *Step) error {
	if st.Call == "" {
		return fmt.Errorf("no call")
	}
	if st.Expect == "" && st.Until == "" && !st.Image {
		return fmt.Errorf("no expect, until or image: the step would pass on a missing error flag alone")
	}
	if st.Only != "" && st.Only != AsWritten && st.Only != WithIDs {
		return fmt.Errorf("only: %q is not a variant", st.Only)
	}
	var err error
	if st.Until != "" {
		if st.until, err = regexp.Compile(st.Until); err != nil {
			return err
		}
	}
	if st.Expect != "" {
		if st.expect, err = regexp.Compile(st.Expect); err != nil {
			return err
		}
	}
	for _, args := range []map[string]any{st.Args, st.WithIDs} {
		for _, v := range args {
			if name, ok := placeholder(v); ok {
				if _, known := s.Values[name]; !known {
					return fmt.Errorf("unknown value $%s", name)
				}
			}
		}
	}
	return nil
}

// placeholder reports whether v is "$name".
func placeholder(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || len(s) < 2 || s[0] != '$' {
		return "", false
	}
	return s[1:], true
}

// Steps returns the workflow's steps for a variant.
func (w Workflow) steps(v Variant) []Step {
	var out []Step
	for _, st := range w.Steps {
		if st.Only == "" || st.Only == v {
			out = append(out, st)
		}
	}
	return out
}

// args builds a call's arguments: the docs' arguments (plus with_ids in the
// with-ids variant), placeholders resolved against earlier results of the
// same workflow (newest first).
func (s *Script) args(st Step, v Variant, earlier []string) map[string]any {
	out := maps.Clone(st.Args)
	if out == nil {
		out = map[string]any{}
	}
	if v == WithIDs {
		maps.Copy(out, st.WithIDs)
	}
	for k, val := range out {
		name, ok := placeholder(val)
		if !ok {
			continue
		}
		def := s.Values[name]
		out[k] = def.Docs
		for _, text := range slices.Backward(earlier) {
			if m := def.re.FindAllString(text, -1); len(m) > 0 {
				out[k] = m[len(m)-1]
				break
			}
		}
	}
	return out
}

// Prompt is the user turn that starts a session: the docs' "You:" lines.
func (s *Script) Prompt() string {
	var b strings.Builder
	b.WriteString("Please do these in order, using the MIOSA tools:")
	for i, w := range s.Workflows {
		fmt.Fprintf(&b, "\n%d. %s", i+1, w.Prompt)
	}
	return b.String()
}

// ToolNames lists every tool a script calls, for the suite's sanity checks.
func (s *Script) ToolNames() []string {
	set := map[string]bool{}
	for _, w := range s.Workflows {
		for _, st := range w.Steps {
			set[st.Call] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// argsJSON is a stable rendering of arguments for reports.
func argsJSON(a map[string]any) string {
	b, _ := json.Marshal(a)
	return string(b)
}

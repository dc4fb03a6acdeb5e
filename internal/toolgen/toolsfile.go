package toolgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// ToolsFile is tools.yaml: the mapping from API operations to MCP tools. Every
// per-tool behaviour (renamed, hidden, fixed and defaulted arguments, result
// kind, waiting, composite handlers) is declared here rather than in Go, so
// that the generated code stays a mechanical function of this file and the spec.
type ToolsFile struct {
	Version      int                `yaml:"version"`
	Budget       Budget             `yaml:"budget"`
	Instructions string             `yaml:"instructions"`
	Profiles     map[string]Profile `yaml:"profiles"`
	Toolsets     []Toolset          `yaml:"toolsets"`
	Excluded     []Exclusion        `yaml:"excluded"`
	Hints        Hints              `yaml:"hints"`
	// Resources are the kinds of resource an id argument can name, by
	// kind (computer, sandbox, …): a call that omits such an id uses the
	// session's current one or the only running one (issue #11).
	Resources map[string]ResourceSpec `yaml:"resources"`
}

// ResourceSpec declares one kind of resource for the resource context
// (runtime.Resource): which path parameter names one, the tools that list
// and create them, and where a list item keeps its id, name and status.
type ResourceSpec struct {
	// Param is the API path parameter that names a resource of this kind
	// (computer_id); every tool with it takes part.
	Param string `yaml:"param"`
	// List is the tool whose answer gives the candidates (one call, one
	// page); Create the tool that makes one (named in errors).
	List   string `yaml:"list"`
	Create string `yaml:"create"`
	// Created is the dotted path of the new id in Create's answer
	// (default data.id).
	Created string `yaml:"created"`
	// ID, Name and Status are a list item's fields (default id, name,
	// status; Status "-" when items have none).
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Status string `yaml:"status"`
	// Running are the statuses that make a candidate; Starting those of
	// one on its way there, used only when none is running.
	Running  []string `yaml:"running"`
	Starting []string `yaml:"starting"`
}

// Hints are the catalog's advice that the runtime adds to result and error
// texts (runtime.Hints): where the way out of a situation is another tool,
// the catalog names it, so the runtime names none. Each is a sentence.
type Hints struct {
	FileTooLong     string `yaml:"file_too_long"`
	FileTooLarge    string `yaml:"file_too_large"`
	PaymentRequired string `yaml:"payment_required"`
	Timeout         string `yaml:"timeout"`
}

// Budget caps the cost of tools/list in cl100k tokens. Zero means unchecked.
type Budget struct {
	TotalTokens int `yaml:"total_tokens"`
	ToolTokens  int `yaml:"tool_tokens"`
}

// Profile is a named selection of tools that can be used wherever a toolset
// name is accepted (e.g. --toolsets core for editors that cap tool counts).
type Profile struct {
	Description string   `yaml:"description"`
	Tools       []string `yaml:"tools"`
}

// Toolset groups tools; its guide feeds the initialize instructions.
type Toolset struct {
	Name  string     `yaml:"name"`
	Title string     `yaml:"title"`
	Guide string     `yaml:"guide"`
	Tools []ToolSpec `yaml:"tools"`
}

// ToolSpec is one tools.yaml tool entry.
type ToolSpec struct {
	Name        string              `yaml:"name"`
	Operation   string              `yaml:"operation"`
	Title       string              `yaml:"title"`
	Description string              `yaml:"description"`
	Args        map[string]ArgSpec  `yaml:"args"`
	Annotations *AnnotationSpec     `yaml:"annotations"`
	Result      string              `yaml:"result"`
	Logs        bool                `yaml:"logs"`
	Wait        *WaitSpec           `yaml:"wait"`
	Handler     string              `yaml:"handler"`
	ExtraArgs   map[string]ExtraArg `yaml:"extra_args"`
	Errors      []ErrorSpec         `yaml:"errors"`
	Local       *LocalSpec          `yaml:"local"`
	// Fallback says what a call that omits the tool's resource id does:
	// full (the session's current one, else the only running one), none
	// (the id is required) or handler (the composite decides). Default:
	// none for a DELETE, full otherwise.
	Fallback string `yaml:"fallback"`

	line int
}

// LocalSpec gives a tool a local-file argument (issue #12): over stdio the
// server reads the bytes of an upload from, or writes a download to, a
// path on the user's machine, so they never pass through the model. Over
// HTTP the argument does not exist.
type LocalSpec struct {
	// Arg is the tool argument holding the local path (local_path, save_to).
	Arg string `yaml:"arg"`
	// Direction is upload (the file's bytes are sent) or download (the
	// answer's bytes are saved).
	Direction string `yaml:"direction"`
	// Field is, for an upload, the API field that receives the bytes (a
	// JSON body property, or content for a raw body); for a download, the
	// dotted path of the bytes in a JSON answer (any other answer is the
	// bytes). A download without it takes the body.
	Field string `yaml:"field"`
	// Encoding is how the bytes travel: base64 (a JSON string) or binary
	// (the raw body).
	Encoding string `yaml:"encoding"`
	// Remote is the API field naming the remote file: an uploaded
	// directory's files go below it, keeping their relative paths, and a
	// download saved into a directory takes its base name.
	Remote string `yaml:"remote"`
	// Set are JSON body fields sent with a local upload (e.g. encoding:
	// base64), overriding the caller's.
	Set map[string]any `yaml:"set"`
	// Description replaces the generated description of Arg.
	Description string `yaml:"description"`
}

// ArgSpec customises one API parameter or top-level body property, keyed by
// its API name.
type ArgSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
	EnvDefault  string `yaml:"env_default"`
	Required    bool   `yaml:"required"`
	Transform   string `yaml:"transform"`
	Fixed       any    `yaml:"fixed"`
	Hide        bool   `yaml:"hide"`
}

// ExtraArg is a tool argument that is not an API field (composite tools).
type ExtraArg struct {
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
	Minimum     *int   `yaml:"minimum"`
	Maximum     *int   `yaml:"maximum"`
}

// AnnotationSpec overrides the method-derived MCP tool annotations.
type AnnotationSpec struct {
	ReadOnly    *bool `yaml:"read_only"`
	Destructive *bool `yaml:"destructive"`
	Idempotent  *bool `yaml:"idempotent"`
	OpenWorld   *bool `yaml:"open_world"`
}

// WaitSpec makes a tool accept wait/wait_timeout_sec and poll a GET operation
// until the resource reaches a ready status.
type WaitSpec struct {
	Operation string   `yaml:"operation"`
	ID        string   `yaml:"id"`
	Field     string   `yaml:"field"`
	Ready     []string `yaml:"ready"`
	Failed    []string `yaml:"failed"`
}

// ErrorSpec replaces the error text for matching upstream errors.
type ErrorSpec struct {
	Status   int    `yaml:"status"`
	Code     string `yaml:"code"`
	Contains string `yaml:"contains"`
	Message  string `yaml:"message"`
}

// Exclusion documents a spec operation deliberately not exposed as a tool.
type Exclusion struct {
	Operation string `yaml:"operation"`
	Reason    string `yaml:"reason"`
}

// ParseToolsFile decodes tools.yaml strictly: unknown keys, duplicate keys and
// trailing documents are errors that name the line.
func ParseToolsFile(name string, data []byte) (*ToolsFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f ToolsFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, errors.New(cleanYAMLError(name, err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: only one YAML document is allowed", name)
	}
	// Record each tool's line for error messages.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		lines := toolLines(&root)
		for i := range f.Toolsets {
			for j := range f.Toolsets[i].Tools {
				t := &f.Toolsets[i].Tools[j]
				t.line = lines[t.Name]
			}
		}
	}
	return &f, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+): field (\S+) not found in type toolgen\.(\w+)`)

var yamlTypeNames = map[string]string{
	"ToolsFile": "the top level", "Toolset": "a toolset", "ToolSpec": "a tool", "ArgSpec": "an args entry",
	"ExtraArg": "an extra_args entry", "AnnotationSpec": "annotations", "WaitSpec": "wait", "Budget": "budget",
	"Profile": "a profile", "Exclusion": "an excluded entry", "ErrorSpec": "an errors entry", "LocalSpec": "local",
	"ResourceSpec": "a resources entry",
}

// cleanYAMLError turns yaml.v3's Go-flavoured messages into ones that name
// the line and the tools.yaml concept instead of a Go type.
func cleanYAMLError(name string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	var out []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if m := yamlLineRE.FindStringSubmatch(line); m != nil {
			what := yamlTypeNames[m[3]]
			if what == "" {
				what = m[3]
			}
			line = fmt.Sprintf("%s:%s: unknown key %q in %s", name, m[1], m[2], what)
		} else if rest, ok := strings.CutPrefix(line, "line "); ok {
			line = name + ":" + strings.Replace(rest, ": ", ": ", 1)
		} else {
			line = name + ": " + strings.TrimPrefix(line, "yaml: ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// toolLines maps tool names to the line of their `name:` key.
func toolLines(n *yaml.Node) map[string]int {
	out := map[string]int{}
	var walk func(*yaml.Node, bool)
	walk = func(n *yaml.Node, inTools bool) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, inTools)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if inTools && k.Value == "name" && v.Kind == yaml.ScalarNode {
					out[v.Value] = k.Line
				}
				walk(v, k.Value == "tools")
			}
		}
	}
	walk(n, false)
	return out
}

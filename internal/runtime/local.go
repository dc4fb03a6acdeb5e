package runtime

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/miosa-osa/miosa-mcp/internal/localfs"
)

// Local files (issue #12): over stdio the tools that move bytes take a
// local path instead of inline content (tools.yaml `local:`), so a build
// output or a download never passes through the model.
//
//   - Uploads (local_path): a file is streamed into the request body,
//     base64-encoded on the fly where the API wants a JSON string
//     (local_body.go); a directory uploads its files one request each,
//     below the remote path, keeping relative paths, with a progress
//     notification per file when the client sent a progress token.
//   - Downloads (save_to): the answer is streamed to a temporary file next
//     to the target and renamed over it (local_save.go); the result holds
//     only the path, size, sha256 and MIME type.
//   - Exactly one of the inline field and the local argument is given.
//   - Paths are confined to the client's roots, asked with roots/list
//     (local_roots.go), or without roots to the working directory and
//     --allow-dir; internal/localfs enforces it.
//   - Never over HTTP, nor with --no-local-files: the arguments are not in
//     the schemas, and a call that sends one anyway is refused before
//     anything is sent.
//
// The hooks into the call pipeline: Server.setupLocal (NewServer: the
// stdio schemas and the list_changed handler), refuseLocal (execute,
// before validation), localCall (execute, before the upstream request),
// Call.saving (fetch: the answer goes to the file, not to memory), and
// Call.value (the remote path of each file of a tree).

// LocalFiles turns on the local-file arguments of a stdio server
// (Options.LocalFiles); zero fields take the defaults.
type LocalFiles struct {
	// WorkDir is where relative paths resolve and, when the client has no
	// roots, the first allowed directory (the server's working directory:
	// editors start servers in the project).
	WorkDir string
	// AllowDirs are allowed besides WorkDir when the client has no roots.
	AllowDirs []string
	// Home expands "~/" ("" leaves it as written).
	Home string
	// MaxBytes caps the bytes of one call (DefaultLocalMaxBytes).
	MaxBytes int64
	// MaxFiles caps the files of one directory upload (DefaultLocalMaxFiles).
	MaxFiles int
}

// The settings quoted when a local-file limit is hit.
const (
	localBytesSetting = "--local-max-bytes / MIOSA_LOCAL_MAX_BYTES"
	localFilesSetting = "--local-max-files / MIOSA_LOCAL_MAX_FILES"
)

// setupLocal turns local files on for a stdio server with LocalFiles set:
// it returns the tools with their local input schemas (copies: the
// caller's catalog is not changed) and follows roots/list_changed.
func (s *Server) setupLocal(o Options) []Tool {
	if o.Mode != ModeStdio || o.LocalFiles == nil {
		return o.Tools
	}
	lf := *o.LocalFiles
	if lf.MaxBytes <= 0 {
		lf.MaxBytes = DefaultLocalMaxBytes
	}
	if lf.MaxFiles <= 0 {
		lf.MaxFiles = DefaultLocalMaxFiles
	}
	s.local = &lf
	s.mcp.AddNotificationHandler(mcp.MethodNotificationRootsListChanged, func(ctx context.Context, _ mcp.JSONRPCNotification) {
		if c, ok := server.ClientSessionFromContext(ctx).(sessionWithRootsCache); ok {
			c.rootsCache().invalidate()
		}
	})
	return LocalVariants(o.Tools)
}

// LocalVariants returns copies of the tools as a stdio server with local
// files on lists them: with the local argument in the input schema and
// the sentence about it in the description.
func LocalVariants(in []Tool) []Tool {
	tools := make([]Tool, len(in))
	copy(tools, in)
	for i := range tools {
		if l := tools[i].Local; l != nil && len(l.InputSchema) > 0 {
			tools[i].InputSchema = l.InputSchema
			if l.Description != "" {
				tools[i].Description = l.Description
			}
		}
	}
	return tools
}

// refuseLocal refuses a call that sends a local-file argument where local
// files are off (over HTTP, or --no-local-files). The schema does not
// have the argument there; this says why, before validation would only
// call it unknown.
func (s *Server) refuseLocal(t *Tool, req mcp.CallToolRequest) *mcp.CallToolResult {
	if t.Local == nil || s.local != nil {
		return nil
	}
	args, _ := req.Params.Arguments.(map[string]any)
	if _, ok := args[t.Local.Arg]; !ok {
		return nil
	}
	why := "over HTTP the server does not run on your machine and cannot read or write your files"
	if s.mode == ModeStdio {
		why = "local files are turned off on this server (--no-local-files / MIOSA_NO_LOCAL_FILES)"
	}
	instead := "send the content inline"
	if t.Local.Direction == LocalDownload {
		instead = "omit " + t.Local.Arg + " to get the content inline"
	}
	return mcp.NewToolResultError(fmt.Sprintf("%s: %s is not available: %s. Nothing was sent; %s.", t.Name, t.Local.Arg, why, instead))
}

// localCall runs a call that names a local path; done is false when the
// call has none and goes the usual way.
func (s *Server) localCall(ctx context.Context, t *Tool, call *Call, req mcp.CallToolRequest) (*mcp.CallToolResult, bool) {
	l := t.Local
	if l == nil || s.local == nil {
		return nil, false
	}
	var p string
	has, err := call.Arg(l.Arg, &p)
	if err != nil {
		return mcp.NewToolResultError("Invalid arguments for " + t.Name + ": " + err.Error() + "."), true
	}
	switch l.Direction {
	case LocalUpload:
		field := toolArgName(t, l.Field, InBody, InRaw)
		_, inline := call.args[field]
		switch {
		case has && inline:
			return mcp.NewToolResultError(fmt.Sprintf("Invalid arguments for %s: give either %s (the bytes) or %s (a local file or directory), not both.", t.Name, field, l.Arg)), true
		case !has && !inline:
			return mcp.NewToolResultError(fmt.Sprintf("Invalid arguments for %s: give %s (the bytes) or %s (a local file or directory to upload).", t.Name, field, l.Arg)), true
		case !has:
			return nil, false
		}
		return s.upload(ctx, t, call, req, p), true
	case LocalDownload:
		if !has {
			return nil, false
		}
		return s.download(ctx, t, call, p), true
	}
	return nil, false
}

// toolArgName is the tool-facing name of an API field bound at one of locs.
func toolArgName(t *Tool, api string, locs ...Location) string {
	for _, a := range t.Args {
		for _, l := range locs {
			if a.API == api && a.In == l {
				return a.Name
			}
		}
	}
	return api
}

// remoteArg is the caller's value of the Remote field ("" when absent).
func remoteArg(t *Tool, call *Call) string {
	if t.Local.Remote == "" {
		return ""
	}
	var v string
	call.Arg(toolArgName(t, t.Local.Remote, InPath, InBody, InQuery), &v)
	return v
}

// refusal is the result for a local path that was refused or could not
// be read: the text names the allowed directories (localfs.Refusal).
func refusal(t *Tool, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(fmt.Sprintf("%s: %v. Nothing was sent.", t.Name, err))
}

// upload sends a local file, or each file of a local directory.
func (s *Server) upload(ctx context.Context, t *Tool, call *Call, req mcp.CallToolRequest, p string) *mcp.CallToolResult {
	roots, err := s.localRoots(ctx)
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v. Nothing was sent.", t.Name, err))
	}
	isDir, err := roots.Stat(p)
	if err != nil {
		return refusal(t, err)
	}
	remote := remoteArg(t, call)
	if isDir {
		return s.uploadTree(ctx, t, call, req, roots, p, remote)
	}
	var override json.RawMessage
	if strings.HasSuffix(remote, "/") {
		override, _ = json.Marshal(remote + path.Base(strings.ReplaceAll(p, `\`, "/")))
	}
	f, err := roots.Open(p, s.local.MaxBytes, localBytesSetting)
	if err != nil {
		return refusal(t, err)
	}
	defer f.Close()
	status, h, body, res, lc := s.sendFile(ctx, t, call, f, override)
	if res != nil {
		return res
	}
	defer body.done()
	// Scrub first, then cut, as execute does for every other answer.
	scrubAnswer(scrubberFrom(ctx), t, h, body)
	if res := s.unusableBody(t, status, h, body); res != nil {
		return res
	}
	res = s.answerResult(t, body, status)
	res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Uploaded %d bytes from %s (sha256 %s).", f.Size, f.Path, lc.digest())))
	return res
}

// sendFile makes the tool's request with f as the body's bytes, and
// override (when set) as the value of the remote path.
func (s *Server) sendFile(ctx context.Context, t *Tool, call *Call, f *localfs.File, override json.RawMessage) (int, http.Header, *upstreamBody, *mcp.CallToolResult, *localCall) {
	lc := &localCall{spec: t.Local, file: f, remote: override}
	call.local = lc
	defer func() { call.local = nil }()
	status, h, body, res := s.fetch(ctx, t, call, t.Call)
	if res != nil {
		if rerr := lc.readError(); rerr != nil {
			msg := fmt.Sprintf("%s: reading %s failed: %v. The upload was cut off before its end, so the API did not take it.", t.Name, f.Path, rerr)
			if errors.Is(rerr, localfs.ErrChanged) {
				msg += " Upload the file again once it has stopped changing."
			}
			return 0, nil, nil, mcp.NewToolResultError(msg), nil
		}
		return 0, nil, nil, res, nil
	}
	return status, h, body, nil, lc
}

// maxListedFiles bounds the files a tree upload lists in its result.
const maxListedFiles = 100

// uploadTree uploads the regular files below a local directory, each to
// the remote path joined with its relative path, in lexical order. The
// whole tree is walked and checked first, so a refusal sends nothing; a
// failing file stops the upload and the result says what is in place.
func (s *Server) uploadTree(ctx context.Context, t *Tool, call *Call, req mcp.CallToolRequest, roots *localfs.Roots, p, remote string) *mcp.CallToolResult {
	if t.Local.Remote == "" {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %s is a directory, and this tool uploads single files only. Nothing was sent.", t.Name, p))
	}
	tree, err := roots.Walk(p, localfs.Limits{
		MaxFiles: s.local.MaxFiles, MaxBytes: s.local.MaxBytes, FilesName: localFilesSetting, BytesName: localBytesSetting,
	})
	if err != nil {
		return refusal(t, err)
	}
	if len(tree.Entries) == 0 {
		return mcp.NewToolResultError(fmt.Sprintf("%s: the directory %s has no files to upload. Nothing was sent.", t.Name, tree.Path))
	}
	pr := &progress{s: s}
	if req.Params.Meta != nil {
		pr.token = req.Params.Meta.ProgressToken
	}
	base := strings.TrimRight(remote, "/")
	type sent struct {
		Path  string `json:"path"`
		Bytes int64  `json:"bytes"`
	}
	var done []sent
	var total int64
	for i, e := range tree.Entries {
		dest := base + "/" + e.Rel
		override, _ := json.Marshal(dest)
		stop := func(why string) *mcp.CallToolResult {
			return mcp.NewToolResultError(fmt.Sprintf("%s: uploaded %d of %d files from %s to %s before %s failed: %s. The files uploaded so far stay in place; fix the problem and call again (uploads overwrite).",
				t.Name, i, len(tree.Entries), tree.Path, remote, e.Rel, why))
		}
		f, err := roots.Open(e.Path, s.local.MaxBytes-total, localBytesSetting)
		if err != nil {
			return stop(err.Error())
		}
		if t.SendsIdempotencyKey {
			call.idemKey = newIdempotencyKey() // each file is its own request
		}
		status, h, body, res, _ := s.sendFile(ctx, t, call, f, override)
		f.Close()
		if res == nil {
			res = s.unusableBody(t, status, h, body)
			body.done()
		}
		if res != nil {
			return stop(resultText(res))
		}
		total += f.Size
		if len(done) < maxListedFiles {
			done = append(done, sent{Path: dest, Bytes: f.Size})
		}
		pr.send(ctx, len(tree.Entries), fmt.Sprintf("%s: %d/%d %s (%d bytes)", t.Name, i+1, len(tree.Entries), dest, f.Size))
	}
	summary := map[string]any{"local_path": tree.Path, "remote": remote, "files": len(tree.Entries), "bytes": total, "uploaded": done}
	text := fmt.Sprintf("Uploaded %d files (%d bytes) from %s to %s.", len(tree.Entries), total, tree.Path, remote)
	if len(tree.Entries) > len(done) {
		summary["more"] = len(tree.Entries) - len(done)
	}
	if len(tree.Skipped) > 0 {
		summary["skipped_links"] = tree.Skipped
		text += fmt.Sprintf(" Not followed (links to directories): %s.", strings.Join(tree.Skipped, ", "))
	}
	res := mcp.NewToolResultText(text)
	res.StructuredContent = summary
	return res
}

// resultText is the text of an error result.
func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, strings.TrimSuffix(tc.Text, "."))
		}
	}
	return strings.Join(parts, " ")
}

// download saves the answer to a local file.
func (s *Server) download(ctx context.Context, t *Tool, call *Call, p string) *mcp.CallToolResult {
	roots, err := s.localRoots(ctx)
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v. Nothing was sent.", t.Name, err))
	}
	name := path.Base(strings.TrimRight(remoteArg(t, call), "/"))
	tg, err := roots.Create(p, name)
	if err != nil {
		return refusal(t, err)
	}
	sink := &saveSink{target: tg, max: s.local.MaxBytes, field: t.Local.Field}
	call.local = &localCall{spec: t.Local, sink: sink}
	defer func() { call.local = nil }()
	_, _, body, res := s.fetch(ctx, t, call, t.Call)
	if res != nil {
		tg.Abort()
		if sink.err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: saving to %s failed: %v. The file was left as it was.", t.Name, tg.Path, sink.err))
		}
		return res
	}
	body.done()
	if err := tg.Commit(); err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: saving to %s failed: %v. The file was left as it was.", t.Name, tg.Path, err))
	}
	sum := hex.EncodeToString(sink.sum[:])
	res = mcp.NewToolResultText(fmt.Sprintf("Saved %d bytes (%s) to %s; sha256 %s. The content is not returned here: read the local file.", sink.n, sink.mime, tg.Path, sum))
	res.StructuredContent = map[string]any{"path": tg.Path, "bytes": sink.n, "sha256": sum, "mime_type": sink.mime}
	return res
}

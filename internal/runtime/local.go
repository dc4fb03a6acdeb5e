package runtime

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
// The hooks into the call pipeline (select.go): Server.setupLocal
// (NewServer: the stdio schemas and the list_changed handler), refuseLocal
// (the select stage: a local argument where local files are off),
// localFiles.path and run (after bind: a call naming a local path sends
// and shapes here instead), Call.saving (the send stage's read: the answer
// goes to the file, not to memory), and Call.value (bind: the remote path
// of each file of a tree).

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

// localFiles is the local-file part of a stdio call; nil when local files
// are off.
type localFiles struct {
	cfg LocalFiles
	// The settings quoted when a limit is hit, and where the allowed
	// directories come from when the client declares no roots
	// (Settings.LocalMaxBytes, LocalMaxFiles, LocalAllowDirs).
	bytesSetting, filesSetting, serverRoots string
	send                                    *sender
	shape                                   *shaper
	fail                                    *failures
	notify                                  *notifier // a progress notification per file of a tree
	log                                     *slog.Logger
}

// localError: a local transfer that could not be made or finished; msg
// says why, and what was and was not sent.
type localError struct{ msg string }

func (e *localError) Error() string { return e.msg }

func localErrorf(format string, a ...any) error { return &localError{msg: fmt.Sprintf(format, a...)} }

// setupLocal turns local files on for a stdio server with LocalFiles set:
// it returns the tools with their local input schemas (copies: the
// caller's catalog is not changed) and follows roots/list_changed. Off, it
// notes why for refuseLocal.
func (s *Server) setupLocal(o Options) []Tool {
	if o.Mode != ModeStdio || o.LocalFiles == nil {
		s.localOff = "over HTTP the server does not run on your machine and cannot read or write your files"
		if o.Mode == ModeStdio {
			s.localOff = "local files are turned off on this server" + parenthesized(o.Settings.LocalOff)
		}
		return o.Tools
	}
	lf := *o.LocalFiles
	if lf.MaxBytes <= 0 {
		lf.MaxBytes = DefaultLocalMaxBytes
	}
	if lf.MaxFiles <= 0 {
		lf.MaxFiles = DefaultLocalMaxFiles
	}
	s.local = &localFiles{
		cfg:          lf,
		bytesSetting: orDefault(o.Settings.LocalMaxBytes, "the server's limit"),
		filesSetting: orDefault(o.Settings.LocalMaxFiles, "the server's limit"),
		serverRoots:  "the client declares no roots: the server's working directory" + orDefault(prefixed(" and ", o.Settings.LocalAllowDirs), " and the directories it allows"),
		send:         &s.send, shape: &s.shape, fail: &s.fail, notify: &s.notify, log: s.log,
	}
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
// files are off (over HTTP, or --no-local-files; off says why). The schema
// does not have the argument there; this says why, before validation would
// only call it unknown.
func refuseLocal(t *Tool, req mcp.CallToolRequest, off string) error {
	if off == "" {
		return nil
	}
	args, _ := req.Params.Arguments.(map[string]any)
	if _, ok := args[t.Local.Arg]; !ok {
		return nil
	}
	instead := "send the content inline"
	if t.Local.Direction == LocalDownload {
		instead = "omit " + t.Local.Arg + " to get the content inline"
	}
	return &refusal{fmt.Sprintf("%s: %s is not available: %s. Nothing was sent; %s.", t.Name, t.Local.Arg, off, instead)}
}

// path is the local path the call of t (which has a local argument) names;
// ok is false when the call goes the usual way (inline bytes, or no
// save_to).
func (l *localFiles) path(t *Tool, call *Call) (p string, ok bool, err error) {
	spec := t.Local
	has, err := call.Arg(spec.Arg, &p)
	if err != nil {
		return "", false, localErrorf("Invalid arguments for %s: %v.", t.Name, err)
	}
	if spec.Direction == LocalUpload {
		field := toolArgName(t, spec.Field, InBody, InRaw)
		_, inline := call.args[field]
		switch {
		case has && inline:
			return "", false, localErrorf("Invalid arguments for %s: give either %s (the bytes) or %s (a local file or directory), not both.", t.Name, field, spec.Arg)
		case !has && !inline:
			return "", false, localErrorf("Invalid arguments for %s: give %s (the bytes) or %s (a local file or directory to upload).", t.Name, field, spec.Arg)
		}
	}
	return p, has, nil
}

// run moves the call's bytes between the local path p and the API.
func (l *localFiles) run(ctx context.Context, sc *Scrubber, t *Tool, call *Call, req mcp.CallToolRequest, p string) (*mcp.CallToolResult, error) {
	if t.Local.Direction == LocalDownload {
		return l.download(ctx, t, call, p)
	}
	return l.upload(ctx, sc, t, call, req, p)
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

// pathRefused is the error for a local path that was refused or could not
// be read: the text names the allowed directories (localfs.Refusal).
func pathRefused(t *Tool, err error) error {
	return localErrorf("%s: %v. Nothing was sent.", t.Name, err)
}

// upload sends a local file, or each file of a local directory.
func (l *localFiles) upload(ctx context.Context, sc *Scrubber, t *Tool, call *Call, req mcp.CallToolRequest, p string) (*mcp.CallToolResult, error) {
	roots, err := l.roots(ctx)
	if err != nil {
		return nil, localErrorf("%s: %v. Nothing was sent.", t.Name, err)
	}
	isDir, err := roots.Stat(p)
	if err != nil {
		return nil, pathRefused(t, err)
	}
	remote := remoteArg(t, call)
	if isDir {
		return l.uploadTree(ctx, sc, t, call, req, roots, p, remote)
	}
	var override json.RawMessage
	if strings.HasSuffix(remote, "/") {
		override, _ = json.Marshal(remote + path.Base(strings.ReplaceAll(p, `\`, "/")))
	}
	f, err := roots.Open(p, l.cfg.MaxBytes, l.bytesSetting)
	if err != nil {
		return nil, pathRefused(t, err)
	}
	defer f.Close()
	rep, lc, err := l.sendFile(ctx, t, call, f, override)
	if err != nil {
		return nil, err
	}
	defer rep.done()
	// Scrub first, then cut, as the pipeline does for every other answer.
	scrubAnswer(sc, t, rep)
	if err := l.shape.unusableBody(t, rep.status, rep.header, rep.body); err != nil {
		return nil, err
	}
	res := l.shape.answerResult(t, rep.body, rep.status)
	res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf("Uploaded %d bytes from %s (sha256 %s).", f.Size, f.Path, lc.digest())))
	return res, nil
}

// sendFile makes the tool's request with f as the body's bytes, and
// override (when set) as the value of the remote path.
func (l *localFiles) sendFile(ctx context.Context, t *Tool, call *Call, f *localfs.File, override json.RawMessage) (*reply, *localCall, error) {
	lc := &localCall{spec: t.Local, file: f, remote: override}
	call.local = lc
	defer func() { call.local = nil }()
	rep, err := l.send.send(ctx, t, call, t.Call)
	if err != nil {
		if rerr := lc.readError(); rerr != nil {
			msg := fmt.Sprintf("%s: reading %s failed: %v. The upload was cut off before its end, so the API did not take it.", t.Name, f.Path, rerr)
			if errors.Is(rerr, localfs.ErrChanged) {
				msg += " Upload the file again once it has stopped changing."
			}
			return nil, nil, &localError{msg: msg}
		}
		return nil, nil, err
	}
	return rep, lc, nil
}

// maxListedFiles bounds the files a tree upload lists in its result.
const maxListedFiles = 100

// uploadTree uploads the regular files below a local directory, each to
// the remote path joined with its relative path, in lexical order. The
// whole tree is walked and checked first, so a refusal sends nothing; a
// failing file stops the upload and the result says what is in place.
func (l *localFiles) uploadTree(ctx context.Context, sc *Scrubber, t *Tool, call *Call, req mcp.CallToolRequest, roots *localfs.Roots, p, remote string) (*mcp.CallToolResult, error) {
	if t.Local.Remote == "" {
		return nil, localErrorf("%s: %s is a directory, and this tool uploads single files only. Nothing was sent.", t.Name, p)
	}
	tree, err := roots.Walk(p, localfs.Limits{
		MaxFiles: l.cfg.MaxFiles, MaxBytes: l.cfg.MaxBytes, FilesName: l.filesSetting, BytesName: l.bytesSetting,
	})
	if err != nil {
		return nil, pathRefused(t, err)
	}
	if len(tree.Entries) == 0 {
		return nil, localErrorf("%s: the directory %s has no files to upload. Nothing was sent.", t.Name, tree.Path)
	}
	pr := l.notify.progress(sc, req)
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
		stop := func(why string) error {
			return localErrorf("%s: uploaded %d of %d files from %s to %s before %s failed: %s. The files uploaded so far stay in place; fix the problem and call again (uploads overwrite).",
				t.Name, i, len(tree.Entries), tree.Path, remote, e.Rel, why)
		}
		f, err := roots.Open(e.Path, l.cfg.MaxBytes-total, l.bytesSetting)
		if err != nil {
			return nil, stop(err.Error())
		}
		if t.SendsIdempotencyKey {
			call.idemKey = newIdempotencyKey() // each file is its own request
		}
		rep, _, err := l.sendFile(ctx, t, call, f, override)
		f.Close()
		if err == nil {
			err = l.shape.unusableBody(t, rep.status, rep.header, rep.body)
			rep.done()
		}
		if err != nil {
			return nil, stop(strings.TrimSuffix(l.fail.text(sc, t, err), "."))
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
	return res, nil
}

// download saves the answer to a local file.
func (l *localFiles) download(ctx context.Context, t *Tool, call *Call, p string) (*mcp.CallToolResult, error) {
	roots, err := l.roots(ctx)
	if err != nil {
		return nil, localErrorf("%s: %v. Nothing was sent.", t.Name, err)
	}
	name := path.Base(strings.TrimRight(remoteArg(t, call), "/"))
	tg, err := roots.Create(p, name)
	if err != nil {
		return nil, pathRefused(t, err)
	}
	sink := &saveSink{target: tg, max: l.cfg.MaxBytes, setting: l.bytesSetting, field: t.Local.Field}
	call.local = &localCall{spec: t.Local, sink: sink}
	defer func() { call.local = nil }()
	rep, err := l.send.send(ctx, t, call, t.Call)
	if err != nil {
		tg.Abort()
		if sink.err != nil {
			return nil, localErrorf("%s: saving to %s failed: %v. The file was left as it was.", t.Name, tg.Path, sink.err)
		}
		return nil, err
	}
	rep.done()
	if err := tg.Commit(); err != nil {
		return nil, localErrorf("%s: saving to %s failed: %v. The file was left as it was.", t.Name, tg.Path, err)
	}
	sum := hex.EncodeToString(sink.sum[:])
	res := mcp.NewToolResultText(fmt.Sprintf("Saved %d bytes (%s) to %s; sha256 %s. The content is not returned here: read the local file.", sink.n, sink.mime, tg.Path, sum))
	res.StructuredContent = map[string]any{"path": tg.Path, "bytes": sink.n, "sha256": sum, "mime_type": sink.mime}
	return res, nil
}

package composite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/miosa-osa/miosa-mcp/gen/client"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// The arguments and kinds deployment_publish reads (tools.yaml names them).
const (
	publishDeploymentArg = "id"
	publishSandboxArg    = "sourceSandboxId"
	deploymentKind       = "deployment"
	sandboxKind          = "sandbox"
	// publishedFrom keys the session's note of the deployment a sandbox was
	// last published into.
	publishedFrom = "deployment published from sandbox "
	// deploymentListSize is the page of deployments searched for the one
	// named after the sandbox (over HTTP, which keeps no session).
	deploymentListSize = 100
	// maxAnswerBytes caps what is read of each answer the handler decodes
	// itself (a sandbox, a page of deployments, the publish answer).
	maxAnswerBytes = 1 << 20
)

// DeploymentPublish publishes a sandbox (publishDeployment) into a
// deployment this workflow owns, so that "publish this sandbox" needs no
// deployment id (issue #11): the id given, else the session's current
// deployment, else the deployment last published from that sandbox (this
// session's note, or over HTTP the deployment named after the sandbox),
// else a new deployment named after the sandbox (createDeployment). The
// result starts with which deployment was used and why, and the live URL;
// wait=true (tools.yaml wait:) polls until the deployment is running.
//
//toolgen:handler deployment_publish
func DeploymentPublish(ctx context.Context, c *runtime.Call, cl client.ClientInterface) (*http.Response, error) {
	var sbx string
	if _, err := c.Arg(publishSandboxArg, &sbx); err != nil {
		return nil, err
	}
	if err := runtime.CheckPathValue(sbx); err != nil {
		return nil, &runtime.ArgError{Msg: fmt.Sprintf("argument %s: %v", publishSandboxArg, err)}
	}
	c.Used(sandboxKind, sbx, "")
	var dep string
	given, err := c.Arg(publishDeploymentArg, &dep)
	if err != nil {
		return nil, err
	}
	if !given {
		var why string
		var resp *http.Response
		dep, why, resp, err = publishTarget(ctx, c, cl, sbx)
		if err != nil || resp != nil {
			return resp, err
		}
		c.Used(deploymentKind, dep, why)
	} else if err := runtime.CheckPathValue(dep); err != nil {
		return nil, &runtime.ArgError{Msg: fmt.Sprintf("argument %s: %v", publishDeploymentArg, err)}
	}
	body, err := c.JSONBody()
	if err != nil {
		return nil, err
	}
	var params client.PublishDeploymentParams // the call's Idempotency-Key
	if err := c.Params(&params); err != nil {
		return nil, err
	}
	resp, err := cl.PublishDeploymentWithBody(ctx, dep, &params, "application/json", body)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp, err
	}
	c.Memo(publishedFrom+sbx, dep)
	// The live URL, first in the result: the answer is read and given back.
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if url := liveURL(b); url != "" {
		c.Note(fmt.Sprintf("Live URL: %s (serving once deployment %s is running; wait=true waits for it).", url, dep))
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// publishTarget finds or creates the deployment a sandbox is published
// into when the call names none. A non-nil response is an API error to
// return as it is.
func publishTarget(ctx context.Context, c *runtime.Call, cl client.ClientInterface, sbx string) (string, string, *http.Response, error) {
	if id := c.Current(deploymentKind); id != "" {
		return id, "the most recent one in this session", nil, nil
	}
	if id := c.Recall(publishedFrom + sbx); id != "" {
		return id, "the one sandbox " + sbx + " was last published into", nil, nil
	}
	name, resp, err := sandboxName(ctx, cl, sbx)
	if err != nil || resp != nil {
		return "", "", resp, err
	}
	id, resp, err := deploymentNamed(ctx, cl, name)
	if err != nil || resp != nil {
		return "", "", resp, err
	}
	if id != "" {
		return id, fmt.Sprintf("the deployment named %q after sandbox %s", name, sbx), nil, nil
	}
	src := "sandbox"
	cb, _ := json.Marshal(client.CreateDeploymentJSONRequestBody{Name: name, SourceType: (*client.CreateDeploymentJSONBodySourceType)(&src)})
	key := client.IdempotencyKey(runtime.NewIdempotencyKey())
	cr, err := cl.CreateDeploymentWithBody(ctx, &client.CreateDeploymentParams{IdempotencyKey: &key}, "application/json", bytes.NewReader(cb))
	if err != nil {
		return "", "", nil, err
	}
	b, ok, err := readOK(cr)
	if err != nil || !ok {
		return "", "", cr, err
	}
	var created struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	json.Unmarshal(b, &created)
	if err := runtime.CheckPathValue(created.Data.ID); err != nil {
		return "", "", nil, fmt.Errorf("the new deployment's id %v", err)
	}
	return created.Data.ID, fmt.Sprintf("created for sandbox %s and named %q after it", sbx, name), nil, nil
}

// sandboxName is the sandbox's name, or its id when it has none.
func sandboxName(ctx context.Context, cl client.ClientInterface, sbx string) (string, *http.Response, error) {
	resp, err := cl.GetSandbox(ctx, sbx)
	if err != nil {
		return "", nil, err
	}
	b, ok, err := readOK(resp)
	if err != nil || !ok {
		return "", resp, err
	}
	var got struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	json.Unmarshal(b, &got)
	if got.Data.Name == "" {
		return sbx, nil, nil
	}
	return got.Data.Name, nil, nil
}

// deploymentNamed is the id of the newest deployment called name among the
// first page of deployments ("": none).
func deploymentNamed(ctx context.Context, cl client.ClientInterface, name string) (string, *http.Response, error) {
	limit := client.Limit(deploymentListSize)
	resp, err := cl.ListDeployments(ctx, &client.ListDeploymentsParams{Limit: &limit})
	if err != nil {
		return "", nil, err
	}
	b, ok, err := readOK(resp)
	if err != nil || !ok {
		return "", resp, err
	}
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	json.Unmarshal(b, &list)
	id := ""
	for _, d := range list.Data {
		if d.Name == name && runtime.CheckPathValue(d.ID) == nil {
			id = d.ID // the list is oldest first: the last match is the newest
		}
	}
	return id, nil, nil
}

// readOK reads a 2xx answer's body; any other answer is left unread for
// the runtime to word (ok false).
func readOK(resp *http.Response) ([]byte, bool, error) {
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, false, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	return b, true, err
}

// liveURL is the public URL in a publish answer.
func liveURL(b []byte) string {
	var got struct {
		Data struct {
			Deployment struct {
				PublicURL string `json:"public_url"`
			} `json:"deployment"`
			Services []struct {
				URL string `json:"url"`
			} `json:"services"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &got) != nil {
		return ""
	}
	if u := got.Data.Deployment.PublicURL; u != "" {
		return u
	}
	for _, s := range got.Data.Services {
		if s.URL != "" {
			return s.URL
		}
	}
	return ""
}

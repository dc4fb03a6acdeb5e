package validate

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpFlags returns the flags `miosa-mcp http` defines, and the defaults
// it prints for them, from its --help.
func httpFlags(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(binary(t), "http", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("miosa-mcp http --help: %v\n%s", err, out)
	}
	flags := map[string]string{}
	var last string
	for _, line := range strings.Split(string(out), "\n") {
		if m := regexp.MustCompile(`^  -([a-z][a-z-]*)`).FindStringSubmatch(line); m != nil {
			last = m[1]
			flags[last] = ""
		}
		if m := regexp.MustCompile(`\(default "?([^")]*)"?\)$`).FindStringSubmatch(line); m != nil && last != "" {
			flags[last] = m[1]
		}
	}
	if _, ok := flags["listen"]; !ok {
		t.Fatalf("miosa-mcp http --help lists no -listen:\n%s", out)
	}
	return flags
}

// argFlags splits the container's arguments after `http` into flag names
// and values. The manifests write every flag as --name=value (or a bare
// boolean --name), so each argument stands alone and an appended flag
// always takes effect.
func argFlags(t *testing.T, dir string, args []string) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != "http" {
		t.Fatalf("%s: container args %q do not start with the http command", dir, args)
	}
	out := map[string]string{}
	for _, a := range args[1:] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || name == "" {
			t.Errorf("%s: argument %q is not --name=value", dir, a)
			continue
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s: --%s given twice", dir, name)
		}
		out[name] = value
	}
	return out
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		t.Errorf("address %q has no port", addr)
	}
	return n
}

// TestDeploymentAgreesWithBinary checks each rendered Deployment against
// what the binary does: every flag exists, --listen serves the http
// container port, the probes point at the paths the server answers, the
// grace period covers the server's shutdown grace, and the metrics flag is
// passed once the binary has it.
func TestDeploymentAgreesWithBinary(t *testing.T) {
	flags := httpFlags(t)
	for _, k := range kustomizations(t) {
		t.Run(k.Dir, func(t *testing.T) {
			var d deployment
			if !k.one(t, "Deployment", &d) {
				return
			}
			cs := d.Spec.Template.Spec.Containers
			if len(cs) != 1 {
				t.Fatalf("%d containers, want 1", len(cs))
			}
			c := cs[0]
			args := argFlags(t, k.Dir, c.Args)
			for name := range args {
				if _, ok := flags[name]; !ok {
					t.Errorf("--%s is not a flag of miosa-mcp http", name)
				}
			}

			httpPort, ok := c.portNamed("http")
			if !ok {
				t.Fatal("no container port named http")
			}
			if got := portOf(t, args["listen"]); got != httpPort {
				t.Errorf("--listen=%s serves port %d, the container port http is %d", args["listen"], got, httpPort)
			}
			if host, _, _ := net.SplitHostPort(args["listen"]); host != "0.0.0.0" && host != "" {
				t.Errorf("--listen=%s: a pod must listen on every interface for the Service and the kubelet to reach it", args["listen"])
			}
			for name, p := range map[string]*probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
				if p == nil || p.HTTPGet == nil {
					t.Errorf("no httpGet probe for %s", name)
					continue
				}
				if p.HTTPGet.Path != name {
					t.Errorf("probe path %s, want %s", p.HTTPGet.Path, name)
				}
				if got, ok := c.port(p.HTTPGet.Port); !ok || got != httpPort {
					t.Errorf("probe for %s uses port %+v, not the http port %d", name, p.HTTPGet.Port, httpPort)
				}
			}

			grace, err := time.ParseDuration(flags["shutdown-grace"])
			if v, ok := args["shutdown-grace"]; ok {
				grace, err = time.ParseDuration(v)
			}
			if err != nil {
				t.Fatalf("shutdown grace: %v", err)
			}
			preStop := 0
			if ps := c.Lifecycle.PreStop; ps != nil && ps.Sleep != nil {
				preStop = ps.Sleep.Seconds
			}
			if tg := d.Spec.Template.Spec.TerminationGracePeriodSeconds; time.Duration(tg)*time.Second <= time.Duration(preStop)*time.Second+grace {
				t.Errorf("terminationGracePeriodSeconds %d must exceed the preStop sleep %ds plus --shutdown-grace %s", tg, preStop, grace)
			}

			// The metrics listener serves the port the Service and the
			// ServiceMonitor scrape, on every interface: a value without a
			// host binds loopback, where Prometheus cannot reach it.
			metricsPort, hasMetricsPort := c.portNamed("metrics")
			if !hasMetricsPort {
				t.Error("no container port named metrics")
			}
			if _, ok := flags["metrics-listen"]; !ok {
				t.Fatal("miosa-mcp http has no --metrics-listen")
			}
			v, passed := args["metrics-listen"]
			switch host, _, _ := net.SplitHostPort(v); {
			case !passed:
				t.Errorf("add --metrics-listen=0.0.0.0:%d to the container args (deploy/kubernetes/base/deployment.yaml and every overlay that replaces the args)", metricsPort)
			case portOf(t, v) != metricsPort:
				t.Errorf("--metrics-listen=%s, the container port metrics is %d", v, metricsPort)
			case host != "0.0.0.0":
				t.Errorf("--metrics-listen=%s binds %q: write 0.0.0.0:%d so that Prometheus reaches it", v, host, metricsPort)
			}
		})
	}
}

// TestDeploymentServes starts the real binary with each rendered
// Deployment's arguments and environment (on a free loopback port instead
// of 0.0.0.0:8787), asks its probe paths what the kubelet would, and stops
// it with SIGTERM the way the kubelet does.
func TestDeploymentServes(t *testing.T) {
	bin := binary(t)
	for _, k := range kustomizations(t) {
		t.Run(k.Dir, func(t *testing.T) {
			var d deployment
			if !k.one(t, "Deployment", &d) || len(d.Spec.Template.Spec.Containers) != 1 {
				t.FailNow()
			}
			c := d.Spec.Template.Spec.Containers[0]
			args := append(slices.Clone(c.Args[1:]), "--listen=127.0.0.1:0")
			if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--metrics-listen=") }) {
				args = append(args, "--metrics-listen=127.0.0.1:0")
			}
			home := t.TempDir()
			env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
			for _, e := range c.Env {
				if e.Value == nil || e.ValueFrom != nil {
					t.Fatalf("env %s has no literal value; the test cannot reproduce it", e.Name)
				}
				env = append(env, e.Name+"="+*e.Value)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{c.Args[0]}, args...)...)
			cmd.Env = env
			cmd.Dir = home
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			log := make(chan string, 256)
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					select {
					case log <- sc.Text():
					default:
					}
				}
			}()
			var seen []string
			addr, metricsAddr := "", ""
			re := regexp.MustCompile(`serving MCP over HTTP at http://([^/ ]+)/mcp`)
			metricsRE := regexp.MustCompile(`serving Prometheus metrics at http://([^/ ]+)/metrics`)
			for addr == "" {
				select {
				case line := <-log:
					seen = append(seen, line)
					if m := re.FindStringSubmatch(line); m != nil {
						addr = m[1]
					}
					if m := metricsRE.FindStringSubmatch(line); m != nil {
						metricsAddr = m[1]
					}
				case <-done:
					cmd.Wait()
					t.Fatalf("miosa-mcp %q exited before serving:\n%s", args, strings.Join(seen, "\n"))
				case <-ctx.Done():
					t.Fatalf("miosa-mcp did not start serving:\n%s", strings.Join(seen, "\n"))
				}
			}

			for path, want := range map[string]string{c.LivenessProbe.HTTPGet.Path: "ok", c.ReadinessProbe.HTTPGet.Path: "ready"} {
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Errorf("GET %s: %v", path, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var st struct{ Status string }
				if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &st) != nil || st.Status != want {
					t.Errorf("GET %s: %d %s, want 200 with status %q", path, resp.StatusCode, body, want)
				}
			}

			if slices.Contains(env, "MIOSA_LOG_FORMAT=json") {
				for _, l := range seen {
					if !json.Valid([]byte(l)) {
						t.Errorf("MIOSA_LOG_FORMAT=json, but stderr has the line %q", l)
					}
				}
			}

			// What the ServiceMonitor scrapes: the metrics listener is
			// announced before the MCP one.
			if metricsAddr == "" {
				t.Errorf("no metrics listener announced:\n%s", strings.Join(seen, "\n"))
			} else if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err != nil {
				t.Errorf("GET /metrics: %v", err)
			} else {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				for _, want := range []string{"miosa_mcp_tool_calls_in_flight 0", "miosa_mcp_build_info{", "go_goroutines "} {
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
						t.Errorf("GET /metrics: %d, lacks %q", resp.StatusCode, want)
					}
				}
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-done
			if err := cmd.Wait(); err != nil {
				t.Errorf("after SIGTERM: %v, want exit 0", err)
			}
		})
	}
}

// TestObjectsAgree checks the objects against each other: every selector
// selects the pods, every named port exists, the autoscaler drives the
// Deployment, and the ServiceMonitor scrapes the container's metrics port.
func TestObjectsAgree(t *testing.T) {
	for _, k := range kustomizations(t) {
		t.Run(k.Dir, func(t *testing.T) {
			var d deployment
			if !k.one(t, "Deployment", &d) || len(d.Spec.Template.Spec.Containers) != 1 {
				t.FailNow()
			}
			pod := d.Spec.Template.Metadata.Labels
			c := d.Spec.Template.Spec.Containers[0]
			if !selects(d.Spec.Selector.MatchLabels, pod) {
				t.Errorf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, pod)
			}
			for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
				if !selects(tsc.LabelSelector.MatchLabels, pod) {
					t.Errorf("topology spread over %s selects %v, not the pods", tsc.TopologyKey, tsc.LabelSelector.MatchLabels)
				}
			}

			var svc service
			if k.one(t, "Service", &svc) {
				if !selects(svc.Spec.Selector, pod) {
					t.Errorf("the Service's selector %v does not select the pods %v", svc.Spec.Selector, pod)
				}
				for _, p := range svc.Spec.Ports {
					if _, ok := c.port(p.TargetPort); !ok {
						t.Errorf("Service port %s targets %+v, which is no container port", p.Name, p.TargetPort)
					}
					if p.TargetPort.Str != p.Name {
						t.Errorf("Service port %s targets %+v: name it after the container port it serves", p.Name, p.TargetPort)
					}
				}
			}
			for _, o := range k.byKind("ServiceMonitor") {
				var sm serviceMonitor
				if err := o.Decode(&sm); err != nil {
					t.Fatal(err)
				}
				if !selects(sm.Spec.Selector.MatchLabels, svc.Metadata.Labels) {
					t.Errorf("the ServiceMonitor's selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, svc.Metadata.Labels)
				}
				if len(sm.Spec.Endpoints) == 0 {
					t.Error("the ServiceMonitor has no endpoints")
				}
				for _, e := range sm.Spec.Endpoints {
					i := slices.IndexFunc(svc.Spec.Ports, func(p servicePort) bool { return p.Name == e.Port })
					if i < 0 || svc.Spec.Ports[i].TargetPort.Str != "metrics" || e.Path != "/metrics" {
						t.Errorf("the ServiceMonitor scrapes port %q path %q, want the Service port that targets container port metrics, at /metrics", e.Port, e.Path)
					}
				}
			}

			var h hpa
			if k.one(t, "HorizontalPodAutoscaler", &h) {
				ref := h.Spec.ScaleTargetRef
				if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Metadata.Name {
					t.Errorf("the autoscaler scales %+v, not the Deployment %s", ref, d.Metadata.Name)
				}
				if h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < h.Spec.MinReplicas {
					t.Errorf("autoscaler bounds %d..%d: keep at least 2 replicas, so that one disruption leaves one serving", h.Spec.MinReplicas, h.Spec.MaxReplicas)
				}
				if d.Spec.Replicas != nil {
					t.Errorf("the Deployment sets replicas %d; the autoscaler owns the count, and `kubectl apply` would reset it", *d.Spec.Replicas)
				}
			}
			var b pdb
			if k.one(t, "PodDisruptionBudget", &b) {
				if !selects(b.Spec.Selector.MatchLabels, pod) {
					t.Errorf("the PodDisruptionBudget's selector %v does not select the pods", b.Spec.Selector.MatchLabels)
				}
				if b.Spec.MaxUnavailable == nil && b.Spec.MinAvailable == nil {
					t.Error("the PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
				}
			}

			var np networkPolicy
			if k.one(t, "NetworkPolicy", &np) {
				checkNetworkPolicy(t, np, pod, c)
			}
		})
	}
}

func checkNetworkPolicy(t *testing.T, np networkPolicy, pod map[string]string, c container) {
	t.Helper()
	if !selects(np.Spec.PodSelector.MatchLabels, pod) {
		t.Errorf("the NetworkPolicy's podSelector %v does not select the pods", np.Spec.PodSelector.MatchLabels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []string{"Ingress", "Egress"}) {
		t.Errorf("policyTypes %v, want [Ingress Egress]", np.Spec.PolicyTypes)
	}
	// Ingress: only to the container's ports, each rule from somewhere.
	covered := map[string]bool{}
	for _, r := range np.Spec.Ingress {
		if len(r.From) == 0 {
			t.Error("an ingress rule without `from` admits every source")
		}
		for _, p := range r.Ports {
			if _, ok := c.port(p.Port); !ok {
				t.Errorf("ingress allows port %+v, which is no container port", p.Port)
			}
			covered[p.Port.Str] = true
		}
		if len(r.Ports) == 0 {
			t.Error("an ingress rule without ports admits every port")
		}
	}
	for _, name := range []string{"http", "metrics"} {
		if !covered[name] {
			t.Errorf("no ingress rule admits the %s port", name)
		}
	}
	// Egress: DNS, and HTTPS to public addresses only.
	var ports []string
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			ports = append(ports, strconv.Itoa(p.Port.Int)+"/"+p.Protocol)
			if p.Port.Int == 443 {
				for _, peer := range r.To {
					if peer.IPBlock == nil {
						continue
					}
					want := []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
					if strings.Contains(peer.IPBlock.CIDR, ":") {
						want = []string{"fc00::/7", "fe80::/10"}
					}
					for _, w := range want {
						if !slices.Contains(peer.IPBlock.Except, w) {
							t.Errorf("HTTPS egress to %s does not except %s", peer.IPBlock.CIDR, w)
						}
					}
				}
			}
		}
		if len(r.Ports) == 0 || len(r.To) == 0 {
			t.Error("an egress rule without ports or `to` allows too much")
		}
	}
	slices.Sort(ports)
	if want := []string{"443/TCP", "53/TCP", "53/UDP"}; !slices.Equal(ports, want) {
		t.Errorf("egress ports %v, want %v", ports, want)
	}
}

// TestProductionDefaults pins the hardening and the rule that no API key is
// ever configured: each caller sends its own.
func TestProductionDefaults(t *testing.T) {
	server := serverJSON(t)
	for _, k := range kustomizations(t) {
		t.Run(k.Dir, func(t *testing.T) {
			var d deployment
			if !k.one(t, "Deployment", &d) || len(d.Spec.Template.Spec.Containers) != 1 {
				t.FailNow()
			}
			ps := d.Spec.Template.Spec
			c := ps.Containers[0]
			isTrue := func(b *bool) bool { return b != nil && *b }
			isFalse := func(b *bool) bool { return b != nil && !*b }
			for what, ok := range map[string]bool{
				"pod runAsNonRoot: true":                    isTrue(ps.SecurityContext.RunAsNonRoot),
				"pod runAsUser: 65532 (distroless nonroot)": ps.SecurityContext.RunAsUser == 65532,
				"pod seccompProfile RuntimeDefault":         ps.SecurityContext.SeccompProfile.Type == "RuntimeDefault",
				"automountServiceAccountToken: false":       isFalse(ps.AutomountServiceAccountToken),
				"allowPrivilegeEscalation: false":           isFalse(c.SecurityContext.AllowPrivilegeEscalation),
				"readOnlyRootFilesystem: true":              isTrue(c.SecurityContext.ReadOnlyRootFilesystem),
				"privileged: false":                         !isTrue(c.SecurityContext.Privileged),
				"capabilities drop ALL":                     slices.Equal(c.SecurityContext.Capabilities.Drop, []string{"ALL"}),
				"requests cpu and memory":                   c.Resources.Requests["cpu"] != "" && c.Resources.Requests["memory"] != "",
				"limits memory 256Mi":                       c.Resources.Limits["memory"] == "256Mi",
				"two spread constraints (zone, node)":       len(ps.TopologySpreadConstraints) == 2,
			} {
				if !ok {
					t.Errorf("want %s", what)
				}
			}
			if want := "ghcr.io/" + server.oci(t).Identifier + ":" + server.oci(t).Version; c.Image != want {
				t.Errorf("image %s, want %s (server.json)", c.Image, want)
			}

			// No key, anywhere: not in the environment, not from a Secret,
			// not as a literal in any object.
			for _, e := range c.Env {
				if e.Name == "MIOSA_API_KEY" {
					t.Error("MIOSA_API_KEY is set; HTTP callers send their own key")
				}
			}
			if len(c.EnvFrom) > 0 {
				t.Error("envFrom imports variables the manifests cannot show")
			}
			if len(k.byKind("Secret")) > 0 {
				t.Error("a Secret is rendered; the server needs none")
			}
			if strings.Contains(string(k.Rendered), "msk_") {
				t.Error("the rendered manifests contain an msk_ key")
			}
		})
	}
}

type serverManifest struct {
	Packages []struct{ RegistryType, Identifier, Version string }
}

// oci is the container image package of server.json.
func (s serverManifest) oci(t *testing.T) struct{ RegistryType, Identifier, Version string } {
	t.Helper()
	for _, p := range s.Packages {
		if p.RegistryType == "oci" {
			return p
		}
	}
	t.Fatal("server.json lists no oci package")
	return s.Packages[0]
}

func serverJSON(t *testing.T) serverManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s serverManifest
	if err := json.Unmarshal(b, &s); err != nil || len(s.Packages) == 0 {
		t.Fatalf("server.json: %v", err)
	}
	return s
}

package validate

// The fields of the Kubernetes objects the tests compare with each other and
// with the binary. The schemas check the whole objects; these are only what
// the cross-checks read.

type meta struct {
	Name   string
	Labels map[string]string
}

type selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// intOrString holds a port or a count given as a number or a name.
type intOrString struct {
	Int int
	Str string
}

func (v *intOrString) UnmarshalYAML(unmarshal func(any) error) error {
	if err := unmarshal(&v.Int); err == nil {
		return nil
	}
	return unmarshal(&v.Str)
}

type probe struct {
	HTTPGet *struct {
		Path string
		Port intOrString
	} `yaml:"httpGet"`
}

type container struct {
	Name  string
	Image string
	Args  []string
	Env   []struct {
		Name      string
		Value     *string
		ValueFrom any `yaml:"valueFrom"`
	}
	EnvFrom []any `yaml:"envFrom"`
	Ports   []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
		Protocol      string
	}
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Sleep *struct{ Seconds int }
		} `yaml:"preStop"`
	}
	Resources struct {
		Requests map[string]string
		Limits   map[string]string
	}
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Privileged               *bool
		Capabilities             struct{ Drop []string }
	} `yaml:"securityContext"`
}

// port returns the container port a probe's or Service's port refers to.
func (c container) port(p intOrString) (int, bool) {
	for _, cp := range c.Ports {
		if (p.Str != "" && cp.Name == p.Str) || (p.Str == "" && cp.ContainerPort == p.Int) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// portNamed returns the number of the container port with that name.
func (c container) portNamed(name string) (int, bool) {
	return c.port(intOrString{Str: name})
}

type deployment struct {
	Metadata meta
	Spec     struct {
		Replicas *int
		Selector selector
		Template struct {
			Metadata meta
			Spec     struct {
				AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
				TerminationGracePeriodSeconds int   `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot   *bool                 `yaml:"runAsNonRoot"`
					RunAsUser      int                   `yaml:"runAsUser"`
					SeccompProfile struct{ Type string } `yaml:"seccompProfile"`
				} `yaml:"securityContext"`
				TopologySpreadConstraints []struct {
					TopologyKey   string   `yaml:"topologyKey"`
					LabelSelector selector `yaml:"labelSelector"`
				} `yaml:"topologySpreadConstraints"`
				Containers []container
			}
		}
	}
}

type service struct {
	Metadata meta
	Spec     struct {
		Selector map[string]string
		Ports    []servicePort
	}
}

type servicePort struct {
	Name       string
	Port       int
	TargetPort intOrString `yaml:"targetPort"`
}

type serviceMonitor struct {
	Metadata meta
	Spec     struct {
		Selector  selector
		Endpoints []struct {
			Port string
			Path string
		}
	}
}

type hpa struct {
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind, Name string
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
	}
}

type pdb struct {
	Spec struct {
		MaxUnavailable *intOrString `yaml:"maxUnavailable"`
		MinAvailable   *intOrString `yaml:"minAvailable"`
		Selector       selector
	}
}

type networkPolicy struct {
	Spec struct {
		PodSelector selector `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []npRule `yaml:"ingress"`
		Egress      []npRule `yaml:"egress"`
	}
}

type npRule struct {
	From  []npPeer `yaml:"from"`
	To    []npPeer `yaml:"to"`
	Ports []struct {
		Port     intOrString
		Protocol string
	}
}

type npPeer struct {
	IPBlock *struct {
		CIDR   string `yaml:"cidr"`
		Except []string
	} `yaml:"ipBlock"`
	NamespaceSelector *selector `yaml:"namespaceSelector"`
	PodSelector       *selector `yaml:"podSelector"`
}

// selects reports whether a selector's labels all appear in labels (and it
// selects something at all).
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

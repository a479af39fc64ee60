// Package docker_test checks the container build and the compose cluster
// offline: docker-compose.yml must validate with Debian's docker-compose and
// describe the production-shaped cluster (a MongoDB replica set, a three-node
// JetStream cluster with streams at 3 replicas, two dispatchers, one of each
// other service), every service built from deploy/docker/Dockerfile.
package docker_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	composePath    = "../../docker-compose.yml"
	dockerfilePath = "Dockerfile"
	repoRoot       = "../.."
)

// composeFile is the part of the compose file the checks read.
type composeFile struct {
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string            `json:"context"`
		Dockerfile string            `json:"dockerfile"`
		Args       map[string]string `json:"args"`
	} `json:"build"`
	Command     []string       `json:"command"`
	Environment map[string]any `json:"environment"`
	Ports       []string       `json:"ports"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Volumes []string `json:"volumes"`
}

func (s composeService) env(key string) string {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// mounts reports whether a volume is mounted at dir ("name:dir[:mode]").
func (s composeService) mounts(dir string) bool {
	return slices.ContainsFunc(s.Volumes, func(v string) bool {
		parts := strings.Split(v, ":")
		return len(parts) >= 2 && parts[1] == dir
	})
}

// flag returns the value after name in the command, and whether name is there.
func (s composeService) flag(name string) (string, bool) {
	i := slices.Index(s.Command, name)
	if i < 0 {
		return "", false
	}
	if i+1 < len(s.Command) {
		return s.Command[i+1], true
	}
	return "", true
}

// TestComposeConfigValidates runs the same offline check as `make test`, in
// an environment without CONVOY_* variables, as on a fresh machine.
func TestComposeConfigValidates(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("docker-compose is not installed (apt-get install docker-compose); CI must validate the compose file")
		}
		t.Skip("docker-compose is not installed (apt-get install docker-compose)")
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONVOY_") {
			env = append(env, kv)
		}
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"-f", composePath}, args...)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	run("config", "-q")

	// The same invariants hold for the file as compose resolves it (anchors,
	// merge keys and ${VAR:-default} interpolation applied).
	var resolved composeFile
	if err := yaml.Unmarshal(run("config"), &resolved); err != nil {
		t.Fatalf("parse the resolved compose file: %v", err)
	}
	checkCluster(t, resolved, true)
}

func TestComposeCluster(t *testing.T) {
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	checkCluster(t, f, false)
}

func checkCluster(t *testing.T, f composeFile, resolved bool) {
	t.Helper()
	if len(f.Services) == 0 {
		t.Fatal("no services")
	}

	// Convoy services, by the SERVICE build argument.
	convoy := map[string][]string{}
	var natsNodes, mongods []string
	for name, s := range f.Services {
		switch {
		case s.Build != nil:
			convoy[s.Build.Args["SERVICE"]] = append(convoy[s.Build.Args["SERVICE"]], name)
		case strings.HasPrefix(s.Image, "nats:"):
			natsNodes = append(natsNodes, name)
		case strings.HasPrefix(s.Image, "mongo:") && slices.Contains(s.Command, "mongod"):
			mongods = append(mongods, name)
		}
	}
	slices.Sort(natsNodes)
	slices.Sort(mongods)

	t.Run("nats", func(t *testing.T) {
		if len(natsNodes) != 3 {
			t.Fatalf("%d NATS services %v, want 3", len(natsNodes), natsNodes)
		}
		names := map[string]bool{}
		for _, name := range natsNodes {
			s := f.Services[name]
			checkNATSImage(t, name, s.Image)
			if _, ok := s.flag("-js"); !ok {
				if _, ok := s.flag("--jetstream"); !ok {
					t.Errorf("%s: JetStream is not enabled (-js)", name)
				}
			}
			if dir, _ := s.flag("-sd"); dir == "" || !s.mounts(dir) {
				t.Errorf("%s: the JetStream store dir %q is not on a volume %v", name, dir, s.Volumes)
			}
			if c, _ := s.flag("--cluster_name"); c == "" {
				t.Errorf("%s: no --cluster_name", name)
			}
			if c, _ := s.flag("--cluster"); !strings.HasSuffix(c, ":6222") {
				t.Errorf("%s: --cluster %q, want a listener on :6222", name, c)
			}
			routes, _ := s.flag("--routes")
			for _, peer := range natsNodes {
				if !slices.Contains(strings.Split(routes, ","), "nats://"+peer+":6222") {
					t.Errorf("%s: --routes %q has no route to %s", name, routes, peer)
				}
			}
			sn, _ := s.flag("--server_name")
			if sn == "" || names[sn] {
				t.Errorf("%s: --server_name %q must be set and unique", name, sn)
			}
			names[sn] = true
		}
	})

	var replSet string
	t.Run("mongo", func(t *testing.T) {
		if len(mongods) == 0 {
			t.Fatal("no mongod service")
		}
		for _, name := range mongods {
			s := f.Services[name]
			rs, ok := s.flag("--replSet")
			if !ok || rs == "" {
				t.Errorf("%s: not started with --replSet", name)
			}
			if replSet != "" && rs != replSet {
				t.Errorf("%s: --replSet %q, others use %q", name, rs, replSet)
			}
			replSet = rs
			if !s.mounts("/data/db") {
				t.Errorf("%s: /data/db is not on a volume", name)
			}
		}
		// One service initiates the replica set with every member.
		var initiators []string
		for name, s := range f.Services {
			script := strings.Join(s.Command, " ")
			if !strings.Contains(script, "rs.initiate") {
				continue
			}
			initiators = append(initiators, name)
			if !strings.Contains(script, `"`+replSet+`"`) {
				t.Errorf("%s: rs.initiate does not name the replica set %q", name, replSet)
			}
			for _, m := range mongods {
				if !strings.Contains(script, m+":27017") {
					t.Errorf("%s: rs.initiate does not list member %s", name, m)
				}
				if _, ok := s.DependsOn[m]; !ok {
					t.Errorf("%s: does not wait for %s", name, m)
				}
			}
		}
		if len(initiators) != 1 {
			t.Errorf("%d services run rs.initiate (%v), want 1", len(initiators), initiators)
		}
	})

	t.Run("services", func(t *testing.T) {
		for svc, want := range map[string]int{
			"api-gateway":        1,
			"ingest-service":     1,
			"dispatcher-service": 2,
			"scheduler-service":  1,
		} {
			if got := len(convoy[svc]); got != want {
				t.Errorf("%d compose services build %s (%v), want %d", got, svc, convoy[svc], want)
			}
		}
		for svc, names := range convoy {
			if _, err := os.Stat(filepath.Join(repoRoot, svc, "cmd", svc)); err != nil {
				t.Errorf("%v build SERVICE=%q, which has no cmd/%s: %v", names, svc, svc, err)
			}
		}
		for name, s := range f.Services {
			if s.Build == nil {
				continue
			}
			if filepath.Clean(filepath.Join(s.Build.Context, s.Build.Dockerfile)) != filepath.Clean(filepath.Join(s.Build.Context, "deploy/docker/Dockerfile")) {
				t.Errorf("%s: built from %q, want deploy/docker/Dockerfile", name, s.Build.Dockerfile)
			}
			if !resolved && s.Build.Context != "." {
				t.Errorf("%s: build context %q, want the repository root", name, s.Build.Context)
			}
			for dep := range s.DependsOn {
				if _, ok := f.Services[dep]; !ok {
					t.Errorf("%s: depends on unknown service %s", name, dep)
				}
			}
			if s.Build.Args["SERVICE"] == "api-gateway" {
				ingest := convoy["ingest-service"]
				if len(ingest) == 0 || s.env("CONVOY_INGEST_ADDR") != ingest[0]+":5006" {
					t.Errorf("%s: CONVOY_INGEST_ADDR %q, want %v:5006", name, s.env("CONVOY_INGEST_ADDR"), ingest)
				}
				continue // the gateway talks only to ingest-service
			}
			checkBackendEnv(t, name, s, replSet, natsNodes, mongods)
		}
		for _, ingest := range convoy["ingest-service"] {
			if len(f.Services[ingest].env("CONVOY_ADMIN_API_KEY")) == 0 {
				t.Errorf("%s: CONVOY_ADMIN_API_KEY is not set", ingest)
			}
			if resolved && len(f.Services[ingest].env("CONVOY_ADMIN_API_KEY")) < 16 {
				t.Errorf("%s: CONVOY_ADMIN_API_KEY resolves to fewer than 16 characters", ingest)
			}
		}
	})

	t.Run("published ports", func(t *testing.T) {
		for svc, port := range map[string]string{"api-gateway": "5005", "ingest-service": "5006"} {
			for _, name := range convoy[svc] {
				if !slices.ContainsFunc(f.Services[name].Ports, func(p string) bool {
					host, container := splitPort(p)
					return host == port && container == port
				}) {
					t.Errorf("%s: port %s is not published as %s %v", name, port, port, f.Services[name].Ports)
				}
			}
		}
	})
}

func checkBackendEnv(t *testing.T, name string, s composeService, replSet string, natsNodes, mongods []string) {
	t.Helper()
	uri := s.env("MONGODB_URI")
	if uri == "" || !strings.Contains(uri, "replicaSet="+replSet) {
		t.Errorf("%s: MONGODB_URI %q does not name the replica set %q", name, uri, replSet)
	}
	for _, m := range mongods {
		if !strings.Contains(uri, m+":27017") {
			t.Errorf("%s: MONGODB_URI %q does not list %s", name, uri, m)
		}
	}
	urls := strings.Split(s.env("NATS_URL"), ",")
	for _, n := range natsNodes {
		if !slices.Contains(urls, "nats://"+n+":4222") {
			t.Errorf("%s: NATS_URL %q does not list %s", name, s.env("NATS_URL"), n)
		}
	}
	if got := s.env("CONVOY_NATS_REPLICAS"); got != "3" {
		t.Errorf("%s: CONVOY_NATS_REPLICAS %q, want 3", name, got)
	}
	for _, n := range natsNodes {
		if d, ok := s.DependsOn[n]; !ok || d.Condition != "service_healthy" {
			t.Errorf("%s: does not wait for %s to be healthy", name, n)
		}
	}
}

// checkNATSImage wants a NATS server of 2.12 or newer, pinned to a version.
func checkNATSImage(t *testing.T, name, image string) {
	t.Helper()
	m := regexp.MustCompile(`^nats:(\d+)\.(\d+)`).FindStringSubmatch(image)
	if m == nil {
		t.Errorf("%s: image %q is not pinned to a NATS version", name, image)
		return
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < 2 || (major == 2 && minor < 12) {
		t.Errorf("%s: image %q, want NATS 2.12 or newer", name, image)
	}
}

// splitPort returns the host and container ports of a compose port mapping
// such as "127.0.0.1:5005:5005", "5005:5005" or "127.0.0.1:5005:5005/tcp".
func splitPort(p string) (host, container string) {
	p, _, _ = strings.Cut(p, "/")
	parts := strings.Split(p, ":")
	if len(parts) < 2 {
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	var froms, instructions []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instructions = append(instructions, line)
		if strings.HasPrefix(line, "FROM ") {
			froms = append(froms, line)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(froms))
	}
	final := froms[len(froms)-1]
	if !strings.Contains(final, "distroless/static") && !strings.Contains(final, "scratch") {
		t.Errorf("final stage %q: want a static, shell-less base (distroless/static or scratch)", final)
	}
	has := func(prefix string) bool {
		return slices.ContainsFunc(instructions, func(l string) bool { return strings.HasPrefix(l, prefix) })
	}
	for _, want := range []string{"ARG SERVICE", `ENTRYPOINT ["/app"]`} {
		if !has(want) {
			t.Errorf("no %q", want)
		}
	}
	if !slices.ContainsFunc(instructions, func(l string) bool {
		return strings.HasPrefix(l, "RUN ") && strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "go build")
	}) {
		t.Error("the binary is not built static (CGO_ENABLED=0 go build)")
	}
	// The last USER must be a non-root numeric uid, so runAsNonRoot can verify it.
	var user string
	for _, l := range instructions {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = u
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root uid", user)
	}

	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".data", "bin", ".bin", "bench-results"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

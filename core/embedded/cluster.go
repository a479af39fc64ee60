package embedded

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// clusterName is the route cluster name of every embedded cluster.
const clusterName = "convoy"

// metaLeaderTimeout bounds how long StartNATSCluster waits for the JetStream meta leader.
const metaLeaderTimeout = 30 * time.Second

// Cluster is a JetStream cluster of in-process NATS servers routed over loopback.
type Cluster struct {
	nodes []*NATS
}

// StartNATSCluster starts n routed NATS servers with JetStream on 127.0.0.1, each storing under
// dir/<server name>, and returns once the cluster has elected its JetStream meta leader, so that
// replicated streams can be created right away. Server names are stable (convoy-0, convoy-1, ...):
// starting a cluster again on the same dir recovers its streams.
func StartNATSCluster(dir string, n int) (*Cluster, error) {
	if n < 2 {
		return nil, fmt.Errorf("start nats cluster: need at least 2 nodes, got %d", n)
	}
	// Route ports are picked before any server starts because JetStream sizes its meta group from
	// the configured routes. Another process can take a port in between; a retry picks new ones.
	var lastErr error
	for range 3 {
		c, err := startCluster(dir, n)
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("start nats cluster: %w", lastErr)
}

func startCluster(dir string, n int) (*Cluster, error) {
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	routes := make([]*url.URL, n)
	for i, p := range ports {
		routes[i] = &url.URL{Scheme: "nats-route", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p))}
	}

	c := &Cluster{}
	for i := range n {
		name := fmt.Sprintf("convoy-%d", i)
		node, err := StartNATS(NATSOptions{
			Dir:        filepath.Join(dir, name),
			Port:       -1,
			serverName: name,
			cluster:    server.ClusterOpts{Name: clusterName, Host: "127.0.0.1", Port: ports[i]},
			routes:     routes,
		})
		if err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, node)
	}
	if err := c.waitMetaLeader(metaLeaderTimeout); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// waitMetaLeader polls until one node leads the JetStream meta group and every node is current
// with it.
func (c *Cluster) waitMetaLeader(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		leader, current := false, true
		for _, node := range c.nodes {
			leader = leader || node.srv.JetStreamIsLeader()
			current = current && node.srv.JetStreamIsCurrent()
		}
		if leader && current {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no JetStream meta leader elected in time")
}

// URLs returns the client URLs of every node, comma-separated, as nats.Connect accepts them.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.nodes))
	for i, node := range c.nodes {
		urls[i] = node.URL()
	}
	return strings.Join(urls, ",")
}

// Node returns the i-th server, e.g. to shut it down in a failover test.
func (c *Cluster) Node(i int) *NATS { return c.nodes[i] }

// Shutdown stops every node and waits for each to finish.
func (c *Cluster) Shutdown() {
	for _, node := range c.nodes {
		node.Shutdown()
	}
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick route port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

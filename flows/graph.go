package flows

import (
	"fmt"
	"slices"
	"strings"
)

// Checks of the flow as a graph: where each node leads, loops that never wait for the
// caller, how deep a flow runs without input, and nodes no call can reach.

// passes lists where a node can lead without waiting for input; a node that waits
// (gather, identify, record) or ends the flow (handoff, hangup, goto to another flow)
// leads nowhere here. choose_member counts as not waiting: with one member (or too many to
// list) it passes straight through. A goto to this same flow starts it over.
func (c *compiler) passes(n *Node) []string {
	switch n.Type {
	case NodeSay, NodePlay, NodeSet:
		return []string{n.Next}
	case NodeBranch:
		out := []string{}
		for _, k := range n.Cases {
			out = append(out, k.Next)
		}
		return append(out, n.Default)
	case NodeChooseMember:
		return []string{n.Next, n.NoMatch, n.NoInput}
	case NodeVerify:
		// Already verified, or no member to verify: it goes on without asking.
		return []string{n.Next, n.NotFound}
	case NodeRemember:
		return []string{n.Next} // nothing to offer: it goes on without asking
	case NodeFetch:
		return []string{n.Next, n.Error} // the answer comes within the turn
	case NodeMessage:
		return []string{n.Next, n.NotSent}
	case NodeGoto:
		if strings.TrimSpace(n.Flow) == c.f.ID {
			return []string{c.f.StartNode}
		}
	case NodeSplit:
		out := []string{}
		for _, a := range n.Arms {
			out = append(out, a.Next)
		}
		return out
	}
	return nil
}

// leads lists every node n can lead to, with or without input.
func (c *compiler) leads(n *Node) []string {
	out := append(c.passes(n), n.Next, n.NoInput, n.NoMatch, n.NotFound, n.Error, n.NotSent)
	for _, o := range n.Options {
		out = append(out, o.Next)
	}
	return out
}

// node returns the node with id, or -1.
func (c *compiler) nodeIndex(id string) int {
	if j, ok := c.index[id]; ok && id != "" {
		return j
	}
	return -1
}

// loops reports cycles that can run without waiting for input.
func (c *compiler) loops() {
	const (
		unseen = iota
		active
		done
	)
	color := make([]int, len(c.f.Nodes))
	reported := make([]bool, len(c.f.Nodes))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		color[i] = active
		stack = append(stack, i)
		for _, id := range c.passes(&c.f.Nodes[i]) {
			j := c.nodeIndex(id)
			if j < 0 {
				continue
			}
			switch color[j] {
			case unseen:
				visit(j)
			case active:
				if reported[j] {
					continue // each loop once, at the node it comes back to
				}
				reported[j] = true
				k := slices.Index(stack, j)
				names := make([]string, 0, len(stack)-k+1)
				for _, s := range stack[k:] {
					names = append(names, c.f.Nodes[s].ID)
				}
				names = append(names, c.f.Nodes[j].ID)
				c.add(c.paths[j], "loop without input: %s", pathWords(names))
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = done
	}
	for i, n := range c.f.Nodes {
		if color[i] == unseen && c.index[n.ID] == i && idPattern.MatchString(n.ID) {
			visit(i)
		}
	}
}

// depth reports the longest way through the flow without caller input when it is longer
// than max_steps_without_input: counted in nodes, the one that waits or ends included,
// as the engine counts them. Loops are loops' to report; here they end a path.
func (c *compiler) depth() {
	n := len(c.f.Nodes)
	depth := make([]int, n)
	nextOf := make([]int, n)
	onStack := make([]bool, n)
	var visit func(i int) int
	visit = func(i int) int {
		if depth[i] > 0 || onStack[i] {
			return depth[i]
		}
		onStack[i] = true
		best, bestNext := 0, -1
		for _, id := range c.passes(&c.f.Nodes[i]) {
			if j := c.nodeIndex(id); j >= 0 {
				if d := visit(j); d > best {
					best, bestNext = d, j
				}
			}
		}
		onStack[i] = false
		depth[i], nextOf[i] = best+1, bestNext
		return depth[i]
	}
	worst := -1
	for i, nd := range c.f.Nodes {
		if c.index[nd.ID] != i || !idPattern.MatchString(nd.ID) {
			continue
		}
		if visit(i) > c.p.maxSteps && (worst < 0 || depth[i] > depth[worst]) {
			worst = i
		}
	}
	if worst < 0 {
		return
	}
	names := []string{}
	for i, k := worst, 0; i >= 0 && k <= depth[worst]; i, k = nextOf[i], k+1 {
		names = append(names, c.f.Nodes[i].ID)
	}
	c.add(c.paths[worst], "%d steps without caller input (max_steps_without_input is %d): %s",
		depth[worst], c.p.maxSteps, pathWords(names))
}

// pathWords writes a path of node ids with arrows; a long one keeps its first and last
// few nodes and says how many are left out, so a problem stays a line however long the
// path.
func pathWords(ids []string) string {
	const ends = 5
	if len(ids) <= 2*ends+1 {
		return strings.Join(ids, " → ")
	}
	return fmt.Sprintf("%s → … (%d more) → %s", strings.Join(ids[:ends], " → "), len(ids)-2*ends, strings.Join(ids[len(ids)-ends:], " → "))
}

// reachable warns about nodes no path from the start reaches: harmless to a call, but
// usually a mistake (or work in progress), so not an error.
func (c *compiler) reachable() {
	start := c.nodeIndex(c.f.StartNode)
	if start < 0 {
		return
	}
	seen := make([]bool, len(c.f.Nodes))
	queue := []int{start}
	seen[start] = true
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, id := range c.leads(&c.f.Nodes[i]) {
			if j := c.nodeIndex(id); j >= 0 && !seen[j] {
				seen[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i, n := range c.f.Nodes {
		if !seen[i] && c.index[n.ID] == i && idPattern.MatchString(n.ID) {
			c.warn(c.paths[i], "unreachable: no path from the start node leads here")
		}
	}
}

package flows

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// The disclosure policy (Flow.Disclosure): which member and activity fields a call may
// hear at each trust level. Compiled into the lowest trust rank each template needs, so
// the engine compares two small numbers per prompt.

// neverRank is the rank of a governed field no level lists: above every trust level.
const neverRank = 4

// governed lists the fields a disclosure policy rules; attributes are governed as
// "member.attributes.<name>" (or all at once as "member.attributes.*").
var governed = []field{
	fieldMemberFirstName, fieldMemberLastName, fieldMemberTier, fieldMemberAttr, fieldMemberID,
	fieldActivityKind, fieldActivityPlace, fieldActivitySummary, fieldActivityReference,
	fieldActivityRelation, fieldActivityStatus, fieldActivityStartsAt, fieldActivityEndsAt,
}

const attrWildcard = attrPrefix + "*"

// DefaultDisclosure is the policy of a flow that sets none: the built-in flow's. A flow
// is safe by default: a caller whose number failed attestation hears nothing about the
// member, and the details need the number attested or the member's PIN.
var DefaultDisclosure = sync.OnceValue(func() map[string][]string {
	var doc struct {
		Disclosure map[string][]string `json:"disclosure"`
	}
	if err := json.Unmarshal(defaultFlowJSON, &doc); err != nil || doc.Disclosure == nil {
		panic(fmt.Sprintf("flows: the built-in flow has no disclosure policy: %v", err))
	}
	return doc.Disclosure
})

// disclosure checks and compiles Flow.Disclosure, or the default policy without one.
func (c *compiler) disclosure() {
	d := c.f.Disclosure
	if d == nil {
		d = DefaultDisclosure()
	}
	c.policy = map[string]int{}
	for _, level := range slices.Sorted(maps.Keys(d)) {
		if !slices.Contains(TrustLevels, level) {
			c.add(join("disclosure", level), "unknown trust level %q (levels: %s)", level, strings.Join(TrustLevels, ", "))
		}
	}
	for rank, level := range TrustLevels {
		for i, name := range d[level] {
			path := join(join("disclosure", level), fmt.Sprint(i))
			f, key := lookupField(name)
			if name == attrWildcard {
				f, key = fieldMemberAttr, "*"
			}
			if !slices.Contains(governed, f) {
				c.add(path, "%q is not a member or activity field (the policy rules member.*, member.attributes.<name>, member.attributes.* and activity.*)", name)
				continue
			}
			k := policyKey(f, key)
			if _, ok := c.policy[k]; !ok {
				c.policy[k] = rank // the lowest level that lists it
			}
		}
	}
}

func policyKey(f field, key string) string {
	if f == fieldMemberAttr {
		return attrPrefix + key
	}
	return f.String()
}

// rank is the lowest trust rank that may hear field f (with key).
func (c *compiler) rank(f field, key string) int {
	if c.policy == nil || !slices.Contains(governed, f) {
		return 0
	}
	if r, ok := c.policy[policyKey(f, key)]; ok {
		if f != fieldMemberAttr {
			return r
		}
		if w, ok := c.policy[attrWildcard]; ok && w < r {
			return w
		}
		return r
	}
	if f == fieldMemberAttr {
		if w, ok := c.policy[attrWildcard]; ok {
			return w
		}
	}
	return neverRank
}

// needs sets and returns the lowest trust rank that may hear tpl.
func (c *compiler) needs(tpl *template) int {
	need, _ := c.need(tpl)
	tpl.need = int8(need)
	return need
}

// worst names the field that sets tpl's need.
func (c *compiler) worst(tpl *template) string {
	_, worst := c.need(tpl)
	return worst
}

func (c *compiler) need(tpl *template) (int, string) {
	need, worst := 0, ""
	for _, p := range tpl.parts {
		if p.op == opText {
			continue
		}
		f, key := p.field, p.key
		if p.op == opFirstNameOr {
			f = fieldMemberFirstName
		}
		if r := c.rank(f, key); r > need {
			need, worst = r, policyKey(f, key)
		}
	}
	return need, worst
}

// checkSafe warns about a safe text that the lowest levels may not hear either.
func (c *compiler) checkSafe(path string, t ctext) {
	for _, lang := range slices.Sorted(maps.Keys(t)) {
		if need := int(t[lang].need); need > 0 && need < neverRank {
			c.warn(join(path, lang), "callers below %s hear nothing here: the safe text itself says fields they may not hear", TrustLevels[need])
		}
	}
}

package flows

import (
	_ "embed"
	"fmt"
	"sync"
)

//go:embed default_flow.json
var defaultFlowJSON []byte

// DefaultJSON returns the default flow document, a starting point for editing.
func DefaultJSON() []byte { return append([]byte(nil), defaultFlowJSON...) }

// Default returns the built-in member line flow (default_flow.json), loaded once. It
// panics only if the embedded document is invalid, which a test prevents.
func Default() *Flow { return defaultFlow() }

var defaultFlow = sync.OnceValue(func() *Flow {
	f, err := Load(defaultFlowJSON)
	if err != nil {
		panic(fmt.Sprintf("flows: default flow: %v", err))
	}
	if probs := f.Validate(); len(probs) > 0 {
		panic(fmt.Sprintf("flows: default flow: %v", Problems(probs)))
	}
	return f
})

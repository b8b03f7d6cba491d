package console

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/memberline/memberline/flows"
)

// The console shows a flow without a policy of its own the built-in flow's policy, and
// starts new flows with it: its copy (model.js's DEFAULT_DISCLOSURE) is the one the
// engine applies (flows.DefaultDisclosure).
func TestConsoleDefaultPolicyIsTheEngines(t *testing.T) {
	src, err := os.ReadFile("static/js/model.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)export const DEFAULT_DISCLOSURE = (\{.*?\n\});`).FindSubmatch(src)
	if m == nil {
		t.Fatal("model.js has no DEFAULT_DISCLOSURE")
	}
	// The literal is JavaScript: quote its keys and make its quotes JSON's.
	literal := regexp.MustCompile(`(?m)^(\s*)([a-z_]+):`).ReplaceAllString(string(m[1]), `$1"$2":`)
	literal = strings.ReplaceAll(literal, "'", `"`)
	literal = regexp.MustCompile(`,(\s*[}\]])`).ReplaceAllString(literal, "$1")
	var got map[string][]string
	if err := json.Unmarshal([]byte(literal), &got); err != nil {
		t.Fatalf("DEFAULT_DISCLOSURE does not read as JSON: %v\n%s", err, literal)
	}
	if want := flows.DefaultDisclosure(); !reflect.DeepEqual(got, want) {
		t.Errorf("the console's default policy\n%v\nis not the engine's\n%v", got, want)
	}
}

package flowstore

import "embed"

//go:embed queries/*.sql
var queryFiles embed.FS

// query is the text of queries/name.sql; a missing file fails at start, in every test.
func query(name string) string { return string(must(queryFiles.ReadFile("queries/" + name + ".sql"))) }

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

var (
	qBindingInsert       = query("binding_insert")
	qBindingsDeleteAll   = query("bindings_delete_all")
	qBindingsList        = query("bindings_list")
	qChangesBump         = query("changes_bump")
	qChangesLock         = query("changes_lock")
	qChangesSeq          = query("changes_seq")
	qDraftGet            = query("draft_get")
	qDraftLock           = query("draft_lock")
	qDraftUpdate         = query("draft_update")
	qFlowCreate          = query("flow_create")
	qFlowExists          = query("flow_exists")
	qFlowPublished       = query("flow_published")
	qFlowsList           = query("flows_list")
	qHistoryInsert       = query("history_insert")
	qHistoryList         = query("history_list")
	qPublishedIds        = query("published_ids")
	qSeedBinding         = query("seed_binding")
	qSeedFlow            = query("seed_flow")
	qSeedVersion         = query("seed_version")
	qVersionDocument     = query("version_document")
	qVersionGet          = query("version_get")
	qVersionInsert       = query("version_insert")
	qVersionLatestNumber = query("version_latest_number")
	qVersionsLatest      = query("versions_latest")
	qVersionsList        = query("versions_list")
)

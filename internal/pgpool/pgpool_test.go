package pgpool

import (
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	cfg, err := Config("postgres://u@127.0.0.1:5432/db", 12, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 12 || cfg.ConnConfig.RuntimeParams["statement_timeout"] != "1500" {
		t.Fatalf("max %d, params %v", cfg.MaxConns, cfg.ConnConfig.RuntimeParams)
	}
	cfg, err = Config("postgres://u@127.0.0.1:5432/db", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, set := cfg.ConnConfig.RuntimeParams["statement_timeout"]; set || cfg.MaxConns <= 0 {
		t.Fatalf("defaults changed: max %d, params %v", cfg.MaxConns, cfg.ConnConfig.RuntimeParams)
	}
}

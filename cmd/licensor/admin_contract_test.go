package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestContractNonProductionCap: contract create --max-non-production sets
// the cap of a production_url contract and the listing shows it;
// contract change --max-non-production moves it; an instance-seat contract
// refuses it with INVALID_ARGUMENT.
func TestContractNonProductionCap(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	raw, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		ProductID  string `json:"product_id"`
		CustomerID string `json:"customer_id"`
		ContractID string `json:"contract_id"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	admin := func(args ...string) (string, error) {
		return runCLI(t, append([]string{"admin", "--demo-file", demo}, args...)...)
	}
	out, err := admin("contract", "create", "--customer", d.CustomerID, "--product", d.ProductID,
		"--seat-rule", "production_url", "--max-seats", "3", "--max-non-production", "2")
	if err != nil || !strings.Contains(out, "non-production 0/2") {
		t.Fatalf("contract create --max-non-production 2: got %q, %v; want non-production 0/2", out, err)
	}
	id := regexp.MustCompile(`con_[0-9a-z]+`).FindString(out)
	out, err = admin("contract", "change", id, "--max-non-production", "0")
	if err != nil || !strings.Contains(out, "non-production 0/unlimited") {
		t.Errorf("contract change --max-non-production 0: got %q, %v; want non-production 0/unlimited", out, err)
	}
	_, err = admin("contract", "change", d.ContractID, "--max-non-production", "2")
	if err == nil || !strings.HasPrefix(err.Error(), "INVALID_ARGUMENT:") || !strings.Contains(err.Error(), "production_url") {
		t.Errorf("contract change --max-non-production on an instance-seat contract: got %v, want INVALID_ARGUMENT naming production_url", err)
	}
}

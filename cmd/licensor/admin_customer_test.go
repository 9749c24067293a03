package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogCommands: customer get/update/delete with metadata, product
// and feature update/delete; a delete of what a contract refers to fails
// with FAILED_PRECONDITION naming the contract.
func TestCatalogCommands(t *testing.T) {
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

	out, err := admin("customer", "create", "Globex", "--metadata", "crm.id=7", "--metadata", "region=eu")
	if err != nil {
		t.Fatalf("customer create: %v", err)
	}
	id := regexp.MustCompile(`cus_[0-9a-z]+`).FindString(out)
	out, err = admin("customer", "get", id)
	if err != nil || !strings.Contains(out, "crm.id=7,region=eu") {
		t.Errorf("customer get: got %q, %v; want crm.id=7,region=eu", out, err)
	}
	out, err = admin("customer", "update", id, "--name", "Globex Corp", "--metadata", "tier=gold")
	if err != nil || !strings.Contains(out, "Globex Corp") || !strings.Contains(out, "tier=gold") || strings.Contains(out, "region") {
		t.Errorf("customer update: got %q, %v; want Globex Corp with only tier=gold", out, err)
	}
	if _, err := admin("customer", "update", id, "--metadata", "Bad Key=1"); err == nil || !strings.HasPrefix(err.Error(), "INVALID_ARGUMENT:") {
		t.Errorf("customer update with a bad key: got %v, want INVALID_ARGUMENT", err)
	}
	if _, err := admin("customer", "update", id, "--metadata", "novalue"); err == nil {
		t.Error("customer update --metadata novalue: got no error, want one")
	}
	_, err = admin("customer", "delete", d.CustomerID)
	if err == nil || !strings.HasPrefix(err.Error(), "FAILED_PRECONDITION:") || !strings.Contains(err.Error(), "contract") {
		t.Errorf("customer delete with a contract: got %v, want FAILED_PRECONDITION naming a contract", err)
	}
	if out, err := admin("customer", "delete", id); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("customer delete: got %q, %v", out, err)
	}

	_, err = admin("contract", "change", d.ContractID, "--metadata", "po=PO-1")
	if err != nil {
		t.Errorf("contract change --metadata: %v", err)
	}
	_, err = admin("product", "delete", d.ProductID)
	if err == nil || !strings.HasPrefix(err.Error(), "FAILED_PRECONDITION:") {
		t.Errorf("product delete with a contract: got %v, want FAILED_PRECONDITION", err)
	}
	out, err = admin("product", "create", "Spare")
	if err != nil {
		t.Fatal(err)
	}
	pid := regexp.MustCompile(`prd_[0-9a-z]+`).FindString(out)
	if out, err := admin("product", "update", pid, "--name", "Spare Parts"); err != nil || !strings.Contains(out, "Spare Parts") {
		t.Errorf("product update: got %q, %v", out, err)
	}
	out, err = admin("feature", "create", "--product", pid, "plot")
	if err != nil {
		t.Fatal(err)
	}
	fid := regexp.MustCompile(`fea_[0-9a-z]+`).FindString(out)
	if out, err := admin("feature", "update", fid, "--description", "Plots"); err != nil || !strings.Contains(out, "Plots") {
		t.Errorf("feature update: got %q, %v", out, err)
	}
	if out, err := admin("feature", "delete", fid); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("feature delete: got %q, %v", out, err)
	}
	if out, err := admin("product", "delete", pid); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("product delete: got %q, %v", out, err)
	}
}

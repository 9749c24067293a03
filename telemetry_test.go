package licensor

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func manyStrings(n, valueLen int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", valueLen)
	}
	return m
}

func TestTelemetryValidate(t *testing.T) {
	good := Telemetry{
		ProductVersion: "2.4.1", RuntimeVersions: map[string]string{"go": "1.24.2"}, Environment: "staging",
		ServerHost: "web-1", ServerIP: "2001:db8::7", ServerPort: 443, AppName: "shop",
		Usage: map[string]int64{"resources_count": 0}, Labels: map[string]string{"team/owner": "web"},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid telemetry: got %v, want none", err)
	}
	cases := []struct {
		name    string
		edit    func(*Telemetry)
		mention string
	}{
		{"UnknownEnvironment", func(t *Telemetry) { t.Environment = "prod" }, "environment"},
		{"NegativeCounter", func(t *Telemetry) { t.Usage["resources_count"] = -1 }, "negative"},
		{"BadIP", func(t *Telemetry) { t.ServerIP = "300.1.1.1" }, "server_ip"},
		{"PortTooBig", func(t *Telemetry) { t.ServerPort = 65536 }, "65535"},
		{"TooManyLabels", func(t *Telemetry) { t.Labels = manyStrings(MaxTelemetryEntries+1, 1) }, "the limit is 64"},
		{"TooManyCounters", func(t *Telemetry) {
			t.Usage = map[string]int64{}
			for i := range MaxTelemetryEntries + 1 {
				t.Usage[fmt.Sprintf("c%d", i)] = 1
			}
		}, "the limit is 64"},
		{"LongKey", func(t *Telemetry) { t.Labels = map[string]string{strings.Repeat("k", 65): "v"} }, "the limit is 64"},
		{"LongValue", func(t *Telemetry) { t.ProductVersion = strings.Repeat("1", 257) }, "the limit is 256"},
		{"TotalSize", func(t *Telemetry) { t.Labels = manyStrings(40, 250) }, "the limit is 8192"},
		{"BadKey", func(t *Telemetry) { t.Usage = map[string]int64{"a b": 1} }, "letters"},
		{"EmptyKey", func(t *Telemetry) { t.Labels = map[string]string{"": "x"} }, "empty key"},
		{"ControlChar", func(t *Telemetry) { t.AppName = "shop\n" }, "control"},
		{"TokenKey", func(t *Telemetry) { t.Labels = map[string]string{"lsr_con_abc": "x"} }, "token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := good.Redact() // a deep enough copy
			c.edit(&tm)
			err := tm.Validate()
			if ErrorCode(err) != EINVALID {
				t.Fatalf("got %v, want %s", err, EINVALID)
			}
			if !strings.Contains(ErrorMessage(err), c.mention) {
				t.Errorf("message: got %q, want it to mention %q", ErrorMessage(err), c.mention)
			}
		})
	}
}

func TestKeepTelemetry(t *testing.T) {
	in := Telemetry{
		ProductVersion: "2.4.1", Environment: "production", ServerHost: "web-1", ServerIP: "203.0.113.77", ServerPort: 8080,
		AppName: "shop", Usage: map[string]int64{"n": 3}, Labels: map[string]string{"cfg": "token=lsr_con_abcdef", "region": "eu"},
	}
	ten := &Tenant{TelemetryFieldsDropped: []string{"server_host", "usage"}, TruncateIPs: true}
	got := ten.KeepTelemetry(in)
	want := &Telemetry{
		ProductVersion: "2.4.1", Environment: "production", ServerIP: "203.0.113.0", ServerPort: 8080, AppName: "shop",
		Labels: map[string]string{"cfg": Redacted, "region": "eu"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KeepTelemetry: got %+v, want %+v", got, want)
	}
	if in.Labels["cfg"] != "token=lsr_con_abcdef" {
		t.Errorf("KeepTelemetry changed its input")
	}
}

func TestTruncateIP(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.0"},
		{"2001:db8:1234:5678::1", "2001:db8:1234::"},
		{"::ffff:203.0.113.77", "203.0.113.0"},
		{"not-an-ip", "not-an-ip"},
		{"", ""},
	} {
		if got := TruncateIP(c.in); got != c.want {
			t.Errorf("TruncateIP(%q): got %q, want %q", c.in, got, c.want)
		}
	}
	if got, want := TruncateAddr("198.51.100.9:4000"), "198.51.100.0:4000"; got != want {
		t.Errorf("TruncateAddr: got %q, want %q", got, want)
	}
	if got, want := TruncateAddr("[2001:db8:aa:bb::1]:443"), "[2001:db8:aa::]:443"; got != want {
		t.Errorf("TruncateAddr v6: got %q, want %q", got, want)
	}
}

func TestTenantTelemetrySettings(t *testing.T) {
	ten := Tenant{Name: "Acme", TelemetryFieldsDropped: []string{"labels", "app_name", "labels"}}
	if err := ten.Validate(); err != nil {
		t.Fatal(err)
	}
	if ten.TelemetryRetention != DefaultTelemetryRetention {
		t.Errorf("retention: got %v, want the default %v", ten.TelemetryRetention, DefaultTelemetryRetention)
	}
	if got := strings.Join(ten.TelemetryFieldsDropped, ","); got != "app_name,labels" {
		t.Errorf("dropped: got %q, want app_name,labels (sorted, once each)", got)
	}
	for _, bad := range []Tenant{
		{Name: "A", TelemetryFieldsDropped: []string{"password"}},
		{Name: "A", TelemetryRetention: time.Hour},
	} {
		if err := bad.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("Validate(%+v): got %v, want %s", bad, err, EINVALID)
		}
	}
}

func TestFleetAccumulator(t *testing.T) {
	var a FleetAccumulator
	a.Add(&Instance{Environment: "production", Telemetry: &Telemetry{ProductVersion: "2.0", RuntimeVersions: map[string]string{"go": "1.24"}, Usage: map[string]int64{"r": 10}}})
	a.Add(&Instance{Environment: "staging", Telemetry: &Telemetry{ProductVersion: "2.0", Usage: map[string]int64{"r": 30, "f": 1}}})
	a.Add(&Instance{})
	s := a.Summary()
	want := FleetSummary{
		Instances:       3,
		ProductVersions: []CountByValue{{"2.0", 2}},
		Environments:    []CountByValue{{EnvUnset, 1}, {"production", 1}, {"staging", 1}},
		RuntimeVersions: []CountByValue{{"go 1.24", 1}},
		Counters:        []CounterSummary{{Name: "f", Sum: 1, Max: 1, Instances: 1}, {Name: "r", Sum: 40, Max: 30, Instances: 2}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Summary: got %+v, want %+v", s, want)
	}
}

// TestRedactEveryField: a token in any string an instance reports, in any
// case, is not what is kept: each field on its own, and the whole kept
// telemetry never contains it.
func TestRedactEveryField(t *testing.T) {
	const secret = "lsr_con_0123456789abcdef"
	for _, tok := range []string{secret, "Bearer " + secret, strings.ToUpper(secret)} {
		cases := []struct {
			field string
			set   func(*Telemetry)
			get   func(*Telemetry) string
		}{
			{"product_version", func(t *Telemetry) { t.ProductVersion = tok }, func(t *Telemetry) string { return t.ProductVersion }},
			{"environment", func(t *Telemetry) { t.Environment = tok }, func(t *Telemetry) string { return t.Environment }},
			{"server_host", func(t *Telemetry) { t.ServerHost = tok }, func(t *Telemetry) string { return t.ServerHost }},
			{"server_ip", func(t *Telemetry) { t.ServerIP = tok }, func(t *Telemetry) string { return t.ServerIP }},
			{"app_name", func(t *Telemetry) { t.AppName = tok }, func(t *Telemetry) string { return t.AppName }},
			{"runtime_versions value", func(t *Telemetry) { t.RuntimeVersions = map[string]string{"go": tok} }, func(t *Telemetry) string { return t.RuntimeVersions["go"] }},
			{"labels value", func(t *Telemetry) { t.Labels = map[string]string{"cfg": tok} }, func(t *Telemetry) string { return t.Labels["cfg"] }},
			{"runtime_versions key", func(t *Telemetry) { t.RuntimeVersions = map[string]string{tok: "1"} }, func(t *Telemetry) string { return fmt.Sprint(t.RuntimeVersions) }},
			{"labels key", func(t *Telemetry) { t.Labels = map[string]string{tok: "x"} }, func(t *Telemetry) string { return fmt.Sprint(t.Labels) }},
			{"usage key", func(t *Telemetry) { t.Usage = map[string]int64{tok: 1} }, func(t *Telemetry) string { return fmt.Sprint(t.Usage) }},
		}
		for _, c := range cases {
			t.Run(c.field+"/"+tok[:6], func(t *testing.T) {
				var in Telemetry
				c.set(&in)
				kept := (&Tenant{}).KeepTelemetry(in)
				if got := c.get(kept); strings.Contains(strings.ToLower(got), "lsr_con_") {
					t.Errorf("%s: got %q kept, want the token redacted", c.field, got)
				}
				b, err := json.Marshal(kept)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(strings.ToLower(string(b)), "lsr_con_") {
					t.Errorf("kept telemetry %s carries the token", b)
				}
			})
		}
	}
	if got := RedactToken("host-" + secret); got != Redacted {
		t.Errorf("RedactToken(host with a token): got %q, want %q", got, Redacted)
	}
	if got := RedactToken("web-1.example.com"); got != "web-1.example.com" {
		t.Errorf("RedactToken(plain host): got %q, want it unchanged", got)
	}
}

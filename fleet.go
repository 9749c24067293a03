package licensor

import (
	"math"
	"sort"
)

// CountByValue is how many instances report one value (a version, an
// environment).
type CountByValue struct {
	Value     string
	Instances int64
}

// CounterSummary sums one usage counter over the instances that report it.
type CounterSummary struct {
	Name      string
	Sum       int64 // saturates at math.MaxInt64
	Max       int64
	Instances int64
}

// FleetSummary describes a tenant's (or a contract's) instances from their
// latest telemetry.
type FleetSummary struct {
	Instances       int64
	ProductVersions []CountByValue
	Environments    []CountByValue
	// RuntimeVersions counts "name version", e.g. "go 1.24.2".
	RuntimeVersions []CountByValue
	Counters        []CounterSummary
}

// EnvUnset is how a summary shows instances that reported no environment
// (which count as production for seats).
const EnvUnset = "(unset)"

// FleetAccumulator builds a FleetSummary one instance at a time, so a
// fleet of any size is summarized page by page.
type FleetAccumulator struct {
	n        int64
	versions map[string]int64
	envs     map[string]int64
	runtimes map[string]int64
	counters map[string]*CounterSummary
}

// Add counts one instance.
func (a *FleetAccumulator) Add(i *Instance) {
	if a.versions == nil {
		a.versions, a.envs, a.runtimes = map[string]int64{}, map[string]int64{}, map[string]int64{}
		a.counters = map[string]*CounterSummary{}
	}
	a.n++
	env := i.Environment
	if env == "" {
		env = EnvUnset
	}
	a.envs[env]++
	t := i.Telemetry
	if t == nil {
		return
	}
	if t.ProductVersion != "" {
		a.versions[t.ProductVersion]++
	}
	for name, v := range t.RuntimeVersions {
		a.runtimes[name+" "+v]++
	}
	for name, v := range t.Usage {
		c := a.counters[name]
		if c == nil {
			c = &CounterSummary{Name: name}
			a.counters[name] = c
		}
		c.Instances++
		if v > c.Max {
			c.Max = v
		}
		if c.Sum > math.MaxInt64-v {
			c.Sum = math.MaxInt64
		} else {
			c.Sum += v
		}
	}
}

// Summary returns the summary so far: value counts by most instances, then
// by value; counters by name.
func (a *FleetAccumulator) Summary() FleetSummary {
	s := FleetSummary{
		Instances:       a.n,
		ProductVersions: byCount(a.versions),
		Environments:    byCount(a.envs),
		RuntimeVersions: byCount(a.runtimes),
	}
	for _, c := range a.counters {
		s.Counters = append(s.Counters, *c)
	}
	sort.Slice(s.Counters, func(i, j int) bool { return s.Counters[i].Name < s.Counters[j].Name })
	return s
}

func byCount(m map[string]int64) []CountByValue {
	out := make([]CountByValue, 0, len(m))
	for v, n := range m {
		out = append(out, CountByValue{Value: v, Instances: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Instances != out[j].Instances {
			return out[i].Instances > out[j].Instances
		}
		return out[i].Value < out[j].Value
	})
	return out
}

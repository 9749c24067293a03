package licensor_test

import (
	"testing"
	"time"

	"github.com/licensor/licensor"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func contract(mut func(c *licensor.Contract)) *licensor.Contract {
	c := &licensor.Contract{ID: "con_1", CustomerID: "cus_1", ProductID: "prd_1", StartsAt: t0, EndsAt: t0.Add(30 * 24 * time.Hour)}
	if mut != nil {
		mut(c)
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

func TestContractTerms(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name       string
		c          *licensor.Contract
		now        time.Time
		wantCode   string
		wantExp    time.Time
		wantFallbk bool
	}{
		{"OK", contract(nil), t0.Add(day), "", t0.Add(15 * day), false},
		{"CappedAtEnd", contract(nil), t0.Add(20 * day), "", t0.Add(30 * day), false},
		{"NoEnd", contract(func(c *licensor.Contract) { c.EndsAt = time.Time{} }), t0.Add(400 * day), "", t0.Add(414 * day), false},
		{"NotStarted", contract(nil), t0.Add(-time.Second), licensor.EFORBIDDEN, time.Time{}, false},
		{"Suspended", contract(func(c *licensor.Contract) { c.Status = licensor.ContractSuspended }), t0.Add(day), licensor.EFORBIDDEN, time.Time{}, false},
		{"EndedNoFallback", contract(nil), t0.Add(30 * day), licensor.EFORBIDDEN, time.Time{}, false},
		{"EndedPerpetual", contract(func(c *licensor.Contract) { c.Fallback = licensor.FallbackPerpetual }), t0.Add(31 * day), "", t0.Add(45 * day), true},
		{"CustomValidity", contract(func(c *licensor.Contract) { c.LicenseValidity = 3 * day; c.RefreshInterval = time.Hour }), t0, "", t0.Add(3 * day), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			terms, err := c.c.Terms(c.now)
			if got := licensor.ErrorCode(err); got != c.wantCode {
				t.Fatalf("code: got %q (%v), want %q", got, err, c.wantCode)
			}
			if err != nil {
				return
			}
			if !terms.Expiry.Equal(c.wantExp) {
				t.Errorf("expiry: got %v, want %v", terms.Expiry, c.wantExp)
			}
			if terms.Fallback != c.wantFallbk {
				t.Errorf("fallback: got %v, want %v", terms.Fallback, c.wantFallbk)
			}
			if terms.Fallback && !terms.FallbackCutoff.Equal(c.c.EndsAt) {
				t.Errorf("cutoff: got %v, want the contract end %v", terms.FallbackCutoff, c.c.EndsAt)
			}
		})
	}
}

func TestContractValidate(t *testing.T) {
	ok := func() licensor.Contract {
		return licensor.Contract{CustomerID: "cus_1", ProductID: "prd_1", StartsAt: t0}
	}
	cases := []struct {
		name string
		mut  func(c *licensor.Contract)
		want string
	}{
		{"Defaults", func(c *licensor.Contract) {}, ""},
		{"EndBeforeStart", func(c *licensor.Contract) { c.EndsAt = t0.Add(-time.Hour) }, licensor.EINVALID},
		{"ValidityTooShort", func(c *licensor.Contract) { c.LicenseValidity = time.Minute }, licensor.EINVALID},
		{"RefreshLongerThanHalfValidity", func(c *licensor.Contract) { c.RefreshInterval = 8 * 24 * time.Hour }, licensor.EINVALID},
		{"NegativeSeats", func(c *licensor.Contract) { c.MaxSeats = -1 }, licensor.EINVALID},
		{"NonProductionCap", func(c *licensor.Contract) { c.SeatRule, c.MaxNonProductionURLs = licensor.SeatProductionURL, 3 }, ""},
		{"NegativeNonProductionCap", func(c *licensor.Contract) {
			c.SeatRule, c.MaxNonProductionURLs = licensor.SeatProductionURL, -1
		}, licensor.EINVALID},
		{"HugeNonProductionCap", func(c *licensor.Contract) {
			c.SeatRule, c.MaxNonProductionURLs = licensor.SeatProductionURL, 10_000_001
		}, licensor.EINVALID},
		{"NonProductionCapOnInstanceSeats", func(c *licensor.Contract) { c.MaxNonProductionURLs = 3 }, licensor.EINVALID},
		{"UnknownSeatRule", func(c *licensor.Contract) { c.SeatRule = "cpu" }, licensor.EINVALID},
		{"UnknownFallback", func(c *licensor.Contract) { c.Fallback = "forever" }, licensor.EINVALID},
		{"DuplicateFeature", func(c *licensor.Contract) {
			c.Features = []licensor.Entitlement{{Feature: "a"}, {Feature: "a"}}
		}, licensor.EINVALID},
		{"BadFeatureName", func(c *licensor.Contract) { c.Features = []licensor.Entitlement{{Feature: "Solver!"}} }, licensor.EINVALID},
		{"NegativeCount", func(c *licensor.Contract) { c.Features = []licensor.Entitlement{{Feature: "a", Count: -2}} }, licensor.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := ok()
			c.mut(&k)
			if got := licensor.ErrorCode(k.Validate()); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	c := ok()
	_ = c.Validate()
	if c.LicenseValidity != licensor.DefaultLicenseValidity || c.RefreshInterval != licensor.DefaultRefreshInterval || c.SeatRule != licensor.SeatInstance {
		t.Errorf("defaults: got %v/%v/%v, want 14d/2h/instance", c.LicenseValidity, c.RefreshInterval, c.SeatRule)
	}
}

func TestClaimsPermits(t *testing.T) {
	cut := t0.Unix()
	fb := &licensor.Claims{FallbackCutoff: cut}
	live := &licensor.Claims{}
	cases := []struct {
		name    string
		c       *licensor.Claims
		release time.Time
		want    bool
	}{
		{"LiveAnyRelease", live, t0.Add(1000 * time.Hour), true},
		{"FallbackBeforeCutoff", fb, t0.Add(-time.Hour), true},
		{"FallbackAtCutoff", fb, t0, true},
		{"FallbackAfterCutoff", fb, t0.Add(time.Second), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.c.Permits(c.release); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	err := licensor.Errorf(licensor.EEXHAUSTED, "no seat")
	err.RetryAfter = 3 * time.Second
	if licensor.ErrorCode(err) != licensor.EEXHAUSTED || licensor.RetryAfter(err) != 3*time.Second {
		t.Errorf("got %q %v, want exhausted 3s", licensor.ErrorCode(err), licensor.RetryAfter(err))
	}
	internal := licensor.Internal("op", errString("disk on fire at /var/db"))
	if licensor.ErrorMessage(internal) != "internal error" {
		t.Errorf("internal message leaks: %q", licensor.ErrorMessage(internal))
	}
	if licensor.ErrorMessage(errString("raw")) != "internal error" || licensor.ErrorCode(errString("raw")) != licensor.EINTERNAL {
		t.Errorf("a foreign error must read as internal")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

package licensor_test

import (
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// TestSigningKeyLife: a staged key is published from its creation and
// signs from its activation; a retired key stops signing at its retirement
// and stays published until PublishUntil.
func TestSigningKeyLife(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	staged := &licensor.SigningKey{CreatedAt: t0, ActivateAt: at(14 * day)}
	old := &licensor.SigningKey{CreatedAt: at(-100 * day), ActivateAt: at(-100 * day), RetiredAt: at(14 * day), PublishUntil: at(28 * day)}
	superseded := &licensor.SigningKey{CreatedAt: t0, ActivateAt: at(14 * day), RetiredAt: at(3 * day), PublishUntil: at(17 * day)}
	for _, tc := range []struct {
		name             string
		k                *licensor.SigningKey
		at               time.Duration
		published, signs bool
	}{
		{"StagedAtRotation", staged, 0, true, false},
		{"StagedJustBefore", staged, 14*day - time.Second, true, false},
		{"StagedAtActivation", staged, 14 * day, true, true},
		{"OldBeforeRetirement", old, 14*day - time.Second, true, true},
		{"OldAtRetirement", old, 14 * day, true, false},
		{"OldWhileItsLicensesLive", old, 27 * day, true, false},
		{"OldAfterItsLicenses", old, 28 * day, false, false},
		{"SupersededNeverSigns", superseded, 14 * day, true, false},
		{"SupersededUnpublished", superseded, 17 * day, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := at(tc.at)
			if got := tc.k.Published(now); got != tc.published {
				t.Errorf("Published: got %v, want %v", got, tc.published)
			}
			if got := tc.k.SignsAt(now); got != tc.signs {
				t.Errorf("SignsAt: got %v, want %v", got, tc.signs)
			}
		})
	}
}

package licensor

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

func TestNormalizeID(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"ASCII", "node-1", "node-1"},
		{"NFCKept", "caf\u00e9", "caf\u00e9"},
		{"NFDComposed", "cafe\u0301", "caf\u00e9"},
		{"HangulJamoComposed", "\u1100\u1161", "\uac00"},
		{"CJK", "节点-1", "节点-1"},
		{"Emoji", "rocket-🚀", "rocket-🚀"},
		{"URL", "https://shop.example.com", "https://shop.example.com"},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeID("instance_id", c.in)
			if err != nil || got != c.want {
				t.Fatalf("NormalizeID(%+q): got %+q, %v, want %+q", c.in, got, err, c.want)
			}
			again, err := NormalizeID("instance_id", got)
			if err != nil || again != got {
				t.Errorf("NormalizeID of its own output %+q: got %+q, %v, want it unchanged", got, again, err)
			}
		})
	}
	bad := []struct{ name, in, mention string }{
		{"Empty", "", "required"},
		{"TooLong", strings.Repeat("a", MaxIDLen+1), "limit"},
		{"InvalidUTF8", "node\xff", "UTF-8"},
		{"Space", "node 1", "U+0020) at character 5"},
		{"Tab", "node\t1", "U+0009"},
		{"DEL", "node\x7f", "U+007F"},
		{"C1Control", "node\u0085", "U+0085"},
		{"ZeroWidthSpace", "node\u200b1", "U+200B) at character 5"},
		{"ZeroWidthJoiner", "node\u200d1", "U+200D"},
		{"ZeroWidthNonJoiner", "node\u200c1", "U+200C"},
		{"WordJoiner", "node\u20601", "U+2060"},
		{"ByteOrderMark", "\ufeffnode", "U+FEFF) at character 1"},
		{"SoftHyphen", "no\u00adde", "U+00AD"},
		{"LeftToRightMark", "node\u200e", "bidirectional"},
		{"RightToLeftOverride", "node-\u202e1-edon", "U+202E"},
		{"RightToLeftIsolate", "\u2067node", "U+2067"},
		{"ArabicLetterMark", "node\u061c", "U+061C"},
		{"NoBreakSpace", "node\u00a01", "U+00A0"},
		{"IdeographicSpace", "node\u30001", "U+3000"},
		{"LineSeparator", "node\u2028", "U+2028"},
		{"VariationSelector", "node\ufe0f", "U+FE0F"},
		{"HangulFiller", "node\u3164", "U+3164"},
		{"CombiningGraphemeJoiner", "node\u034f", "U+034F"},
		{"PrivateUse", "node\ue000", "private-use"},
		{"SupplementaryPrivateUse", "node\U000F0000", "U+F0000"},
		{"Unassigned", "node\u0378", "unassigned"},
		{"Noncharacter", "node\ufdd0", "U+FDD0"},
		{"TagCharacter", "node\U000E0041", "U+E0041"},
	}
	for _, c := range bad {
		t.Run("Err"+c.name, func(t *testing.T) {
			got, err := NormalizeID("instance_id", c.in)
			if ErrorCode(err) != EINVALID {
				t.Fatalf("NormalizeID(%+q): got %+q, %v, want %s", c.in, got, err, EINVALID)
			}
			if msg := ErrorMessage(err); !strings.Contains(msg, c.mention) || !strings.HasPrefix(msg, "instance_id") {
				t.Errorf("message: got %q, want it to name instance_id and mention %q", msg, c.mention)
			}
		})
	}
}

// ValidateID refuses an id that is not in NFC, so a path that forgot to
// normalize fails instead of recording a second spelling.
func TestValidateIDWantsNFC(t *testing.T) {
	nfd := norm.NFD.String("caf\u00e9")
	if err := ValidateID("instance id", nfd); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "NFC") {
		t.Errorf("ValidateID(NFD): got %v, want %s naming NFC", err, EINVALID)
	}
	if err := ValidateID("instance id", "caf\u00e9"); err != nil {
		t.Errorf("ValidateID(NFC): got %v, want nil", err)
	}
}

func TestValidateDurationMessages(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		name    string
		d       time.Duration
		mention []string
		mustNot string
	}{
		{"Clamped", MaxDuration, []string{"longer than 366d", "between 1h0m0s and 366d"}, "2562047h"},
		{"TooLong", 400 * day, []string{"longer than 366d"}, "400"},
		{"TooShort", time.Minute, []string{"is 1m0s, shorter than 1h0m0s"}, ""},
		{"Negative", -time.Hour, []string{"must not be negative"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateDuration("license validity", c.d, MinLicenseValidity, MaxLicenseValidity)
			if ErrorCode(err) != EINVALID {
				t.Fatalf("got %v, want %s", err, EINVALID)
			}
			msg := ErrorMessage(err)
			for _, m := range c.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q: want it to contain %q", msg, m)
				}
			}
			if c.mustNot != "" && strings.Contains(msg, c.mustNot) {
				t.Errorf("message %q: must not contain %q", msg, c.mustNot)
			}
		})
	}
	if err := ValidateDuration("license validity", 14*day, MinLicenseValidity, MaxLicenseValidity); err != nil {
		t.Errorf("14d: got %v, want nil", err)
	}
	for d, want := range map[time.Duration]string{14 * day: "14d", 36 * time.Hour: "1.5d", 90 * time.Minute: "1h30m0s"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%d): got %q, want %q", d, got, want)
		}
	}
}

// Every ASCII character is judged as idRuneProblem judges it, whether the
// id is all ASCII (the quick path) or also holds a non-ASCII character.
func TestValidateIDASCII(t *testing.T) {
	for c := range rune(0x80) {
		want := idRuneProblem(c) == ""
		for _, id := range []string{"node" + string(c) + "1", "n\u00f6de" + string(c) + "1"} {
			if err := ValidateID("instance_id", id); (err == nil) != want {
				t.Errorf("ValidateID(%+q): got %v, want valid %v", id, err, want)
			}
			if got, err := NormalizeID("instance_id", id); (err == nil) != want || (want && got != id) {
				t.Errorf("NormalizeID(%+q): got %+q, %v, want valid %v", id, got, err, want)
			}
		}
	}
}

package license

import (
	"strings"
	"testing"

	"github.com/licensor/licensor"
)

func TestArmorDearmor(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	armored := string(Armor(token))

	lines := strings.Split(strings.TrimSuffix(armored, "\n"), "\n")
	if lines[0] != licensor.ArmorBegin || lines[len(lines)-1] != licensor.ArmorEnd {
		t.Fatalf("got first and last lines %q, %q, want the BEGIN and END lines", lines[0], lines[len(lines)-1])
	}
	for i, l := range lines[1 : len(lines)-1] {
		if len(l) > 64 || l == "" {
			t.Errorf("line %d: got %d characters, want 1 to 64", i+1, len(l))
		}
	}

	crlf := strings.ReplaceAll(armored, "\n", "\r\n")
	indented := strings.ReplaceAll(armored, "\n", "\n    ")
	tests := []struct {
		name string
		data string
	}{
		{"Armored", armored},
		{"CRLF", crlf},
		{"SurroundingText", "Dear customer,\n\nyour license follows.\n\n" + armored + "\nRegards,\nthe vendor\n"},
		{"Indented", "    " + indented},
		{"NoTrailingNewline", strings.TrimSuffix(armored, "\n")},
		{"Bare", token},
		{"BareWithWhitespace", "\n  " + token + "\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Dearmor([]byte(tc.data))
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if got != token {
				t.Fatalf("got %q, want %q", got, token)
			}
			if _, err := Verify(got, keys, VerifyOptions{}); err != nil {
				t.Errorf("verify the dearmored token: %v", err)
			}
		})
	}
}

func TestArmorShort(t *testing.T) {
	got := string(Armor("a.b.c"))
	want := licensor.ArmorBegin + "\na.b.c\n" + licensor.ArmorEnd + "\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	exact := strings.Repeat("a", 64)
	got = string(Armor(exact))
	want = licensor.ArmorBegin + "\n" + exact + "\n" + licensor.ArmorEnd + "\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDearmorRejects(t *testing.T) {
	token := "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ0In0.c2ln"
	armored := string(Armor(token))
	tests := []struct {
		name string
		data string
		want string
	}{
		{"Empty", "", "empty"},
		{"Whitespace", " \r\n\t", "empty"},
		{"BeginWithoutEnd", armored[:len(armored)/2], "truncated"},
		{"OnlyBegin", licensor.ArmorBegin + "\n", "truncated"},
		{"EndWithoutBegin", armored[10:], "no BEGIN line"},
		{"EmptyBlock", licensor.ArmorBegin + "\n\n" + licensor.ArmorEnd + "\n", "nothing between"},
		{"GarbageInBlock", licensor.ArmorBegin + "\nnot a license!\n" + licensor.ArmorEnd + "\n", "damaged"},
		{"DotMissingInBlock", strings.Replace(armored, ".", "", 1), "damaged"},
		{"Garbage", "hello, world", "not a Licensor license"},
		{"PEM", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", "not a Licensor license"},
		{"TwoParts", "abc.def", "not a Licensor license"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Dearmor([]byte(tc.data))
			if got != "" {
				t.Errorf("got token %q, want none", got)
			}
			checkErr(t, err, licensor.EINVALID, tc.want)
		})
	}
}

package license

import (
	"strings"

	"github.com/licensor/licensor"
)

// armorWidth is the line width of an armored license, as in PEM: short
// enough to survive mail clients and terminals.
const armorWidth = 64

// Armor wraps a license token as a static license file: the BEGIN line, the
// token folded at 64 columns, the END line, each ending in a newline.
func Armor(token string) []byte {
	n := len(licensor.ArmorBegin) + 1 + len(token) + len(token)/armorWidth + 1 + len(licensor.ArmorEnd) + 1
	b := make([]byte, 0, n)
	b = append(b, licensor.ArmorBegin...)
	b = append(b, '\n')
	for len(token) > 0 {
		line := token[:min(armorWidth, len(token))]
		token = token[len(line):]
		b = append(b, line...)
		b = append(b, '\n')
	}
	b = append(b, licensor.ArmorEnd...)
	b = append(b, '\n')
	return b
}

// Dearmor returns the token in a license file. It accepts the armored form
// anywhere in the text (a license pasted into an e-mail, CRLF line ends,
// indentation) and a bare compact JWS with surrounding whitespace. It checks
// only the shape of the token; Verify checks the rest.
func Dearmor(data []byte) (string, error) {
	s := string(data)
	if strings.TrimSpace(s) == "" {
		return "", invalidf("license file is empty")
	}
	begin := strings.Index(s, licensor.ArmorBegin)
	if begin < 0 {
		if strings.Contains(s, licensor.ArmorEnd) {
			return "", invalidf("license file has an END line but no BEGIN line: its start was cut off")
		}
		token := strings.TrimSpace(s)
		if _, _, err := splitCompact(token, "license"); err != nil {
			return "", invalidf("not a Licensor license: want a %s block or a compact JWS (header.payload.signature)", licensor.ArmorBegin)
		}
		return token, nil
	}
	body := s[begin+len(licensor.ArmorBegin):]
	end := strings.Index(body, licensor.ArmorEnd)
	if end < 0 {
		return "", invalidf("license file is truncated: it has a BEGIN LICENSOR LICENSE line but no END line")
	}
	token := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, body[:end])
	if token == "" {
		return "", invalidf("license file has nothing between its BEGIN and END lines")
	}
	if _, _, err := splitCompact(token, "license"); err != nil {
		return "", invalidf("license file is damaged: %s", licensor.ErrorMessage(err))
	}
	return token, nil
}

package replies

import (
	"unicode"
	"unicode/utf8"
)

const (
	maxBytes  = 320 // of folded text kept; longer messages are read as long free text
	maxTokens = 40
	emojiOK   = "\x01" // the token a confirming emoji (👍 👌 ✅) becomes
)

// token is one word of the folded text: buf[start:end].
type token struct {
	start, end uint16
	accented   bool // an accent was folded away ("sí")
	clause     bool // punctuation or an emoji came between it and the word before
}

// message is a reply folded to lower-case unaccented words, on the stack.
type message struct {
	buf       [maxBytes]byte
	n         int // bytes used in buf
	toks      [maxTokens]token
	ntok      int
	question  bool // a '?' appeared
	truncated bool // the text did not fit: long free text
}

func (m *message) word(i int) string {
	t := m.toks[i]
	return string(m.buf[t.start:t.end]) // inlined: no allocation for words of up to 32 bytes
}

// fold reads text into m: letters are lower-cased and stripped of accents,
// apostrophes inside words dropped, digits kept, everything else separates
// words.
func (m *message) fold(text string) {
	inWord := false
	accented := false
	pause := false // punctuation since the last word
	end := func() {
		if inWord {
			m.toks[m.ntok-1].end = uint16(m.n)
			m.toks[m.ntok-1].accented = accented
			inWord = false
		}
	}
	put := func(s []byte) bool { // appends s to the current word, starting one if needed
		if m.n+len(s) > maxBytes || (!inWord && m.ntok == maxTokens) {
			m.truncated = true
			return false
		}
		if !inWord {
			m.toks[m.ntok] = token{start: uint16(m.n), clause: pause}
			pause = false
			m.ntok++
			inWord, accented = true, false
		}
		m.n += copy(m.buf[m.n:], s)
		return true
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case r < utf8.RuneSelf:
			c := byte(r)
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
				fallthrough
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				if !put([]byte{c}) {
					end()
					return
				}
			case c == '\'' || c == '`':
				// inside a word, dropped ("can't"); elsewhere a separator
				if !inWord {
					end()
				}
			default:
				if c == '?' {
					m.question = true
				}
				if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					pause = true
				}
				end()
			}
		case r == utf8.RuneError && size == 1:
			pause = true
			end()
		case r == '’' || r == 'ʼ' || r == '‘':
			if !inWord {
				end()
			}
		case unicode.Is(unicode.Mn, r): // a combining accent: part of the word, folded away
			if inWord {
				accented = true
			}
		case isConfirmEmoji(r):
			end()
			pause = true
			if !put([]byte(emojiOK)) {
				return
			}
			end()
			pause = true
		case r == 0xFE0F || (r >= 0x1F3FB && r <= 0x1F3FF) || r == 0x200D:
			// variation selector, skin tone, joiner: part of the emoji before
		case r == '¿':
			m.question = true
			pause = true
			end()
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if base, ok := foldLatin(r); ok {
				if !put([]byte{base}) {
					end()
					return
				}
				accented = true
				continue
			}
			var b [utf8.UTFMax]byte
			w := utf8.EncodeRune(b[:], unicode.ToLower(r))
			if !put(b[:w]) {
				end()
				return
			}
		default:
			if !unicode.IsSpace(r) {
				pause = true
			}
			end()
		}
	}
	end()
}

func isConfirmEmoji(r rune) bool {
	switch r {
	case '👍', '👌', '✅', '✔', '☑', '🆗':
		return true
	}
	return false
}

// foldLatin maps the accented Latin letters of English and Spanish (and
// their neighbours in Latin-1) to their base letter, lower case.
func foldLatin(r rune) (byte, bool) {
	if r < 0xC0 || r > 0xFF {
		return 0, false
	}
	const table = "aaaaaaaceeeeiiiidnooooo_ouuuuyts" + "aaaaaaaceeeeiiiidnooooo_ouuuuyty"
	c := table[r-0xC0]
	if c == '_' || c == 't' || c == 's' {
		return 0, false
	}
	return c, true
}

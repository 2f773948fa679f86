package tokenizer

// The GPT-2 byte-level alphabet: every byte is written as one printable rune
// so that BPE vocabularies never hold raw control bytes or spaces. Bytes that
// are printable Latin-1 map to themselves; the other 68 map, in byte order, to
// U+0100 onwards (space → 'Ġ' U+0120, '\n' → 'Ċ' U+010A).

// byteToRune is the reference's bytes_char table.
var byteToRune [256]rune

// runeToByte inverts byteToRune for runes below len(runeToByte); -1 marks a
// rune outside the alphabet.
var runeToByte [0x144]int16

func init() {
	next := rune(0x100)
	for b := range 256 {
		if isPrintableByte(byte(b)) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = next
			next++
		}
	}
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	for b, r := range byteToRune {
		runeToByte[r] = int16(b)
	}
}

// isPrintableByte is the set the reference keeps as itself: '!'..'~',
// '¡'..'¬', '®'..'ÿ'.
func isPrintableByte(b byte) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)
}

// byteLevelString maps raw bytes to their alphabet runes, the form vocabulary
// entries are written in.
func byteLevelString(raw string) string {
	out := make([]rune, len(raw))
	for i := range len(raw) {
		out[i] = byteToRune[raw[i]]
	}
	return string(out)
}

// appendTokenBytes is the ByteLevel decoder for one token: each rune of the
// token goes back to its byte. As in the reference, a token holding any rune
// outside the alphabet (an added token such as "hello world") is copied as
// its own UTF-8 bytes instead.
func appendTokenBytes(dst []byte, token string) []byte {
	start := len(dst)
	for _, r := range token {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return append(dst[:start], token...)
		}
		dst = append(dst, byte(runeToByte[r]))
	}
	return dst
}

package imageproc

import (
	"encoding/binary"
	"testing"
)

// FuzzEXIF feeds the metadata parsers arbitrary bytes, as a TIFF block and
// as a JPEG, PNG and WebP file: they must never panic, and an orientation
// they report must come from the data.
func FuzzEXIF(f *testing.F) {
	be, le := binary.BigEndian, binary.LittleEndian
	seeds := [][]byte{
		tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, 6)}}, nil),
		tiffBlock(le, []ifdEntry{{0x010F, 2, 8, long(le, extraOffset(2))}, {tagOrientation, 4, 1, long(le, 8)}}, []byte("Camera\x00\x00")),
		tiffBlock(be, []ifdEntry{{tagOrientation, 5, 1, long(be, extraOffset(1))}}, []byte{0, 0, 0, 6, 0, 0, 0, 1}),
		append([]byte(exifHeader), tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, 3)}}, nil)...),
		append([]byte{0xFF, 0xD8}, jpegSegment(jpegAPP1, append([]byte(exifHeader), tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, 6)}}, nil)...))...),
		append([]byte{0xFF, 0xD8}, jpegSegment(jpegAPP1, []byte(jpegXMPHeader+`<tiff:Orientation>8</tiff:Orientation>`))...),
		append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("eXIf", tiffBlock(le, []ifdEntry{{tagOrientation, 3, 1, short(le, 5)}}, nil))...),
		append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("tEXt", []byte(pngRawExifKeyword+"\x00\nexif\n 8\n4d4d002a00000008"))...),
		webpFile(vp8x(webpFlagEXIF|webpFlagXMP, 1, 1), riffChunk("EXIF", tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, 2)}}, nil)), riffChunk("XMP ", []byte(`tiff:Orientation="4"`))),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, found := exifOrientation(data); !found && v != 0 {
			t.Fatalf("orientation %d reported without a tag", v)
		}
		xmpOrientation(data)
		for _, format := range []string{formatJPEG, formatPNG, formatWebP} {
			imageOrientation(data, format)
		}
		// The same bytes behind the prefixes the containers use.
		exifOrientation(append([]byte(exifHeader), data...))
		jpegMetadata(append([]byte{0xFF, 0xD8}, data...))
		pngMetadata(append([]byte("\x89PNG\r\n\x1a\n"), data...))
		webpMetadata(append([]byte("RIFF\x00\x00\x00\x00WEBPVP8X"), data...))
	})
}

// Package imageproc decodes pictures and resamples them the way the Python
// reference (Pillow) does. It knows nothing about models.
package imageproc

// RGB is an 8-bit RGB image stored row-major, three bytes per pixel
// (height×width×channel order, as numpy holds a PIL "RGB" image).
type RGB struct {
	Width, Height int
	Pix           []byte
}

// NewRGB allocates a black width×height image.
func NewRGB(width, height int) *RGB {
	return &RGB{Width: width, Height: height, Pix: make([]byte, width*height*3)}
}

// Crop copies the rectangle [x0,x1)×[y0,y1) into a new image.
func (m *RGB) Crop(x0, y0, x1, y1 int) *RGB {
	out := NewRGB(x1-x0, y1-y0)
	rowBytes := out.Width * 3
	for y := y0; y < y1; y++ {
		src := m.Pix[(y*m.Width+x0)*3:]
		copy(out.Pix[(y-y0)*rowBytes:(y-y0+1)*rowBytes], src[:rowBytes])
	}
	return out
}

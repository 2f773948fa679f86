//go:build !wasm

package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// The app icon: a white speech bubble with an eye, on an indigo-to-violet
// square. Shapes are signed-distance functions in unit coordinates (0..1),
// drawn with 4×4 supersampling, so the PNGs match web/icon.svg.

// iconFile is one PNG of the web app manifest.
type iconFile struct {
	name     string
	size     int
	maskable bool // full-bleed background, artwork inside the 80% safe circle
}

var iconFiles = []iconFile{
	{"icon-192.png", 192, false},
	{"icon-512.png", 512, false},
	{"icon-maskable-512.png", 512, true},
}

var (
	colorTop    = color.NRGBA{0x4f, 0x46, 0xe5, 0xff} // indigo
	colorBottom = color.NRGBA{0x7c, 0x3a, 0xed, 0xff} // violet
	colorEye    = color.NRGBA{0x43, 0x38, 0xca, 0xff}
	colorWhite  = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

// writeIcons writes the PNG icons into dir.
func writeIcons(dir string) error {
	for _, f := range iconFiles {
		var buf bytes.Buffer
		if err := png.Encode(&buf, drawIcon(f.size, f.maskable)); err != nil {
			return fmt.Errorf("encode %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

const supersample = 4

func drawIcon(size int, maskable bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			var r, g, b, a float64
			for sy := range supersample {
				for sx := range supersample {
					u := (float64(x) + (float64(sx)+0.5)/supersample) / float64(size)
					v := (float64(y) + (float64(sy)+0.5)/supersample) / float64(size)
					c := iconColor(u, v, maskable)
					fa := float64(c.A) / 255
					r, g, b, a = r+float64(c.R)*fa, g+float64(c.G)*fa, b+float64(c.B)*fa, a+fa
				}
			}
			img.SetNRGBA(x, y, average(r, g, b, a))
		}
	}
	return img
}

// average turns premultiplied sums into one straight-alpha pixel.
func average(r, g, b, a float64) color.NRGBA {
	if a == 0 {
		return color.NRGBA{}
	}
	n := float64(supersample * supersample)
	return color.NRGBA{uint8(r/a + 0.5), uint8(g/a + 0.5), uint8(b/a + 0.5), uint8(a/n*255 + 0.5)}
}

// iconColor is the colour at (u, v), in unit coordinates.
func iconColor(u, v float64, maskable bool) color.NRGBA {
	if !maskable && roundedRect(u, v, 0, 0, 1, 1, 0.22) > 0 {
		return color.NRGBA{}
	}
	c := mix(colorTop, colorBottom, v)
	if maskable { // shrink the artwork into the safe zone
		u, v = 0.5+(u-0.5)/0.8, 0.5+(v-0.5)/0.8
	}
	if bubble(u, v) <= 0 {
		c = colorWhite
	}
	if ellipse(u, v, 0.5, 0.47, 0.19, 0.115) <= 0 {
		c = colorEye
	}
	if circle(u, v, 0.5, 0.47, 0.068) <= 0 {
		c = colorWhite
	}
	if circle(u, v, 0.5, 0.47, 0.036) <= 0 {
		c = colorEye
	}
	return c
}

// bubble is the speech bubble: a rounded rectangle and a tail.
func bubble(u, v float64) float64 {
	body := roundedRect(u, v, 0.18, 0.23, 0.82, 0.71, 0.13)
	tail := triangle(u, v, 0.3, 0.66, 0.45, 0.66, 0.27, 0.83)
	return math.Min(body, tail)
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 0xff}
}

func circle(u, v, cx, cy, r float64) float64 { return math.Hypot(u-cx, v-cy) - r }

// ellipse is an approximate distance, exact in sign, which is all we need.
func ellipse(u, v, cx, cy, rx, ry float64) float64 {
	return math.Hypot((u-cx)/rx, (v-cy)/ry) - 1
}

func roundedRect(u, v, x0, y0, x1, y1, r float64) float64 {
	cx, cy := (x0+x1)/2, (y0+y1)/2
	hx, hy := (x1-x0)/2-r, (y1-y0)/2-r
	dx, dy := math.Abs(u-cx)-hx, math.Abs(v-cy)-hy
	return math.Hypot(math.Max(dx, 0), math.Max(dy, 0)) + math.Min(math.Max(dx, dy), 0) - r
}

// triangle is ≤ 0 inside the triangle abc (sign only).
func triangle(u, v, ax, ay, bx, by, cx, cy float64) float64 {
	side := func(px, py, qx, qy float64) float64 { return (qx-px)*(v-py) - (qy-py)*(u-px) }
	d1, d2, d3 := side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
	if (d1 >= 0 && d2 >= 0 && d3 >= 0) || (d1 <= 0 && d2 <= 0 && d3 <= 0) {
		return -1
	}
	return 1
}

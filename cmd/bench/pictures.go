//go:build !js

package main

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// pictureCase is one benchmark picture.
type pictureCase struct {
	Width, Height int
	Split         bool // do_image_splitting
	Label         string
}

// pictureCases are the two pictures: one tile, and a large photo
// split into tiles (SmolVLM-256M: 4 × 3 tiles of 512 and the global one).
var pictureCases = map[string]pictureCase{
	"512":       {512, 512, false, "512×512, one tile"},
	"2048x1536": {2048, 1536, true, "2048×1536, split"},
}

// writePicture draws a deterministic photo-like picture (smooth light,
// shapes, sensor noise) as PNG, so every contestant decodes the same pixels.
func writePicture(dir, name string, pc pictureCase) (string, error) {
	path := filepath.Join(dir, "bench-"+name+".png")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	img := image.NewRGBA(image.Rect(0, 0, pc.Width, pc.Height))
	rng := rand.New(rand.NewPCG(uint64(pc.Width), uint64(pc.Height)))
	w, h := float64(pc.Width), float64(pc.Height)
	for y := range pc.Height {
		for x := range pc.Width {
			u, v := float64(x)/w, float64(y)/h
			r := 90 + 120*u + 30*math.Sin(9*v)
			g := 70 + 100*v + 25*math.Cos(7*u)
			b := 160 - 80*u*v
			if dx, dy := u-0.6, v-0.45; dx*dx+dy*dy < 0.04 { // a sun
				r, g, b = 240, 200, 90
			}
			if v > 0.7+0.05*math.Sin(12*u) { // a hill
				r, g, b = 60+40*u, 120-30*v, 50
			}
			n := rng.NormFloat64() * 6
			img.Set(x, y, color.RGBA{clamp8(r + n), clamp8(g + n), clamp8(b + n), 255})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriter(f)
	err = png.Encode(bw, img)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, os.Rename(tmp, path)
}

func clamp8(v float64) uint8 {
	return uint8(math.Round(math.Max(0, math.Min(255, v))))
}

package pipeline_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/prompt"
)

// prepared caches each case's preprocessing, shared by the tests of this package.
type preparedCase struct {
	c         fixture.Case
	image     *idefics3.Result
	inputIDs  []int64
	exactTile bool // every tile equals the reference bit for bit
}

var (
	prepOnce  sync.Once
	prepCases []preparedCase
	prepErr   error
)

func openFixture(t testing.TB) *pipeline.Pipeline {
	t.Helper()
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Open(modelconfig.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func preparedCases(t testing.TB) []preparedCase {
	t.Helper()
	prepOnce.Do(func() { prepCases, prepErr = prepareAll(openFixture(t)) })
	if prepErr != nil {
		t.Fatal(prepErr)
	}
	return prepCases
}

func prepareAll(p *pipeline.Pipeline) ([]preparedCase, error) {
	dir, err := fixture.Dir()
	if err != nil {
		return nil, err
	}
	cases, err := fixture.Cases()
	if err != nil {
		return nil, err
	}
	var out []preparedCase
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join(dir, c.Image))
		if err != nil {
			return nil, err
		}
		img, err := imageproc.Decode(data, imageproc.DecodeOptions{})
		if err != nil {
			return nil, err
		}
		res, err := p.PreprocessImage(img, c.DoImageSplitting)
		if err != nil {
			return nil, err
		}
		ids, err := p.PromptIDs([]prompt.Message{prompt.UserTurn(true, c.Prompt)}, []prompt.Grid{pipeline.GridOf(res)})
		if err != nil {
			return nil, err
		}
		exact := len(res.Tiles) == len(c.TileSHA256)
		for i := 0; exact && i < len(res.Tiles); i++ {
			sum := sha256.Sum256(res.Tiles[i].Pix)
			exact = hex.EncodeToString(sum[:]) == c.TileSHA256[i]
		}
		out = append(out, preparedCase{c: c, image: res, inputIDs: ids, exactTile: exact})
	}
	return out, nil
}

func TestPromptIDsMatchReference(t *testing.T) {
	for _, pc := range preparedCases(t) {
		if !slices.Equal(pc.inputIDs, pc.c.InputIDs) {
			t.Errorf("%s: input_ids differ (got %d ids, want %d); first difference at %d",
				pc.c.ID, len(pc.inputIDs), len(pc.c.InputIDs), fixture.FirstDiff(pc.inputIDs, pc.c.InputIDs))
		}
		if !slices.Equal(pc.image.Shape[:], pc.c.PixelValuesShape) {
			t.Errorf("%s: pixel_values shape %v, want %v", pc.c.ID, pc.image.Shape, pc.c.PixelValuesShape)
		}
	}
}

func TestPNGTilesExact(t *testing.T) {
	for _, pc := range preparedCases(t) {
		isPNG := filepath.Ext(pc.c.Image) == ".png"
		t.Logf("%-28s tiles %2d  bit-exact %v", pc.c.ID, len(pc.image.Tiles), pc.exactTile)
		if isPNG && !pc.exactTile {
			t.Errorf("%s: PNG tiles differ from the reference", pc.c.ID)
		}
	}
}

package app

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

type settingsPanelProps struct {
	Open         bool
	Settings     Settings
	Defaults     Settings
	SplitDefault bool // what "automatic" detail means on this screen now
	Phone        bool
	// Model are the loaded model's own settings (nil before a load), shown
	// for the settings left to the model.
	Model *protocol.Defaults
	// Variants are the variants the model folder has (nil: unknown); the
	// others are offered greyed out.
	Variants    *protocol.Available
	Storage     storageInfo
	StorageBusy string // the model folder being deleted
	// Saving: the loaded model's files are still going into the cache, so
	// nothing can be deleted yet.
	Saving     bool
	StorageErr string
	OnChange   func(ctx goapp.Context, s Settings)
	OnClose    func(ctx goapp.Context)
	OnDelete   func(ctx goapp.Context, folder string) // delete a model's stored files
}

// settingsPanel edits the settings. Every change goes through the same
// checks as the link's parameters and is applied at once (the page updates
// the URL, and reloads the model for backend, variant or model changes).
type settingsPanel struct {
	goapp.Compo
	Props settingsPanelProps

	errs map[string]string // parameter → what it wants instead
}

func newSettingsPanel(props settingsPanelProps) *settingsPanel {
	return &settingsPanel{Props: props}
}

// choice is one option of a select; a disabled one is shown greyed out.
type choice struct {
	Value, Label string
	Disabled     bool
}

var (
	deviceLabels = map[Device]string{
		DeviceAuto:   "Automatic: WebGPU on a graphics card, else WebAssembly",
		DeviceWebGPU: "WebGPU (graphics card)",
		DeviceWASM:   "CPU (WebAssembly)",
	}
	variantLabels = map[string]string{
		"fp32":  "fp32 · exact, largest",
		"fp16":  "fp16 · half the size",
		"q4":    "q4 · smallest",
		"q4f16": "q4f16 · smallest, for GPUs",
	}
	// unpackChoices are Settings.Unpack4Bit's; it only acts on WebAssembly.
	// The figures are make bench's (README, "What made us faster").
	unpackChoices = []choice{
		{Value: UnpackAuto.param(), Label: "Automatic: float32 on a computer with 8 GB or more, as downloaded on a phone"},
		{Value: UnpackNone.param(), Label: "As downloaded: exact, least memory"},
		{Value: UnpackInt8.param(), Label: "Unpacked to 8-bit: words about 3× faster, same memory, approximate"},
		{Value: UnpackFloat32.param(), Label: "Unpacked to float32: words up to 4× faster, about 1 GB more memory"},
	}
	samplingChoices = []choice{
		{Value: "greedy", Label: "Greedy: always the likeliest word"},
		{Value: "sample", Label: "Sampling: more varied answers"},
	}
)

// unpackHint points a person whose model runs q4 on the CPU to unpackChoices.
const unpackHint = "Settings → “4-bit weights on the CPU” writes the answer about 3× faster unpacked to 8-bit (approximate), or up to 4× unpacked to float32 (about 1 GB more memory)."

// deviceChoices offers protocol.Devices, in its order.
func deviceChoices() []choice {
	out := make([]choice, len(protocol.Devices))
	for i, d := range protocol.Devices {
		out[i] = choice{Value: string(d), Label: cmp.Or(deviceLabels[d], string(d))}
	}
	return out
}

// variantChoices offers the variants of one sub-model (of list, the
// variants its folder has; nil: unknown, all offered); the others are
// greyed out.
func variantChoices(list []string, known bool) []choice {
	out := []choice{{Value: "", Label: "Automatic"}}
	for _, v := range variantNames {
		ch := choice{Value: v, Label: cmp.Or(variantLabels[v], v)}
		if known && !slices.Contains(list, v) {
			ch.Disabled, ch.Label = true, ch.Label+" · not in this model folder"
		}
		out = append(out, ch)
	}
	return out
}

var (
	// modelDefaultParams are the settings whose empty value is the model's.
	modelDefaultParams = []string{paramMaxNewTokens, paramRepetitionPenalty}
)

func (c *settingsPanel) Render() goapp.UI {
	s := c.Props.Settings
	return goapp.Div().Class("settings-layer").Hidden(!c.Props.Open).Body(
		goapp.Div().Class("settings-backdrop").
			OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnClose(ctx) }),
		goapp.Aside().ID("settings").Class("settings-panel").Aria("labelledby", "settings-title").Body(
			goapp.Div().Class("settings-head").Body(
				goapp.H2().ID("settings-title").Text("Settings"),
				goapp.Button().ID("settings-close").Class("icon-button").Type("button").
					Aria("label", "Close the settings").Title("Close").
					OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnClose(ctx) }).
					Body(icon(iconClose)),
			),
			goapp.Div().Class("settings-body").Body(
				c.group("Model", "Changing these loads the model again and starts a new chat.",
					c.selectField("setting-device", "Run on", string(s.Device), deviceChoices(), c.onDevice),
					c.selectField("setting-dtype-vision", "Vision encoder", s.DType.Vision, c.partChoices(0), c.onVariant(0)),
					c.selectField("setting-dtype-embed", "Token embeddings", s.DType.Embed, c.partChoices(1), c.onVariant(1)),
					c.selectField("setting-dtype-decoder", "Language decoder", s.DType.Decoder, c.partChoices(2), c.onVariant(2)),
					c.selectField("setting-unpack", "4-bit weights on the CPU (q4)", s.Unpack4Bit.param(), unpackChoices, c.onUnpack),
					c.textField("setting-model", paramModel, "Model folder (URL)", s.Model),
				),
				c.group("Answers", "",
					c.selectField("setting-split", "Picture detail", s.Split.param(), c.splitChoices(), c.onSplit),
					c.modelNumberField("setting-max-new-tokens", paramMaxNewTokens, "Longest answer (tokens)",
						float64(s.MaxNewTokens), c.modelValue(func(d protocol.Defaults) float64 { return float64(d.MaxNewTokens) }),
						1, maxMaxNewTokens, 1),
					c.modelNumberField("setting-repetition-penalty", paramRepetitionPenalty, "Repetition penalty (1 = off)",
						s.RepetitionPenalty, c.modelValue(func(d protocol.Defaults) float64 { return d.RepetitionPenalty }),
						1, maxRepetitionPenalty, 0.05),
				),
				c.group("Word choice", "", c.samplingFields(s.Sampling)...),
				c.group("Storage on this device", "Model files are kept after the first download, so the app also works offline.",
					c.storageFields()...),
				goapp.Button().ID("settings-reset").Class("button secondary").Type("button").
					OnClick(c.onReset).
					Text("Back to defaults"),
			),
		),
	)
}

func (c *settingsPanel) splitChoices() []choice {
	auto := "Automatic: fast (whole picture)"
	if c.Props.SplitDefault {
		auto = "Automatic: detailed (tiles)"
	}
	return []choice{
		{Value: "", Label: auto},
		{Value: "1", Label: "Detailed: split into tiles (slower)"},
		{Value: "0", Label: "Fast: whole picture only"},
	}
}

func (c *settingsPanel) samplingFields(sm Sampling) []goapp.UI {
	mode := "greedy"
	if sm.Temperature > 0 {
		mode = "sample"
	}
	fields := []goapp.UI{c.selectField("setting-sampling", "Method", mode, samplingChoices, c.onSampling)}
	if mode == "greedy" {
		return fields
	}
	return append(fields,
		c.numberField("setting-temperature", paramTemperature, "Temperature", formatFloat(sm.Temperature), 0, maxTemperature, 0.05),
		c.numberField("setting-top-k", paramTopK, "Top-k (0 = all)", strconv.Itoa(sm.TopK), 0, maxTopK, 1),
		c.numberField("setting-top-p", paramTopP, "Top-p", formatFloat(sm.TopP), 0.01, 1, 0.01),
		c.numberField("setting-seed", paramSeed, "Seed (0 = new each time)", strconv.FormatInt(sm.Seed, 10), 0, maxSeed, 1),
	)
}

func (c *settingsPanel) group(title, hint string, fields ...goapp.UI) goapp.UI {
	return goapp.FieldSet().Class("settings-group").Body(
		goapp.Legend().Text(title),
		goapp.If(hint != "", func() goapp.UI { return goapp.P().Class("muted small").Text(hint) }),
		goapp.Div().Class("settings-fields").Body(fields...),
	)
}

func (c *settingsPanel) selectField(id, label, value string, choices []choice, onChange goapp.EventHandler) goapp.UI {
	return goapp.Div().Class("field").Body(
		goapp.Label().For(id).Text(label),
		goapp.Select().ID(id).OnChange(onChange).Body(
			goapp.Range(choices).Slice(func(i int) goapp.UI {
				ch := choices[i]
				return goapp.Option().Value(ch.Value).Selected(ch.Value == value).Disabled(ch.Disabled).Text(ch.Label)
			}),
		),
	)
}

func (c *settingsPanel) numberField(id, param, label, value string, lo, hi, step float64) goapp.UI {
	return c.field(id, param, label, goapp.Input().ID(id).Type("number").
		Min(lo).Max(hi).Step(step).Attr("inputmode", "decimal").Value(value).
		OnChange(c.onParam(param)))
}

// partChoices are the variant choices of sub-model i (vision, embed,
// decoder), greyed out where the model folder lacks them.
func (c *settingsPanel) partChoices(i int) []choice {
	a := c.Props.Variants
	if a == nil {
		return variantChoices(nil, false)
	}
	return variantChoices([][]string{a.Vision, a.Embed, a.Decoder}[i], true)
}

// modelValue is one of the loaded model's defaults, or -1 before a load.
func (c *settingsPanel) modelValue(get func(protocol.Defaults) float64) float64 {
	if c.Props.Model == nil {
		return -1
	}
	return get(*c.Props.Model)
}

// modelNumberField is a number setting whose 0 is the model's own value:
// the field is then empty and shows the model's value (model; -1 before
// the model is loaded) as its placeholder; emptying it goes back to it.
func (c *settingsPanel) modelNumberField(id, param, label string, value, model, lo, hi, step float64) goapp.UI {
	text, placeholder := formatFloat(value), "the model's own"
	if value == 0 {
		text = ""
	}
	if model >= 0 {
		placeholder = "the model's: " + formatFloat(model)
	}
	return c.field(id, param, label, goapp.Input().ID(id).Type("number").
		Min(lo).Max(hi).Step(step).Attr("inputmode", "decimal").Value(text).Placeholder(placeholder).
		OnChange(c.onParam(param)))
}

func (c *settingsPanel) textField(id, param, label, value string) goapp.UI {
	return c.field(id, param, label, goapp.Input().ID(id).Type("text").
		Attr("inputmode", "url").Spellcheck(false).Value(value).
		OnChange(c.onParam(param)))
}

// field wraps an input with its label and, if its last value was refused,
// the reason.
func (c *settingsPanel) field(id, param, label string, input goapp.HTMLInput) goapp.UI {
	msg := c.errs[param]
	if msg != "" {
		input = input.Aria("invalid", true).Aria("describedby", id+"-error")
	}
	return goapp.Div().Class("field").Body(
		goapp.Label().For(id).Text(label),
		input,
		goapp.If(msg != "", func() goapp.UI {
			return goapp.P().ID(id + "-error").Class("field-error").Text(sentence(msg))
		}),
	)
}

// onParam applies one parameter with ParseSettings' own checks.
func (c *settingsPanel) onParam(param string) goapp.EventHandler {
	return func(ctx goapp.Context, _ goapp.Event) {
		v := ctx.JSSrc().Get("value").String()
		next := c.Props.Settings
		if c.errs == nil {
			c.errs = map[string]string{}
		}
		if v == "" && slices.Contains(modelDefaultParams, param) {
			next.clearToModel(param)
		} else if want := next.set(param, v); want != "" || v == "" {
			if v == "" {
				want = "enter a value"
			}
			c.errs[param] = want
			return
		}
		delete(c.errs, param)
		c.Props.OnChange(ctx, next)
	}
}

func (c *settingsPanel) onDevice(ctx goapp.Context, _ goapp.Event) {
	next := c.Props.Settings
	if next.setDevice(ctx.JSSrc().Get("value").String()) == "" {
		c.Props.OnChange(ctx, next)
	}
}

func (c *settingsPanel) onUnpack(ctx goapp.Context, _ goapp.Event) {
	next := c.Props.Settings
	if next.set(paramUnpack4Bit, ctx.JSSrc().Get("value").String()) == "" {
		c.Props.OnChange(ctx, next)
	}
}

func (c *settingsPanel) onSplit(ctx goapp.Context, _ goapp.Event) {
	v := ctx.JSSrc().Get("value").String()
	if v == "" {
		v = "auto"
	}
	next := c.Props.Settings
	if next.setSplit(v) == "" {
		c.Props.OnChange(ctx, next)
	}
}

// onVariant sets the variant of sub-model i (vision, embed, decoder).
func (c *settingsPanel) onVariant(i int) goapp.EventHandler {
	return func(ctx goapp.Context, _ goapp.Event) {
		v := ctx.JSSrc().Get("value").String()
		if v != "" && !validVariant(v) {
			return
		}
		next := c.Props.Settings
		*[]*string{&next.DType.Vision, &next.DType.Embed, &next.DType.Decoder}[i] = v
		c.Props.OnChange(ctx, next)
	}
}

func (c *settingsPanel) onSampling(ctx goapp.Context, _ goapp.Event) {
	next := c.Props.Settings
	switch ctx.JSSrc().Get("value").String() {
	case "sample":
		if next.Sampling.Temperature == 0 {
			next.Sampling.Temperature = suggestedTemperature
		}
	default:
		next.Sampling.Temperature = 0
	}
	c.Props.OnChange(ctx, next)
}

func (c *settingsPanel) onReset(ctx goapp.Context, _ goapp.Event) {
	c.errs = nil
	c.Props.OnChange(ctx, c.Props.Defaults)
}

// storageFields show the site's storage use and each stored model with a
// button that deletes it.
func (c *settingsPanel) storageFields() []goapp.UI {
	st := c.Props.Storage
	if !st.Known {
		return []goapp.UI{goapp.P().ID("storage-usage").Class("small").Text("Reading the storage…")}
	}
	usage := "This site uses " + formatBytes(st.Usage)
	if st.Quota > 0 {
		usage += " of the " + formatBytes(st.Quota) + " the browser allows"
	}
	kept := "The browser may delete the files when the device runs short of space."
	if st.Persisted {
		kept = "The browser keeps the files until you delete them."
	}
	fields := []goapp.UI{
		goapp.P().ID("storage-usage").Class("small").
			DataSet("usage", st.Usage).DataSet("quota", st.Quota).DataSet("persisted", st.Persisted).
			Text(usage + ". " + kept),
	}
	if c.Props.StorageErr != "" {
		fields = append(fields, goapp.P().Class("field-error").Text(c.Props.StorageErr))
	}
	if c.Props.Saving {
		fields = append(fields, goapp.P().ID("storage-saving").Class("muted small").
			Text("Keeping the model's files on this device for offline use…"))
	}
	if len(st.Models) == 0 {
		return append(fields, goapp.P().ID("storage-models").Class("muted small").Text("No model files are stored."))
	}
	return append(fields, goapp.Ul().ID("storage-models").Class("storage-models").Body(
		goapp.Range(st.Models).Slice(func(i int) goapp.UI {
			m := st.Models[i]
			busy := c.Props.StorageBusy == m.URL
			label := "Delete"
			if busy {
				label = "Deleting…"
			}
			return goapp.Li().Class("storage-model").DataSet("model", m.URL).DataSet("bytes", m.Bytes).Body(
				goapp.Span().Class("storage-model-name").Text(m.URL),
				goapp.Span().Class("storage-model-size muted small").
					Text(fmt.Sprintf("%s · %d files", formatBytes(m.Bytes), m.Files)),
				goapp.Button().Class("button secondary storage-delete").Type("button").
					Aria("label", "Delete the stored files of "+m.URL).
					Disabled(c.Props.StorageBusy != "" || c.Props.Saving).
					OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnDelete(ctx, m.URL) }).
					Text(label),
			)
		}),
	))
}

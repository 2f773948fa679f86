package app

// The Web Share Target: the installed app appears in the phone's share
// sheet for pictures. The share is a POST of multipart/form-data to
// SharePath, which the service worker (app-worker.js) answers: it keeps the
// picture in shareCacheName under sharedPictureKey and opens the app at
// "/?shared=1", whose page then takes the picture into the picture pane.
// The names are also in app-worker.js; keep them in step.
const (
	SharePath        = "/share"
	shareField       = "image"
	shareCacheName   = "smolvlm-share-v1"
	sharedPictureKey = "/share/picture"
	paramShared      = "shared"
)

// ModelCacheName is the Cache API cache the model worker keeps model files
// in (engine/ortweb.DefaultCache); the settings panel shows and deletes its
// entries, and the service worker never deletes it.
const ModelCacheName = "smolvlm-models-v1"

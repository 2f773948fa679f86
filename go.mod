module github.com/pocketvlm/smolvlm

go 1.26.8

require (
	github.com/ardanlabs/jinja v1.8.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	github.com/yalue/onnxruntime_go v1.27.0 // indirect
	golang.org/x/image v0.48.0 // indirect
)

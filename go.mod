module github.com/pocketvlm/smolvlm

go 1.26.8

require (
	github.com/ardanlabs/jinja v1.8.0
	github.com/x448/float16 v0.8.4
	golang.org/x/image v0.48.0
)

// Package all links every detection model into the binary: importing it
// runs each model's registration.
package all

import (
	_ "github.com/vigil-ndr/vigil/internal/detect/postip" // Posting HTTP to IP Without Hostname
)

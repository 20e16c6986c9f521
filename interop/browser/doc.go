// Package browser tests the Go listener against a real browser: headless
// Chromium runs the JavaScript multiserver 3.8.2 (ws + shs, bundled for
// the browser from the npm packages in this directory) and echoes over
// ws~shs with a Go `ms listen`. See README.md. The package has tests
// only.
package browser

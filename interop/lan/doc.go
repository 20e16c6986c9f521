// Package laninterop tests package lan against the JavaScript ssb-lan
// 1.2.3 plugin and ssb-keys 8.5.0 under Node (peer.js, vectors.js), with
// the npm packages pinned in this directory's package-lock.json. Run
// ci.sh, or npm ci here, first; with MS_INTEROP_REQUIRED=1 the tests fail
// instead of skipping when Node or the packages are missing.
package laninterop

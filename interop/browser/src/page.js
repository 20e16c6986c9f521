'use strict'
// The browser peer: multiserver 3.8.2 (ws + shs), as its npm packages are,
// bundled by build.js into dist/ms-browser.js and run by dist/index.html.
//
// Query parameters (all but addr optional):
//   addr    the multiserver address to dial, e.g. ws://127.0.0.1:8989~shs:KEY
//           (ws~noauth works too)
//   n       bytes of the test pattern (byte i = i % 251) to echo; default 1 KiB
//   appkey  the shs app key, base64; default the Scuttlebutt main network's
//   report  a URL the result is POSTed to as JSON (used by the Go tests)
//
// The page writes the pattern, reads the echo, checks it byte for byte, and
// only then ends its side. The result (shown on the page, and POSTed to
// report) is one JSON object:
//   {ok, stage, error, bytes, sha256, clientKey, serverKey, address, echoMs}
// stage says how far it got: "load", "connect" (dial and handshake),
// "echo" or "done".

const pull = require('pull-stream')
const MultiServer = require('multiserver')
const Ws = require('multiserver/plugins/ws')
const Shs = require('multiserver/plugins/shs')
const Noauth = require('multiserver/plugins/noauth')
const chloride = require('chloride')

const CHUNK = 65536

// The Scuttlebutt main network's shs app key, the default of the Go
// listener (multiserver.Config.AppKey nil). The JS plugin has no default.
const SSB_APP_KEY = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='
const params = new URLSearchParams(window.location.search)

// msReport (index.html) shows the result and POSTs it to ?report=; it is
// defined before this bundle loads, so that errors while loading it are
// reported too.
function fail(stage, err) {
  window.msReport({ ok: false, stage, error: errMsg(err) })
}

// errMsg turns what the JS stack calls back with into words: an Error, or
// the DOM Event of a WebSocket that failed, which says nothing of why
// (browsers hide the HTTP status of a refused upgrade).
function errMsg(err) {
  if (err && err.message) return err.message
  if (typeof Event !== 'undefined' && err instanceof Event) return 'WebSocket ' + err.type + ' event (the browser does not say why; a refused upgrade looks like this)'
  return String(err)
}

function show(id, text) {
  const el = document.getElementById(id)
  if (el) el.textContent = text
}

function b64(buf) {
  return Buffer.from(buf).toString('base64')
}

function pattern(n) {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = i % 251
  return b
}

async function sha256hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(d, (x) => x.toString(16).padStart(2, '0')).join('')
}

function main() {
  const addr = params.get('addr')
  if (!addr) return fail('load', 'no address: open this page with ?addr=ws://HOST:PORT~shs:KEY (ms listen --http-dir prints the URL)')
  const n = params.has('n') ? Number(params.get('n')) : 1024
  if (!Number.isInteger(n) || n < 0) return fail('load', 'n must be a byte count, got ' + params.get('n'))
  show('address', addr)

  const keys = chloride.crypto_sign_keypair()
  const clientKey = b64(keys.publicKey)
  show('client-key', clientKey)
  const appKey = Buffer.from(params.get('appkey') || SSB_APP_KEY, 'base64')
  if (appKey.length !== 32) return fail('load', 'appkey must be 32 bytes of base64')
  // The client side of the shs plugin never calls auth; it must be there.
  const shsOpts = { keys, appKey, auth: (pub, cb) => cb(null, false) }
  // ws~noauth is here for the tests of the Go listener's origin policy:
  // a ws~noauth listener refuses pages of other origins.
  const ms = MultiServer([[Ws({}), Shs(shsOpts)], [Ws({}), Noauth({ keys })]])

  const payload = pattern(n)
  const received = new Uint8Array(n)
  show('status', 'connecting')
  try {
    ms.client(addr, onConnect)
  } catch (err) {
    fail('connect', err)
  }

  function onConnect(err, stream) {
    if (err) return fail('connect', err)
    // stream.address is "ws://HOST:PORT~shs:KEY", KEY the one the server
    // proved in the handshake.
    const serverKey = String(stream.address).split('~shs:')[1] || 'none'
    show('server-key', serverKey)
    show('status', 'echoing ' + n + ' bytes')
    const t0 = performance.now()
    let echoMs = 0
    let sent = 0
    let got = 0
    let endWaiting = null
    function source(abort, cb) {
      if (abort) return cb(abort)
      if (sent < n) {
        const k = Math.min(CHUNK, n - sent)
        const b = Buffer.from(payload.subarray(sent, sent + k))
        sent += k
        return cb(null, b)
      }
      // End our side (the shs goodbye, then the ws close) only once the
      // whole echo is back.
      if (got >= n) return cb(true)
      endWaiting = cb
    }
    function sink(read) {
      read(null, function next(end, data) {
        if (end) {
          if (got !== n) return fail('echo', 'stream ended after ' + got + ' of ' + n + ' bytes: ' + (end === true ? 'goodbye' : errMsg(end)))
          return done()
        }
        if (got + data.length > n) return fail('echo', 'received more than the ' + n + ' bytes sent')
        for (let i = 0; i < data.length; i++) {
          if (data[i] !== payload[got + i]) return fail('echo', 'echo differs at byte ' + (got + i))
        }
        received.set(data, got)
        got += data.length
        if (got === n) {
          echoMs = performance.now() - t0
          // Over ws the close may overtake the server's goodbye (see
          // interop/README.md, "ws close"): the echo is what counts.
          done()
          if (endWaiting) {
            const cb = endWaiting
            endWaiting = null
            cb(true)
          }
        }
        read(null, next)
      })
    }
    let finished = false
    async function done() {
      if (finished) return
      finished = true
      window.msReport({ ok: true, stage: 'done', bytes: got, sha256: await sha256hex(received), clientKey, serverKey, address: String(stream.address), echoMs })
    }
    pull(source, stream.sink)
    pull(stream.source, sink)
  }
}

main()
